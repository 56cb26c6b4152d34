"""The provincial cloud as code: the egov-cloud Pulumi program, its planning layer and its policy pack."""
