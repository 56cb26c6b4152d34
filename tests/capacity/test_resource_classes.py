"""Resource classes as data (data/resource_classes.yaml): VGPU end to end on a small hand-computed cloud, and
a class added by data alone (CUSTOM_FPGA) reaching the check and the fit with no code change.

The GPU cloud: cloudkit's small cloud (3 × m56 in az-a) plus an aggregate ``agg-gpu`` of 2 hosts of model
``g32`` (32 cores, 256 GiB, 1000 GiB, 8 vGPU: 2 cards × 4 vGPU), class ``gpu``, no HA reserve; VGPU takes
the table's ratio 1.0 and reserves nothing → usable VGPU = 2 × 8 = 16. Flavor ``g.2x``: 8 vCPU, 32 GiB,
100 GiB, 2 vGPU. A GPU host holds min(⌊(32 − 8) × 4 / 8⌋, ⌊256 / 32⌋, ⌊8 / 2⌋) = min(12, 8, 4) = 4 VMs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from cloudkit import SYSTEM_HEADER, cloud, system, systems_csv, write_data
from typer.testing import CliRunner

from capacity.cli import app as capacity_app
from capacity.fit import simulate
from egov.resources import DEFAULT_DATA_DIR, TABLE_FILE
from egov.source import load_source

runner = CliRunner()


def _gpu_cloud() -> dict:
    data = cloud()
    data["host_models"]["g32"] = {"cores": 32, "ram": "256 GiB", "local_disk": "1000 GiB", "VGPU": 8}
    data["availability_zones"][0]["aggregates"].append(
        {"name": "agg-gpu", "host_model": "g32", "hosts": 2, "metadata": {"class": "gpu"}}
    )
    data["flavors"].append(
        {"name": "g.2x", "vcpus": 8, "ram": "32 GiB", "disk": "100 GiB", "VGPU": 2, "aggregate_class": "gpu"}
    )
    return data


def _gpu_data(root: Path, vgpu: int) -> Path:
    rows = [
        system(id="AAA-0001"),
        system(id="AAA-0002", name="政务大模型", vcpu=16, ram="64 GiB", disk="0 GiB", vgpu=vgpu),
    ]
    text = systems_csv(rows, header=[*SYSTEM_HEADER, "虚拟GPU"], keys=[*SYSTEM_HEADER, "vgpu"])
    return write_data(root, cloud_data=_gpu_cloud(), systems_text=text)


def _check_json(root: Path) -> dict:
    result = runner.invoke(capacity_app, ["check", "--data", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_vgpu_headroom_by_hand(tmp_path: Path) -> None:
    root = _gpu_data(tmp_path, vgpu=6)
    lines = {(r["resource"], r["az"]): r for r in _check_json(root)["resources"]}
    vgpu = lines[("VGPU", "az-a")]
    # usable 2 hosts × 8 vGPU = 16; demand 6 from the first month, no growth: 10 free = 62.5 %
    assert (vgpu["unit"], vgpu["usable"], vgpu["demand_start"], vgpu["demand_end"]) == (
        "vgpu",
        16.0,
        6.0,
        6.0,
    )
    assert vgpu["min_percent_free"] == 62.5 and vgpu["first_below_target"] is None
    # the GPU hosts add to the zone's VCPU too: 3 × 192 + 2 × (32 − 8) × 4 = 768
    assert lines[("VCPU", "az-a")]["usable"] == 768.0
    table = runner.invoke(capacity_app, ["check", "--data", str(root)])
    assert table.exit_code == 0 and "VGPU" in table.stdout and "16 vgpu" in table.stdout


def test_a_gpu_vm_finds_no_host_when_the_gpu_hosts_are_full(tmp_path: Path) -> None:
    # 20 vGPU at 2 per VM = 10 VMs (more than the 2 by vCPU and RAM); the 2 GPU hosts take 4 each
    source = load_source(_gpu_data(tmp_path, vgpu=20))
    fit = simulate(source)
    (unplaced,) = fit.unplaced
    assert (unplaced.system_id, unplaced.flavor, unplaced.month, unplaced.missing) == (
        "AAA-0002",
        "g.2x",
        0,
        2,
    )
    first = fit.months[0]
    assert first.free[("az-a", "VGPU")] == 0.0
    # the missing VMs asked for 2 × 2 vGPU; the general system's m1.large VMs never went to the GPU hosts
    row = fit.resources.index("VGPU")
    assert first.missing[("az-a", "gpu")][row] == 4
    assert ("az-a", "general") not in first.missing
    # the check's sums see the shortfall as well: demand 20 > usable 16
    lines = {(r["resource"], r["az"]): r for r in _check_json(tmp_path)["resources"]}
    assert lines[("VGPU", "az-a")]["first_shortfall"] == "2027-01"


def test_a_resource_class_added_by_data_alone(tmp_path: Path) -> None:
    """CUSTOM_FPGA: one row of the table, a host-model key, a flavor key, a systems.csv column."""
    root = tmp_path / "data"
    data = cloud()
    data["host_models"]["m56"]["FPGA卡"] = 2  # an alias from the table's row
    data["flavors"].append(
        {"name": "f1.large", "vcpus": 4, "ram": "8 GiB", "disk": "80 GiB", "CUSTOM_FPGA": 1}
    )
    rows = [system(id="AAA-0001"), system(id="AAA-0002", vcpu=10, ram="20 GiB", fpga=3)]
    text = systems_csv(rows, header=[*SYSTEM_HEADER, "fpga"], keys=[*SYSTEM_HEADER, "fpga"])
    write_data(root, cloud_data=data, systems_text=text)
    table = yaml.safe_load((DEFAULT_DATA_DIR / TABLE_FILE).read_text(encoding="utf-8"))
    table["resource_classes"].append(
        {"name": "CUSTOM_FPGA", "unit": "device", "provider": "host", "aliases": ["fpga", "FPGA卡"]}
    )
    (root / TABLE_FILE).write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")

    lines = {(r["resource"], r["az"]): r for r in _check_json(root)["resources"]}
    fpga = lines[("CUSTOM_FPGA", "az-a")]
    assert (fpga["unit"], fpga["usable"], fpga["demand_start"]) == ("device", 6.0, 3.0)  # 3 hosts × 2

    fit = simulate(load_source(root))
    # the FPGA system runs f1.large (the one flavor asking for CUSTOM_FPGA): max(10/4, 20/8, 3/1) = 3 VMs
    assert fit.unplaced == [] and "CUSTOM_FPGA" in fit.resources
    assert fit.months[0].free[("az-a", "CUSTOM_FPGA")] == 3.0


def test_without_a_table_a_data_directory_uses_the_standard_one(tmp_path: Path) -> None:
    root = write_data(tmp_path / "a")
    assert not (root / TABLE_FILE).exists()
    shutil.copy(DEFAULT_DATA_DIR / TABLE_FILE, write_data(tmp_path / "b") / TABLE_FILE)
    assert (
        load_source(root).cloud.resource_classes.names
        == load_source(tmp_path / "b").cloud.resource_classes.names
    )


def test_a_gpu_flavor_asks_for_its_vgpus_in_extra_specs(tmp_path: Path) -> None:
    from stacks.catalogue import flavor_extra_specs

    cloud_model = load_source(_gpu_data(tmp_path, vgpu=6)).cloud
    flavors = {f.name: f for f in cloud_model.flavors}
    assert flavor_extra_specs(cloud_model, flavors["g.2x"]) == {
        "aggregate_instance_extra_specs:class": "gpu",
        "resources:VGPU": "2",
    }
    # a class with a Nova flavor field (vcpus, ram, disk) never rides in extra_specs
    assert flavor_extra_specs(cloud_model, flavors["m1.large"]) == {
        "aggregate_instance_extra_specs:class": "general"
    }
