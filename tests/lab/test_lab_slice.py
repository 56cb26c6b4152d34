"""The default lab (both cores, all cities and counties, a town per county) on real FRR: convergence,
deploys through the playbooks (a change takes effect; a broken change is rolled back), and failover."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lab_support import SLICE_PREFIX, RunningLab, record

from network.lab import failover, lab, system
from network.lab.spec import LabSpec, namespace_name

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab")]
EGOV = str(Path(sys.executable).parent / "egov")


def _uplink(spec: LabSpec, router: str) -> str:
    """The interface of ``router`` towards its upstream (the A end of its primary link)."""
    for link in spec.links:
        if link.b.router == router and link.plane == "primary":
            return link.b.ifname
    raise AssertionError(f"{router} has no primary uplink")


def _set_in_interface(config: str, ifname: str, key: str, value: str) -> str:
    """``config`` with the ``key`` line of interface ``ifname`` set to ``value``."""
    block = re.search(rf"^interface {re.escape(ifname)}\n(.*?)^exit", config, re.M | re.S)
    assert block, f"no interface {ifname}"
    body = re.sub(rf"^ {re.escape(key)} .*$", f" {key} {value}", block.group(1), count=1, flags=re.M)
    assert body != block.group(1), f"{ifname} has no {key}"
    return config[: block.start(1)] + body + config[block.end(1) :]


def _metric(prefix: str, router: str, destination: str) -> int:
    out = system.vtysh(namespace_name(prefix, router), f"show ip route {destination}/32 json")
    return int(json.loads(out)[f"{destination}/32"][0]["metric"])


def _deploy(config_dir: Path, limit: str, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [EGOV, "network", "deploy", "--prefix", SLICE_PREFIX, "--config-dir", str(config_dir)]
    cmd += ["--limit", limit, *extra]
    env = {**os.environ, "COLUMNS": "200"}  # one table row per router, never wrapped
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, env=env)


def _pick(spec: LabSpec, tier: str, city: str) -> list[str]:
    return sorted(n for n, r in spec.routers.items() if r.tier == tier and r.city == city)


def test_default_slice_converges(default_lab: RunningLab) -> None:
    spec = default_lab.spec
    assert isinstance(spec, LabSpec)
    assert 270 <= len(spec.routers) <= 390
    assert {r.tier for r in spec.routers.values()} >= {"core", "city", "county", "town"}
    city_routers = sorted(n for n, r in spec.routers.items() if r.tier == "city")
    # 21 cities; a city whose counties have backup circuits has a second router (…-B) for them
    assert len({spec.routers[n].city for n in city_routers}) == 21
    seconds = [n for n in city_routers if n.endswith("-B")]
    assert seconds and all(n[:-2] in city_routers for n in seconds)
    assert len(city_routers) == 21 + len(seconds)
    assert default_lab.report.ok, default_lab.report  # type: ignore[attr-defined]
    # the core has more than 20 OSPF interfaces: every one of them is Full (igmp_max_memberships raised)
    core_adjacencies = [a for a in spec.adjacencies if spec.routers[a.router].tier == "core"]
    assert len(core_adjacencies) > 40
    assert default_lab.converge_s < 600


def test_deploy_changed_config_takes_effect(default_lab: RunningLab, tmp_path: Path) -> None:
    spec = default_lab.spec
    assert isinstance(spec, LabSpec)
    county, other = _pick(spec, "county", "440300")[:2]
    town = next(t for t in _pick(spec, "town", "440300") if t.startswith(county.replace("CNTY", "TOWN")))
    city_lo = str(spec.routers["GD-CITY-440300"].loopbacks[0].ip)
    configs = tmp_path / "configs"
    shutil.copytree(lab.configs_dir(SLICE_PREFIX), configs)
    uplink = _uplink(spec, county)
    path = configs / f"{county}.conf"
    path.write_text(_set_in_interface(path.read_text(), uplink, "ip ospf cost", "150"))
    before = _metric(SLICE_PREFIX, county, city_lo)

    started = time.monotonic()
    result = _deploy(configs, f"{county},{other},{town}", "--run-id", "test-change")
    record("deploy_3_routers_s", round(time.monotonic() - started, 1))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"{county}\s+│\s+changed", result.stdout), result.stdout
    assert re.search(rf"{other}\s+│\s+unchanged", result.stdout), result.stdout

    running = system.vtysh(namespace_name(SLICE_PREFIX, county), "show running-config")
    assert re.search(rf"interface {uplink}\n(?: .*\n)*? ip ospf cost 150\n", running)
    startup = Path("/etc/frr") / namespace_name(SLICE_PREFIX, county) / "frr.conf"
    assert startup.read_text() == path.read_text()
    deadline = time.monotonic() + 20
    while _metric(SLICE_PREFIX, county, city_lo) == before and time.monotonic() < deadline:
        time.sleep(1)
    assert _metric(SLICE_PREFIX, county, city_lo) == before + 50

    # rollback.yml restores that run's backups: running and startup config, and the metric
    result = _deploy(configs, county, "--playbook", "rollback.yml", "--run-id", "test-change")
    assert result.returncode == 0, result.stdout + result.stderr
    assert startup.read_text() == (lab.configs_dir(SLICE_PREFIX) / f"{county}.conf").read_text()
    deadline = time.monotonic() + 20
    while _metric(SLICE_PREFIX, county, city_lo) != before and time.monotonic() < deadline:
        time.sleep(1)
    assert _metric(SLICE_PREFIX, county, city_lo) == before


def test_deploy_check_mode_changes_nothing(default_lab: RunningLab, tmp_path: Path) -> None:
    spec = default_lab.spec
    assert isinstance(spec, LabSpec)
    county = _pick(spec, "county", "440100")[0]
    configs = tmp_path / "configs"
    shutil.copytree(lab.configs_dir(SLICE_PREFIX), configs)
    path = configs / f"{county}.conf"
    path.write_text(_set_in_interface(path.read_text(), _uplink(spec, county), "ip ospf cost", "170"))
    result = _deploy(configs, county, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ip ospf cost 170" not in system.vtysh(namespace_name(SLICE_PREFIX, county), "show running-config")
    result = _deploy(configs, county, "--playbook", "verify.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_broken_deploy_is_rolled_back(default_lab: RunningLab, tmp_path: Path) -> None:
    spec = default_lab.spec
    assert isinstance(spec, LabSpec)
    town = _pick(spec, "town", "440600")[0]
    other = _pick(spec, "county", "440600")[0]
    configs = tmp_path / "configs"
    shutil.copytree(lab.configs_dir(SLICE_PREFIX), configs)
    uplink = _uplink(spec, town)
    path = configs / f"{town}.conf"
    good = path.read_text()
    path.write_text(_set_in_interface(good, uplink, "ip ospf area", "0.0.0.99"))  # wrong area on one router

    started = time.monotonic()
    result = _deploy(configs, f"{other},{town}", "--verify-retries", "5")
    record("deploy_broken_with_rollback_s", round(time.monotonic() - started, 1))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(rf"{town}\s+│\s+rolled back", result.stdout), result.stdout

    running = system.vtysh(namespace_name(SLICE_PREFIX, town), "show running-config")
    assert "0.0.0.99" not in running
    assert (Path("/etc/frr") / namespace_name(SLICE_PREFIX, town) / "frr.conf").read_text() == good
    waited, report = lab.wait_converged(spec, SLICE_PREFIX, timeout=120, poll=2)
    record("rollback_reconverged_s", round(waited, 1))
    assert report.ok, report  # every adjacency, session and ping of the whole lab is back


@pytest.mark.parametrize("mode", ["silent", "carrier"])
def test_failover_to_the_backup_plane(default_lab: RunningLab, mode: str) -> None:
    spec = default_lab.spec
    assert isinstance(spec, LabSpec)
    result = failover.measure(spec, SLICE_PREFIX, "GD-CITY-440100", mode)
    record(f"failover_{mode}_s", round(result.outage_s, 3))
    print(f"failover ({mode}) {result.link}: {result.outage_s:.2f} s, {result.lost} pings lost")
    assert result.recovered, result
    assert result.outage_s < 5.0, result
    _waited, report = lab.wait_converged(spec, SLICE_PREFIX, timeout=180, poll=2)
    assert report.ok, report  # the restored primary takes the traffic back, nothing else broke
