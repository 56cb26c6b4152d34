"""The egov-cloud CrossGuard policy pack: policies in ``stacks.policy.policies``; the pack in __main__.py."""
