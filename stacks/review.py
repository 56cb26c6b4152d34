"""What `pulumi up` would create, for review without credentials: the program under mocks, then the policies.

Computes only; stacks/present.py shows the result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egov.errors import SourceError
from egov.months import month_label
from stacks.catalogue import host_sizes
from stacks.policy.policies import (
    AGREED_OVERSUBSCRIPTION,
    FLAVOR,
    check_departments_kept,
    check_flavor,
    check_project,
    check_protected_kinds,
    check_quotas_within_capacity,
    check_security_group_rule,
    quota_totals,
)
from stacks.quotas import QuotaKey, select_departments, usable_totals
from stacks.settings import PROJECT_DIR, load_stack_settings


@dataclass(frozen=True)
class StackReview:
    stack: str
    departments: int
    resources: dict[str, int]  # type token → count
    protection: dict[str, dict[str, int]]  # type token → {"resources": N, "protected": M}
    quota_totals: dict[QuotaKey, int]
    usable: dict[QuotaKey, float]
    agreed: dict[QuotaKey, float]
    violations: list[str]
    usable_at: str  # the month usable capacity is taken at: the end of the planning horizon
    #: flavor name → what the program declares: vCPUs, RAM (MiB), disk (GiB) and extra specs (a GPU flavor's
    #: resources:VGPU=N rides there)
    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def total_resources(self) -> int:
        return sum(self.resources.values())

    def ratio(self, key: QuotaKey) -> float:
        """Σ quotas ÷ usable capacity."""
        return self.quota_totals[key] / self.usable[key] if self.usable[key] else math.inf


#: The policy pack's per-stack config (`pulumi preview --policy-pack-config ../policy/<stack>.json`).
POLICY_DIR = Path(__file__).resolve().parent / "policy"


def policy_config(stack: str) -> dict[str, Any]:
    """The policy config the stack is previewed with (stacks/policy/<stack>.json); {} when there is none."""
    path = POLICY_DIR / f"{stack}.json"
    if not path.exists():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SourceError(path, f"not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise SourceError(path, "expected an object keyed by policy name")
    return config


def review_stack(
    stack: str,
    project_dir: Path = PROJECT_DIR,
    oversubscription: Mapping[QuotaKey, float] | None = None,
    on_register: Callable[[int], None] | None = None,
) -> StackReview:
    """Run stack ``stack``'s program under mocks and check what it would create against every policy."""
    from egov.source import default_source, load_source
    from stacks.mocks import run_program

    config, settings = load_stack_settings(stack, project_dir)
    source = load_source(settings.data) if settings.data is not None else default_source()
    mocks = run_program(stack, config, on_register=on_register)
    resources = mocks.policy_view()
    agreed = dict(oversubscription or AGREED_OVERSUBSCRIPTION)
    usable = usable_totals(source)
    hosts = host_sizes(source.cloud)
    known = {d.code for d in source.departments}
    violations = [f"{t} {n} is declared twice" for t, n in mocks.duplicates()]
    violations += check_quotas_within_capacity(resources, usable, agreed)
    violations += check_protected_kinds(resources)
    violations += check_departments_kept(
        resources,
        {d.code: d.name for d in source.departments},
        policy_config(stack).get("departments-never-deleted", {}),
    )
    for resource in resources:
        violations += check_project(resource, known)
        violations += check_flavor(resource, hosts)
        violations += check_security_group_rule(resource)
    totals, _problems = quota_totals(resources)
    return StackReview(
        stack=stack,
        departments=len(select_departments(source, settings.departments)),
        resources=mocks.counts(),
        protection=mocks.protection(),
        quota_totals=totals,
        usable=usable,
        agreed=agreed,
        violations=violations,
        usable_at=month_label(source.planning.end_month),
        flavors={
            r.name: {
                "vcpus": r.props.get("vcpus"),
                "ram_mib": r.props.get("ram"),
                "disk_gib": r.props.get("disk"),
                "extra_specs": dict(sorted((r.props.get("extraSpecs") or {}).items())),
            }
            for r in sorted(resources, key=lambda r: r.name)
            if r.type == FLAVOR
        },
    )
