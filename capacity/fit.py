"""Placement-exact fit simulation: systems expand into VMs by flavor and are placed host by host, month by
month, as Nova's scheduler and Placement would place them.

Sums lie: 200 free cores spread 4 per host cannot start one 16-vCPU VM. This module places every VM on one
host (a resource provider) whose inventories admit it — the decision is capacity.inventory's, the one place
of Placement's arithmetic — and reports what is left *per flavor* instead of per resource.

Rules (docs/fit.md explains them for operators):

- Hosts: one per installed host of each aggregate (capacity.supply.host_inventories), plus planned
  expansions from their month. N+k: in each month, the ``ha_reserve_hosts`` largest hosts present of each
  *aggregate class* of a zone are held out (largest by RAM, then vCPU, then disk; among equals the newest),
  because a VM evacuated from a failed host can only restart on a host of its own class — the same reserve
  as capacity.supply's sums. A larger host arriving mid-horizon takes over the reserve and frees a smaller
  one, which is empty (held-out hosts never take VMs, and presence only grows).
- Filters: the host's availability zone is the system's (AvailabilityZoneFilter) and the aggregate metadata
  ``class`` equals the flavor's ``aggregate_class`` (AggregateInstanceExtraSpecsFilter); then Placement's
  claim: every resource class fits (capacity.inventory).
- Weighers: ``spread`` takes the host with the most free RAM (Nova's default RAMWeigher), ``pack`` the one
  with the least (best fit); ties go to the first host in order.
- Flavors: a system naming a ``flavor`` uses it. Otherwise :func:`choose_flavor`: among the catalogue's
  flavors of aggregate classes present in the system's zone, the family (same RAM per vCPU) with the
  smallest RAM per vCPU that still covers the system's — so the vCPUs bought also bring the RAM — and in it
  the flavor that allocates the least for the system at migration (VMs round up), the fewest VMs among
  equals; when no family covers the ratio, the family with the most RAM per vCPU. A system then runs
  max(⌈vCPU ÷ flavor vCPU⌉, ⌈RAM ÷ flavor RAM⌉) VMs, recomputed each month from its growth curve;
  shrinking systems release their newest VMs first.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np

from capacity.demand import system_curves
from capacity.inventory import Inventory, InventoryArrays, claims_that_fit, has_room
from capacity.supply import host_inventories
from egov.model import Cloud, Flavor, ResourceClass, SourceOfTruth, System
from egov.months import months_between
from egov.resources import MEMORY_MB, VCPU, ResourceTable, standard_table
from egov.units import magnitude_in


def default_resources() -> tuple[ResourceClass, ...]:
    """The host classes of the standard table (VCPU, MEMORY_MB, DISK_GB, VGPU)."""
    return standard_table().host_classes


def flavor_classes(table: ResourceTable | None = None) -> tuple[ResourceClass, ...]:
    """The classes a Nova flavor carries in its own fields (VCPU, MEMORY_MB, DISK_GB): the rows of a request
    when none are given."""
    table = table or standard_table()
    return tuple(c.name for c in table if c.flavor_field and c.name in table.host_classes)


def cloud_resources(cloud: Cloud) -> tuple[ResourceClass, ...]:
    """The rows of the fit's arrays for ``cloud``: the table's host classes some host model offers or some
    flavor asks for (a GPU flavor without GPU hosts still needs its VGPU row, to find no host)."""
    models = cloud.host_models.values()
    return tuple(
        rc
        for rc in cloud.resource_classes.host_classes
        if any(rc in m.resources for m in models) or any(rc in f.resources for f in cloud.flavors)
    )


def _offered(hosts: Sequence[Host]) -> tuple[ResourceClass, ...]:
    """The classes ``hosts`` offer: the standard table's order, then any other in first-seen order."""
    seen = dict.fromkeys(rc for h in hosts for rc in h.inventories)
    known = [rc for rc in default_resources() if rc in seen]
    return (*known, *(rc for rc in seen if rc not in known))


class Weigher(StrEnum):
    """How the scheduler orders the hosts that pass the filters."""

    spread = "spread"  # most free RAM first: Nova's default RAMWeigher (ram_weight_multiplier = 1.0)
    pack = "pack"  # least free RAM first: a negative multiplier, best fit


@dataclass(frozen=True)
class Host:
    """One compute host as a Placement resource provider, with the metadata the filters look at."""

    name: str
    az: str
    aggregate: str
    aggregate_class: str
    inventories: dict[ResourceClass, Inventory]
    active_from: int = 0  # first month index the host is in service (planned expansions)
    held_out: bool = False  # kept empty for N+k failover
    uuid: str | None = None  # the resource provider's, when read from a live Placement
    traits: tuple[str, ...] = ()


def flavor_request(
    flavor: Flavor, resources: Sequence[ResourceClass] | None = None, table: ResourceTable | None = None
) -> tuple[int, ...]:
    """What one VM of ``flavor`` claims per row of ``resources`` (default: the flavor's own fields, VCPU,
    MEMORY_MB in MiB, DISK_GB in GiB), in Placement units as Nova's request spec; 0 for a class it does
    not ask for. A class it asks for outside ``resources`` is a ValueError: dropping it would let a vGPU
    flavor "fit" on hosts without vGPUs."""
    table = table or standard_table()
    claims = flavor.request(table)
    rows = tuple(resources or flavor_classes(table))
    dropped = sorted(set(claims) - set(rows))
    if dropped:
        raise ValueError(f"flavor {flavor.name} asks for {', '.join(dropped)}, not a row of {list(rows)}")
    return tuple(claims.get(rc, 0) for rc in rows)


def hosts_from_cloud(cloud: Cloud, start_month: date | None = None) -> list[Host]:
    """Every installed host of ``cloud``, N+k held out per aggregate; with ``start_month``, also the planned
    expansions, in service from their month."""
    hosts: list[Host] = []
    for az in cloud.availability_zones:
        for agg in az.aggregates:
            inventories = host_inventories(cloud, agg)
            klass = agg.metadata.get("class", "general")
            for i in range(agg.hosts):
                hosts.append(
                    Host(
                        name=f"{agg.name}-{i + 1:03d}",
                        az=az.name,
                        aggregate=agg.name,
                        aggregate_class=klass,
                        inventories=inventories,
                        held_out=i >= agg.hosts - az.ha_reserve_hosts,
                    )
                )
    if start_month is not None:
        hosts.extend(expansion_hosts(cloud, start_month))
    return hosts


def expansion_hosts(cloud: Cloud, start_month: date) -> list[Host]:
    """The hosts planned expansions add, each in service from its expansion's month (index from
    ``start_month``; earlier months count as 0)."""
    hosts: list[Host] = []
    for az in cloud.availability_zones:
        for agg in az.aggregates:
            inventories = host_inventories(cloud, agg)
            added = agg.hosts
            for exp in cloud.expansions:
                if exp.aggregate != agg.name or not exp.hosts:
                    continue
                month = max(0, months_between(start_month, exp.month))
                for _ in range(exp.hosts):
                    added += 1
                    hosts.append(
                        Host(
                            name=f"{agg.name}-{added:03d}",
                            az=az.name,
                            aggregate=agg.name,
                            aggregate_class=agg.metadata.get("class", "general"),
                            inventories=inventories,
                            active_from=month,
                        )
                    )
    return hosts


class Fleet:
    """Hosts as arrays with their usage: the simulated Placement and scheduler.

    Hosts are kept grouped by (availability zone, aggregate class) so that each filter result is a
    contiguous slice of the arrays (a view, not a copy).
    """

    def __init__(
        self,
        hosts: Sequence[Host],
        used: np.ndarray | None = None,
        ha_reserve: dict[str, int] | None = None,
        resources: Sequence[ResourceClass] | None = None,
    ) -> None:
        """``ha_reserve``: k of N+k per availability zone, kept per aggregate class month by month (see the
        module docstring); without it, each host's static ``held_out`` flag is used. ``resources``: the
        rows of the arrays (default: the classes the hosts offer); a host without a class has none of it."""
        self.resources: tuple[ResourceClass, ...] = tuple(resources or _offered(hosts))
        resources = self.resources
        order = sorted(range(len(hosts)), key=lambda i: (hosts[i].az, hosts[i].aggregate_class))
        self.hosts: list[Host] = [hosts[i] for i in order]
        self.inventories = {
            rc: InventoryArrays.of([h.inventories.get(rc, Inventory(total=0)) for h in self.hosts])
            for rc in resources
        }
        self.capacity = np.vstack([self.inventories[rc].capacity for rc in resources])
        self.memory_row = resources.index(MEMORY_MB)
        self.used = np.zeros((len(resources), len(self.hosts)), dtype=np.int64)
        if used is not None:
            self.used[:] = used[:, order]
        self.active_from = np.array([h.active_from for h in self.hosts], dtype=np.int64)
        self.held_out = np.array([h.held_out for h in self.hosts], dtype=bool)
        self.enabled = np.zeros(len(self.hosts), dtype=bool)
        self.groups: dict[tuple[str, str], slice] = {}
        for i, host in enumerate(self.hosts):
            key = (host.az, host.aggregate_class)
            start = self.groups[key].start if key in self.groups else i
            self.groups[key] = slice(start, i + 1)
        #: per group, per resource row: the group's inventories as views (inventory.py does the arithmetic)
        self.group_inventories = {
            group: [self.inventories[rc].part(sl) for rc in self.resources]
            for group, sl in self.groups.items()
        }
        self._admits: dict[tuple[tuple[str, str], tuple[int, ...]], np.ndarray] = {}
        self._asked_rows: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._in_zone: dict[str, np.ndarray] = {}
        self._asked_capacity: dict[tuple[tuple[str, str], tuple[int, ...]], np.ndarray] = {}
        self.ha_reserve = ha_reserve
        # Rank of each host within its group for the N+k hold-out: largest RAM, vCPU, disk first, then newest.
        disk = (
            self.capacity[resources.index("DISK_GB")] if "DISK_GB" in resources else np.zeros(len(self.hosts))
        )
        vcpu = self.capacity[resources.index(VCPU)]
        self._ha_order = {
            group: sl.start
            + np.lexsort(
                (
                    -np.arange(sl.stop - sl.start),
                    -disk[sl],
                    -vcpu[sl],
                    -self.capacity[self.memory_row, sl],
                )
            )
            for group, sl in self.groups.items()
        }
        self.open_month(0)

    def open_month(self, month: int) -> None:
        """Enable the hosts in service in ``month`` (installed ones and expansions due), minus N+k."""
        present = self.active_from <= month
        if self.ha_reserve is None:
            self.enabled = present & ~self.held_out
            return
        self.held_out = np.zeros(len(self.hosts), dtype=bool)
        for (az, _klass), order in self._ha_order.items():
            ranked = order[present[order]]
            self.held_out[ranked[: self.ha_reserve.get(az, 0)]] = True
        self.enabled = present & ~self.held_out

    def admits(self, group: tuple[str, str], request: tuple[int, ...]) -> np.ndarray:
        """Per host of ``group``: whether min_unit/max_unit/step_size admit ``request`` (cached; static)."""
        key = (group, request)
        mask = self._admits.get(key)
        if mask is None:
            if len(request) != len(self.resources):  # checked once per request shape: the cache's miss path
                raise ValueError(f"request {request} does not have one amount per row {self.resources}")
            sl = self.groups[group]
            mask = np.ones(sl.stop - sl.start, dtype=bool)
            for row, inventories in enumerate(self.group_inventories[group]):
                if request[row] > 0:
                    mask &= inventories.admits(request[row])
            self._admits[key] = mask
        return mask

    def _asked(self, request: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The rows ``request`` asks for (amount > 0) and those amounts as a column: one array operation
        then checks every resource class of the request (the fit calls this thousands of times a run)."""
        asked = self._asked_rows.get(request)
        if asked is None:
            rows = np.array([row for row, amount in enumerate(request) if amount > 0], dtype=np.intp)
            asked = (rows, np.array(request, dtype=np.int64)[rows][:, None])
            self._asked_rows[request] = asked
        return asked

    def fitting(self, group: tuple[str, str], request: tuple[int, ...]) -> np.ndarray:
        """Per host of ``group``: enabled and the whole request fits (capacity.inventory's rule)."""
        sl = self.groups[group]
        rows, amounts = self._asked(request)
        key = (group, request)
        capacity = self._asked_capacity.get(key)
        if capacity is None:  # the capacity never changes: its rows for this request are cut out once
            capacity = self._asked_capacity[key] = self.capacity[rows, sl]
        room = has_room(self.used[rows, sl], amounts, capacity).all(axis=0)
        return self.admits(group, request) & self.enabled[sl] & room

    def fits_on(self, host: int, request: tuple[int, ...]) -> bool:
        """Whether Placement would accept ``request`` on ``host`` now (scalar, via capacity.inventory)."""
        inventories = self.hosts[host].inventories
        for row, rc in enumerate(self.resources):
            if request[row] > 0:
                inv = inventories.get(rc)
                if inv is None or not inv.fits(int(self.used[row, host]), request[row]):
                    return False
        return True

    def claim(self, host: int, request: tuple[int, ...]) -> bool:
        """Claim ``request`` on a named ``host`` as PUT /allocations would: all or nothing."""
        if not self.fits_on(host, request):
            return False
        self.used[:, host] += request
        return True

    def release(self, host: int, request: tuple[int, ...]) -> None:
        """Give back a claim (DELETE /allocations)."""
        self.used[:, host] -= request

    def choose(self, group: tuple[str, str], request: tuple[int, ...], weigher: Weigher) -> int | None:
        """The host the scheduler picks for ``request`` in ``group``, or None (NoValidHost)."""
        if group not in self.groups:  # (a group always holds at least one host: built from the hosts)
            return None
        sl = self.groups[group]
        mask = self.fitting(group, request)
        free_ram = self.capacity[self.memory_row, sl] - self.used[self.memory_row, sl]
        if weigher is Weigher.spread:
            pick = int(np.argmax(np.where(mask, free_ram, -np.inf)))
        else:
            pick = int(np.argmin(np.where(mask, free_ram, np.inf)))
        # no host passes when even the pick does not (argmax of all −inf is the first host)
        return sl.start + pick if mask[pick] else None

    def schedule(self, group: tuple[str, str], request: tuple[int, ...], weigher: Weigher) -> int | None:
        """Filter, weigh and claim: the host the VM lands on, or None."""
        host = self.choose(group, request, weigher)
        if host is not None:
            self.used[:, host] += request
        return host

    def schedule_many(
        self, group: tuple[str, str], request: tuple[int, ...], weigher: Weigher, count: int
    ) -> list[int]:
        """:meth:`schedule` called ``count`` times, stopping at the first None: the hosts the VMs land on, in
        order (fewer than ``count`` when the group runs out). The same picks, one array pass instead of one
        per VM: a host's fit and weight change only by the VMs this call puts on it, so the ``count`` best
        hosts that fit go into a heap keyed as the weigher orders them (ties: the first host), each with how
        many more it takes (capacity.inventory's exact count), and the top host is popped and pushed back
        per VM."""
        if count <= 1:  # one pick: the array pass alone is cheaper than building the heap
            host = self.schedule(group, request, weigher) if count == 1 else None
            return [] if host is None else [host]
        if group not in self.groups:
            return []
        sl = self.groups[group]
        mask = self.fitting(group, request)
        row = self.memory_row
        # the weight as choose computes it (capacity − used, RAM row), best first; a stable sort keeps the
        # first host first among equals. Only the ``count`` best can take a VM in ``count`` picks: a host
        # further down is picked only once every one above it has been picked at least once (to lose free
        # RAM under spread, to fill up under pack).
        free = self.capacity[row, sl] - self.used[row, sl]
        candidates = np.flatnonzero(mask)
        sign = -1 if weigher is Weigher.spread else 1
        best = candidates[np.argsort(sign * free[candidates], kind="stable")[:count]]
        if len(best) == 0:
            return []
        rows, amounts = self._asked(request)
        if len(rows) == 0:  # a request for nothing fits any number of times
            room = np.full(len(best), count, dtype=np.int64)
        else:
            where = sl.start + best
            room = claims_that_fit(self.used[rows][:, where], amounts, self.capacity[rows][:, where]).min(
                axis=0
            )
        capacity = self.capacity[row, sl][best].tolist()
        used = self.used[row, sl][best].tolist()
        asked = request[row]
        left = dict(zip(best.tolist(), room.tolist(), strict=True))
        heap = [(sign * (capacity[j] - used[j]), i, j) for j, i in enumerate(best.tolist())]
        heapq.heapify(heap)
        picks: list[int] = []
        while heap and len(picks) < count:
            _weight, i, j = heapq.heappop(heap)
            picks.append(i)
            used[j] += asked
            left[i] -= 1
            if left[i] > 0:
                heapq.heappush(heap, (sign * (capacity[j] - used[j]), i, j))
        taken = np.bincount(np.array(picks, dtype=np.intp), minlength=sl.stop - sl.start)
        self.used[:, sl] += np.array(request, dtype=np.int64)[:, None] * taken[None, :]
        return [sl.start + i for i in picks]

    def how_many_each(self, group: tuple[str, str], requests: Sequence[tuple[int, ...]]) -> np.ndarray:
        """:meth:`how_many` for several requests at once (flavors × hosts of ``group``): one array operation
        per month and group instead of one per flavor (the fit's snapshot asks for every flavor)."""
        sl = self.groups[group]
        table = np.array(requests, dtype=np.int64).reshape(len(requests), len(self.resources))
        asked = table > 0
        amounts = np.where(asked, table, 1)[:, :, None]  # a class not asked for limits nothing (masked below)
        n = claims_that_fit(self.used[None, :, sl], amounts, self.capacity[None, :, sl])
        counts = np.where(asked[:, :, None], n, np.iinfo(np.int64).max).min(axis=1)
        admitted = np.array([self.admits(group, request) for request in requests], dtype=bool)
        return np.where(self.enabled[None, sl] & admitted.reshape(counts.shape), counts, 0)

    def in_zone(self, az: str) -> np.ndarray:
        """Per host: whether it stands in ``az`` (static; cached)."""
        mask = self._in_zone.get(az)
        if mask is None:
            mask = self._in_zone[az] = np.array([h.az == az for h in self.hosts], dtype=bool)
        return mask

    def how_many(self, group: tuple[str, str], request: tuple[int, ...]) -> np.ndarray:
        """Per host of ``group``: how many more VMs of ``request`` fit (0 on disabled hosts)."""
        sl = self.groups[group]
        rows, amounts = self._asked(request)
        if len(rows) == 0:
            return np.where(self.enabled[sl], np.iinfo(np.int64).max, 0)
        counts = claims_that_fit(self.used[rows, sl], amounts, self.capacity[rows, sl]).min(axis=0)
        return np.where(self.enabled[sl] & self.admits(group, request), counts, 0)


def _extra_classes(table: ResourceTable, resources: dict[ResourceClass, object]) -> frozenset[ResourceClass]:
    """The classes beyond vCPU and RAM that size VMs and that ``resources`` has (VGPU for a GPU system or
    flavor): a flavor serves a system only when both ask for the same ones."""
    return frozenset(
        rc
        for rc in resources
        if rc not in (VCPU, MEMORY_MB) and table[rc].sizes_vms and rc in table.host_classes
    )


def choose_flavor(cloud: Cloud, system: System, requests: dict[str, tuple[int, ...]] | None = None) -> Flavor:
    """The flavor a system's VMs use: its own, or the catalogue rule of the module docstring (among the
    flavors asking for the same classes beyond vCPU and RAM as the system has, e.g. VGPU)."""
    return FlavorCatalogue(cloud, requests).choose(system)


class FlavorCatalogue:
    """:func:`choose_flavor` for many systems of one cloud: what depends only on the catalogue and a zone
    (the candidate flavors, their RAM per vCPU, the class order) is worked out once per (zone, classes
    asked) instead of once per system — the check chooses for a thousand systems on every run."""

    def __init__(self, cloud: Cloud, requests: dict[str, tuple[int, ...]] | None = None) -> None:
        self.cloud = cloud
        self.table = cloud.resource_classes
        resources = cloud_resources(cloud)
        self.requests = requests or {f.name: flavor_request(f, resources, self.table) for f in cloud.flavors}
        self.memory = resources.index(MEMORY_MB)
        self.by_name = {f.name: f for f in cloud.flavors}
        self.vcpus = {f.name: f.vcpus for f in cloud.flavors}
        self.extra = {f.name: _extra_classes(self.table, dict(f.resources)) for f in cloud.flavors}
        # A family (same RAM per vCPU) may span classes; the class listed first in the catalogue wins.
        self.class_rank: dict[str, int] = {}
        for flavor in cloud.flavors:
            self.class_rank.setdefault(flavor.aggregate_class, len(self.class_rank))
        self._candidates: dict[tuple[str, frozenset[ResourceClass]], list[Flavor]] = {}

    def candidates(self, az: str, wanted: frozenset[ResourceClass]) -> list[Flavor]:
        """The flavors of aggregate classes present in ``az`` that ask for exactly ``wanted`` beyond vCPU
        and RAM."""
        key = (az, wanted)
        found = self._candidates.get(key)
        if found is None:
            classes = {
                agg.metadata.get("class", "general")
                for zone in self.cloud.availability_zones
                if zone.name == az
                for agg in zone.aggregates
            }
            found = [
                f for f in self.cloud.flavors if f.aggregate_class in classes and self.extra[f.name] == wanted
            ]
            self._candidates[key] = found
        return found

    def choose(self, system: System) -> Flavor:
        if system.flavor is not None:
            if system.flavor in self.by_name:
                return self.by_name[system.flavor]
            raise ValueError(f"system {system.id} names unknown flavor {system.flavor!r}")
        if system.vcpu <= 0:
            raise ValueError(f"system {system.id} has no vCPU: it runs no VM (storage only)")
        wanted = _extra_classes(self.table, {rc: q for rc, q in system.resources.items() if q.magnitude > 0})
        candidates = self.candidates(system.az, wanted)
        if not candidates:
            raise ValueError(
                f"no flavor of the catalogue runs in availability zone {system.az!r} ({system.id})"
            )
        requests, memory, vcpus = self.requests, self.memory, self.vcpus
        need_ram = magnitude_in(system.ram, "MiB")
        need = need_ram / system.vcpu
        ratio_of = {f.name: requests[f.name][memory] / vcpus[f.name] for f in candidates}
        ratios = sorted(set(ratio_of.values()))
        covering = [r for r in ratios if r >= need - 1e-9]
        ratio = covering[0] if covering else ratios[-1]
        same_ratio = [f for f in candidates if ratio_of[f.name] == ratio]
        first_class = min(same_ratio, key=lambda f: self.class_rank[f.aggregate_class]).aggregate_class
        family = sorted(
            (f for f in same_ratio if f.aggregate_class == first_class),
            key=lambda f: (vcpus[f.name], requests[f.name][memory], f.name),
        )
        # The flavor that allocates the least for the system at migration (VMs round up, so a 10-vCPU system
        # takes 3 × 4 vCPU rather than 2 × 8); among equals, the one with the fewest VMs.

        def allocated(flavor: Flavor) -> tuple[float, int]:
            cores, ram = vcpus[flavor.name], requests[flavor.name][memory]
            count = max(math.ceil(system.vcpu / cores - 1e-9), math.ceil(need_ram / ram - 1e-9), 1)
            return count * ram, count

        return min(family, key=allocated)


@dataclass(frozen=True)
class SystemVms:
    """A system's VMs: the flavor, the group its hosts come from, and how many it runs each month."""

    system: System
    flavor: Flavor
    counts: np.ndarray  # int per month
    request: tuple[int, ...]  # flavor_request(flavor), computed once: pint conversions are slow

    @property
    def group(self) -> tuple[str, str]:
        return (self.system.az, self.flavor.aggregate_class)


def vm_counts(source: SourceOfTruth) -> list[SystemVms]:
    """Expand every system with vCPUs into VMs of one flavor, month by month (growth included): as many VMs
    as the most demanding class that sizes VMs needs (vCPU, RAM, vGPU; not local disk)."""
    systems = [s for s in source.systems if s.vcpu > 0]
    curves = system_curves(source.planning, systems)
    table = source.cloud.resource_classes
    resources = cloud_resources(source.cloud)
    requests = {f.name: flavor_request(f, resources, table) for f in source.cloud.flavors}
    sizing = [(row, rc) for row, rc in enumerate(resources) if table[rc].sizes_vms]
    out = []
    catalogue = FlavorCatalogue(source.cloud, requests)
    for system, curve in zip(systems, curves, strict=True):
        flavor = catalogue.choose(system)
        request = requests[flavor.name]
        needed = [
            system.size(rc, table.unit(rc)) * curve / request[row] for row, rc in sizing if request[row] > 0
        ]
        # 1e-9 keeps 8.000000001 VMs (float noise of the growth curve) at 8.
        counts = np.ceil(np.maximum.reduce(needed) - 1e-9).astype(np.int64)
        out.append(SystemVms(system, flavor, np.maximum(counts, 0), request))
    return out


@dataclass
class MonthFit:
    """The fleet after one month's placements, per availability zone."""

    #: (az, flavor) → how many more VMs of the flavor fit, host by host (Placement's view)
    flavor_fits: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (az, flavor) → how many the plain sums promise: min over resources of ⌊Σ free ÷ flavor size⌋
    flavor_sums: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (az, resource) → free capacity, summed over the zone's enabled hosts
    free: dict[tuple[str, ResourceClass], float] = field(default_factory=dict)
    #: (az, resource) → the part of it no flavor of the host's class can use
    stranded: dict[tuple[str, ResourceClass], float] = field(default_factory=dict)
    hosts_enabled: dict[str, int] = field(default_factory=dict)
    hosts_used: dict[str, int] = field(default_factory=dict)
    hosts_lower_bound: dict[str, int] = field(default_factory=dict)
    vms_placed: dict[str, int] = field(default_factory=dict)
    vms_unplaced: dict[str, int] = field(default_factory=dict)
    #: (az, aggregate class) → what the VMs without a host asked for, per row of the fleet's resources
    missing: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Unplaced:
    """A system whose VMs did not all find a host, first in ``month`` (index)."""

    system_id: str
    az: str
    flavor: str
    month: int
    missing: int  # VMs without a host in that month


@dataclass(frozen=True)
class FitReport:
    """The whole simulation: one MonthFit per month of the horizon."""

    weigher: Weigher
    zones: list[str]
    flavors: list[Flavor]
    months: list[MonthFit]
    unplaced: list[Unplaced]
    #: the rows of every per-resource tuple (MonthFit.missing): the source's host classes
    resources: tuple[ResourceClass, ...] = field(default_factory=default_resources)
    #: each resource class's unit (egov.resources)
    units: dict[ResourceClass, str] = field(default_factory=dict)
    #: per zone, the classes some host of it offers (a zone without GPU hosts shows no VGPU)
    zone_resources: dict[str, tuple[ResourceClass, ...]] = field(default_factory=dict)

    def unit(self, resource: ResourceClass) -> str:
        return self.units.get(resource) or standard_table().unit(resource)

    def resources_of(self, az: str) -> tuple[ResourceClass, ...]:
        return self.zone_resources.get(az, self.resources)

    def first_unplaced_month(self, az: str) -> int | None:
        """The first month a VM of ``az`` found no host, or None."""
        hits = [i for i, m in enumerate(self.months) if m.vms_unplaced.get(az, 0) > 0]
        return hits[0] if hits else None


def lower_bound_hosts(demand: np.ndarray, per_host: np.ndarray) -> int:
    """max over resources of ⌈Σ demand ÷ one host's capacity⌉: no placement can use fewer hosts."""
    bound = 0
    for row in range(len(demand)):
        if demand[row] > 0:
            if per_host[row] <= 0:
                return 0
            bound = max(bound, math.ceil(demand[row] / per_host[row] - 1e-9))
    return bound


def snapshot(
    fleet: Fleet,
    flavors: Sequence[Flavor],
    zones: Sequence[str],
    requests: dict[str, tuple[int, ...]] | None = None,
) -> MonthFit:
    """Free capacity per flavor, stranded capacity and hosts used of the fleet as it stands."""
    resources = fleet.resources
    if requests is None:
        requests = {f.name: flavor_request(f) for f in flavors}
    month = MonthFit()
    free = np.where(fleet.enabled, np.maximum(fleet.capacity - fleet.used, 0.0), 0.0)
    in_use = fleet.used.sum(axis=0) > 0
    for az in zones:
        best = {rc: 0.0 for rc in resources}
        for (group_az, klass), sl in fleet.groups.items():
            if group_az != az:
                continue
            usable = np.zeros((len(resources), sl.stop - sl.start))
            of_class = [flavor for flavor in flavors if flavor.aggregate_class == klass]
            if of_class:
                group_free = [free[row, sl].sum() for row in range(len(resources))]
                asked = [requests[flavor.name] for flavor in of_class]
                each = fleet.how_many_each((az, klass), asked)
                for flavor, request, counts in zip(of_class, asked, each, strict=True):
                    month.flavor_fits[(az, flavor.name)] = int(counts.sum())
                    month.flavor_sums[(az, flavor.name)] = min(
                        math.floor(group_free[row] / request[row] + 1e-9)
                        for row in range(len(resources))
                        if request[row] > 0
                    )
                    usable = np.maximum(usable, counts * np.array(request)[:, None])
            for row, rc in enumerate(resources):
                best[rc] += float(np.minimum(usable[row], free[row, sl]).sum())
        in_az = fleet.in_zone(az)
        for row, rc in enumerate(resources):
            total_free = float(free[row, in_az].sum())
            month.free[(az, rc)] = total_free
            month.stranded[(az, rc)] = total_free - best[rc]
        month.hosts_enabled[az] = int((fleet.enabled & in_az).sum())
        month.hosts_used[az] = int((fleet.enabled & in_az & in_use).sum())
        bound = 0
        for (group_az, _klass), sl in fleet.groups.items():
            if group_az == az:
                demand = fleet.used[:, sl].sum(axis=1).astype(float)
                per_host = (
                    fleet.capacity[:, sl].max(axis=1) if sl.stop > sl.start else np.zeros(len(resources))
                )
                bound += lower_bound_hosts(demand, per_host)
        month.hosts_lower_bound[az] = bound
    for flavor in flavors:
        for az in zones:
            month.flavor_fits.setdefault((az, flavor.name), 0)
            month.flavor_sums.setdefault((az, flavor.name), 0)
    return month


def _place_month(
    fleet: Fleet,
    weigher: Weigher,
    demand: Sequence[SystemVms],
    placed: list[list[int]],
    targets: np.ndarray,
    visit: Sequence[int],
) -> None:
    """Bring each system of ``visit``, in that order, to its ``targets`` VMs: shrinking systems release their
    newest VMs, growing ones are scheduled VM by VM — as many as their group still takes.

    Consecutive growing systems of one group asking for the same flavor request are scheduled as one batch
    (:meth:`Fleet.schedule_many`) and the picks dealt out in order: the scheduler sees only its group's hosts,
    so the systems of other groups visited in between change nothing it sees, and when the group runs out
    the first system left short takes what remains and the later ones none — exactly as VM by VM. A release
    or another request in the group first places the batch waiting there."""
    waiting: dict[tuple[str, str], tuple[tuple[int, ...], list[tuple[int, int]]]] = {}

    def place(group: tuple[str, str]) -> None:
        request, systems = waiting.pop(group)
        picks = fleet.schedule_many(group, request, weigher, sum(need for _, need in systems))
        start = 0
        for k, need in systems:
            placed[k].extend(picks[start : start + need])
            start += need

    for k in visit:
        vms = demand[k]
        target = int(targets[k])
        stack = placed[k]
        group = vms.group
        if len(stack) > target:
            if group in waiting:
                place(group)
            while len(stack) > target:
                fleet.release(stack.pop(), vms.request)
        elif len(stack) < target:
            batch = waiting.get(group)
            if batch is not None and batch[0] != vms.request:
                place(group)
                batch = None
            if batch is None:
                batch = waiting[group] = (vms.request, [])
            batch[1].append((k, target - len(stack)))
    for group in list(waiting):
        place(group)


def simulate(
    source: SourceOfTruth,
    weigher: Weigher = Weigher.spread,
    hosts: Sequence[Host] | None = None,
    used: np.ndarray | None = None,
) -> FitReport:
    """Place every system's VMs month by month; ``hosts``/``used`` replace the model's fleet (live cloud)."""
    planning = source.planning
    table = source.cloud.resource_classes
    ha_reserve = {az.name: az.ha_reserve_hosts for az in source.cloud.availability_zones}
    fleet = Fleet(
        hosts if hosts is not None else hosts_from_cloud(source.cloud, planning.start_month),
        used,
        ha_reserve,
        cloud_resources(source.cloud),
    )
    zones = [az.name for az in source.cloud.availability_zones]
    for host in fleet.hosts:
        if host.az not in zones:
            zones.append(host.az)
    demand = vm_counts(source)
    requests = {f.name: flavor_request(f, fleet.resources, table) for f in source.cloud.flavors}
    placed: list[list[int]] = [[] for _ in demand]
    # Only a system whose VM count changes this month, or that still lacks VMs, places or releases any: the
    # others leave the fleet as it is, so visiting just these (in the same order) places exactly the same.
    counts = np.array([vms.counts for vms in demand], dtype=np.int64).reshape(len(demand), -1)
    changes = np.diff(counts, axis=1, prepend=0) != 0
    placed_in = dict.fromkeys(zones, 0)  # VMs with a host, per zone, as of the last month visited
    short: set[int] = set()  # systems with fewer VMs than they need
    months: list[MonthFit] = []
    unplaced: list[Unplaced] = []
    reported: set[str] = set()
    for m in range(planning.horizon_months):
        fleet.open_month(m)
        vms_unplaced = dict.fromkeys(zones, 0)
        missing_by_group: dict[tuple[str, str], tuple[int, ...]] = {}
        visit = sorted(short.union(np.flatnonzero(changes[:, m]).tolist()))
        before = {k: len(placed[k]) for k in visit}
        _place_month(fleet, weigher, demand, placed, counts[:, m], visit)
        for k in visit:
            vms = demand[k]
            target = int(counts[k, m])
            stack = placed[k]
            request, group, az = vms.request, vms.group, vms.system.az
            missing = max(0, target - len(stack))
            placed_in[az] += len(stack) - before[k]
            vms_unplaced[az] += missing
            if missing:
                short.add(k)
                was = missing_by_group.get(group, (0,) * len(request))
                missing_by_group[group] = tuple(w + missing * r for w, r in zip(was, request, strict=True))
            else:
                short.discard(k)
            if missing and vms.system.id not in reported:
                reported.add(vms.system.id)
                unplaced.append(Unplaced(vms.system.id, az, vms.flavor.name, m, missing))
        vms_placed = dict(placed_in)
        month = snapshot(fleet, source.cloud.flavors, zones, requests)
        month.vms_placed, month.vms_unplaced = vms_placed, vms_unplaced
        month.missing = missing_by_group
        months.append(month)
    offered = {
        az: tuple(
            rc
            for rc in fleet.resources
            if any(h.az == az and h.inventories.get(rc, Inventory(total=0)).total > 0 for h in fleet.hosts)
        )
        for az in zones
    }
    return FitReport(
        weigher,
        zones,
        list(source.cloud.flavors),
        months,
        unplaced,
        fleet.resources,
        {rc: table.unit(rc) for rc in fleet.resources},
        offered,
    )
