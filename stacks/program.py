"""The province program: settings + source of truth → the four components. egov-cloud/__main__.py calls it."""

from __future__ import annotations

import gc
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pulumi

from egov.model import SourceOfTruth
from stacks.addressing import backbone_prefixes, department_subnets
from stacks.auth import cloud_user
from stacks.catalogue import aggregate_hosts, orphan_flavors
from stacks.components import Compute, Identity, Network, Storage
from stacks.quotas import DepartmentQuota, department_quota, quota_totals, select_departments
from stacks.settings import NAMESPACE, StackSettings, settings_from_pulumi_config


@dataclass(frozen=True)
class Plan:
    """What the program decided before creating anything: the departments and their quotas."""

    settings: StackSettings
    source: SourceOfTruth
    codes: list[str]
    quotas: list[DepartmentQuota]
    subnets: dict[str, ipaddress.IPv4Network]
    hosts: dict[str, list[str]]  # aggregate → compute host names


def runtime_settings() -> StackSettings:
    """The settings of the running stack, read through ``pulumi.Config`` as the engine (or the mocks) hands
    them to the program."""
    return settings_from_pulumi_config(
        pulumi.Config(NAMESPACE),
        pulumi.Config("openstack").get("cloud"),
        origin=f"stack {pulumi.get_stack()}",
    )


def plan(settings: StackSettings, source: SourceOfTruth | None = None) -> Plan:
    """Departments, quotas and subnets of a stack.

    Raises ValueError on a catalogue that could never schedule, or on a zone network that overlaps a
    department subnet or a backbone prefix (routing would break in ways no policy sees).
    """
    from egov.source import default_source, load_source

    if source is None:
        source = load_source(settings.data) if settings.data is not None else default_source()
    orphans = orphan_flavors(source.cloud)
    if orphans:
        raise ValueError(f"flavors with an aggregate class no aggregate carries: {', '.join(orphans)}")
    codes = select_departments(source, settings.departments)
    quotas = [
        department_quota(
            source, code, settings.factor_of(code), settings.vcpus_per_instance, settings.volumes_per_instance
        )
        for code in codes
    ]
    subnets = department_subnets(source, codes)
    check_zone_addresses(settings, list(subnets.values()))
    hosts = aggregate_hosts(source.cloud, settings.hosts, settings.hostname_pattern)
    return Plan(settings=settings, source=source, codes=codes, quotas=quotas, subnets=subnets, hosts=hosts)


def check_zone_addresses(settings: StackSettings, department_nets: list[ipaddress.IPv4Network]) -> None:
    """A zone network must overlap neither a department subnet nor a prefix the backbone allocates from."""
    taken: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = [
        ("backbone prefix", p) for p in backbone_prefixes()
    ]
    taken += [("department subnet", n) for n in department_nets]
    for key, zone in settings.zones.items():
        for what, prefix in taken:
            if prefix.version == 4 and zone.cidr.overlaps(prefix):  # type: ignore[arg-type]
                raise ValueError(f"egov:zones.{key}: {zone.cidr} overlaps the {what} {prefix}")


def management_prefixes(settings: StackSettings) -> list[ipaddress.IPv4Network]:
    """SSH/RDP sources of the baseline security groups: the stack's list, else the backbone's NMS prefixes."""
    if settings.management_prefixes is not None:
        return list(settings.management_prefixes)
    from network.params import load_params

    return list(load_params().management.ssh_allowed)


@dataclass(frozen=True)
class Built:
    """The plan and the four components the program declared (tests wait on their outputs)."""

    plan: Plan
    identity: Identity
    compute: Compute
    network: Network
    storage: Storage


def build(settings: StackSettings, source: SourceOfTruth | None = None) -> Built:
    """Declare every resource of the stack."""
    decided = plan(settings, source)
    source = decided.source
    departments = [source.department(code) for code in decided.codes]
    identity = Identity(
        "identity",
        domain=settings.domain,
        departments=departments,
        department_roles=settings.department_roles,
        operator_role=settings.operator_role,
    )
    compute = Compute(
        "compute",
        cloud=source.cloud,
        hosts=decided.hosts,
        quotas=decided.quotas,
        projects=identity.projects,
    )
    network = Network(
        "network",
        zones=settings.zones,
        subnets=decided.subnets,
        projects=identity.projects,
        quotas=decided.quotas,
        network_quota=settings.network_quota,
        management_prefixes=management_prefixes(settings),
        dns_nameservers=settings.dns_nameservers,
    )
    storage = Storage(
        "storage",
        tiers=settings.volume_tiers,
        quotas=decided.quotas,
        projects=identity.projects,
        cloud_user=cloud_user(settings.cloud),
        password=pulumi.Config("openstack").get_secret("password"),
    )
    pulumi.export("domain_id", identity.domain.id)
    pulumi.export("projects", {code: p.id for code, p in identity.projects.items()})
    pulumi.export("quota_totals", {key.value: total for key, total in quota_totals(decided.quotas).items()})
    return Built(decided, identity, compute, network, storage)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the program declares and registers its resources.

    ~2,600 resources with their Outputs and futures make every generation-2 pass walk a large heap: measured
    under the mocks, 6.2 s of CPU with the collector against 2.3 s without, for 245 vs 251 MB peak memory.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def main() -> None:
    """Entry point of the Pulumi program (egov-cloud/__main__.py).

    The collector stays off for the rest of the process (see :func:`collector_paused`): registrations run
    after this returns, and the process ends with the deployment.
    """
    gc.disable()
    build(runtime_settings())
