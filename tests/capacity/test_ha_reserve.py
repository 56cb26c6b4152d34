"""The N+k HA reserve, exactly: per aggregate class, the k hosts holding the most of each resource among the
hosts present that month — in the sums (capacity.supply) and in the fit (capacity.fit), hand-computed.

Hosts of the small cloud (cloudkit): m56 = 56 cores − 8 reserved, × 4.0 → 192 vCPU, 512 GiB = 524,288 MiB.
The large model m112 = (112 − 8) × 4.0 → 416 vCPU, 1 TiB = 1,048,576 MiB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from cloudkit import cloud, system, write_data

from capacity.fit import Weigher, simulate
from capacity.supply import build_supply, ha_reserve
from egov.model import SourceOfTruth
from egov.source import load_source

VCPU, RAM = "VCPU", "MEMORY_MB"
M56_VCPU, M56_RAM = 192, 524288
BIG_VCPU, BIG_RAM = 416, 1048576


def _cloud(k: int, big_hosts: int, big_class: str = "general", **extra: Any) -> dict[str, Any]:
    data = cloud(**extra)
    data["host_models"]["m112"] = {"cores": 112, "ram": "1 TiB", "local_disk": "2000 GiB"}
    zone = data["availability_zones"][0]
    zone["ha_reserve_hosts"] = k
    zone["aggregates"].append(
        {"name": "agg-big", "host_model": "m112", "hosts": big_hosts, "metadata": {"class": big_class}}
    )
    return data


def _source(tmp_path: Path, data: dict[str, Any], rows: list[dict[str, Any]] | None = None) -> SourceOfTruth:
    return load_source(write_data(tmp_path / "data", cloud_data=data, systems=rows))


def test_k2_with_a_single_large_host_reserves_it_and_the_next_largest(tmp_path: Path) -> None:
    supply = build_supply(_source(tmp_path, _cloud(k=2, big_hosts=1)))
    gross_vcpu, gross_ram = 3 * M56_VCPU + BIG_VCPU, 3 * M56_RAM + BIG_RAM
    # k = 2: the one m112 and one m56 — not 2 × m112 (which would leave 992 − 832 = 160 vCPU)
    assert supply.lines[(VCPU, "az-a")].usable.tolist() == [gross_vcpu - BIG_VCPU - M56_VCPU] * 60  # 384
    assert supply.lines[(RAM, "az-a")].usable[0] == gross_ram - BIG_RAM - M56_RAM  # 1,048,576


def test_larger_hosts_of_a_mid_horizon_expansion_count_only_from_their_month(tmp_path: Path) -> None:
    data = _cloud(k=1, big_hosts=0, expansions=[{"month": "2028-07", "aggregate": "agg-big", "hosts": 2}])
    vcpu = build_supply(_source(tmp_path, data)).lines[(VCPU, "az-a")].usable
    # before 2028-07 (month 18): 3 × 192 − one m56 = 384 (the planned m112 do not shrink it)
    assert vcpu[:18].tolist() == [384.0] * 18
    # from 2028-07: 3 × 192 + 2 × 416 − one m112 = 992
    assert vcpu[18:].tolist() == [992.0] * 42


def test_reserve_is_kept_per_aggregate_class(tmp_path: Path) -> None:
    supply = build_supply(_source(tmp_path, _cloud(k=1, big_hosts=2, big_class="highmem")))
    # general: 3 × 192 − 192; highmem: 2 × 416 − 416 — each class keeps its own host for evacuation
    assert supply.lines[(VCPU, "az-a")].usable[0] == 2 * M56_VCPU + BIG_VCPU
    assert supply.classes[("az-a", "general")][VCPU][0] == 2 * M56_VCPU
    assert supply.classes[("az-a", "highmem")][RAM][0] == BIG_RAM


def test_fewer_hosts_than_k_reserve_them_all() -> None:
    reserve = ha_reserve([(np.array([0.0, 1.0, 3.0]), 10.0), (np.array([1.0, 1.0, 1.0]), 4.0)], k=2)
    assert reserve.tolist() == [4.0, 14.0, 20.0]


def test_fit_holds_out_the_same_hosts_as_the_sums(tmp_path: Path) -> None:
    data = _cloud(k=1, big_hosts=0, expansions=[{"month": "2028-07", "aggregate": "agg-big", "hosts": 2}])
    data["host_models"]["m56"]["local_disk"] = data["host_models"]["m112"]["local_disk"] = "20000 GiB"
    # enough 4-vCPU VMs to need more than the 2 enabled m56 before the expansion: 120 VMs × 4 = 480 vCPU
    rows = [system(vcpu=480, ram="960 GiB", block_storage="1 GB", annual_growth="0%")]
    report = simulate(_source(tmp_path, data, rows), Weigher.spread)
    assert report.months[17].hosts_enabled["az-a"] == 2  # 3 m56, one held out
    assert report.months[18].hosts_enabled["az-a"] == 4  # 3 m56 + 2 m112, one m112 held out
    # m1.large (4 vCPU, 8 GiB): 48 per m56 by vCPU, so 2 × 48 = 96 of the 120 VMs before the expansion;
    # all 120 from 2028-07 on
    assert report.months[17].vms_placed["az-a"] == 96
    assert report.months[18].vms_placed["az-a"] == 120 and report.months[18].vms_unplaced["az-a"] == 0
