"""Capacity held for confirmed migrations, as Placement allocations of their own consumer type.

A hold is one Placement consumer per system (UUID derived from the region and the system id), of
consumer_type ``MIGRATION`` (needs Placement microversion ≥ 1.38), in egov's own project and user.
Placement checks the capacity of the whole hold atomically, and the scheduler counts it like any VM, so
capacity promised to a department cannot be taken by someone else before the cut-over.

Every write is idempotent — placing the same hold twice writes once, releasing a released hold does nothing —
and touches only egov's hold consumers: before any write the consumer is read back and a consumer of another
type or project is refused, never overwritten.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from capacity.fit import Fleet, Weigher, vm_counts
from capacity.placement_client import (
    EGOV_NAMESPACE,
    PlacementError,
    call,
    hold_consumer_id,
)
from capacity.placement_source import LiveCloud, Provider
from egov.months import months_between

HOLD_CONSUMER_TYPE = "MIGRATION"
HOLD_MICROVERSION = "1.38"
#: The project and user egov's holds belong to (Placement only needs stable ids; Keystone need not know them).
HOLD_PROJECT = str(uuid.uuid5(EGOV_NAMESPACE, "project:migration-holds")).replace("-", "")
HOLD_USER = str(uuid.uuid5(EGOV_NAMESPACE, "user:egov-capacity")).replace("-", "")

Allocations = dict[str, dict[str, int]]  # provider uuid → resource class → amount


@dataclass(frozen=True)
class Hold:
    system_id: str
    consumer: str
    allocations: Allocations
    generation: int | None


def get_hold(conn: Any, region: str, system_id: str) -> Hold | None:
    """The system's hold as Placement has it, or None; PlacementError when the consumer is not a hold."""
    consumer = hold_consumer_id(region, system_id)
    body = call(conn, "GET", f"/allocations/{consumer}", HOLD_MICROVERSION).json()
    if not body.get("allocations"):
        return None
    if body.get("consumer_type") != HOLD_CONSUMER_TYPE or body.get("project_id") != HOLD_PROJECT:
        raise PlacementError(
            f"consumer {consumer} of system {system_id} is a {body.get('consumer_type')!r} of project "
            f"{body.get('project_id')!r}, not an egov migration hold: refusing to touch it"
        )
    allocations = {
        rp: {rc: int(n) for rc, n in entry["resources"].items()} for rp, entry in body["allocations"].items()
    }
    return Hold(system_id, consumer, allocations, body.get("consumer_generation"))


def place_hold(conn: Any, region: str, system_id: str, allocations: Allocations) -> Hold:
    """Create or update the system's hold to exactly ``allocations``; no write when it already is.
    Raises PlacementError (409) when the capacity is not there — nothing is then held."""
    if not allocations or any(not res or min(res.values()) <= 0 for res in allocations.values()):
        raise ValueError(f"hold of {system_id}: allocations must name positive amounts: {allocations}")
    existing = get_hold(conn, region, system_id)
    if existing is not None and existing.allocations == allocations:
        return existing
    consumer = hold_consumer_id(region, system_id)
    body = {
        "allocations": {rp: {"resources": res} for rp, res in sorted(allocations.items())},
        "project_id": HOLD_PROJECT,
        "user_id": HOLD_USER,
        "consumer_generation": None if existing is None else existing.generation,
        "consumer_type": HOLD_CONSUMER_TYPE,
    }
    call(conn, "PUT", f"/allocations/{consumer}", HOLD_MICROVERSION, json=body)
    placed = get_hold(conn, region, system_id)
    assert placed is not None
    return placed


def release_hold(conn: Any, region: str, system_id: str) -> bool:
    """Release the system's hold (at cut-over or cancellation); False when there was none."""
    existing = get_hold(conn, region, system_id)
    if existing is None:
        return False
    try:
        call(conn, "DELETE", f"/allocations/{existing.consumer}", HOLD_MICROVERSION)
    except PlacementError as exc:
        if " 404 " not in str(exc):  # released meanwhile: the end state is the same
            raise
    return True


def find_holds(conn: Any, region: str, system_ids: Iterable[str]) -> list[Hold]:
    """The holds Placement has for ``system_ids``."""
    holds = []
    for system_id in system_ids:
        hold = get_hold(conn, region, system_id)
        if hold is not None:
            holds.append(hold)
    return holds


def plan_hold(live: LiveCloud, system_id: str, weigher: Weigher = Weigher.spread) -> Allocations:
    """Where the system's VMs of its migration month would land on the live cloud as it stands (every
    allocation counted, holds included), summed per provider: the allocations to hold."""
    source = live.source
    vms = next((v for v in vm_counts(source) if v.system.id == system_id), None)
    if vms is None:
        raise KeyError(f"system {system_id!r} is not in the source of truth or has no vCPU")
    month = max(0, months_between(source.planning.start_month, vms.system.migration_month))
    count = int(vms.counts[min(month, len(vms.counts) - 1)])
    fleet = Fleet(live.hosts, np.asarray(live.used + live.held), resources=live.resources)
    fleet.open_month(month)
    # Only hosts Placement has can hold capacity; planned expansions are not resource providers yet.
    fleet.enabled &= np.array([h.uuid is not None for h in fleet.hosts], dtype=bool)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for placed in range(count):
        host = fleet.schedule(vms.group, vms.request, weigher)
        if host is None:
            raise PlacementError(
                f"{system_id}: {count} × {vms.flavor.name} do not fit in {vms.system.az} "
                f"(class {vms.flavor.aggregate_class}); only {placed} found a host"
            )
        provider = str(fleet.hosts[host].uuid)
        for rc, amount in zip(live.resources, vms.request, strict=True):
            if amount:
                totals[provider][rc] += amount
    return {rp: dict(res) for rp, res in sorted(on_child_providers(live, totals).items())}


def on_child_providers(live: LiveCloud, totals: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """``totals`` (per compute node) with each class a node keeps on child providers (Nova's vGPUs, one
    provider per physical GPU) moved onto those children, filling the freest first within max_unit:
    Placement allocates a class only where its inventory is."""
    by_uuid = {rp.uuid: rp for rp in live.providers}
    nested: dict[tuple[str, str], list[Provider]] = defaultdict(list)  # (root, class) → children with it
    for rp in live.providers:
        if not rp.is_root:
            for rc in rp.inventories:
                nested[(rp.root, rc)].append(rp)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for root, resources in totals.items():
        for rc, amount in resources.items():
            children = nested.get((root, rc), [])
            if not children:
                out[root][rc] = amount
                continue
            own = by_uuid[root].inventories.get(rc)
            if own is not None:  # the node has some itself: it is one part among its children
                children = [by_uuid[root], *children]
            left = amount
            for child in sorted(children, key=lambda c: (-_free(c, rc), c.uuid)):
                inv = child.inventories[rc]
                take = min(left, int(_free(child, rc)), inv.total if inv.max_unit is None else inv.max_unit)
                if take > 0:
                    out[child.uuid][rc] = out[child.uuid].get(rc, 0) + take
                    left -= take
            if left:
                raise PlacementError(
                    f"{amount} {rc} do not fit on the child providers of {by_uuid[root].name}: "
                    f"{left} left over"
                )
    return out


def _free(provider: Provider, rc: str) -> float:
    """What is free of ``rc`` on one (unfolded) provider: capacity minus usage."""
    return provider.inventories[rc].capacity - provider.usages.get(rc, 0)
