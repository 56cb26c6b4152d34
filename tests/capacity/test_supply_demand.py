"""Hand-computed supply, demand and headroom of small clouds (figures in cloudkit's docstring)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cloudkit import cloud, system, write_data

from capacity.demand import demand_lines, growth_curve, scaled_growth
from capacity.headroom import assess
from capacity.supply import build_supply
from egov.model import Growth
from egov.source import load_source

VCPU, RAM, DISK = "VCPU", "MEMORY_MB", "DISK_GB"
BLOCK, OBJECT = "BLOCK_STORAGE", "OBJECT_STORAGE"


def _with_ha(hosts_kept: int) -> dict:
    data = cloud()
    data["availability_zones"][0]["ha_reserve_hosts"] = hosts_kept
    return data


def test_usable_vcpu_is_total_minus_reserved_times_ratio(small) -> None:
    supply = build_supply(small)
    # (56 − 8) × 4.0 × 3 hosts, every month
    assert supply.lines[(VCPU, "az-a")].usable.tolist() == [576.0] * 60
    # 512 GiB = 524,288 MiB per host, nothing reserved, ratio 1.0
    assert supply.lines[(RAM, "az-a")].usable[0] == 3 * 524288
    assert supply.lines[(DISK, "az-a")].usable[0] == 3 * 2000


def test_ha_reserve_keeps_whole_hosts_free(tmp_path: Path) -> None:
    source = load_source(write_data(tmp_path, cloud_data=_with_ha(1)))
    supply = build_supply(source)
    assert supply.lines[(VCPU, "az-a")].usable[0] == 576 - 192  # one host's (56 − 8) × 4
    assert supply.lines[(RAM, "az-a")].usable[0] == 2 * 524288


def test_reserved_memory_is_counted_in_mib(tmp_path: Path) -> None:
    data = cloud(reserved_per_host={"VCPU": "8 core", "MEMORY_MB": "16 GiB", "DISK_GB": "100 GiB"})
    supply = build_supply(load_source(write_data(tmp_path, cloud_data=data)))
    assert supply.lines[(RAM, "az-a")].usable[0] == (524288 - 16384) * 3
    assert supply.lines[(DISK, "az-a")].usable[0] == (2000 - 100) * 3


def test_storage_usable_replicas_and_erasure_coding(small) -> None:
    supply = build_supply(small)
    # 300 TB raw ÷ 3 replicas × 0.85 full ratio = 85 TB
    assert supply.lines[(BLOCK, "az-a")].usable[0] == pytest.approx(85_000)
    # 110 TB raw × 8/11 (EC 8+3) × 1.0 = 80 TB
    assert supply.lines[(OBJECT, "region")].usable[0] == pytest.approx(80_000)


def test_planned_expansion_counts_from_its_month(tmp_path: Path) -> None:
    data = cloud(
        expansions=[
            {"month": "2028-07", "aggregate": "agg-a", "hosts": 2},
            {"month": "2027-04", "pool": "rbd-a", "raw": "30 TB"},
        ]
    )
    supply = build_supply(load_source(write_data(tmp_path, cloud_data=data)))
    vcpu = supply.lines[(VCPU, "az-a")].usable
    assert vcpu[17] == 576 and vcpu[18] == 576 + 2 * 192  # 2028-07 is month 18
    block = supply.lines[(BLOCK, "az-a")].usable
    assert block[2] == pytest.approx(85_000) and block[3] == pytest.approx(85_000 + 8_500)


def test_system_growing_20_percent_a_year_crosses_known_months(tmp_path: Path) -> None:
    # usable VCPU 384 (HA reserve one host). Demand 200 × 1.2^(t/12):
    # below 20 % free when > 307.2 → t/12 > ln 1.536 / ln 1.2 = 2.354 → t = 29 (2029-06);
    # short when > 384 → t/12 > ln 1.92 / ln 1.2 = 3.578 → t = 43 (2030-08); order by 43 − 6 = 37 (2030-02).
    rows = [system(vcpu=200, annual_growth="20%", ram="1 GiB", block_storage="1 GB")]
    source = load_source(write_data(tmp_path, cloud_data=_with_ha(1), systems=rows))
    line = assess(source).line(VCPU, "az-a")
    assert line.demand[12] == pytest.approx(240.0)
    assert (line.first_below_target, line.first_shortfall, line.order_by) == (29, 43, 37)
    assert source.planning.month(43).isoformat() == "2030-08-01"


def test_demand_starts_at_migration_month(tmp_path: Path) -> None:
    rows = [system(vcpu=8, migration_month="2027-06", block_storage="2 TB")]
    source = load_source(write_data(tmp_path, systems=rows))
    demand = demand_lines(source)
    assert demand[(VCPU, "az-a")][:5].tolist() == [0.0] * 5
    assert demand[(VCPU, "az-a")][5] == 8
    assert demand[(BLOCK, "az-a")][5] == pytest.approx(2000.0)  # 2 TB = 2,000 GB


def test_yearly_factors_step_each_year_and_hold_the_last() -> None:
    curve = growth_curve(Growth(yearly_factors=(1.0, 1.5, 2.0)), np.array([-1, 0, 11, 12, 23, 24, 59]))
    assert curve.tolist() == [0.0, 1.0, 1.0, 1.5, 1.5, 2.0, 2.0]


def test_scaled_growth_multiplies_the_growth_not_the_size() -> None:
    assert scaled_growth(Growth(annual_rate=0.2), 1.5).annual_rate == pytest.approx(0.3)
    assert scaled_growth(Growth(yearly_factors=(1.0, 1.4)), 1.5).yearly_factors == pytest.approx((1.0, 1.6))
    # shrinking stays a law: −50 %/year × 3 is clamped at −90 %/year
    assert scaled_growth(Growth(annual_rate=-0.5), 3).annual_rate == pytest.approx(-0.9)


def test_ram_in_gib_and_gb_give_different_mib(tmp_path: Path) -> None:
    rows = [
        system(id="AAA-0001", ram="512 GiB"),
        system(id="AAA-0002", ram="512 GB", migration_month="2027-02"),
    ]
    demand = demand_lines(load_source(write_data(tmp_path, systems=rows)))[(RAM, "az-a")]
    assert demand[0] == 524288  # 512 × 1024 MiB
    assert demand[1] - demand[0] == pytest.approx(488281.25)  # 512e9 / 2^20


def test_zone_purchase_is_the_smallest_whole_number_of_hosts(tmp_path: Path) -> None:
    # 500 vCPU flat against 576 usable: keeping 20 % free needs usable ≥ 625 → one more host (+192 → 768).
    rows = [system(vcpu=500, ram="1 GiB", block_storage="1 GB")]
    assessment = assess(load_source(write_data(tmp_path, systems=rows)))
    zone = next(z for z in assessment.zones if z.az == "az-a")
    assert zone.binding == VCPU
    assert [(p.unit.name, p.count) for p in zone.purchases] == [("agg-a", 1)]
    assert zone.order_by == -6  # below target from the first month: the order is 6 months overdue
