"""Small hand-computable clouds written into temp data directories, for the capacity and source tests.

The standard small cloud, and the figures a reader can check by hand:
- one zone ``az-a`` of 3 hosts × 56 cores, 512 GiB RAM, 2000 GiB local disk; ratio VCPU 4.0, reserved 8 cores
  per host → usable VCPU = (56 − 8) × 4 × 3 = 576 (HA reserve 0 by default);
- block pool ``rbd-a`` 300 TB raw, 3 replicas, full ratio 0.85 → 85 TB = 85,000 GB usable;
- object pool ``obj`` (region) 110 TB raw, EC 8+3, full ratio 1.0 → 80 TB = 80,000 GB usable.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path
from typing import Any

import yaml

CLOUD: dict[str, Any] = {
    "region": "tiny",
    "host_models": {"m56": {"cores": 56, "ram": "512 GiB", "local_disk": "2000 GiB"}},
    "allocation_ratios": {"VCPU": 4.0, "MEMORY_MB": 1.0, "DISK_GB": 1.0},
    "reserved_per_host": {"VCPU": "8 core", "MEMORY_MB": "0 MiB", "DISK_GB": "0 GiB"},
    "availability_zones": [
        {
            "name": "az-a",
            "ha_reserve_hosts": 0,
            "aggregates": [
                {"name": "agg-a", "host_model": "m56", "hosts": 3, "metadata": {"class": "general"}}
            ],
        }
    ],
    "storage_pools": [
        {
            "name": "rbd-a",
            "kind": "block",
            "az": "az-a",
            "raw": "300 TB",
            "redundancy": {"replicas": 3},
            "full_ratio": 0.85,
            "disk_unit": "10 TB",
        },
        {
            "name": "obj",
            "kind": "object",
            "az": "region",
            "raw": "110 TB",
            "redundancy": {"k": 8, "m": 3},
            "full_ratio": 1.0,
            "disk_unit": "11 TB",
        },
    ],
    "flavors": [{"name": "m1.large", "vcpus": 4, "ram": "8 GiB", "disk": "80 GiB"}],
}
PLANNING: dict[str, Any] = {
    "start_month": "2027-01",
    "horizon_months": 60,
    "headroom_target": "20%",
    "lead_time_months": 6,
}
DEPARTMENTS = [("AAA", "省甲厅", "Department A"), ("BBB", "省乙局", "Bureau B")]
SYSTEM_HEADER = [
    "id",
    "department",
    "name",
    "az",
    "vcpu",
    "ram",
    "disk",
    "block_storage",
    "object_storage",
    "migration_month",
    "annual_growth",
    "yearly_factors",
]


def system(**fields: Any) -> dict[str, Any]:
    """A systems.csv row with small defaults; keyword arguments override columns."""
    row: dict[str, Any] = {
        "id": "AAA-0001",
        "department": "AAA",
        "name": "业务系统",
        "az": "az-a",
        "vcpu": 10,
        "ram": "20 GiB",
        "disk": "100 GiB",
        "block_storage": "1 TB",
        "object_storage": "0 GB",
        "migration_month": "2027-01",
        "annual_growth": "0%",
        "yearly_factors": "",
    }
    row.update(fields)
    return row


def systems_csv(
    rows: list[dict[str, Any]],
    header: list[str] | None = None,
    keys: list[str] | None = None,
    bom: bool = False,
) -> str:
    """systems.csv text: ``header`` titles (default SYSTEM_HEADER) over the ``keys`` of each row (default
    SYSTEM_HEADER, position by position)."""
    columns = header or SYSTEM_HEADER
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    keys = keys or SYSTEM_HEADER
    for row in rows:
        writer.writerow([row.get(key, "") for key in keys])
    return ("\ufeff" if bom else "") + buffer.getvalue()


def cloud(**changes: Any) -> dict[str, Any]:
    """A deep copy of the standard small cloud with top-level keys replaced."""
    data = copy.deepcopy(CLOUD)
    data.update(changes)
    return data


def write_data(
    root: Path,
    *,
    cloud_data: dict[str, Any] | None = None,
    planning: dict[str, Any] | None = None,
    systems: list[dict[str, Any]] | None = None,
    systems_text: str | None = None,
    departments_text: str | None = None,
    cloud_text: str | None = None,
    planning_text: str | None = None,
) -> Path:
    """Write a complete data directory (the standard small cloud unless told otherwise) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cloud.yaml").write_text(
        cloud_text if cloud_text is not None else yaml.safe_dump(cloud_data or CLOUD, allow_unicode=True),
        encoding="utf-8",
    )
    (root / "planning.yaml").write_text(
        planning_text if planning_text is not None else yaml.safe_dump(planning or PLANNING),
        encoding="utf-8",
    )
    if departments_text is None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["code", "name", "name_en"])
        writer.writerows(DEPARTMENTS)
        departments_text = buffer.getvalue()
    (root / "departments.csv").write_text(departments_text, encoding="utf-8")
    if systems_text is None:
        systems_text = systems_csv(systems if systems is not None else [system()])
    (root / "systems.csv").write_text(systems_text, encoding="utf-8")
    return root
