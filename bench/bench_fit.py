"""Fit simulation speed: 20,000 VMs placed on 400 hosts, against real Placement's allocation writes.

Prints (medians of repeated runs):
- the simulator's time to place 20,000 VMs of mixed m1 flavors on 400 hosts, spread and pack;
- in pack mode, hosts used against the lower bound max over resources of ⌈Σ demand ÷ host capacity⌉
  (the issue asks for ≤ 3 % above it; the script exits 1 otherwise);
- real OpenStack Placement (gunicorn, one worker, SQLite on tmpfs: its fastest local setting) started here
  with the same 400 hosts: the time per PUT /allocations/{consumer} for VMs on the hosts the simulator chose,
  measured over batches, extrapolated to 20,000; and the ratio.

    .venv/bin/python bench/bench_fit.py [--vms 20000] [--hosts 400] [--runs 5] [--placement-writes 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # servicekit, which placement_server uses
sys.path.insert(0, str(ROOT / "tests" / "placement"))

from capacity.fit import Fleet, Host, Weigher, flavor_request, lower_bound_hosts  # noqa: E402
from capacity.supply import host_inventories  # noqa: E402
from egov.source import default_source  # noqa: E402

#: Share of each m1 flavor in the request stream (small VMs dominate a government cloud). 20,000 of these
#: fill 400 general-64c hosts to about 77 % of their RAM (the binding resource): the gated case.
MIX = {"m1.small": 35, "m1.medium": 30, "m1.large": 20, "m1.xlarge": 10, "m1.2xlarge": 4, "m1.4xlarge": 1}
#: A stress mix (about 93 % of RAM), reported beside it and not gated: packing gets harder near full.
STRESS_MIX = {
    "m1.small": 30,
    "m1.medium": 30,
    "m1.large": 20,
    "m1.xlarge": 12,
    "m1.2xlarge": 6,
    "m1.4xlarge": 2,
}
GROUP = ("bench", "general")


def bench_hosts(count: int) -> list[Host]:
    """``count`` general-64c hosts with the default cloud's reserved and allocation ratios."""
    cloud = default_source().cloud
    aggregate = next(a for az in cloud.availability_zones for a in az.aggregates if a.name == "gz-1-general")
    inventories = host_inventories(cloud, aggregate)
    return [Host(f"bench-{i:03d}", "bench", "bench-general", "general", inventories) for i in range(count)]


def requests(count: int, mix: dict[str, int], seed: int = 2027) -> list[tuple[int, int, int]]:
    """A seeded stream of ``count`` VM requests drawn from ``mix``."""
    cloud = default_source().cloud
    sizes = {f.name: flavor_request(f) for f in cloud.flavors if f.name in mix}
    rng = random.Random(seed)
    names = rng.choices(list(mix), weights=list(mix.values()), k=count)
    return [sizes[n] for n in names]


def place_all(
    hosts: list[Host], stream: list[tuple[int, int, int]], weigher: Weigher
) -> tuple[float, Fleet, list]:
    fleet = Fleet(hosts)
    start = time.perf_counter()
    picks = [fleet.schedule(GROUP, request, weigher) for request in stream]
    return time.perf_counter() - start, fleet, picks


def placement_write_time(
    hosts: list[Host], stream: list[tuple[int, int, int]], picks: list, writes: int
) -> tuple[float, int]:
    """Median seconds per PUT /allocations against a real Placement holding the same hosts."""
    from placement_server import connect, running_placement

    from capacity.placement_source import PlacementError, call, register_host

    warnings.filterwarnings("ignore")
    with (
        tempfile.TemporaryDirectory(prefix="egov-bench-placement-") as home,
        running_placement(Path(home)) as url,
    ):
        conn = connect(url)
        aggregate = str(uuid.uuid4())
        providers = []
        traits: set[str] = set()
        print(f"  registering {len(hosts)} resource providers in Placement …", flush=True)
        for host in hosts:
            provider = str(uuid.uuid5(uuid.NAMESPACE_URL, f"egov-bench:{host.name}"))
            register_host(conn, host, provider, aggregate, traits)
            providers.append(provider)
        batches = []
        done = 0
        batch = max(1, writes // 3)
        refused = 0
        while done < writes:
            start = time.perf_counter()
            for k in range(done, min(done + batch, writes)):
                request, pick = stream[k], picks[k]
                resources = {
                    rc: n for rc, n in zip(("VCPU", "MEMORY_MB", "DISK_GB"), request, strict=True) if n
                }
                try:
                    call(
                        conn,
                        "PUT",
                        f"/allocations/{uuid.uuid4()}",
                        "1.28",
                        json={
                            "allocations": {providers[pick]: {"resources": resources}},
                            "project_id": "bench",
                            "user_id": "bench",
                            "consumer_generation": None,
                        },
                    )
                except PlacementError:
                    refused += 1
            n = min(batch, writes - done)
            batches.append((time.perf_counter() - start) / n)
            done += n
        return statistics.median(batches), refused


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vms", type=int, default=20_000)
    parser.add_argument("--hosts", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--placement-writes", type=int, default=300)
    args = parser.parse_args()

    hosts = bench_hosts(args.hosts)
    ok = True
    for label, mix, gated in (("gated", MIX, True), ("stress", STRESS_MIX, False)):
        stream = requests(args.vms, mix)
        within, picks_of, simulated = simulate_stream(hosts, stream, args.runs, label, mix)
        ok &= within or not gated
        if gated:
            gated_stream, gated_picks, gated_time = stream, picks_of[Weigher.spread], simulated

    placed_stream = [(r, p) for r, p in zip(gated_stream, gated_picks, strict=True) if p is not None]
    per_write, refused = placement_write_time(
        hosts, [r for r, _ in placed_stream], [p for _, p in placed_stream], args.placement_writes
    )
    real = per_write * args.vms
    print(
        f"real Placement (gunicorn 1 worker, SQLite on tmpfs): median {per_write * 1000:.1f} ms per "
        f"PUT /allocations over {args.placement_writes} writes ({refused} refused) → "
        f"{real:.0f} s for {args.vms} VMs (extrapolated)"
    )
    print(
        f"ratio: the simulator places {args.vms} VMs {real / gated_time:,.0f}× faster "
        "than Placement records them"
    )
    if refused:
        print("  Placement refused a claim the simulator placed: the simulator disagrees with Placement")
        ok = False
    return 0 if ok else 1


def simulate_stream(
    hosts: list[Host], stream: list[tuple[int, int, int]], runs: int, label: str, mix: dict[str, int]
) -> tuple[bool, dict[Weigher, list], float]:
    """Place ``stream`` ``runs`` times with each weigher; print the figures; (pack within 3 %, picks,
    median spread seconds)."""
    results: dict[Weigher, list[float]] = {w: [] for w in Weigher}
    fleets: dict[Weigher, Fleet] = {}
    picks_of: dict[Weigher, list] = {}
    for _ in range(runs):
        for weigher in Weigher:
            seconds, fleet, picks = place_all(hosts, stream, weigher)
            results[weigher].append(seconds)
            fleets[weigher], picks_of[weigher] = fleet, picks
    pack = fleets[Weigher.pack]
    ram_share = pack.used[1].sum() / pack.capacity[1].sum() * 100
    shares = ", ".join(f"{p}% {n}" for n, p in mix.items())
    print(
        f"fit simulation ({label}): {len(stream)} VMs ({shares}) on {len(hosts)} hosts, "
        f"{ram_share:.0f} % of RAM"
    )
    bound = lower_bound_hosts(pack.used.sum(axis=1).astype(float), pack.capacity[:, 0])
    for weigher in Weigher:
        fleet, picks = fleets[weigher], picks_of[weigher]
        placed = sum(p is not None for p in picks)
        used_hosts = int((fleet.used.sum(axis=0) > 0).sum())
        median = statistics.median(results[weigher])
        print(
            f"  {weigher.value:6s}: median {median * 1000:8.1f} ms over {runs} runs "
            f"({median / len(stream) * 1e6:.1f} µs per VM); placed {placed}/{len(stream)}; "
            f"hosts used {used_hosts}, lower bound {bound}"
        )
    pack_used = int((pack.used.sum(axis=0) > 0).sum())
    excess = (pack_used - bound) / bound * 100 if bound else 0.0
    verdict = "within" if excess <= 3.0 else "NOT within"
    print(f"  pack: {pack_used} hosts against a lower bound of {bound}: {excess:+.2f} % ({verdict} 3 %)")
    return excess <= 3.0, picks_of, statistics.median(results[Weigher.spread])


if __name__ == "__main__":
    sys.exit(main())
