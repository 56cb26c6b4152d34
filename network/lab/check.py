"""Verifies a running lab against its spec: OSPF adjacencies Full (with BFD up where the config runs it), BGP
sessions Established, pings."""

from __future__ import annotations

import json
import os
import re
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


def full_interfaces(data: object) -> dict[str, str]:
    """Interface → neighbor router-id of every Full adjacency in `show ip ospf neighbor json`."""
    result: dict[str, str] = {}
    neighbors = data.get("neighbors", {}) if isinstance(data, dict) else {}
    for router_id, entries in neighbors.items():
        for entry in entries if isinstance(entries, list) else [entries]:
            state = str(entry.get("nbrState", entry.get("state", "")))
            if state.startswith("Full"):
                ifname = str(entry.get("ifaceName", "")).split(":", 1)[0]
                result[ifname] = router_id
    return result


def established_peers(data: object) -> set[str]:
    """Peer addresses in state Established in `show bgp neighbors json`."""
    if not isinstance(data, dict):
        return set()
    return {p for p, info in data.items() if isinstance(info, dict) and info.get("bgpState") == "Established"}


def full_interfaces_v6(data: object) -> set[str]:
    """Interfaces with a Full neighbour in `show ipv6 ospf6 neighbor json` (OSPFv3)."""
    neighbors = data.get("neighbors", []) if isinstance(data, dict) else []
    return {
        str(n.get("interfaceName")) for n in neighbors if isinstance(n, dict) and n.get("state") == "Full"
    }


def json_documents(text: str) -> list[object]:
    """The JSON documents vtysh printed one after another (one per -c command)."""
    decoder = json.JSONDecoder()
    docs: list[object] = []
    text = text.strip()
    pos = 0
    while pos < len(text):
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
        docs.append(doc)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs


def bfd_up_interfaces(data: object) -> set[str]:
    """Interfaces with a single-hop BFD session up in `show bfd peers json`."""
    peers = data if isinstance(data, list) else []
    return {
        str(p.get("interface"))
        for p in peers
        if isinstance(p, dict) and p.get("status") == "up" and not p.get("multihop") and p.get("interface")
    }


_OSPF_BFD = re.compile(r"^interface (\S+)\n(?:(?!exit\n).*\n)*? ip ospf bfd\n", re.M)


def bfd_interfaces(config: str) -> set[str]:
    """Interfaces on which a rendered frr.conf registers OSPF with BFD."""
    return set(_OSPF_BFD.findall(config))


@dataclass
class RouterState:
    """What one router reports: Full OSPFv2 adjacencies (interface → router-id), Full OSPFv3 interfaces,
    Established BGP peers, interfaces with a BFD session up."""

    ospf: dict[str, str] = field(default_factory=dict)
    ospf6: set[str] = field(default_factory=set)
    bgp: set[str] = field(default_factory=set)
    bfd: set[str] = field(default_factory=set)


def router_state(prefix: str, router: str, bgp: bool, ospf6: bool, bfd: bool = False) -> RouterState:
    """The router's adjacencies and sessions, from one vtysh call."""
    commands = ["show ip ospf neighbor json"]
    commands += ["show ipv6 ospf6 neighbor json"] if ospf6 else []
    commands += ["show bfd peers json"] if bfd else []
    commands += ["show bgp neighbors json"] if bgp else []
    try:
        docs = json_documents(system.vtysh(namespace_name(prefix, router), *commands))
    except LabError:
        return RouterState()
    if len(docs) != len(commands):
        return RouterState()
    state = RouterState(ospf=full_interfaces(docs[0]))
    if ospf6:
        state.ospf6 = full_interfaces_v6(docs[1])
    if bfd:
        state.bfd = bfd_up_interfaces(docs[1 + ospf6])
    if bgp:
        state.bgp = established_peers(docs[-1])
    return state


def watched_routers(spec: LabSpec) -> set[str]:
    """The routers the spec expects an adjacency or a session of."""
    return {a.router for a in spec.adjacencies} | {s.router for s in spec.bgp_sessions}


def routing_state(
    prefix: str, spec: LabSpec, workers: int = 8, routers: Iterable[str] | None = None
) -> dict[str, RouterState]:
    """The state of every router the spec expects something of (or of ``routers`` only)."""
    with_bgp = {s.router for s in spec.bgp_sessions}
    names = sorted(watched_routers(spec) if routers is None else set(routers))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        states = pool.map(
            lambda r: router_state(
                prefix,
                r,
                r in with_bgp,
                "ospf6d" in spec.routers[r].daemons,
                "bfdd" in spec.routers[r].daemons,
            ),
            names,
        )
        return dict(zip(names, states, strict=True))


def adjacency_failures(spec: LabSpec, state: dict[str, RouterState]) -> list[str]:
    """Expected adjacencies that are not Full: OSPFv2 always, OSPFv3 where both ends run ospf6d; and no BFD
    session up where the router's config registers OSPF with BFD."""
    failures = []
    with_bfd = {name: bfd_interfaces(r.config) for name, r in spec.routers.items() if "bfdd" in r.daemons}
    for adj in spec.adjacencies:
        got = state.get(adj.router, RouterState())
        if adj.ifname not in got.ospf:
            failures.append(f"{adj.router} {adj.ifname} → {adj.neighbor}: OSPF not Full")
        if v6_expected(spec, adj) and adj.ifname not in got.ospf6:
            failures.append(f"{adj.router} {adj.ifname} → {adj.neighbor}: OSPFv3 not Full")
        if adj.ifname in with_bfd.get(adj.router, set()) and adj.ifname not in got.bfd:
            failures.append(f"{adj.router} {adj.ifname} → {adj.neighbor}: BFD not up")
    return failures


def unfinished_routers(spec: LabSpec, state: dict[str, RouterState]) -> set[str]:
    """Routers with an expected adjacency, BFD session or iBGP session that ``state`` does not show up."""
    with_bfd = {name: bfd_interfaces(r.config) for name, r in spec.routers.items() if "bfdd" in r.daemons}
    unfinished = set()
    for adj in spec.adjacencies:
        got = state.get(adj.router, RouterState())
        if (
            adj.ifname not in got.ospf
            or (v6_expected(spec, adj) and adj.ifname not in got.ospf6)
            or (adj.ifname in with_bfd.get(adj.router, set()) and adj.ifname not in got.bfd)
        ):
            unfinished.add(adj.router)
    for session in spec.bgp_sessions:
        if session.peer_address not in state.get(session.router, RouterState()).bgp:
            unfinished.add(session.router)
    return unfinished


def v6_expected(spec: LabSpec, adj: Adjacency) -> bool:
    """Whether an OSPFv3 adjacency is expected too (both routers run ospf6d)."""
    return all("ospf6d" in spec.routers[r].daemons for r in (adj.router, adj.neighbor))


def expected_adjacencies(spec: LabSpec) -> int:
    """How many adjacencies `check` expects Full (OSPF, plus OSPFv3 where both ends run it)."""
    return len(spec.adjacencies) + sum(v6_expected(spec, a) for a in spec.adjacencies)


def session_failures(expected: Iterable[BgpSession], state: dict[str, RouterState]) -> list[str]:
    """Expected BGP sessions that are not Established."""
    return [
        f"{s.router} → {s.peer or s.peer_address} ({s.peer_address}): not Established"
        for s in expected
        if s.peer_address not in state.get(s.router, RouterState()).bgp
    ]


def ping(prefix: str, router: str, address: str, source: str = "", count: int = 3, timeout: int = 1) -> bool:
    """True when ``router`` gets an answer from ``address`` (from ``source``, its loopback, when given).

    One probe first; ``count`` more only when it goes unanswered.
    """
    ns = namespace_name(prefix, router)
    for probes in (1, count):
        cmd = ["ping", "-n", "-q", "-c", str(probes), "-i", "0.2", "-W", str(timeout), address]
        if source:
            cmd[1:1] = ["-I", source]
        proc = system.run(system.in_ns(ns, cmd), check=False, timeout=probes * 2 + timeout + 5)
        if proc.returncode == 0:
            return True
    return False


def ping_failures(
    prefix: str,
    pairs: Iterable[tuple[str, str]],
    sources: dict[str, str] | None = None,
    workers: int = 16,
    tick: Callable[[], None] | None = None,
) -> list[str]:
    """The (router, address) pairs that got no answer (pinging from ``sources[router]`` when given)."""
    pairs = list(pairs)
    src = sources or {}

    def one(pair: tuple[str, str]) -> bool:
        ok = ping(prefix, pair[0], pair[1], src.get(pair[0], ""))
        if tick:
            tick()
        return ok

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, pairs))
    return [f"{s} ↛ {d}" for (s, d), ok in zip(pairs, results, strict=True) if not ok]


def loopback_sources(spec: LabSpec) -> dict[str, str]:
    """Each router's first IPv4 loopback, the source of its pings."""
    return {name: str(lo.ip) for name, r in spec.routers.items() for lo in r.loopbacks[:1] if lo.version == 4}


def check(spec: LabSpec, prefix: str, tick: Callable[[], None] | None = None) -> CheckReport:
    """Check every expectation of ``spec`` against the running lab once."""
    workers = max(4, (os.cpu_count() or 2) * 4)
    report = CheckReport(
        adjacencies_checked=expected_adjacencies(spec),
        sessions_checked=len(spec.bgp_sessions),
        pings_checked=len(spec.pings),
    )
    state = routing_state(prefix, spec, workers)
    report.adjacency_failures = adjacency_failures(spec, state)
    report.session_failures = session_failures(spec.bgp_sessions, state)
    report.ping_failures = ping_failures(prefix, spec.pings, loopback_sources(spec), workers, tick)
    return report
