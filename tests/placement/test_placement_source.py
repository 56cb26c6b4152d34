"""Test 1: a cloud registered in a real Placement is read back into exactly the supply of its YAML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capacity.fit import hosts_from_cloud
from capacity.placement_source import call, read_live, register_cloud
from capacity.supply import build_supply
from egov.model import SourceOfTruth
from egov.source import default_source

Scaler = Callable[[SourceOfTruth, float], SourceOfTruth]

pytestmark = [
    pytest.mark.placement,
    pytest.mark.xdist_group("placement"),
    pytest.mark.filterwarnings("ignore:The 'service_type' parameter"),
]


def test_cloud_of_100_hosts_ingested_into_the_same_supply(placement: Any, scaled: Scaler) -> None:
    # 40 % of the Guangdong default: 107 hosts of the three models, two zones, per-aggregate ratios.
    source = scaled(default_source(), 0.4)
    assert sum(a.hosts for az in source.cloud.availability_zones for a in az.aggregates) >= 100
    register_cloud(placement, source.cloud)
    # A provider Nova does not know as ours (no aggregate of the model) is reported, not counted.
    call(placement, "POST", "/resource_providers", json={"name": "stray-host"})
    stray = call(placement, "GET", "/resource_providers?name=stray-host").json()["resource_providers"][0]
    call(
        placement,
        "PUT",
        f"/resource_providers/{stray['uuid']}/inventories",
        json={
            "resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": 64}, "MEMORY_MB": {"total": 4096}},
        },
    )

    live = read_live(placement, source)

    assert live.unmapped == ["stray-host"]
    expected, got = build_supply(source), build_supply(live.source)
    assert list(got.lines) == list(expected.lines)
    for key, line in expected.lines.items():
        assert np.array_equal(got.lines[key].usable, line.usable), key
    for az, units in expected.expansion_units.items():
        assert [u.adds for u in got.expansion_units[az]] == [u.adds for u in units]
    # The fit simulator's hosts: same inventories, same held-out hosts, nothing used yet.
    model_hosts = {h.name: h for h in hosts_from_cloud(source.cloud)}
    live_installed = [h for h in live.hosts if h.uuid is not None]
    assert {h.name for h in live_installed} == set(model_hosts)
    for host in live_installed:
        twin = model_hosts[host.name]
        assert (host.az, host.aggregate, host.aggregate_class, host.held_out) == (
            twin.az,
            twin.aggregate,
            twin.aggregate_class,
            twin.held_out,
        )
        for rc, inv in twin.inventories.items():
            assert host.inventories[rc].capacity == inv.capacity
            assert host.inventories[rc].max_unit == inv.total
        assert host.traits == (f"CUSTOM_EGOV_CLASS_{twin.aggregate_class.upper()}",)
    assert not live.used.any() and not live.held.any()


def test_usage_of_other_consumers_is_existing_load(placement: Any, scaled: Scaler) -> None:
    source = scaled(default_source(), 0.0)
    uuids = register_cloud(placement, source.cloud)
    call(
        placement,
        "PUT",
        "/allocations/6f0e54c2-7f53-4a43-9d7c-1d4f0f6f5a11",
        "1.28",
        json={
            "allocations": {uuids[0]: {"resources": {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}}},
            "project_id": "p",
            "user_id": "u",
            "consumer_generation": None,
        },
    )
    live = read_live(placement, source)
    first = next(j for j, h in enumerate(live.hosts) if h.uuid == uuids[0])
    assert live.used[:, first].tolist() == [8, 16384, 100]
    assert int(live.used.sum()) == 8 + 16384 + 100


def test_check_and_fit_from_placement_through_clouds_yaml(
    placement: Any, scaled: Scaler, small_data: Path, clouds_yaml: dict[str, str]
) -> None:
    import json

    from typer.testing import CliRunner

    from egov.cli import app

    source = scaled(default_source(), 0.0)  # 3 hosts per aggregate, 18 in all
    uuids = register_cloud(placement, source.cloud)
    data = small_data
    call(
        placement,
        "PUT",
        "/allocations/1b7d1f0e-8c4f-4d33-9a56-3c1d8b2b0c11",
        "1.28",
        json={
            "allocations": {uuids[0]: {"resources": {"VCPU": 40}}},
            "project_id": "p",
            "user_id": "u",
            "consumer_generation": None,
        },
    )
    env = clouds_yaml
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["capacity", "check", "--data", str(data), "--from-placement", "lab", "--format", "json"],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    live_doc = json.loads(result.stdout)
    result = runner.invoke(app, ["capacity", "check", "--data", str(data), "--format", "json"])
    yaml_doc = json.loads(result.stdout)
    # Same supply as the YAML; the instance's 40 vCPU show as existing demand in gz-1.
    for live_line, yaml_line in zip(live_doc["resources"], yaml_doc["resources"], strict=True):
        assert live_line["usable"] == yaml_line["usable"]
        extra = 40 if (live_line["resource"], live_line["az"]) == ("VCPU", "gz-1") else 0
        assert live_line["demand_end"] == pytest.approx(yaml_line["demand_end"] + extra)
    live_fit, yaml_fit = live_doc["fit"], yaml_doc["fit"]
    assert [z["hosts_enabled"] for z in live_fit["zones"]] == [z["hosts_enabled"] for z in yaml_fit["zones"]]
    result = runner.invoke(
        app,
        [
            "capacity",
            "fit",
            "--data",
            str(data),
            "--from-placement",
            "lab",
            "--format",
            "json",
            "--month",
            "2027-01",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["months"] == ["2027-01"]
