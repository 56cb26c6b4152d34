"""Benchmark: the full province program (Pulumi.prod.yaml, 122 departments) under Pulumi's official mocks.

Prints the median wall and CPU time of repeated runs (each on fresh mocks, as `egov stack plan` does), the
ratio to the 10 s target, the staging stack for scale, and prod with Python's cyclic garbage collector left
running (what stacks.program.collector_paused saves). Then `egov stack import-file`'s identity look-ups
against a REAL Keystone (tests/keystone/keystone_server.py) holding the 122 prod departments: the time to
find the domain, 122 projects and 122 groups by name, per look-up.
Run: python bench/bench_stacks.py [--runs N] [--no-keystone].
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

TARGET_SECONDS = 10.0


def timed_runs(stack: str, runs: int) -> tuple[list[float], list[float], int]:
    """Wall and CPU seconds of ``runs`` runs of a stack's program on fresh mocks, and its resource count."""
    from stacks.mocks import run_program
    from stacks.settings import load_stack_settings

    config, _ = load_stack_settings(stack)
    walls, cpus, count = [], [], 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        mocks = run_program(stack, config)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        count = len(mocks.registrations)
        gc.collect()  # start each run from the same heap
    return walls, cpus, count


def collector_running() -> Callable[[], object]:
    """A stand-in for collector_paused that leaves the collector on (the peer of the optimisation)."""
    from contextlib import nullcontext

    return nullcontext


def keystone_lookups(runs: int) -> None:
    """Median wall time of the identity part of the prod import file against a real Keystone."""
    import tempfile
    from pathlib import Path

    from rich.console import Console

    tests = Path(__file__).resolve().parents[1] / "tests"
    sys.path[:0] = [str(tests / "keystone"), str(tests)]  # keystone_server, and the servicekit it uses
    from keystone_server import connect, running_keystone

    from stacks.importing import IDENTITY_KINDS, import_plan, planned_lookups
    from stacks.mocks import run_program
    from stacks.settings import load_stack_settings

    config, settings = load_stack_settings("prod")
    registrations = run_program("prod", config).registrations
    console = Console(width=150)
    with tempfile.TemporaryDirectory() as home, running_keystone(Path(home)) as keystone:
        conn: Any = connect(keystone)
        start = time.perf_counter()
        domain = conn.identity.create_domain(name=settings.domain)
        codes = [r.name for r in registrations if r.type == "openstack:identity/project:Project"][1:]
        for code in codes:
            conn.identity.create_project(name=code, domain_id=domain.id)
            conn.identity.create_group(name=f"{code}-users", domain_id=domain.id)
        created = time.perf_counter() - start
        walls = []
        for _ in range(runs):
            wall = time.perf_counter()
            plan = import_plan("prod", registrations, conn, kinds=IDENTITY_KINDS)
            walls.append(time.perf_counter() - wall)
        lookups = planned_lookups(registrations, IDENTITY_KINDS)
        assert not plan.missing, plan.missing[:3]
        wall = statistics.median(walls)
        console.print(
            f"real Keystone (1 gunicorn worker, SQLite): created {len(codes)} projects + groups in "
            f"{created:.1f} s; import-file identity look-ups: {lookups} in {wall:.2f} s median of {runs} "
            f"({wall / lookups * 1000:.1f} ms per look-up), all found"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per stack (default 5)")
    parser.add_argument(
        "--no-keystone", action="store_true", help="skip the import-file look-ups against a real Keystone"
    )
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    from egov.source import default_source

    default_source()  # load data/ once, outside the timings, as a long-lived process would
    table = Table(title=f"The egov-cloud program under Pulumi mocks: medians of {args.runs} runs")
    columns = (
        "run",
        "resources",
        "median wall",
        "min",
        "max",
        "median CPU",
        "CPU per resource",
        "wall vs 10 s",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "run" else "right")
    results = {}
    for label, stack, runs in (
        ("prod", "prod", args.runs),
        ("staging", "staging", args.runs),
        ("prod, collector running", "prod", max(1, min(args.runs, 3))),
    ):
        if label.endswith("collector running"):
            with (
                mock.patch("stacks.program.collector_paused", collector_running()),
                mock.patch("stacks.program.gc.disable"),
            ):
                walls, cpus, count = timed_runs(stack, runs)
        else:
            walls, cpus, count = timed_runs(stack, runs)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        results[label] = (wall, cpu)
        table.add_row(
            label,
            str(count),
            f"{wall:.2f} s",
            f"{min(walls):.2f} s",
            f"{max(walls):.2f} s",
            f"{cpu:.2f} s",
            f"{cpu / count * 1000:.2f} ms",
            f"{wall / TARGET_SECONDS:.2f}×",
        )
    console = Console(width=150)
    console.print(table)
    paused, running = results["prod"][1], results["prod, collector running"][1]
    console.print(
        f"collector paused vs running (prod CPU): {paused / running:.2f}× ({running / paused:.1f}× faster)"
    )
    if not args.no_keystone:
        keystone_lookups(max(1, min(args.runs, 3)))
    if results["prod"][0] >= TARGET_SECONDS:
        console.print(f"[red]the prod program took longer than the {TARGET_SECONDS:g} s target[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
