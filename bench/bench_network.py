"""`make bench` for the backbone: render every device for two vendors, and compare with Ansible's `template`.

Prints medians of repeated runs:
  * building the model of the whole province (all devices, links, addresses, routing);
  * rendering every device for VRP and FRR into directories (atomic, as `egov network render` does);
  * the same VRP template rendered for 100 devices by our renderer and by Ansible's `template` module
    (ansible-playbook from the venv, local connection, the same per-device context as host vars); ratio.

Usage: .venv/bin/python bench/bench_network.py [--repeat N] [--ansible-hosts N] [--no-ansible]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from network.params import load_params  # noqa: E402
from network.render import render_all, render_device  # noqa: E402
from network.topology import build_backbone  # noqa: E402
from network.vendors import get_vendor  # noqa: E402
from network.views import device_view  # noqa: E402

BUDGET_S = 5.0


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` runs."""
    return median_times(fn, repeat)[0]


def median_times(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``repeat`` runs: CPU time shows the cost on a busy shared machine."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def ansible_render(hosts: list[str], contexts: dict[str, dict], work: Path, vendor: str) -> float:
    """Render ``hosts`` with ansible-playbook's template module; returns the wall time of the playbook run."""
    (work / "host_vars").mkdir(parents=True)
    (work / "out").mkdir()
    for host in hosts:
        (work / "host_vars" / f"{host}.json").write_text(json.dumps(contexts[host], ensure_ascii=False))
    lines = ["[routers]"] + [
        f"{h} ansible_connection=local ansible_python_interpreter={sys.executable}" for h in hosts
    ]
    (work / "hosts.ini").write_text("\n".join(lines) + "\n")
    template = get_vendor(vendor).template_path / get_vendor(vendor).template
    (work / "render.yml").write_text(
        "- hosts: routers\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.template:\n"
        f"        src: {template}\n"
        f"        dest: {work / 'out'}/{{{{ inventory_hostname }}}}.cfg\n"
        "        mode: '0644'\n"
    )
    env = dict(
        os.environ,
        ANSIBLE_LOCAL_TEMP=str(work / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORKS="5",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
    )
    playbook = Path(sys.executable).parent / "ansible-playbook"
    start = time.perf_counter()
    result = subprocess.run(
        [str(playbook), "-i", str(work / "hosts.ini"), str(work / "render.yml")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"ansible-playbook failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    produced = len(list((work / "out").iterdir()))
    if produced != len(hosts):
        raise RuntimeError(f"ansible rendered {produced} of {len(hosts)} configs")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ansible-hosts", type=int, default=100)
    parser.add_argument("--no-ansible", action="store_true")
    args = parser.parse_args()

    params = load_params()
    backbone = build_backbone(params=params)
    n = len(backbone.devices)
    build_s, build_cpu = median_times(lambda: build_backbone(params=params), args.repeat)
    with tempfile.TemporaryDirectory(prefix="bench-network-") as tmp:
        out = Path(tmp)
        vrp_s, vrp_cpu = median_times(lambda: render_all(backbone, "vrp", out / "vrp", params), args.repeat)
        frr_s, frr_cpu = median_times(lambda: render_all(backbone, "frr", out / "frr", params), args.repeat)
        total, total_cpu = build_s + vrp_s + frr_s, build_cpu + vrp_cpu + frr_cpu
        print(
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; medians of {args.repeat} runs"
        )
        print(f"devices in the model            {n}")
        print("                                  wall      CPU")
        print(f"build model                     {build_s:6.2f} s  {build_cpu:6.2f} s")
        print(f"render VRP, {n} files         {vrp_s:6.2f} s  {vrp_cpu:6.2f} s")
        print(f"render FRR, {n} files         {frr_s:6.2f} s  {frr_cpu:6.2f} s")
        verdict = "OK" if total < BUDGET_S else "over budget (see CPU time when the machine is busy)"
        print(
            f"build + two vendors             {total:6.2f} s  {total_cpu:6.2f} s   "
            f"budget {BUDGET_S:.0f} s: {verdict}"
        )
        if args.no_ansible:
            return 0

        # 100 devices of every tier, same template, same context
        hosts = sorted(backbone.devices)[:: max(1, n // args.ansible_hosts)][: args.ansible_hosts]
        contexts = {h: device_view(backbone, backbone.devices[h], "vrp", params) for h in hosts}
        ours_s = median_time(lambda: [render_device(backbone, h, "vrp", params) for h in hosts], args.repeat)
        ansible_s = ansible_render(hosts, contexts, out / "ansible", "vrp")
        for h in hosts[:3]:  # same template, same context: same text
            theirs = (out / "ansible" / "out" / f"{h}.cfg").read_text(encoding="utf-8")
            same = theirs.strip() == render_device(backbone, h, "vrp", params).strip()
            print(f"  {h}: Ansible output {'identical' if same else 'DIFFERS'}")
        print(
            f"VRP, {len(hosts)} devices: egov {ours_s:6.3f} s   Ansible template {ansible_s:6.2f} s   "
            f"ratio {ansible_s / ours_s:,.0f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
