"""The egov-cloud Pulumi program. Thin on purpose: everything lives in the importable ``stacks`` package."""

from stacks.program import main

main()
