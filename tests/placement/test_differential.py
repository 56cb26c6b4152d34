"""Test 2: the simulator and a real Placement decide every claim of one random sequence alike.

The sequence mixes flavors, scheduled claims (the simulator picks the host, pack or spread) and claims on a
named host, and releases; hosts carry max_unit, min_unit and step_size constraints and fill up, so many
claims must be refused. Placement answers 204 when a claim fits and 409 when it does not.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from capacity.fit import Fleet, Host, Weigher
from capacity.inventory import Inventory
from capacity.placement_source import AggregateInfo, call, live_hosts, read_providers, register_host

pytestmark = [
    pytest.mark.placement,
    pytest.mark.xdist_group("placement"),
    pytest.mark.filterwarnings("ignore:The 'service_type' parameter"),
]

RESOURCES = ("VCPU", "MEMORY_MB", "DISK_GB")
AGGREGATES = {
    "general": AggregateInfo("az-a", "agg-general", "general"),
    "highmem": AggregateInfo("az-b", "agg-highmem", "highmem"),
}
AGGREGATE_UUIDS = {klass: str(uuid.uuid5(uuid.NAMESPACE_URL, f"egov-test:{klass}")) for klass in AGGREGATES}
FLAVORS: dict[str, tuple[str, tuple[int, int, int]]] = {
    "small": ("general", (1, 2048, 20)),
    "medium": ("general", (2, 4096, 40)),
    "large": ("general", (4, 8192, 40)),
    "xlarge": ("general", (8, 16384, 80)),
    "wide": ("general", (16, 8192, 0)),  # over max_unit 8 on the capped hosts
    "odd": ("general", (3, 1536, 10)),  # odd vCPU, half-GiB RAM, small disk: step and min_unit refusals
    "r.large": ("highmem", (4, 32768, 40)),
    "r.xlarge": ("highmem", (8, 65536, 80)),
}


def designed_hosts() -> list[Host]:
    """18 small hosts with varied reserved, ratios and unit constraints (so they fill within the test)."""
    rng = random.Random(7)
    hosts = []
    for i in range(12):
        hosts.append(
            Host(
                name=f"gen-{i:02d}",
                az="az-a",
                aggregate="agg-general",
                aggregate_class="general",
                inventories={
                    "VCPU": Inventory(
                        total=16,
                        reserved=i % 3,
                        allocation_ratio=rng.choice([1.0, 1.5, 2.0]),
                        max_unit=8 if i % 4 == 0 else 16,
                        step_size=2 if i % 5 == 1 else 1,
                    ),
                    "MEMORY_MB": Inventory(
                        total=49152, reserved=1024, allocation_ratio=1.0, step_size=1024 if i % 3 == 0 else 1
                    ),
                    "DISK_GB": Inventory(
                        total=400, reserved=20, allocation_ratio=1.0, min_unit=20 if i % 2 else 1
                    ),
                },
            )
        )
    for i in range(6):
        hosts.append(
            Host(
                name=f"mem-{i:02d}",
                az="az-b",
                aggregate="agg-highmem",
                aggregate_class="highmem",
                inventories={
                    "VCPU": Inventory(total=24, reserved=2, allocation_ratio=1.0),
                    "MEMORY_MB": Inventory(total=262144, reserved=4096, allocation_ratio=1.0),
                    "DISK_GB": Inventory(total=600, reserved=0, allocation_ratio=1.0, max_unit=60),
                },
            )
        )
    return [
        Host(h.name, h.az, h.aggregate, h.aggregate_class, {_rc(k): v for k, v in h.inventories.items()})
        for h in hosts
    ]


def _rc(name: str) -> Any:
    from egov.model import ResourceClass

    return ResourceClass(name)


def refusal(host: Host, request: tuple[int, int, int], used: list[int]) -> str | None:
    """Why Placement's rule refuses ``request`` on ``host`` (None: it fits), rule by rule, by hand."""
    for rc, amount in zip(RESOURCES, request, strict=True):
        if amount == 0:
            continue
        inv = host.inventories[_rc(rc)]
        if amount < inv.min_unit:
            return "min_unit"
        if amount > (inv.total if inv.max_unit is None else inv.max_unit):
            return "max_unit"
        if amount % inv.step_size:
            return "step_size"
    for rc, amount, in_use in zip(RESOURCES, request, used, strict=True):
        inv = host.inventories[_rc(rc)]
        if amount and in_use + amount > (inv.total - inv.reserved) * inv.allocation_ratio:
            return "capacity"
    return None


def put_claim(conn: Any, consumer: str, provider: str, request: tuple[int, int, int]) -> int:
    resources = {rc: n for rc, n in zip(RESOURCES, request, strict=True) if n}
    response = conn.placement.request(
        f"/allocations/{consumer}",
        "PUT",
        microversion="1.28",
        raise_exc=False,
        json={
            "allocations": {provider: {"resources": resources}},
            "project_id": "differential",
            "user_id": "differential",
            "consumer_generation": None,
        },
    )
    return int(response.status_code)


def test_simulator_and_placement_agree_claim_by_claim(placement: Any) -> None:
    designed = designed_hosts()
    for host in designed:
        register_host(
            placement,
            host,
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"egov-test:{host.name}")),
            AGGREGATE_UUIDS[host.aggregate_class],
        )
    # The simulator's hosts are read back from Placement: the ingestion path is under test too.
    directory = {AGGREGATE_UUIDS[k]: info for k, info in AGGREGATES.items()}
    hosts, unmapped, _ = live_hosts(read_providers(placement), directory, {"az-a": 0, "az-b": 0})
    assert not unmapped and len(hosts) == len(designed)
    by_name = {h.name: h for h in designed}
    for host in hosts:
        for rc, inv in by_name[host.name].inventories.items():
            expected = (
                inv
                if inv.max_unit is not None
                else Inventory(
                    inv.total, inv.reserved, inv.allocation_ratio, inv.min_unit, inv.total, inv.step_size
                )
            )
            assert host.inventories[rc] == expected, (host.name, rc)
    fleet = Fleet(hosts)

    rng = random.Random(2027)
    live: list[tuple[str, int, tuple[int, int, int]]] = []
    outcomes: dict[str, int] = {}
    claims = 0
    while claims < 520:
        if live and rng.random() < 0.15:
            consumer, host, request = live.pop(rng.randrange(len(live)))
            fleet.release(host, request)
            assert call(placement, "DELETE", f"/allocations/{consumer}").status_code == 204
            continue
        claims += 1
        klass, request = FLAVORS[rng.choice(sorted(FLAVORS))]
        group = fleet.groups[(AGGREGATES[klass].az, klass)]
        chosen = None
        if rng.random() < 0.5:
            chosen = fleet.choose((AGGREGATES[klass].az, klass), request, rng.choice(list(Weigher)))
        host = chosen if chosen is not None else rng.randrange(group.start, group.stop)
        why = refusal(fleet.hosts[host], request, fleet.used[:, host].tolist())
        group_key = (AGGREGATES[klass].az, klass)
        vectorised = bool(fleet.fitting(group_key, request)[host - group.start])  # the scheduler's path
        simulated = fleet.claim(host, request)  # the scalar path
        assert vectorised == simulated
        consumer = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        status = put_claim(placement, consumer, str(fleet.hosts[host].uuid), request)
        assert status in (204, 409), status
        assert simulated == (status == 204), (claims, fleet.hosts[host].name, request, why, status)
        assert simulated == (why is None)
        if chosen is not None:
            assert simulated, "the scheduler only picks hosts where the claim fits"
        outcomes[why or "accepted"] = outcomes.get(why or "accepted", 0) + 1
        if simulated:
            live.append((consumer, host, request))

    assert outcomes.get("accepted", 0) >= 100
    assert outcomes.get("capacity", 0) >= 50
    for rule in ("max_unit", "step_size", "min_unit"):
        assert outcomes.get(rule, 0) >= 5, outcomes
    # Both ends hold the same usage at the end.
    for j, host in enumerate(fleet.hosts):
        usages = call(placement, "GET", f"/resource_providers/{host.uuid}/usages").json()["usages"]
        assert [usages.get(rc, 0) for rc in RESOURCES] == fleet.used[:, j].tolist(), host.name
