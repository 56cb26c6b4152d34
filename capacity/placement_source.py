"""A live cloud as the supply: resource providers, inventories, aggregates, traits, usages and allocations
read from OpenStack Placement through openstacksdk, turned into the same models the YAML gives.

Placement knows aggregates only by UUID; names, availability zones and the ``class`` metadata live in Nova.
When the cloud's catalogue has a compute endpoint, Nova's host aggregates (``os-aggregates``) name them.
Otherwise (a Placement-only endpoint, as in a lab) an aggregate is recognised by the UUID egov derives from
the region and aggregate name (:func:`aggregate_uuid`), which :func:`register_cloud` uses too.

The live cloud becomes a :class:`egov.model.Cloud` whose aggregates hold the hosts Placement reports (one host
model per distinct inventory), so capacity.supply computes its supply with the same code as for the YAML;
storage pools, planned expansions and the flavor catalogue come from the source of truth, which Placement
does not hold. Usage already in Placement is existing load, except egov's own migration holds
(capacity.holds), which stand for systems the source of truth already counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from capacity.fit import Host, cloud_resources, default_resources, expansion_hosts, hosts_from_cloud
from capacity.inventory import PLACEMENT_MAX_UNIT, Inventory
from capacity.placement_client import (
    READ_MICROVERSION,
    WRITE_MICROVERSION,
    PlacementError,
    aggregate_uuid,
    call,
    connect,
    get_json,
    hold_consumer_ids,
    provider_uuid,
)
from capacity.supply import LineKey
from egov.model import (
    Aggregate,
    AvailabilityZone,
    Cloud,
    HostModel,
    SourceOfTruth,
)

if TYPE_CHECKING:
    from capacity.headroom import Assessment

#: Names of the Placement client that callers of this module use (connect, call, the errors, the UUIDs).
__all__ = [
    "READ_MICROVERSION",
    "WRITE_MICROVERSION",
    "PlacementError",
    "UnmappedProviders",
    "aggregate_uuid",
    "call",
    "connect",
    "get_json",
    "provider_uuid",
]


@dataclass(frozen=True)
class Provider:
    """One resource provider as Placement reports it."""

    uuid: str
    name: str
    generation: int
    inventories: dict[str, Inventory]
    aggregates: tuple[str, ...]
    traits: tuple[str, ...]
    usages: dict[str, int]
    allocations: dict[str, dict[str, int]]  # consumer uuid → resource class → amount
    root: str = ""  # the root provider of its tree (its own uuid for a compute node); "" as itself

    @property
    def is_root(self) -> bool:
        return self.root in ("", self.uuid)


def inventory_of(record: dict[str, Any]) -> Inventory:
    """A Placement inventory record (JSON) as an Inventory."""
    return Inventory(
        total=int(record["total"]),
        reserved=int(record.get("reserved", 0)),
        allocation_ratio=float(record.get("allocation_ratio", 1.0)),
        min_unit=int(record.get("min_unit", 1)),
        max_unit=int(record.get("max_unit", PLACEMENT_MAX_UNIT)),
        step_size=int(record.get("step_size", 1)),
    )


def read_providers(conn: Any, progress: Callable[[int, int], None] | None = None) -> list[Provider]:
    """Every resource provider with inventories, aggregates, traits, usages and allocations."""
    listing = get_json(conn, "/resource_providers")["resource_providers"]
    providers = []
    for done, rp in enumerate(sorted(listing, key=lambda r: (r["name"], r["uuid"]))):
        base = f"/resource_providers/{rp['uuid']}"
        inventories = get_json(conn, f"{base}/inventories")["inventories"]
        allocations = get_json(conn, f"{base}/allocations")["allocations"]
        providers.append(
            Provider(
                uuid=rp["uuid"],
                name=rp["name"],
                generation=int(rp["generation"]),
                inventories={rc: inventory_of(rec) for rc, rec in sorted(inventories.items())},
                aggregates=tuple(sorted(get_json(conn, f"{base}/aggregates")["aggregates"])),
                traits=tuple(sorted(get_json(conn, f"{base}/traits")["traits"])),
                usages={k: int(v) for k, v in get_json(conn, f"{base}/usages")["usages"].items()},
                allocations={
                    consumer: {rc: int(n) for rc, n in body["resources"].items()}
                    for consumer, body in sorted(allocations.items())
                },
                root=rp.get("root_provider_uuid") or rp["uuid"],
            )
        )
        if progress is not None:
            progress(done + 1, len(listing))
    return providers


def _summed(parts: list[Inventory]) -> Inventory:
    """One inventory standing for several providers' of one class: totals and reserves add up; with unequal
    allocation ratios, the effective capacities add up (ratio 1). A single claim still comes from one
    provider (Placement's request group), so max_unit is the largest part's."""
    if len(parts) == 1:
        return parts[0]
    max_unit = max(p.total if p.max_unit is None else p.max_unit for p in parts)
    steps = {p.step_size for p in parts}
    step, min_unit = (steps.pop() if len(steps) == 1 else 1), min(p.min_unit for p in parts)
    if len({p.allocation_ratio for p in parts}) == 1:
        return Inventory(
            total=sum(p.total for p in parts),
            reserved=sum(p.reserved for p in parts),
            allocation_ratio=parts[0].allocation_ratio,
            min_unit=min_unit,
            max_unit=max_unit,
            step_size=step,
        )
    total = sum(int(p.capacity) for p in parts)
    return Inventory(total=total, min_unit=min_unit, max_unit=max_unit, step_size=step)


def fold_nested(providers: Iterable[Provider]) -> list[Provider]:
    """The roots of the provider trees, each with its descendants' inventories, usages and allocations
    summed in. Nova puts a compute node's vGPUs on child providers, one per physical GPU (and PCI devices
    likewise); egov counts a host as one provider, as the YAML's host models do. Order is kept."""
    providers = list(providers)
    children: dict[str, list[Provider]] = defaultdict(list)
    for rp in providers:
        if not rp.is_root:
            children[rp.root].append(rp)
    folded = []
    for rp in providers:
        if not rp.is_root:
            continue
        parts = children.get(rp.uuid, [])
        if not parts:
            folded.append(rp)
            continue
        tree = [rp, *parts]
        classes = sorted({rc for p in tree for rc in p.inventories})
        inventories = {
            rc: _summed([p.inventories[rc] for p in tree if rc in p.inventories]) for rc in classes
        }
        usages: dict[str, int] = defaultdict(int)
        allocations: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for part in tree:
            for rc, n in part.usages.items():
                usages[rc] += n
            for consumer, resources in part.allocations.items():
                for rc, n in resources.items():
                    allocations[consumer][rc] += n
        folded.append(
            Provider(
                uuid=rp.uuid,
                name=rp.name,
                generation=rp.generation,
                inventories=inventories,
                aggregates=rp.aggregates,
                traits=rp.traits,
                usages=dict(usages),
                allocations={c: dict(res) for c, res in sorted(allocations.items())},
                root=rp.root,
            )
        )
    return folded


@dataclass(frozen=True)
class AggregateInfo:
    az: str
    name: str
    aggregate_class: str


def model_directory(cloud: Cloud) -> dict[str, AggregateInfo]:
    """Aggregate UUID → zone, name and class, for the aggregates of the source of truth."""
    return {
        aggregate_uuid(cloud, agg.name): AggregateInfo(
            az.name, agg.name, agg.metadata.get("class", "general")
        )
        for az in cloud.availability_zones
        for agg in az.aggregates
    }


def nova_directory(conn: Any, warnings: list[str] | None = None) -> dict[str, AggregateInfo] | None:
    """Aggregate UUID → zone, name and class from Nova's host aggregates; None without a compute endpoint.
    When the catalogue has one but Nova does not answer, why goes into ``warnings``."""
    try:
        # openstacksdk answers a token-only connection (no catalogue) with a generic proxy without aggregates
        if not conn.has_service("compute") or not hasattr(conn.compute, "aggregates"):
            return None
    except Exception:  # a Placement-only endpoint has no catalogue to ask; fall back to egov's UUIDs
        return None
    try:
        return {
            agg.uuid: AggregateInfo(
                agg.availability_zone or "nova", agg.name, (agg.metadata or {}).get("class", "general")
            )
            for agg in conn.compute.aggregates()
            if agg.uuid
        }
    except Exception as exc:  # the compute endpoint is there but does not answer: say so, then fall back
        if warnings is not None:
            warnings.append(
                f"Nova os-aggregates could not be read ({type(exc).__name__}: {exc}); aggregates were "
                "recognised by egov's own aggregate UUIDs"
            )
        return None


class UnmappedProviders(PlacementError):
    """Compute providers in no known aggregate: counting without them would understate the supply, so the
    command refuses, naming them, until an aggregate map places them."""

    def __init__(self, names: list[str]):
        self.names = names
        shown = ", ".join(names[:20]) + (f" … ({len(names)} in all)" if len(names) > 20 else "")
        super().__init__(
            f"{len(names)} compute providers are in no aggregate egov knows (not in Nova's os-aggregates nor "
            f"the source of truth): {shown}. Map them with --aggregate-map FILE (host-name pattern → "
            "aggregate, see docs/planners.md)"
        )


@dataclass(frozen=True)
class AggregateMap:
    """Host-name patterns (shell globs, first match wins) → aggregate of the source of truth, for compute
    providers Placement has in no aggregate egov knows."""

    path: str
    rules: tuple[tuple[str, AggregateInfo], ...]

    def find(self, host: str) -> AggregateInfo | None:
        return next((info for pattern, info in self.rules if fnmatchcase(host, pattern)), None)


#: A pattern longer than this is no host-name pattern (and globs are matched in bounded time anyway).
MAX_PATTERN = 200


def load_aggregate_map(path: Path, cloud: Cloud) -> AggregateMap:
    """Read an aggregate map: a YAML mapping of host-name pattern → aggregate name of ``cloud``; errors name
    the file and the pattern."""
    from egov.errors import SourceError, SourceErrors
    from egov.source import read_yaml

    raw = read_yaml(path)
    if not isinstance(raw, dict) or not raw:
        raise SourceError(
            path, "expected a mapping of host-name pattern → aggregate, e.g. 'gz1-cmp-*: gz-1-general'"
        )
    known = model_directory(cloud)
    by_name = {info.name: info for info in known.values()}
    rules, errors = [], []
    for pattern, aggregate in raw.items():
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN:
            errors.append(
                SourceError(
                    path,
                    f"a pattern is a host-name glob of 1..{MAX_PATTERN} characters",
                    value=str(pattern)[:80],
                )
            )
        elif not isinstance(aggregate, str) or aggregate not in by_name:
            errors.append(
                SourceError(path, f"unknown aggregate {aggregate!r}; known: {sorted(by_name)}", field=pattern)
            )
        else:
            rules.append((pattern, by_name[aggregate]))
    if errors:
        raise SourceErrors(errors)
    return AggregateMap(str(path), tuple(rules))


@dataclass
class LiveCloud:
    """What Placement holds, as egov's models."""

    source: SourceOfTruth  # the source of truth with its cloud replaced by the live one
    hosts: list[Host]  # live hosts (then planned expansions), in fit.Fleet's input order
    used: np.ndarray  # (resource, host) usage of other consumers than egov's holds
    held: np.ndarray  # (resource, host) usage of egov's holds
    providers: list[Provider]  # as Placement lists them, child providers included
    #: the rows of ``used`` and ``held``: the fit's rows for the live cloud (capacity.fit.cloud_resources)
    resources: tuple[str, ...] = ()
    mapped_by_file: list[str] = field(default_factory=list)  # "host → aggregate" placed by an aggregate map
    holds: dict[str, int] = field(default_factory=dict)  # hold consumer → providers it allocates on


def is_compute(provider: Provider) -> bool:
    """A compute node: a provider with VCPU and MEMORY_MB inventory."""
    return "VCPU" in provider.inventories and "MEMORY_MB" in provider.inventories


def live_hosts(
    providers: Iterable[Provider],
    directory: dict[str, AggregateInfo],
    ha_reserve: dict[str, int],
    aggregate_map: AggregateMap | None = None,
    resources: tuple[str, ...] | None = None,
) -> tuple[list[Host], list[str], list[str]]:
    """Compute providers as fit.Host (sorted by name), N+k held out per aggregate; the unmapped ones; and the
    ones placed by ``aggregate_map`` ("host → aggregate"). ``resources``: the classes read (default: the
    standard table's host classes, VGPU included)."""
    resources = resources or default_resources()
    hosts, unmapped, by_map = [], [], []
    by_aggregate: dict[str, int] = defaultdict(int)
    mapped: list[tuple[Provider, AggregateInfo]] = []
    for rp in providers:
        if not is_compute(rp):
            continue
        info = next((directory[a] for a in rp.aggregates if a in directory), None)
        if info is None and aggregate_map is not None:
            info = aggregate_map.find(rp.name)
            if info is not None:
                by_map.append(f"{rp.name} → {info.name}")
        if info is None:
            unmapped.append(rp.name)
            continue
        mapped.append((rp, info))
        by_aggregate[info.name] += 1
    seen: dict[str, int] = defaultdict(int)
    for rp, info in mapped:
        seen[info.name] += 1
        hosts.append(
            Host(
                name=rp.name,
                az=info.az,
                aggregate=info.name,
                aggregate_class=info.aggregate_class,
                inventories={rc: rp.inventories[rc] for rc in resources if rc in rp.inventories},
                held_out=seen[info.name] > by_aggregate[info.name] - ha_reserve.get(info.az, 1),
                uuid=rp.uuid,
                traits=rp.traits,
            )
        )
    return hosts, unmapped, by_map


def _signature(host: Host) -> tuple[Any, ...]:
    """A host's inventories as (class, total, reserved, ratio), in the host's (table) order."""
    return tuple((rc, inv.total, inv.reserved, inv.allocation_ratio) for rc, inv in host.inventories.items())


def cloud_from_hosts(base: Cloud, hosts: list[Host]) -> Cloud:
    """``base`` with its aggregates' host counts and host models replaced by the live hosts: one host model
    (and, beyond the first, one extra aggregate) per distinct inventory in an aggregate."""
    models: dict[str, HostModel] = {}
    table = base.resource_classes
    context = {"resource_classes": table}
    groups: dict[tuple[str, str], dict[tuple[Any, ...], list[Host]]] = defaultdict(lambda: defaultdict(list))
    for host in hosts:
        groups[(host.az, host.aggregate)][_signature(host)].append(host)
    zones: list[AvailabilityZone] = []
    az_names = [az.name for az in base.availability_zones] + sorted(
        {h.az for h in hosts} - {az.name for az in base.availability_zones}
    )
    for az_name in az_names:
        base_az = next((az for az in base.availability_zones if az.name == az_name), None)
        templates = {agg.name: agg for agg in base_az.aggregates} if base_az else {}
        names = list(templates) + sorted({a for (z, a) in groups if z == az_name} - set(templates))
        aggregates = []
        for name in names:
            template = templates.get(name)
            shapes = sorted(groups.get((az_name, name), {}).items(), key=lambda kv: (-len(kv[1]), kv[0]))
            if not shapes:
                if template is not None:
                    aggregates.append(template.model_copy(update={"hosts": 0}))
                continue
            for k, (signature, members) in enumerate(shapes):
                model_name = f"{name}@placement" if k == 0 else f"{name}@placement~{k + 1}"
                models[model_name] = HostModel.model_validate(
                    {"resources": {rc: f"{total} {table.unit(rc)}" for rc, total, _, _ in signature}},
                    context=context,
                )
                aggregates.append(
                    Aggregate(
                        name=name if k == 0 else f"{name}~{k + 1}",
                        host_model=model_name,
                        hosts=len(members),
                        metadata=dict(template.metadata)
                        if template
                        else {"class": members[0].aggregate_class},
                        allocation_ratios={rc: ratio for rc, _, _, ratio in signature},
                        reserved=table.parse_amounts(
                            {rc: f"{reserved} {table.unit(rc)}" for rc, _, reserved, _ in signature}, name
                        ),
                    )
                )
        if base_az is not None:
            zones.append(base_az.model_copy(update={"aggregates": aggregates}))
        else:
            zones.append(AvailabilityZone(name=az_name, aggregates=aggregates))
    for az in base.availability_zones:
        for agg in az.aggregates:
            models.setdefault(agg.host_model, base.host_models[agg.host_model])
    return Cloud.model_validate(
        {**dict(base), "host_models": models, "availability_zones": zones}, context=context
    )


def hold_consumers(providers: Iterable[Provider], holds: set[str]) -> dict[str, int]:
    """Hold consumer → number of providers it allocates on."""
    counts: dict[str, int] = defaultdict(int)
    for rp in providers:
        for consumer in rp.allocations:
            if consumer in holds:
                counts[consumer] += 1
    return dict(counts)


def read_live(
    conn: Any,
    source: SourceOfTruth,
    progress: Callable[[int, int], None] | None = None,
    hold_ids: set[str] | None = None,
    aggregate_map: AggregateMap | None = None,
) -> LiveCloud:
    """The live cloud behind ``conn`` as a source of truth plus the fit simulator's hosts and usage.

    Raises UnmappedProviders naming the compute providers in no known aggregate (Nova's os-aggregates when
    the catalogue has a compute endpoint, else the source of truth's), unless ``aggregate_map`` places them:
    an answer without them would silently understate the supply. What was guessed is in the live source's
    ``warnings``."""
    providers = read_providers(conn, progress)
    roots = fold_nested(providers)
    warnings: list[str] = []
    directory = nova_directory(conn, warnings) or model_directory(source.cloud)
    ha_reserve = {az.name: az.ha_reserve_hosts for az in source.cloud.availability_zones}
    resources = source.cloud.resource_classes.host_classes
    hosts, unmapped, by_map = live_hosts(roots, directory, ha_reserve, aggregate_map, resources)
    if unmapped:
        raise UnmappedProviders(unmapped)
    if by_map and aggregate_map is not None:
        warnings.append(
            f"{len(by_map)} compute providers in no known aggregate were placed by the aggregate map "
            f"{aggregate_map.path}: {', '.join(by_map)}"
        )
    holds = hold_ids if hold_ids is not None else hold_consumer_ids(source)
    by_uuid = {rp.uuid: rp for rp in roots}
    cloud = cloud_from_hosts(source.cloud, hosts)
    resources = cloud_resources(cloud)  # the fit's rows (capacity.fit)
    used = np.zeros((len(resources), len(hosts)), dtype=np.int64)
    held = np.zeros_like(used)
    for j, host in enumerate(hosts):
        rp = by_uuid[str(host.uuid)]
        for row, rc in enumerate(resources):
            held[row, j] = sum(alloc.get(rc, 0) for c, alloc in rp.allocations.items() if c in holds)
            used[row, j] = rp.usages.get(rc, 0) - held[row, j]
    planned = expansion_hosts(cloud, source.planning.start_month)
    all_hosts = hosts + planned
    padding = np.zeros((len(resources), len(planned)), dtype=np.int64)
    return LiveCloud(
        source=source.model_copy(update={"cloud": cloud, "warnings": (*source.warnings, *warnings)}),
        hosts=all_hosts,
        used=np.hstack([used, padding]),
        held=np.hstack([held, padding]),
        providers=providers,
        resources=resources,
        mapped_by_file=by_map,
        holds=hold_consumers(providers, holds),
    )


def existing_demand(live: LiveCloud) -> dict[LineKey, np.ndarray]:
    """Usage already in Placement (holds excepted) as flat demand per (resource, zone) line."""
    months = live.source.planning.horizon_months
    lines: dict[LineKey, np.ndarray] = {}
    for j, host in enumerate(live.hosts):
        for row, rc in enumerate(live.resources):
            if live.used[row, j]:
                key = (rc, host.az)
                lines[key] = lines.get(key, np.zeros(months)) + float(live.used[row, j])
    return lines


def provider_body(inventories: dict[str, Inventory], generation: int) -> dict[str, Any]:
    """PUT /resource_providers/{uuid}/inventories body (max_unit None → total, as Nova's virt drivers)."""
    return {
        "resource_provider_generation": generation,
        "inventories": {
            rc: {
                "total": inv.total,
                "reserved": inv.reserved,
                "allocation_ratio": inv.allocation_ratio,
                "min_unit": inv.min_unit,
                "max_unit": inv.total if inv.max_unit is None else inv.max_unit,
                "step_size": inv.step_size,
            }
            for rc, inv in inventories.items()
        },
    }


def class_trait(aggregate_class: str) -> str:
    """The custom trait egov puts on a host of ``aggregate_class`` (CUSTOM_EGOV_CLASS_GENERAL)."""
    return "CUSTOM_EGOV_CLASS_" + "".join(c if c.isalnum() else "_" for c in aggregate_class.upper())


def register_host(
    conn: Any, host: Host, provider: str, aggregate: str, traits: set[str] | None = None
) -> None:
    """Create one host's resource provider with inventories, aggregate and class trait (lab and tests);
    ``traits`` remembers the custom traits already created."""
    call(conn, "POST", "/resource_providers", WRITE_MICROVERSION, json={"name": host.name, "uuid": provider})
    body = provider_body({rc: inv for rc, inv in host.inventories.items()}, 0)
    call(conn, "PUT", f"/resource_providers/{provider}/inventories", WRITE_MICROVERSION, json=body)
    call(
        conn,
        "PUT",
        f"/resource_providers/{provider}/aggregates",
        WRITE_MICROVERSION,
        json={"aggregates": [aggregate], "resource_provider_generation": 1},
    )
    trait = class_trait(host.aggregate_class)
    if traits is None or trait not in traits:
        call(conn, "PUT", f"/traits/{trait}", WRITE_MICROVERSION)
        if traits is not None:
            traits.add(trait)
    call(
        conn,
        "PUT",
        f"/resource_providers/{provider}/traits",
        WRITE_MICROVERSION,
        json={"traits": [trait], "resource_provider_generation": 2},
    )


def register_cloud(conn: Any, cloud: Cloud, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Register the installed hosts of ``cloud`` in an empty Placement, as Nova's compute services would:
    for labs, tests and benchmarks, never for a production cloud (Nova owns those providers)."""
    hosts = hosts_from_cloud(cloud)
    uuids: list[str] = []
    traits: set[str] = set()
    for done, host in enumerate(hosts):
        provider = provider_uuid(cloud, host.name)
        register_host(conn, host, provider, aggregate_uuid(cloud, host.aggregate), traits)
        uuids.append(provider)
        if progress is not None:
            progress(done + 1, len(hosts))
    return uuids


def live_assessment(source: SourceOfTruth, live: LiveCloud) -> Assessment:
    """The headroom assessment of ``source`` (a live source, maybe with a scenario applied) with the usage
    already in Placement counted as flat existing demand beside the systems' demand."""
    from capacity.demand import demand_lines
    from capacity.headroom import assess

    demand = demand_lines(source)
    for key, series in existing_demand(live).items():
        demand[key] = demand[key] + series if key in demand else series
    return assess(source, demand=demand)
