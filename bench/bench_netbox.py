"""The whole province pushed into a fresh, real NetBox, and a no-change re-push.

Starts NetBox as the tests do (tests/netbox/netbox_server.py: own venv, Redis, PostgreSQL restored from the
cached migrated dump, gunicorn with 2 workers, the app preloaded), then times:
- the start-up of that NetBox (cold = migrate, warm = restore);
- `push` of every object of the 1,762-router province (regions … circuit terminations) into it;
- a second push of the same model (reads everything back, compares, writes nothing).

    .venv/bin/python bench/bench_netbox.py [--city 445300]   # --city: a slice instead of the province
"""

from __future__ import annotations

import argparse
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", action="append", help="push only these cities (with the core)")
    args = parser.parse_args()

    import pynetbox
    from conftest import create_custom_fields
    from netbox_server import running_netbox, tempdir

    from network.netbox_sync import push

    backbone = build_backbone()
    if args.city:
        backbone = backbone.slice(args.city)
    tables = inventory_rows(backbone, "vrp", load_params(), load_department_names())
    objects = sum(len(rows) for rows in tables.values())
    start = time.perf_counter()
    with running_netbox(tempdir()) as netbox:
        started = time.perf_counter() - start
        how = (netbox.home / "database.txt").read_text().strip()
        api = pynetbox.api(netbox.url, token=netbox.token)
        create_custom_fields(api)
        t0 = time.perf_counter()
        first = push(api, tables)
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = push(api, tables)
        second_s = time.perf_counter() - t0
    print(f"{len(backbone.devices)} devices, {objects} NetBox objects in {len(tables)} tables")
    print(f"NetBox start-up ({how}): {started:.1f} s")
    print(
        f"first push into a fresh NetBox: {first_s:.1f} s ({sum(first.created.values())} created, "
        f"{sum(first.updated.values())} updated: the ports the device types' templates made)"
    )
    print(f"no-change re-push: {second_s:.1f} s ({second.total_changes} changes)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if first.error or second.error or second.total_changes:
        print(f"FAILED: {first.error or second.error or second.changes[:5]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
