"""The egov-cloud policy pack: the ONLY place a PolicyPack is built (constructing one starts a server)."""

import os

from pulumi_policy import EnforcementLevel, PolicyPack

from egov.source import default_source, load_source
from stacks.catalogue import host_sizes
from stacks.policy.policies import build_policies
from stacks.quotas import usable_totals

source = load_source(os.environ["EGOV_DATA"]) if os.environ.get("EGOV_DATA") else default_source()

PolicyPack(
    name="egov-cloud",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(
        usable=usable_totals(source),
        hosts=host_sizes(source.cloud),
        departments={d.code: d.name for d in source.departments},
    ),
)
