"""Admissions per second on the default province (Guangdong, 1 050 systems), SQLite against PostgreSQL.

Each run starts from an empty ledger and submits the first N systems of the inventory one request each
(window 2027-W12 … 2027-W40, 5 TB of data): every admission takes the ledger lock, reads what is booked,
checks the five-year headroom of every line the system uses, and writes the request and its audit entry.
Sequential (one client) and concurrent (8 threads on one ledger) runs; medians over repeated runs. The
in-memory admission (no database) is printed as the ceiling. PostgreSQL is a throwaway cluster started here.
Last, the same requests are re-planned with CP-SAT: time, and admitted / weighted delay against first come,
first served; then once more with 100 TB each, where the transfers meet on the shared DC attachments.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from egov.source import default_source
from slots.admission import Booked, Booking, Province, admit
from slots.bandwidth import RoutedPaths
from slots.ledger import Ledger, Principal
from slots.localpg import LocalPostgres
from slots.request import RequestSpec, resolve

REQUESTS = 150
RUNS = 3
THREADS = 8
OPERATOR = Principal("bench", operator=True)


def specs(volume: str = "5 TB") -> list[RequestSpec]:
    source = default_source()
    return [
        RequestSpec(
            department=s.department,
            systems=[s.id],
            earliest_week="2027-W12",  # type: ignore[arg-type]
            latest_week="2027-W40",  # type: ignore[arg-type]
            data_volume=volume,  # type: ignore[arg-type]
        )
        for s in source.systems[:REQUESTS]
    ]


def in_memory(requests: list[RequestSpec]) -> float:
    province = Province(default_source(), paths=RoutedPaths())
    province.paths.load()  # the routed backbone, read once per province like its supply (not timed)
    booked = Booked()
    start = time.perf_counter()
    for n, spec in enumerate(requests):
        systems = resolve(province.source, spec, n, province.by_id)
        decision = admit(province, booked, spec, systems)
        if decision.granted_week is not None:
            booked.add(
                province,
                Booking(n, spec.department, decision.granted_week, tuple(systems), spec.data_volume_gb),
            )
    return len(requests) / (time.perf_counter() - start)


def through_ledger(url: str, requests: list[RequestSpec], threads: int) -> tuple[float, int]:
    ledger = Ledger(url, default_source(), paths=RoutedPaths())
    granted = 0
    lock = threading.Lock()

    def work(chunk: list[tuple[int, RequestSpec]]) -> None:
        nonlocal granted
        for n, spec in chunk:
            view, _ = ledger.submit(OPERATOR, spec, f"bench-{n}")
            if view.status == "granted":
                with lock:
                    granted += 1

    numbered = list(enumerate(requests))
    chunks = [numbered[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=work, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    ledger.close()
    return len(requests) / elapsed, granted


def median_of(run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(RUNS))


def main() -> int:
    console = Console()
    requests = specs()
    tmp = Path(tempfile.mkdtemp(prefix="bench-slots-"))
    counter = iter(range(10_000))

    def sqlite_url() -> str:
        return f"sqlite:///{tmp / f'bench-{next(counter)}.sqlite'}"

    postgres = LocalPostgres.start()
    try:
        results: dict[str, float] = {"in memory (no database)": median_of(lambda: in_memory(requests))}
        granted_in_order = 0
        for name, make_url in (("SQLite", sqlite_url), ("PostgreSQL", postgres.create_database)):
            for threads in (1, THREADS):

                def one(make_url: Callable[[], str] = make_url, threads: int = threads) -> float:
                    nonlocal granted_in_order
                    rate, granted = through_ledger(make_url(), requests, threads)
                    if threads == 1:
                        granted_in_order = granted
                    return rate

                results[f"{name}, {threads} thread(s)"] = median_of(one)
    finally:
        postgres.stop()
    table = Table(
        title=f"Admissions per second, default province, {REQUESTS} requests, median of {RUNS} runs"
    )
    table.add_column("ledger")
    table.add_column("admissions/s", justify="right")
    table.add_column("vs SQLite, 1 thread", justify="right")
    base = results["SQLite, 1 thread(s)"]
    for name, rate in results.items():
        table.add_row(name, f"{rate:,.0f}", f"{rate / base:.2f}×")
    console.print(table)
    console.print(
        f"one client: {granted_in_order} of {REQUESTS} requests granted in submission order, the rest "
        "refused with their binding rule (with 8 clients the order, and so the answers, vary)"
    )
    replan_figures(console, requests, sqlite_url())
    # 100 TB each: the transfers meet on the two DC attachments (one constraint per link and week)
    replan_figures(console, specs("100 TB"), sqlite_url())
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def replan_figures(console: Console, requests: list[RequestSpec], url: str) -> None:
    """Re-planning the same requests (submitted one by one, first come first served) with CP-SAT."""
    through_ledger(url, requests, 1)
    ledger = Ledger(url, default_source(), paths=RoutedPaths())
    start = time.perf_counter()
    plan = ledger.plan(OPERATOR)
    elapsed = time.perf_counter() - start
    ledger.close()
    console.print(
        f"re-plan of the {REQUESTS} requests ({requests[0].data_volume_gb / 1000:g} TB each): {plan.status} "
        f"in {elapsed:.1f} s ({plan.variables} variables); "
        f"first come, first served admits {plan.fcfs.admitted} (weighted delay {plan.fcfs.weighted_delay} "
        f"weeks), CP-SAT admits {plan.optimal.admitted} (weighted delay {plan.optimal.weighted_delay} weeks)"
    )


if __name__ == "__main__":
    sys.exit(main())
