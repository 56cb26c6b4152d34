"""The fit simulator on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from capacity.fit import (
    Fleet,
    Host,
    Weigher,
    choose_flavor,
    hosts_from_cloud,
    lower_bound_hosts,
    simulate,
    snapshot,
    vm_counts,
)
from capacity.inventory import Inventory
from egov.model import Flavor, SourceOfTruth
from egov.source import default_source
from egov.units import Q_

VCPU, MEM, DISK = "VCPU", "MEMORY_MB", "DISK_GB"


def host(name: str, vcpu: int, ram_mib: int, disk_gib: int = 1000, **extra: int) -> Host:
    return Host(
        name=name,
        az="az",
        aggregate="agg",
        aggregate_class="general",
        inventories={
            VCPU: Inventory(total=vcpu, **extra),
            MEM: Inventory(total=ram_mib),
            DISK: Inventory(total=disk_gib),
        },
    )


def flavor(name: str, vcpus: int, ram: str, disk: str = "10 GiB") -> Flavor:
    return Flavor(name=name, vcpus=vcpus, ram=ram, disk=disk)


def test_200_free_cores_4_per_host_cannot_start_one_16_vcpu_vm() -> None:
    hosts = [host(f"h{i:02d}", vcpu=16, ram_mib=65536) for i in range(50)]
    used = np.zeros((3, 50), dtype=np.int64)
    used[0] = 12  # 4 cores free on each of 50 hosts: 200 free
    fleet = Fleet(hosts, used)
    request = (16, 16384, 10)
    assert fleet.choose(("az", "general"), request, Weigher.spread) is None
    assert fleet.how_many(("az", "general"), request).sum() == 0
    month = snapshot(fleet, [flavor("big", 16, "16 GiB"), flavor("small", 4, "4 GiB")], ["az"])
    assert month.free[("az", VCPU)] == 200
    assert month.flavor_sums[("az", "big")] == 12  # the sums' promise: ⌊200 ÷ 16⌋
    assert month.flavor_fits[("az", "big")] == 0  # Placement's answer
    assert month.flavor_fits[("az", "small")] == 50  # one 4-vCPU VM per host


def test_pack_and_spread_choose_different_hosts() -> None:
    hosts = [host("a", 32, 16384), host("b", 32, 32768), host("c", 32, 24576)]
    request = (2, 2048, 10)
    assert Fleet(hosts).choose(("az", "general"), request, Weigher.spread) == 1  # most free RAM
    assert Fleet(hosts).choose(("az", "general"), request, Weigher.pack) == 0  # least free RAM that fits
    # Pack skips a host whose RAM is too small for the request; spread keeps choosing the roomiest.
    full = Fleet(hosts, np.array([[0, 0, 0], [15000, 0, 0], [0, 0, 0]]))
    assert full.choose(("az", "general"), request, Weigher.pack) == 2
    fleet = Fleet(hosts)
    picks = [fleet.schedule(("az", "general"), request, Weigher.spread) for _ in range(3)]
    assert picks == [1, 1, 1] or len(set(picks)) > 1
    assert fleet.used[1, 1] == 2048 * picks.count(1)


def test_stranded_capacity_of_a_small_cloud() -> None:
    # h1: 8 vCPU, 16 GiB, 14 GiB used → one small fits (RAM-bound): of its free 8 vCPU, 2 GiB and 100 GiB
    #     disk, one small uses 1 vCPU, 2 GiB, 10 GiB: 7 vCPU and 90 GiB disk are stranded, no RAM.
    # h2: disk full → nothing fits: all of its free vCPU and RAM are stranded.
    hosts = [host("h1", 8, 16384, 100), host("h2", 8, 16384, 100)]
    used = np.array([[0, 0], [14336, 0], [0, 100]])
    fleet = Fleet(hosts, used)
    flavors = [flavor("small", 1, "2 GiB"), flavor("big", 4, "8 GiB")]
    month = snapshot(fleet, flavors, ["az"])
    assert month.flavor_fits[("az", "small")] == 1 and month.flavor_fits[("az", "big")] == 0
    assert month.free[("az", VCPU)] == 16 and month.stranded[("az", VCPU)] == 7 + 8
    assert month.free[("az", MEM)] == 2048 + 16384 and month.stranded[("az", MEM)] == 16384
    assert month.free[("az", DISK)] == 100 and month.stranded[("az", DISK)] == 90


def test_max_and_step_constraints_are_placements() -> None:
    capped = host("capped", 64, 262144, max_unit=8)
    stepped = host("stepped", 64, 262144, step_size=4)
    fleet = Fleet([capped, stepped])
    assert fleet.schedule(("az", "general"), (16, 2048, 10), Weigher.pack) == 1  # over max_unit on "capped"
    assert fleet.schedule(("az", "general"), (6, 2048, 10), Weigher.spread) == 0  # 6 is no step of 4
    assert fleet.schedule(("az", "general"), (6, 2048, 10), Weigher.spread) == 0
    assert not fleet.claim(0, (16, 2048, 10))  # refused on the named host: nothing claimed
    assert fleet.used[:, 0].tolist() == [12, 4096, 20] and fleet.used[:, 1].tolist() == [16, 2048, 10]
    assert not fleet.claim(1, (6, 2048, 10)) and fleet.claim(1, (8, 2048, 10))


def test_lower_bound() -> None:
    assert lower_bound_hosts(np.array([100.0, 50.0, 0.0]), np.array([40.0, 100.0, 10.0])) == 3
    assert lower_bound_hosts(np.array([80.0, 0.0, 0.0]), np.array([40.0, 100.0, 10.0])) == 2


def test_flavor_rule_by_hand() -> None:
    source = default_source()
    cloud = source.cloud
    base = source.systems[0]

    def sized(vcpu: int, ram_gib: float, flavor_name: str | None = None) -> str:
        resources = {**base.resources, "VCPU": Q_(vcpu, "vcpu"), "MEMORY_MB": Q_(ram_gib, "GiB")}
        s = base.model_copy(update={"resources": resources, "flavor": flavor_name})
        return choose_flavor(cloud, s).name

    assert sized(16, 32) == "m1.2xlarge"  # 2 GiB per vCPU: the m1 family, largest ≤ 16 vCPU
    # 1.5 GiB per vCPU: the m1 family (2 GiB). RAM allocated for 100 vCPU / 150 GiB: m1.4xlarge 4 × 64 = 256,
    # m1.2xlarge 7 × 32 = 224, m1.xlarge 13 × 16 = 208, m1.large 25 × 8 = 200 GiB, and no smaller flavor
    # beats 200 GiB: the least allocated with the fewest VMs is m1.large.
    assert sized(100, 150) == "m1.large"
    # 10 vCPU / 40 GiB (m2, 4 GiB per vCPU): 2 × m2.xlarge = 64 GiB, 3 × m2.large = 48 GiB → m2.large.
    assert sized(10, 40) == "m2.large"
    assert sized(16, 60) == "m2.2xlarge"  # 3.75 GiB per vCPU: m2 (4 GiB) is the smallest that covers
    assert sized(2, 16) == "r1.large"  # 8 GiB per vCPU, smaller than any r1: the smallest r1
    # More RAM per vCPU than any family: r1 (8 GiB). 1000 GiB takes 32 × r1.large or 4 × r1.4xlarge, both
    # 1024 GiB: the fewest VMs win.
    assert sized(4, 1000) == "r1.4xlarge"
    assert sized(4, 8, "m1.small") == "m1.small"  # a named flavor wins


def test_vm_counts_cover_vcpu_and_ram() -> None:
    source = default_source()
    vms = {v.system.id: v for v in vm_counts(source)}
    gat = vms["GAT-0001"]  # 1200 vCPU, 4800 GB RAM at 2027-03, +25 %/year
    # 4 GB per vCPU: the m2 family (4 GiB). RAM allocated: m2.4xlarge 38 × 128 GiB = 4864 GiB; m2.2xlarge
    # 75 × 64, m2.xlarge 150 × 32 and m2.large 300 × 16 all = 4800 GiB → the fewest VMs: m2.2xlarge.
    assert gat.flavor.name == "m2.2xlarge"
    # RAM: 4800 GB = 4577637 MiB ÷ 65536 = 69.8 → 70; vCPU 1200 ÷ 16 = 75 VMs at migration.
    assert gat.counts[1] == 0 and gat.counts[2] == 75
    assert gat.counts[14] == 94  # a year later: 1500 vCPU ÷ 16 = 93.75 → 94 (RAM: 87.3 → 88)


def tiny(source: SourceOfTruth, general_hosts: int, systems: int) -> SourceOfTruth:
    """One zone with ``general_hosts`` general hosts (no N+k) and the first ``systems`` m1-sized systems."""
    az = source.cloud.availability_zones[0]
    general = next(a for a in az.aggregates if a.metadata.get("class") == "general")
    zone = az.model_copy(
        update={"ha_reserve_hosts": 0, "aggregates": [general.model_copy(update={"hosts": general_hosts})]}
    )
    cloud = source.cloud.model_copy(update={"availability_zones": [zone], "expansions": []})
    chosen = [
        s.model_copy(update={"az": az.name, "flavor": "m1.xlarge"}) for s in source.systems if s.vcpu > 0
    ][:systems]
    return source.model_copy(update={"cloud": cloud, "systems": chosen})


def test_pack_stays_near_the_lower_bound_and_spread_uses_every_host() -> None:
    source = tiny(default_source(), general_hosts=40, systems=60)
    packed, spread = simulate(source, Weigher.pack), simulate(source, Weigher.spread)
    for month_pack, month_spread in zip(packed.months, spread.months, strict=True):
        az = packed.zones[0]
        assert month_pack.vms_placed == month_spread.vms_placed
        bound = month_pack.hosts_lower_bound[az]
        assert bound <= month_pack.hosts_used[az] <= max(bound + 1, bound * 1.05)
        assert month_spread.hosts_used[az] >= month_pack.hosts_used[az]
    last = spread.months[-1]
    assert last.hosts_used[spread.zones[0]] == min(40, last.vms_placed[spread.zones[0]])


def test_held_out_hosts_stay_empty_and_expansions_open_in_their_month() -> None:
    source = default_source()
    hosts = hosts_from_cloud(source.cloud, source.planning.start_month)
    # expansions: 2 × 16 general hosts in 2028-07, and the GPU pool (12 + 4 hosts) from the start month
    assert (
        len(hosts) == sum(a.hosts for az in source.cloud.availability_zones for a in az.aggregates) + 32 + 16
    )
    report = simulate(source, Weigher.spread)
    first = report.months[0]
    # N+2 per aggregate class: gz-1 has three classes (general: general + legacy aggregates; highmem; gpu)
    assert first.hosts_enabled["gz-1"] == 86 + 20 + 28 + 12 - 3 * 2
    assert report.months[-1].hosts_enabled["gz-1"] == 86 + 20 + 28 + 12 - 3 * 2 + 16  # 2028-07 expansion
    assert report.months[17].hosts_enabled["gz-1"] == first.hosts_enabled["gz-1"]
    assert report.months[18].hosts_enabled["gz-1"] == first.hosts_enabled["gz-1"] + 16
    # Placement never promises more than the sums, and stranded capacity is part of the free capacity.
    for month in report.months:
        assert all(month.flavor_fits[key] <= month.flavor_sums[key] for key in month.flavor_fits)
        assert all(0 <= month.stranded[key] <= month.free[key] + 1e-9 for key in month.free)
        for az in report.zones:
            assert month.hosts_lower_bound[az] <= month.hosts_used[az] <= month.hosts_enabled[az]


@pytest.mark.parametrize("weigher", list(Weigher))
def test_same_input_same_report(weigher: Weigher) -> None:
    source = tiny(default_source(), general_hosts=10, systems=30)
    a, b = simulate(source, weigher), simulate(source, weigher)
    assert a.months[-1].flavor_fits == b.months[-1].flavor_fits and a.unplaced == b.unplaced


def test_how_many_each_agrees_with_how_many_request_by_request() -> None:
    """The snapshot's batched count (all flavors of a group at once) is the per-request count, also for a
    request a host's step_size refuses, one that asks for no disk, and a host disabled for N+k."""
    hosts = [
        host("h1", vcpu=16, ram_mib=65536),
        host("h2", vcpu=32, ram_mib=32768, step_size=2),
        host("h3", vcpu=8, ram_mib=131072),
    ]
    used = np.array([[3, 8, 0], [4096, 30000, 0], [100, 0, 990]], dtype=np.int64)
    fleet = Fleet(hosts, used)
    fleet.enabled[2] = False
    requests = [(4, 8192, 10), (3, 4096, 0), (1, 512, 20), (16, 16384, 10)]
    each = fleet.how_many_each(("az", "general"), requests)
    expected = [fleet.how_many(("az", "general"), r).tolist() for r in requests]
    assert each.tolist() == expected
    # by hand: h1 has 13 vCPU, 61440 MiB, 900 GiB free → ⌊13/4⌋ = 3 of the first; h2 admits only even vCPUs
    assert expected[0] == [3, 0, 0] and expected[1][1] == 0 and expected[2] == [13, 0, 0]


@pytest.mark.parametrize("weigher", list(Weigher))
def test_schedule_many_places_as_one_schedule_per_vm(weigher: Weigher) -> None:
    """The batched placement picks the very hosts that one schedule call per VM picks, in the same order: ties
    in free RAM (the first host wins), a host that fills up mid-batch (vCPU runs out before RAM), a
    step_size that refuses the request, a disabled host, an allocation ratio (non-integer capacity), and
    more VMs than the group holds (the batch stops where schedule returns None)."""
    hosts = [
        host("a", 32, 16384),
        host("b", 32, 32768),
        host("c", 32, 24576),
        host("d", 6, 65536),  # room for 3 VMs by vCPU although RAM would take 32
        host("e", 32, 65536, step_size=4),  # admits no 2-vCPU claim
        host("f", 32, 65536),  # disabled below
        Host(
            "g",
            "az",
            "agg",
            "general",
            {
                VCPU: Inventory(total=10, allocation_ratio=1.5),
                MEM: Inventory(total=24576),
                DISK: Inventory(total=1000),
            },
        ),
    ]
    request = (2, 2048, 10)
    one_by_one, batched = Fleet(hosts), Fleet(hosts)
    for fleet in (one_by_one, batched):
        fleet.enabled[5] = False
    expected = []
    for _ in range(200):
        pick = one_by_one.schedule(("az", "general"), request, weigher)
        if pick is None:
            break
        expected.append(pick)
    assert 40 < len(expected) < 200  # the group ran out within the loop
    assert batched.schedule_many(("az", "general"), request, weigher, 200) == expected
    assert batched.used.tolist() == one_by_one.used.tolist()


def test_schedule_many_by_hand() -> None:
    """Spread: b has the most free RAM and takes VMs until it ties with c at 24576 MiB; the tie goes to b
    (first host), then c has more and takes the sixth."""
    hosts = [host("a", 32, 16384), host("b", 32, 32768), host("c", 32, 24576)]
    fleet = Fleet(hosts)
    assert fleet.schedule_many(("az", "general"), (2, 2048, 10), Weigher.spread, 6) == [1, 1, 1, 1, 1, 2]
    assert fleet.used[1].tolist() == [0, 5 * 2048, 2048]
    assert fleet.schedule_many(("nowhere", "general"), (2, 2048, 10), Weigher.spread, 3) == []
