"""Test 3: migration holds are created, found and released idempotently, without leaking and without
touching other consumers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capacity.fit import hosts_from_cloud
from capacity.holds import (
    HOLD_CONSUMER_TYPE,
    find_holds,
    get_hold,
    hold_consumer_id,
    place_hold,
    plan_hold,
    release_hold,
)
from capacity.placement_source import PlacementError, call, read_live, register_cloud
from capacity.supply import build_supply
from egov.model import SourceOfTruth
from egov.source import default_source

Scaler = Callable[[SourceOfTruth, float], SourceOfTruth]

pytestmark = [
    pytest.mark.placement,
    pytest.mark.xdist_group("placement"),
    pytest.mark.filterwarnings("ignore:The 'service_type' parameter"),
]

INSTANCE = "9a1c3a52-1d8e-4a53-8c1e-5b0b1f3f7a01"


def usages(conn: Any) -> dict[str, dict[str, int]]:
    providers = call(conn, "GET", "/resource_providers").json()["resource_providers"]
    return {
        rp["uuid"]: call(conn, "GET", f"/resource_providers/{rp['uuid']}/usages").json()["usages"]
        for rp in providers
    }


def test_holds_lifecycle(placement: Any, scaled: Scaler) -> None:
    source = scaled(default_source(), 0.0)  # 3 hosts per aggregate
    region = source.cloud.region
    uuids = register_cloud(placement, source.cloud)
    instance = {"VCPU": 4, "MEMORY_MB": 8192, "DISK_GB": 80}
    call(
        placement,
        "PUT",
        f"/allocations/{INSTANCE}",
        "1.38",
        json={
            "allocations": {uuids[0]: {"resources": instance}},
            "project_id": "dept-gat",
            "user_id": "nova",
            "consumer_generation": None,
            "consumer_type": "INSTANCE",
        },
    )
    before = usages(placement)
    small = [s for s in source.systems if 0 < s.vcpu <= 8][:2]
    live = read_live(placement, source)

    plans = {s.id: plan_hold(live, s.id) for s in small}
    for system in small:
        hold = place_hold(placement, region, system.id, plans[system.id])
        assert hold.consumer == hold_consumer_id(region, system.id)
        assert hold.allocations == plans[system.id]
    body = call(placement, "GET", f"/allocations/{hold_consumer_id(region, small[0].id)}", "1.38").json()
    assert body["consumer_type"] == HOLD_CONSUMER_TYPE

    # Held capacity shows in Placement's usages, exactly the planned amounts on the planned providers.
    during = usages(placement)
    for rp in before:
        expected = dict(before[rp])
        for plan in plans.values():
            for rc, n in plan.get(rp, {}).items():
                expected[rc] = expected.get(rc, 0) + n
        assert during[rp] == expected

    # Idempotent: the same hold again writes nothing (same consumer generation).
    again = place_hold(placement, region, small[0].id, plans[small[0].id])
    assert again.generation == get_hold(placement, region, small[0].id).generation  # type: ignore[union-attr]
    assert [
        h.system_id for h in find_holds(placement, region, [s.id for s in source.systems[:50]])
    ] == sorted([s.id for s in small], key=[s.id for s in source.systems].index)

    # A live read counts the holds apart: existing load is the instance only.
    live = read_live(placement, source)
    assert int(live.used.sum()) == sum(instance.values())
    assert int(live.held.sum()) == sum(sum(p.values()) for plan in plans.values() for p in plan.values())
    assert set(live.holds) == {hold_consumer_id(region, s.id) for s in small}

    # Released twice: the second time is a no-op; nothing leaks, the instance is untouched.
    for system in small:
        assert release_hold(placement, region, system.id) is True
        assert release_hold(placement, region, system.id) is False
    assert usages(placement) == before
    assert find_holds(placement, region, [s.id for s in small]) == []
    kept = call(placement, "GET", f"/allocations/{INSTANCE}", "1.38").json()
    assert kept["allocations"][uuids[0]]["resources"] == instance and kept["consumer_type"] == "INSTANCE"


def test_a_foreign_consumer_is_never_overwritten(placement: Any, scaled: Scaler) -> None:
    source = scaled(default_source(), 0.0)
    region = source.cloud.region
    uuids = register_cloud(placement, source.cloud)
    system = source.systems[0]
    squatter = hold_consumer_id(region, system.id)  # same UUID, but an instance of another project
    call(
        placement,
        "PUT",
        f"/allocations/{squatter}",
        "1.38",
        json={
            "allocations": {uuids[1]: {"resources": {"VCPU": 2}}},
            "project_id": "someone-else",
            "user_id": "nova",
            "consumer_generation": None,
            "consumer_type": "INSTANCE",
        },
    )
    with pytest.raises(PlacementError, match="not an egov migration hold"):
        place_hold(placement, region, system.id, {uuids[2]: {"VCPU": 4}})
    with pytest.raises(PlacementError, match="not an egov migration hold"):
        release_hold(placement, region, system.id)
    kept = call(placement, "GET", f"/allocations/{squatter}", "1.38").json()
    assert kept["allocations"] == {
        uuids[1]: {"resources": {"VCPU": 2}, "generation": kept["allocations"][uuids[1]]["generation"]}
    }


def test_a_hold_that_does_not_fit_holds_nothing(placement: Any, scaled: Scaler) -> None:
    source = scaled(default_source(), 0.0)
    region = source.cloud.region
    uuids = register_cloud(placement, source.cloud)
    live = read_live(placement, source)
    # One more MiB than the second host can give (within max_unit): Placement refuses the whole hold.
    second = next(h for h in live.hosts if h.uuid == uuids[1]).inventories["MEMORY_MB"]
    too_much = {"VCPU": 2, "MEMORY_MB": int(second.capacity) + 1}
    assert too_much["MEMORY_MB"] <= second.total
    with pytest.raises(PlacementError, match="409"):
        place_hold(placement, region, source.systems[0].id, {uuids[0]: {"VCPU": 2}, uuids[1]: too_much})
    assert get_hold(placement, region, source.systems[0].id) is None
    assert all(not any(u.values()) for u in usages(placement).values())


def test_hold_command(placement: Any, scaled: Scaler, small_data: Path, clouds_yaml: dict[str, str]) -> None:
    from typer.testing import CliRunner

    from egov.cli import app

    source = scaled(default_source(), 0.0)
    register_cloud(placement, source.cloud)
    system = next(s for s in source.systems if 0 < s.vcpu <= 8)
    runner = CliRunner()

    def egov(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            app,
            ["capacity", "hold", system.id, "--cloud", "lab", "--data", str(small_data), *args],
            env=clouds_yaml,
        )
        return result.exit_code, " ".join((result.stdout + result.stderr).split())

    code, first = egov()
    assert code == 0 and f"{system.id}: held on" in first
    hold = get_hold(placement, source.cloud.region, system.id)
    assert hold is not None and f"generation {hold.generation}" in first
    code, again = egov()
    assert code == 0 and again == first  # idempotent: same hold, same generation
    assert egov("--release") == (0, f"{system.id}: hold released")
    assert egov("--release") == (0, f"{system.id}: no hold to release")
    assert get_hold(placement, source.cloud.region, system.id) is None
    result = runner.invoke(app, ["capacity", "hold", "NOPE-1", "--cloud", "lab"], env=clouds_yaml)
    assert result.exit_code == 2 and "'NOPE-1' is not in the source of truth" in result.stderr


def _nest_vgpus(conn: Any, root: str, name: str, per_gpu: int, gpus: int) -> list[str]:
    """Move a compute node's VGPU inventory onto ``gpus`` child providers of ``per_gpu`` each, as Nova's
    libvirt driver does (one provider per physical GPU, parent_provider_uuid = the node)."""
    rp = call(conn, "GET", f"/resource_providers/{root}").json()
    inventories = call(conn, "GET", f"/resource_providers/{root}/inventories").json()["inventories"]
    del inventories["VGPU"]
    call(
        conn,
        "PUT",
        f"/resource_providers/{root}/inventories",
        json={"resource_provider_generation": rp["generation"], "inventories": inventories},
    )
    children = []
    for k in range(gpus):
        child = str(uuid.uuid5(uuid.UUID(root), f"pgpu-{k}"))
        call(
            conn,
            "POST",
            "/resource_providers",
            json={"name": f"{name}_pci_0000_8{k}_00_0", "uuid": child, "parent_provider_uuid": root},
        )
        call(
            conn,
            "PUT",
            f"/resource_providers/{child}/inventories",
            json={
                "resource_provider_generation": 0,
                "inventories": {"VGPU": {"total": per_gpu, "max_unit": per_gpu}},
            },
        )
        children.append(child)
    return children


def test_vgpus_on_child_providers_are_the_hosts_and_holds_allocate_them_there(
    placement: Any, scaled: Scaler
) -> None:
    source = scaled(default_source(), 0.0)  # 3 GPU hosts of 8 vGPU in gz-1, 2 of them N+2 reserve
    region = source.cloud.region
    names = [h.name for h in hosts_from_cloud(source.cloud)]
    uuids = dict(zip(names, register_cloud(placement, source.cloud), strict=True))
    gpu_hosts = sorted(name for name in uuids if name.startswith("gz-1-gpu-"))
    nested = {name: _nest_vgpus(placement, uuids[name], name, per_gpu=4, gpus=2) for name in gpu_hosts}
    first = gpu_hosts[0]
    # An instance with one vGPU of the first physical GPU of the host in service.
    call(
        placement,
        "PUT",
        f"/allocations/{INSTANCE}",
        "1.38",
        json={
            "allocations": {
                uuids[first]: {"resources": {"VCPU": 8, "MEMORY_MB": 49152}},
                nested[first][0]: {"resources": {"VGPU": 1}},
            },
            "project_id": "dept-gat",
            "user_id": "nova",
            "consumer_generation": None,
            "consumer_type": "INSTANCE",
        },
    )
    live = read_live(placement, source)

    # The children are summed into their node: the same supply as the YAML (8 vGPU per host), no extra hosts.
    expected, got = build_supply(source), build_supply(live.source)
    for key, line in expected.lines.items():
        assert np.array_equal(got.lines[key].usable, line.usable), key
    host = next(j for j, h in enumerate(live.hosts) if h.name == first)
    assert live.hosts[host].inventories["VGPU"].total == 8
    assert live.hosts[host].inventories["VGPU"].max_unit == 4  # one claim comes from one physical GPU
    assert len([h for h in live.hosts if h.uuid is not None]) == len(uuids)
    used = dict(zip(live.resources, live.used[:, host].tolist(), strict=True))
    assert used == {"VCPU": 8, "MEMORY_MB": 49152, "DISK_GB": 0, "VGPU": 1}

    # XXZX-AI02 migrates with one g1.4xlarge (4 vGPU): its vGPUs go to the freer physical GPU, the rest to
    # the node; Placement accepts the hold as planned.
    plan = plan_hold(live, "XXZX-AI02")
    assert plan == {
        uuids[first]: {"VCPU": 32, "MEMORY_MB": 196608, "DISK_GB": 400},
        nested[first][1]: {"VGPU": 4},
    }
    hold = place_hold(placement, region, "XXZX-AI02", plan)
    assert hold.allocations == plan
    assert call(placement, "GET", f"/resource_providers/{nested[first][1]}/usages").json()["usages"] == {
        "VGPU": 4
    }
    # A second one no longer fits on either GPU of the only host in service (3 and 0 free): refused.
    live = read_live(placement, source)
    with pytest.raises(PlacementError, match="do not fit"):
        plan_hold(live, "XXZX-AI02")
