"""The CrossGuard policies of the egov-cloud stack, as plain functions plus their Policy wrappers.

Each check takes what the engine hands a policy (type token, name, property map with the engine's camelCase
keys) and returns violation messages; an empty list means compliant. The functions are unit-tested directly;
:func:`build_policies` wraps them for the pack, whose ``__main__.py`` is the only place a PolicyPack is built
(constructing one starts the analyzer server).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stacks.catalogue import HostSize
from stacks.protection import PROTECTED_KINDS, ROLE_ASSIGNMENT, UNIFIED_LIMIT, DepartmentNames
from stacks.quotas import QUOTA_SOURCES, QuotaKey

if TYPE_CHECKING:
    from pulumi_policy import Policy

PROJECT = "openstack:identity/project:Project"
FLAVOR = "openstack:compute/flavor:Flavor"
SECURITY_GROUP_RULE = "openstack:networking/secGroupRule:SecGroupRule"
COMPUTE_QUOTA = "openstack:compute/quotaSetV2:QuotaSetV2"
VOLUME_QUOTA = "openstack:blockstorage/quoteSetV3:QuoteSetV3"
OBJECT_ACCOUNT = "openstack:objectstorage/accountV1:AccountV1"
#: Swift account metadata key of the account quota.
QUOTA_BYTES = "Quota-Bytes"
DEPARTMENT_TAG = re.compile(r"^department:(?P<code>[A-Z][A-Z0-9-]{1,15})$")

#: The oversubscription the cloud's owners agreed: Σ quotas may exceed usable capacity by this factor
#: (quotas are ceilings, not reservations). Override per run with --policy-pack-config. vGPUs have no
#: agreed figure yet: the default data's five-year vGPU quotas are about 3 × the AI pool's usable vGPUs
#: (the plan orders more GPU hosts), so the owners either approve that expansion or agree a ratio; until
#: then ``egov stack review`` shows the vGPU ratio and the pack checks vGPUs only when the config names one.
AGREED_OVERSUBSCRIPTION: dict[QuotaKey, float] = {
    QuotaKey.cores: 1.0,
    QuotaKey.ram_mib: 1.2,
    QuotaKey.volume_gib: 1.5,
    QuotaKey.object_bytes: 1.5,
}
#: Ports that administer a machine: never reachable from the whole internet or 政务外网.
MANAGEMENT_PORTS: dict[int, str] = {
    22: "ssh",
    23: "telnet",
    161: "snmp",
    162: "snmp-trap",
    623: "ipmi",
    3389: "rdp",
    5900: "vnc",
    5985: "winrm",
    5986: "winrm-https",
}
_PORT_PROTOCOLS = {"tcp", "udp", "6", "17"}
_ANY_PROTOCOL = {None, "", "any", "0"}


@dataclass(frozen=True)
class Resource:
    """What a policy sees of one resource: its type token, logical name and properties."""

    type: str
    name: str
    props: Mapping[str, Any]
    #: The resource's ``protect`` option (the engine refuses to delete a protected resource).
    protect: bool = False


def amount(key: QuotaKey, value: float) -> str:
    """A quota amount for people: vCPUs counted, RAM and storage in the largest fitting unit of their family
    (Nova's MiB and Cinder's GiB stay binary, Swift's bytes too), through the one pint registry."""
    from egov.units import Q_, human

    unit = QUOTA_SOURCES[key][1]
    if unit == "vcpu":
        return f"{value:,.0f} vCPU"
    if unit == "vgpu":
        return f"{value:,.0f} vGPU"
    return human(Q_(value, unit))


def _mib(value: int) -> str:
    from egov.units import Q_, human

    return human(Q_(value, "MiB"))


# -- quotas against capacity -----------------------------------------------------------------------
def quota_totals(resources: Iterable[Resource]) -> tuple[dict[QuotaKey, int], list[str]]:
    """Σ of every department quota per regional quota, and the problems that make a sum meaningless.

    A quota left unset or set to -1 (unlimited) cannot be summed against capacity: it is reported.
    """
    totals = dict.fromkeys(QuotaKey, 0)
    problems: list[str] = []

    def add(resource: Resource, key: QuotaKey, value: Any, label: str) -> None:
        if value is None:
            problems.append(
                f"{resource.name}: {label} is not set (the service default is not capacity-planned)"
            )
            return
        try:
            amount = int(value)
        except (TypeError, ValueError):
            problems.append(f"{resource.name}: {label} = {value!r} is not a whole number")
            return
        if amount < 0:
            problems.append(f"{resource.name}: {label} = {amount} is unlimited")
            return
        totals[key] += amount

    for r in resources:
        if r.type == COMPUTE_QUOTA:
            add(r, QuotaKey.cores, r.props.get("cores"), "cores")
            add(r, QuotaKey.ram_mib, r.props.get("ram"), "ram")
        elif r.type == VOLUME_QUOTA:
            add(r, QuotaKey.volume_gib, r.props.get("gigabytes"), "gigabytes")
        elif r.type == OBJECT_ACCOUNT:
            metadata = r.props.get("metadata") or {}
            add(r, QuotaKey.object_bytes, metadata.get(QUOTA_BYTES), QUOTA_BYTES)
        elif r.type == UNIFIED_LIMIT and r.props.get("resourceName") == "class:VGPU":
            add(r, QuotaKey.vgpus, r.props.get("resourceLimit"), "resourceLimit")
    return totals, problems


def check_quotas_within_capacity(
    resources: Iterable[Resource],
    usable: Mapping[QuotaKey, float],
    oversubscription: Mapping[QuotaKey, float],
) -> list[str]:
    """Σ quotas ≤ usable capacity × agreed oversubscription, for every regional quota with an agreed one."""
    totals, violations = quota_totals(resources)
    for key in oversubscription:
        limit = usable[key] * oversubscription[key]
        if totals[key] > limit:
            violations.append(
                f"Σ {key.value} quotas = {amount(key, totals[key])} exceeds usable {amount(key, usable[key])}"
                f" × agreed oversubscription {oversubscription[key]:g} = {amount(key, limit)}"
            )
    return violations


# -- projects --------------------------------------------------------------------------------------
def check_project(resource: Resource, departments: Collection[str] | None = None) -> list[str]:
    """Every project has a description; every non-domain project exactly one known department tag."""
    if resource.type != PROJECT:
        return []
    violations = []
    if not str(resource.props.get("description") or "").strip():
        violations.append(f"project {resource.name} has no description")
    if resource.props.get("isDomain"):
        return violations
    codes = [m["code"] for tag in resource.props.get("tags") or [] if (m := DEPARTMENT_TAG.match(str(tag)))]
    if len(codes) != 1:
        violations.append(
            f"project {resource.name} needs exactly one 'department:<CODE>' tag, has {len(codes)}"
        )
    elif departments is not None and codes[0] not in departments:
        violations.append(f"project {resource.name} is tagged with unknown department {codes[0]}")
    return violations


# -- flavors ---------------------------------------------------------------------------------------
def check_flavor(resource: Resource, hosts: Sequence[HostSize]) -> list[str]:
    """A flavor must fit one empty host of the cloud: otherwise no instance of it can ever start."""
    if resource.type != FLAVOR:
        return []
    vcpus, ram, disk = (int(resource.props.get(k) or 0) for k in ("vcpus", "ram", "disk"))
    if any(host.fits(vcpus, ram, disk) for host in hosts):
        return []
    largest = max(hosts, key=lambda h: (h.vcpus, h.ram_mib, h.disk_gib)) if hosts else None
    where = (
        f"the largest host ({largest.aggregate}) offers {largest.vcpus} vCPU, {_mib(largest.ram_mib)} RAM, "
        f"{largest.disk_gib} GiB disk"
        if largest
        else "the cloud has no host"
    )
    return [f"flavor {resource.name} ({vcpus} vCPU, {_mib(ram)} RAM, {disk} GiB disk) fits no host: {where}"]


# -- security group rules --------------------------------------------------------------------------
def _open_to_world(props: Mapping[str, Any]) -> bool:
    prefix = props.get("remoteIpPrefix")
    if not prefix:
        # No prefix and no remote group/address group: Neutron matches every source.
        return not props.get("remoteGroupId") and not props.get("remoteAddressGroupId")
    try:
        return ipaddress.ip_network(str(prefix), strict=False).prefixlen == 0
    except ValueError:
        return False


def _ports(props: Mapping[str, Any]) -> range | None:
    """The destination ports a rule opens; None when its protocol has no ports (icmp, …)."""
    protocol = props.get("protocol")
    protocol = str(protocol).lower() if protocol is not None else None
    if protocol not in _ANY_PROTOCOL and protocol not in _PORT_PROTOCOLS:
        return None
    low, high = props.get("portRangeMin"), props.get("portRangeMax")
    if protocol in _ANY_PROTOCOL or not low:
        return range(1, 65536)
    return range(int(low), int(high or low) + 1)


def check_security_group_rule(resource: Resource) -> list[str]:
    """No ingress rule open to 0.0.0.0/0 or ::/0 may reach a management port."""
    if resource.type != SECURITY_GROUP_RULE:
        return []
    props = resource.props
    if str(props.get("direction", "")).lower() != "ingress" or not _open_to_world(props):
        return []
    ports = _ports(props)
    if ports is None:
        return []
    exposed = [f"{port}/{name}" for port, name in MANAGEMENT_PORTS.items() if port in ports]
    if not exposed:
        return []
    source = props.get("remoteIpPrefix") or "any source"
    return [f"security group rule {resource.name} opens {', '.join(exposed)} to {source}"]


# -- departments are never deleted by accident ----------------------------------------------------
#: Where an operator reads how to retire a department on purpose.
RETIRE_GUIDE = "docs/operators.md, 'Retiring a department'"


def check_protected_kinds(resources: Iterable[Resource]) -> list[str]:
    """Every resource of a protected kind (stacks.protection) carries ``protect``: the engine's own guard."""
    return [
        f"{PROTECTED_KINDS[r.type]} {r.name} ({r.type}) is not protected: declare it with protect=True"
        for r in resources
        if r.type in PROTECTED_KINDS and not r.protect
    ]


def kept_departments(
    departments: Mapping[str, str], config: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """The departments a stack must keep (code → name) under the policy config, and config problems.

    ``departments``: "all" (every department of the source of truth, the default) or the codes the stack
    manages; ``retired``: codes retired on purpose. The list is deliberately separate from the stack
    config: dropping a department from the stack alone is exactly the accident this policy stops.
    """
    wanted = config.get("departments", "all")
    retired = list(config.get("retired") or [])
    codes = list(departments) if wanted == "all" else list(wanted)
    unknown = [code for code in [*codes, *retired] if code not in departments]
    problems = [f"policy config names unknown department {code}" for code in unknown]
    kept = {code: departments[code] for code in codes if code in departments and code not in retired}
    return kept, problems


def check_departments_kept(
    resources: Iterable[Resource], departments: Mapping[str, str], config: Mapping[str, Any]
) -> list[str]:
    """Every kept department still has its protected resources in the stack; names what would be deleted.

    A stack policy sees the stack as it would be after the update, so a department dropped from the config
    or from departments.csv shows as its resources missing.
    """
    kept, violations = kept_departments(departments, config)
    present = {(r.type, r.name) for r in resources}
    assigned = {r.name for r in resources if r.type == ROLE_ASSIGNMENT}
    for code, name in kept.items():
        names = DepartmentNames(code)
        missing = [logical for token, logical in names.protected() if (token, logical) not in present]
        if not any(a.startswith(names.group_role("")) for a in assigned):
            missing.append(f"{names.group_role('*')} role assignments")
        if missing:
            shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
            violations.append(
                f"department {code} ({name}) would be deleted: {shown} not in the stack. "
                f"A department is retired on purpose only: see {RETIRE_GUIDE}"
            )
    return violations


# -- the pack's Policy objects ---------------------------------------------------------------------
def _oversubscription(config: Mapping[str, Any]) -> dict[QuotaKey, float]:
    given = config.get("oversubscription") or {}
    agreed = {**AGREED_OVERSUBSCRIPTION, **{QuotaKey(k): v for k, v in given.items()}}
    return {key: float(agreed[key]) for key in QuotaKey if key in agreed}


def build_policies(
    usable: Mapping[QuotaKey, float], hosts: Sequence[HostSize], departments: Mapping[str, str]
) -> list[Policy]:
    """The pack's policies over the capacity, hosts and departments of the source of truth."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyConfigSchema,
        ReportViolation,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )

    def view(args: Any) -> Resource:
        return Resource(type=args.resource_type, name=args.name, props=args.props)

    def resource_policy(name: str, description: str, check: Any) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            for message in check(view(args)):
                report_violation(message, None)

        return ResourceValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
        )

    def stack_view(args: StackValidationArgs) -> list[Resource]:
        return [
            Resource(type=r.resource_type, name=r.name, props=r.props, protect=bool(r.opts.protect))
            for r in args.resources
        ]

    def validate_quotas(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = stack_view(args)
        for message in check_quotas_within_capacity(resources, usable, _oversubscription(args.get_config())):
            report_violation(message, None)

    def validate_departments_kept(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message in check_departments_kept(stack_view(args), departments, args.get_config()):
            report_violation(message, None)

    def validate_protected(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message in check_protected_kinds(stack_view(args)):
            report_violation(message, None)

    codes = {"type": "array", "items": {"type": "string", "pattern": "^[A-Z][A-Z0-9-]{1,15}$"}}

    number = {"type": "number", "exclusiveMinimum": 0}
    return [
        StackValidationPolicy(
            name="quotas-within-capacity",
            description="Σ department quotas ≤ usable capacity (end of the planning horizon) × agreed "
            "oversubscription",
            validate=validate_quotas,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(
                properties={
                    "oversubscription": {
                        "type": "object",
                        "properties": {key.value: number for key in QuotaKey},
                        "additionalProperties": False,
                    }
                }
            ),
        ),
        StackValidationPolicy(
            name="departments-never-deleted",
            description="Every department the stack keeps still has its project, group, quotas, network and "
            "container (retire one on purpose: docs/operators.md)",
            validate=validate_departments_kept,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(
                properties={
                    "departments": {"oneOf": [{"const": "all"}, codes]},
                    "retired": codes,
                }
            ),
        ),
        StackValidationPolicy(
            name="protected-kinds-stay-protected",
            description="Domain, projects, groups, role assignments, quotas, networks, subnets, volume types "
            "and containers are declared with protect=True",
            validate=validate_protected,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        resource_policy(
            "project-description-and-department",
            "Every project has a description and a department:<CODE> tag of a known department",
            lambda r: check_project(r, set(departments)),
        ),
        resource_policy(
            "flavor-fits-a-host",
            "No flavor larger than the largest host",
            lambda r: check_flavor(r, hosts),
        ),
        resource_policy(
            "no-management-port-open-to-world",
            "No security group rule opens a management port (22, 23, 161, 623, 3389, …) to 0.0.0.0/0 or ::/0",
            check_security_group_rule,
        ),
    ]
