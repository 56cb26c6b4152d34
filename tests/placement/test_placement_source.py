"""Test 1: a cloud registered in a real Placement is read back into exactly the supply of its YAML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capacity.fit import hosts_from_cloud
from capacity.placement_source import UnmappedProviders, call, read_live, register_cloud
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

    live = read_live(placement, source)

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
    # The default cloud has GPU hosts (scaled to 3 per zone), so VGPU is a row too, unused here.
    used = dict(zip(live.resources, live.used[:, first].tolist(), strict=True))
    assert used == {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100, "VGPU": 0}
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


def _stray(placement: Any, name: str) -> None:
    """A compute provider in no aggregate (64 VCPU, 4096 MiB at Placement's default ratio 1.0, no reserve)."""
    call(placement, "POST", "/resource_providers", json={"name": name})
    stray = call(placement, "GET", f"/resource_providers?name={name}").json()["resource_providers"][0]
    call(
        placement,
        "PUT",
        f"/resource_providers/{stray['uuid']}/inventories",
        json={
            "resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": 64}, "MEMORY_MB": {"total": 4096}},
        },
    )


def test_compute_providers_in_no_known_aggregate_refuse_or_are_mapped(
    placement: Any, scaled: Scaler, tmp_path: Path
) -> None:
    from capacity.placement_source import load_aggregate_map

    source = scaled(default_source(), 0.0)  # 3 hosts per aggregate
    register_cloud(placement, source.cloud)
    _stray(placement, "gz1-extra-01")
    _stray(placement, "gz1-extra-02")

    # Without a map the answer would silently leave out 128 VCPU: refused, naming the providers.
    with pytest.raises(UnmappedProviders) as refused:
        read_live(placement, source)
    assert refused.value.names == ["gz1-extra-01", "gz1-extra-02"]
    assert "gz1-extra-01, gz1-extra-02" in str(refused.value) and "--aggregate-map" in str(refused.value)

    mapping = tmp_path / "aggregates.yaml"
    mapping.write_text("'gz1-extra-*': gz-1-general\n'*': gz-2-general\n")
    live = read_live(placement, source, aggregate_map=load_aggregate_map(mapping, source.cloud))
    assert live.mapped_by_file == ["gz1-extra-01 → gz-1-general", "gz1-extra-02 → gz-1-general"]
    (warning,) = live.source.warnings
    assert "2 compute providers" in warning and "gz1-extra-02 → gz-1-general" in warning
    # Counted as Placement reports them: 2 × 64 VCPU × 1.0 and 2 × 4096 MiB more usable in gz-1 (the N+k
    # reserve holds the zone's largest hosts, not these small ones).
    expected, got = build_supply(source), build_supply(live.source)

    for (rc, az), line in expected.lines.items():
        extra = {("VCPU", "gz-1"): 128, ("MEMORY_MB", "gz-1"): 8192}.get((rc, az), 0)
        assert got.lines[(rc, az)].usable[0] == pytest.approx(line.usable[0] + extra), (rc, az)
    assert "VCPU" in {rc for rc, _ in got.lines}


def test_check_from_placement_refuses_unmapped_then_lists_the_mapping_as_a_warning(
    placement: Any, scaled: Scaler, small_data: Path, clouds_yaml: dict[str, str], tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from egov.cli import app

    register_cloud(placement, scaled(default_source(), 0.0).cloud)
    _stray(placement, "gz1-extra-01")
    runner = CliRunner()
    check = ["capacity", "check", "--data", str(small_data), "--from-placement", "lab", "--format", "json"]
    result = runner.invoke(app, check, env=clouds_yaml)
    assert result.exit_code == 2 and result.stdout == ""
    assert "1 compute providers are in no aggregate egov knows" in result.stderr
    assert "gz1-extra-01" in result.stderr

    bad = tmp_path / "bad.yaml"
    bad.write_text("'gz1-*': gz-9-general\n")
    result = runner.invoke(app, [*check, "--aggregate-map", str(bad)], env=clouds_yaml)
    assert result.exit_code == 2
    assert f"{bad}, field 'gz1-*': unknown aggregate 'gz-9-general'" in result.stderr

    mapping = tmp_path / "aggregates.yaml"
    mapping.write_text("'gz1-*': gz-1-legacy\n")
    result = runner.invoke(app, [*check, "--aggregate-map", str(mapping)], env=clouds_yaml)
    assert result.exit_code == 0, result.stderr
    (warning,) = json.loads(result.stdout)["warnings"]
    assert "gz1-extra-01 → gz-1-legacy" in warning and "gz1-extra-01 → gz-1-legacy" in result.stderr


class _NovaDown:
    """A connection whose catalogue has a compute endpoint that fails (mocked: no Nova in the suite)."""

    def has_service(self, name: str) -> bool:
        return name == "compute"

    class compute:  # openstacksdk's compute proxy, as an attribute
        @staticmethod
        def aggregates() -> Any:
            raise ConnectionError("compute endpoint unreachable")


def test_a_failing_nova_is_a_warning_not_silence() -> None:
    from capacity.placement_source import nova_directory

    warnings: list[str] = []
    assert nova_directory(_NovaDown(), warnings) is None
    assert len(warnings) == 1 and "Nova os-aggregates could not be read" in warnings[0]


def test_vgpu_flavors_against_a_placement_without_vgpus_are_unplaced_not_zero(
    placement: Any, scaled: Scaler
) -> None:
    from capacity.fit import simulate, vm_counts
    from capacity.holds import plan_hold
    from capacity.placement_source import PlacementError

    # The AI pool not delivered: GPU aggregates without hosts installed or planned, so no provider has VGPU.
    source = scaled(default_source(), 0.0)
    zones = [
        az.model_copy(
            update={
                "aggregates": [
                    a.model_copy(update={"hosts": 0}) if a.metadata.get("class") == "gpu" else a
                    for a in az.aggregates
                ]
            }
        )
        for az in source.cloud.availability_zones
    ]
    cloud = source.cloud.model_copy(
        update={
            "availability_zones": zones,
            "expansions": [e for e in source.cloud.expansions if "gpu" not in (e.aggregate or "")],
        }
    )
    source = source.model_copy(update={"cloud": cloud})
    register_cloud(placement, cloud)
    live = read_live(placement, source)
    assert "VGPU" in live.resources  # the g1.* flavors ask for it: a row, so that no host offers it
    assert not any("VGPU" in h.inventories for h in live.hosts)

    report = simulate(live.source, hosts=live.hosts, used=live.used)
    ai_systems = {s.id for s in source.systems if "VGPU" in s.resources}
    assert ai_systems == {"XXZX-AI01", "XXZX-AI02", "GAT-AI01", "JTT-AI01"}
    # (3 hosts per aggregate leave many other systems unplaced too; the AI systems miss from their first VM.)
    first_miss = {u.system_id: u.month for u in report.unplaced}
    for vms in vm_counts(live.source):
        if vms.system.id in ai_systems:
            assert first_miss[vms.system.id] == int(np.argmax(vms.counts > 0)), vms.system.id
    with pytest.raises(PlacementError, match="do not fit"):
        plan_hold(live, "XXZX-AI02")
