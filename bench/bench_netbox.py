"""The whole province pushed into a fresh, real NetBox, and a no-change re-push.

Starts NetBox as the tests do (tests/netbox/netbox_server.py: own venv, Redis, PostgreSQL restored from the
cached migrated dump, gunicorn with 2 workers, the app preloaded), then times:
- the start-up of that NetBox (cold = migrate, warm = restore);
- `push` of every object of the slice or the 1,762-router province (regions … circuit terminations) into it;
- a second push of the same model (reads everything back, compares, writes nothing);
and per object of the first push, the CPU time NetBox (gunicorn's workers) and PostgreSQL spent on it: the
cost the client cannot cut, whatever the load of the machine does to the wall time.

The whole province takes over 20 minutes on 2 cores (NetBox's ≈50 ms of CPU per object), so `make bench`
pushes the one-city slice of the suite unless EGOV_BENCH_NETBOX_PROVINCE=1:

    .venv/bin/python bench/bench_netbox.py [--province | --city 445300] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # servicekit, which netbox_server uses
sys.path.insert(0, str(ROOT / "tests" / "netbox"))  # before tests/: its conftest is the NetBox one

from network.departments import load_department_names  # noqa: E402
from network.netbox import inventory_rows  # noqa: E402
from network.params import load_params  # noqa: E402
from network.topology import build_backbone  # noqa: E402
from slots.localpg import LocalPostgres  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", action="append", help="push only these cities (with the core)")
    parser.add_argument("--province", action="store_true", help="push the whole province")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (and requests in flight)")
    args = parser.parse_args()
    province = args.province or os.environ.get("EGOV_BENCH_NETBOX_PROVINCE") == "1"

    import pynetbox
    from conftest import SLICE_CITY, create_custom_fields
    from netbox_server import running_netbox, tempdir

    from network.netbox_sync import push

    cities = None if province and not args.city else args.city or [SLICE_CITY]
    backbone = build_backbone()
    if cities:
        backbone = backbone.slice(cities)
    tables = inventory_rows(backbone, "vrp", load_params(), load_department_names())
    objects = sum(len(rows) for rows in tables.values())
    start = time.perf_counter()
    with running_netbox(tempdir(), workers=args.workers) as netbox:
        started = time.perf_counter() - start
        how = (netbox.home / "database.txt").read_text().strip()
        api = pynetbox.api(netbox.url, token=netbox.token)
        create_custom_fields(api)
        netbox_cpu, pg_cpu, egov_cpu = _cpu(netbox.pid), _cpu(_postmaster(netbox.pg)), time.process_time()
        t0 = time.perf_counter()
        first = push(api, tables, in_flight=args.workers)
        first_s = time.perf_counter() - t0
        netbox_cpu, pg_cpu = _cpu(netbox.pid) - netbox_cpu, _cpu(_postmaster(netbox.pg)) - pg_cpu
        egov_cpu = time.process_time() - egov_cpu
        t0 = time.perf_counter()
        second = push(api, tables, in_flight=args.workers)
        second_s = time.perf_counter() - t0
    what = "the whole province" if not cities else f"the slice of {', '.join(cities)}"
    print(f"{what}: {len(backbone.devices)} devices, {objects} NetBox objects in {len(tables)} tables")
    print(f"gunicorn: {args.workers} workers, {args.workers} bulk requests in flight")
    print(f"NetBox start-up ({how}): {started:.1f} s")
    print(
        f"first push into a fresh NetBox: {first_s:.1f} s ({sum(first.created.values())} created, "
        f"{sum(first.updated.values())} updated: the ports the device types' templates made)"
    )
    print(
        f"  CPU of the first push: NetBox {netbox_cpu:.1f} s, PostgreSQL {pg_cpu:.1f} s, "
        f"egov {egov_cpu:.1f} s; per object {1000 * netbox_cpu / objects:.1f} + "
        f"{1000 * pg_cpu / objects:.1f} ms, wall {1000 * first_s / objects:.1f} ms"
    )
    print(f"no-change re-push: {second_s:.1f} s ({second.total_changes} changes)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if first.error or second.error or second.total_changes:
        print(f"FAILED: {first.error or second.error or second.changes[:5]}")
        return 1
    return 0


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process and all its children, live or exited (NetBox's workers, or
    PostgreSQL's per-connection backends)."""
    import psutil  # installed with openstacksdk

    root = psutil.Process(pid)
    total = sum(root.cpu_times()[:4])  # user, system, children_user, children_system
    for child in root.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # ended meanwhile: in its parent's children times
            total += sum(child.cpu_times()[:2])
    return total


def _postmaster(pg: LocalPostgres) -> int:
    return int((pg.base / "data" / "postmaster.pid").read_text().split()[0])


if __name__ == "__main__":
    sys.exit(main())
