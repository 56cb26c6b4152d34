"""Verifies a running lab against its spec: OSPF adjacencies Full, BGP sessions Established, pings."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from network.lab import system
from network.lab.spec import Adjacency, BgpSession, LabSpec, namespace_name
from network.lab.system import LabError


@dataclass
class CheckReport:
    """What `check` found: the failures of each kind and how many of each were checked."""

    adjacencies_checked: int = 0
    sessions_checked: int = 0
    pings_checked: int = 0
    adjacency_failures: list[str] = field(default_factory=list)
    session_failures: list[str] = field(default_factory=list)
    ping_failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.adjacency_failures or self.session_failures or self.ping_failures)


def full_interfaces(neighbor_json: str) -> dict[str, str]:
    """Interface → neighbor router-id of every Full adjacency in `show ip ospf neighbor json`."""
    data = json.loads(neighbor_json or "{}")
    result: dict[str, str] = {}
    for router_id, entries in data.get("neighbors", {}).items():
        for entry in entries if isinstance(entries, list) else [entries]:
            state = str(entry.get("nbrState", entry.get("state", "")))
            if state.startswith("Full"):
                ifname = str(entry.get("ifaceName", "")).split(":", 1)[0]
                result[ifname] = router_id
    return result


def established_peers(neighbors_json: str) -> set[str]:
    """Peer addresses in state Established in `show bgp neighbors json`."""
    data = json.loads(neighbors_json or "{}")
    return {
        peer
        for peer, info in data.items()
        if isinstance(info, dict) and info.get("bgpState") == "Established"
    }


def _vtysh_json(ns: str, command: str) -> str:
    try:
        return system.vtysh(ns, command)
    except LabError:
        return "{}"


def ospf_state(prefix: str, routers: Iterable[str], workers: int = 8) -> dict[str, dict[str, str]]:
    """Full adjacencies (interface → router-id) of each router."""
    names = sorted(set(routers))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outs = pool.map(lambda r: _vtysh_json(namespace_name(prefix, r), "show ip ospf neighbor json"), names)
        return {name: full_interfaces(out) for name, out in zip(names, outs, strict=True)}


def bgp_state(prefix: str, routers: Iterable[str], workers: int = 8) -> dict[str, set[str]]:
    """Established BGP peers of each router."""
    names = sorted(set(routers))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outs = pool.map(lambda r: _vtysh_json(namespace_name(prefix, r), "show bgp neighbors json"), names)
        return {name: established_peers(out) for name, out in zip(names, outs, strict=True)}


def adjacency_failures(expected: Iterable[Adjacency], state: dict[str, dict[str, str]]) -> list[str]:
    """Expected adjacencies that are not Full."""
    return [
        f"{adj.router} {adj.ifname} → {adj.neighbor}: not Full"
        for adj in expected
        if adj.ifname not in state.get(adj.router, {})
    ]


def session_failures(expected: Iterable[BgpSession], state: dict[str, set[str]]) -> list[str]:
    """Expected BGP sessions that are not Established."""
    return [
        f"{s.router} → {s.peer or s.peer_address} ({s.peer_address}): not Established"
        for s in expected
        if s.peer_address not in state.get(s.router, set())
    ]


def ping(prefix: str, router: str, address: str, count: int = 3, timeout: float = 1.0) -> bool:
    """True when ``router`` gets at least one answer from ``address`` (sourced from its own namespace)."""
    ns = namespace_name(prefix, router)
    cmd = ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", str(timeout), address]
    if ":" in address:
        cmd.insert(1, "-6")
    proc = system.run(system.in_ns(ns, cmd), check=False, timeout=count * 2 + timeout + 5)
    return proc.returncode == 0


def ping_failures(
    prefix: str, pairs: Iterable[tuple[str, str]], workers: int = 16, tick: Callable[[], None] | None = None
) -> list[str]:
    """The (router, address) pairs that got no answer."""
    pairs = list(pairs)

    def one(pair: tuple[str, str]) -> bool:
        ok = ping(prefix, *pair)
        if tick:
            tick()
        return ok

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, pairs))
    return [f"{src} ↛ {dst}" for (src, dst), ok in zip(pairs, results, strict=True) if not ok]


def check(spec: LabSpec, prefix: str, tick: Callable[[], None] | None = None) -> CheckReport:
    """Check every expectation of ``spec`` against the running lab once."""
    workers = max(4, (os.cpu_count() or 2) * 4)
    report = CheckReport(
        adjacencies_checked=len(spec.adjacencies),
        sessions_checked=len(spec.bgp_sessions),
        pings_checked=len(spec.pings),
    )
    ospf = ospf_state(prefix, {a.router for a in spec.adjacencies}, workers)
    report.adjacency_failures = adjacency_failures(spec.adjacencies, ospf)
    bgp = bgp_state(prefix, {s.router for s in spec.bgp_sessions}, workers)
    report.session_failures = session_failures(spec.bgp_sessions, bgp)
    report.ping_failures = ping_failures(prefix, spec.pings, workers, tick)
    return report
