"""`egov network lab policy-test`: the zone policy proven with real packets in the running lab (issue 13).

The nftables filters Aerleon renders for the lab's routers (``egov network policy render --vendor frr``) are
loaded into each router's namespace, one host namespace stands in for every zone endpoint the lab has, and
for every intent of data/zones.yaml real packets are sent: ``ping`` for icmp, a TCP connect or a UDP datagram
for a port, all three for ``any``. A flow is allowed when the packet arrived (the TCP handshake completed,
the UDP datagram or the echo reply came back), denied when it did not. The JSON has the shape of the static
check.

Endpoint hosts sit on the router's LAN as macvlan interfaces (bridge mode) of the peer of the router's LAN
veth, so two hosts of one LAN talk through the "switch" without the router, as on a real site LAN.

Endpoints on VRF attachment ports (the cloud DC, the Internet exit, the departments' horizontal access) are
tested at their enforcement point. The lab kernel has no VRF device and no MPLS forwarding, so the lab's FRR
configs carry no attachment; instead, for one access router at a time (the router that enforces the filters
bound to those ports), every attachment port an intent uses becomes a host namespace on a veth whose router
end carries the very name the rendered filter binds (``eth5``, ``eth6``, ``eth101`` …) and the attachment's
address; inside the router the host gets the routes its VRF would give it there — the zone's prefixes from
the model (the Internet's sample host as a /32: a default route in the lab's global table would break the
"default only from the exit" rule and attract every lab packet). The other backbone routers of the lab get
the same prefixes towards that router (the next hop they use for its loopback), so a site LAN's packet
crosses the routed lab to the enforcement point. All attachment hosts of one router share its one table:
where two zones never meet in the network (department A → department B: their VRFs never import each
other), the packet test is that the enforcement point's filter drops it. What the packets cannot show —
the VRF separation across the MPLS core, and pairs of attachment ports on two different access routers —
is proven statically (`egov network check`, route targets; `egov network policy check`); each intent's
``tested_at`` and ``reason`` in the JSON say exactly what its packets covered.
"""

from __future__ import annotations

import ctypes
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any, TypeVar

from network.lab import system
from network.lab.engine import stub_peer
from network.lab.spec import LabSpec, namespace_name
from network.lab.system import NETNS_DIR, LabError
from network.naming import lan_name
from network.zonepolicy.compile import Compiled
from network.zonepolicy.intents import PROTOCOL_NUMBERS, Intent
from network.zonepolicy.render import port_name
from network.zonepolicy.zones import Endpoint

#: TCP and UDP port probed for a service of protocol ``ip`` (any): the discard port, used by nothing here.
ANY_PROBE_PORT = 9
#: Seconds a probe waits for its packet (a denied flow costs this much).
PROBE_TIMEOUT_S = 1.0
#: Flows tested per intent at most (evenly sampled from the sorted source × destination pairs): no lab size
#: may cost unbounded time.
MAX_FLOWS_PER_INTENT = 200
_CLONE_NEWNET = 0x40000000
_T = TypeVar("_T")


# ---------------------------------------------------------------- network namespaces from Python threads
_libc = ctypes.CDLL(None, use_errno=True)


def _enter(ns: str) -> None:
    """Move the calling thread (only it) into network namespace ``ns``; sockets it opens live there."""
    fd = os.open(NETNS_DIR / ns, os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            raise LabError(f"setns into {ns} failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


def in_namespace(ns: str, fn: Callable[[], _T]) -> _T:
    """``fn()`` run in a fresh thread inside ``ns`` (the caller's namespace is untouched)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            _enter(ns)
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------- endpoint hosts
@dataclass(frozen=True)
class Host:
    """A namespace standing for one zone endpoint, on the LAN ``ifname`` of lab router ``router``."""

    address: IPv4Address
    router: str
    ifname: str
    gateway: IPv4Interface
    namespace: str


def lab_port(spec: LabSpec, ep: Endpoint) -> tuple[str, IPv4Interface] | None:
    """(LAN interface, its gateway address) of an endpoint in the lab, or None when the lab lacks its port."""
    if ep.port.kind != "lan" or ep.port.device not in spec.routers:
        return None
    ifname = lan_name("frr", ep.port.index)
    for stub in spec.routers[ep.port.device].stub_interfaces:
        if stub.ifname == ifname:
            for addr in stub.addresses:
                if isinstance(addr, IPv4Interface) and ep.address in addr.network:
                    return ifname, addr
    return None


@dataclass(frozen=True)
class AttachmentPort:
    """A VRF attachment port of an access router, as the lab stands it up at its enforcement point."""

    router: str
    #: the interface name the rendered nftables filter binds (``eth5``, ``eth6``, ``eth101`` …)
    ifname: str
    vrf: str
    #: the router's address on the attachment link, and the far end's (the host's) address
    gateway: IPv4Interface
    peer: IPv4Address


def attachment_port(compiled: Compiled, spec: LabSpec, ep: Endpoint) -> AttachmentPort | None:
    """The attachment port of an endpoint, or None when it sits on a LAN or its router is not in the lab."""
    if ep.port.kind != "attachment" or ep.port.device not in spec.routers:
        return None
    dev = compiled.backbone.devices[ep.port.device]
    att = next((a for a in dev.attachments if a.port == ep.port.index), None)
    if att is None or att.address_v4 is None:
        return None
    gateway = att.address_v4
    peer = next(a for a in gateway.network.hosts() if a != gateway.ip)  # a /31's hosts() are both ends
    # a department's cloud sits on a VLAN of the DC port, in the department's VRF; the filter binds the port
    vrf = next((v.vrf for v in att.vlans if any(ep.address in r for r in v.routes)), att.vrf)
    ifname = port_name(compiled.backbone, "frr", ep.port)
    return AttachmentPort(ep.port.device, ifname, vrf, gateway, peer)


def enforcement_route(compiled: Compiled, ep: Endpoint) -> IPv4Network:
    """The route the enforcement router's VRF has for an attachment endpoint: the most specific of its zone's
    prefixes that holds it; for the Internet (whose prefix is the default route) the sample host's /32."""
    held = [p for p in compiled.zones.zones[ep.zone].prefixes if ep.address in p and p.prefixlen > 0]
    if not held:
        return IPv4Network(f"{ep.address}/32")
    return max(held, key=lambda p: p.prefixlen)


def flow_router(src: Endpoint, dst: Endpoint) -> str | None:
    """The access router whose attachment ports a flow uses ("" for a flow between site LANs), or None when
    its two attachment endpoints sit on two different access routers (their path is a VRF across the MPLS
    core, which the lab kernel cannot carry)."""
    routers = {e.port.device for e in (src, dst) if e.port.kind == "attachment"}
    if len(routers) > 1:
        return None
    return routers.pop() if routers else ""


def same_host(src: Endpoint, dst: Endpoint) -> bool:
    """Whether two endpoints would be one host namespace (one LAN address, or one attachment port): a packet
    between them never leaves it and proves nothing."""
    return src.port == dst.port and (src.address == dst.address or src.port.kind == "attachment")


def endpoint_key(ep: Endpoint) -> tuple[str, str, int, int]:
    return (ep.port.device, ep.port.kind, ep.port.index, int(ep.address))


def absent_reason(compiled: Compiled, spec: LabSpec, zone: str) -> str:
    """Why zone ``zone`` has no endpoint in the lab: the model has none, or their routers are not in the
    slice."""
    eps = [*compiled.zones.zones[zone].sources, *compiled.zones.zones[zone].destinations]
    if not eps:
        return f"{zone}: the model has no endpoint of this zone"
    return f"{zone}: none of its {len(eps)} endpoints' routers is in this lab slice"


# ---------------------------------------------------------------- probes
class Listeners:
    """TCP listeners and UDP sockets on the destination hosts, served by one selector thread; UDP datagrams
    that arrive are recorded by their payload (the probe's token)."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.arrived: set[bytes] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def open(self, host: Host, protocol: str, port: int) -> None:
        def make() -> socket.socket:
            kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
            sock = socket.socket(socket.AF_INET, kind)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((str(host.address), port))
            if protocol == "tcp":
                sock.listen(256)
            sock.setblocking(False)
            return sock

        sock = in_namespace(host.namespace, make)
        self.sockets.append(sock)
        self.selector.register(sock, selectors.EVENT_READ, protocol)

    def _serve(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    if key.data == "tcp":
                        conn, _peer = sock.accept()
                        conn.close()
                    else:
                        data, _peer = sock.recvfrom(256)
                        with self.lock:
                            self.arrived.add(data)
                except OSError:
                    continue

    def seen(self, token: bytes, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            with self.lock:
                if token in self.arrived:
                    return True
            time.sleep(0.02)
        with self.lock:
            return token in self.arrived

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        for sock in self.sockets:
            sock.close()
        self.selector.close()


_token_lock = threading.Lock()
_token_counter = [0]


def _token() -> bytes:
    with _token_lock:
        _token_counter[0] += 1
        return f"egov-policy-test-{os.getpid()}-{_token_counter[0]}".encode()


def probe(src: Host, dst: Host, protocol: str, port: int | None, listeners: Listeners) -> bool:
    """Whether one packet of (protocol, port) from ``src`` arrives at ``dst``. Runs in the caller's thread,
    which it moves into ``src``'s namespace."""
    if protocol == "icmp":
        wait = str(int(PROBE_TIMEOUT_S) or 1)
        cmd = ["ping", "-n", "-q", "-c", "1", "-W", wait, "-I", str(src.address), str(dst.address)]
        proc = system.run(system.in_ns(src.namespace, cmd), check=False, timeout=PROBE_TIMEOUT_S + 10)
        return proc.returncode == 0
    _enter(src.namespace)
    assert port is not None
    if protocol == "tcp":
        try:
            # from the endpoint's own address: an attachment host also holds its link address
            target, source = (str(dst.address), port), (str(src.address), 0)
            with socket.create_connection(target, timeout=PROBE_TIMEOUT_S, source_address=source):
                return True
        except OSError:
            return False
    token = _token()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((str(src.address), 0))
            sock.sendto(token, (str(dst.address), port))
        except OSError:
            return False
    return listeners.seen(token, PROBE_TIMEOUT_S)


def service_probes(compiled: Compiled, service: str) -> list[tuple[str, int | None]]:
    """The packets sent for a service: its (protocol, port), or icmp, tcp and udp for ``any``."""
    svc = compiled.spec.services[service]
    if PROTOCOL_NUMBERS[svc.protocol] is None:
        return [("icmp", None), ("tcp", ANY_PROBE_PORT), ("udp", ANY_PROBE_PORT)]
    return [(svc.protocol, svc.port)]


# ---------------------------------------------------------------- the test
@dataclass
class PacketResult:
    intent: Intent
    verdict: str  # allow, deny, partial, or "not testable"
    flows: int = 0
    #: what the packets of this intent covered (or, when not testable, why not)
    reason: str = ""
    counterexample: str = ""
    testable: bool = True
    #: where the packets were judged: "GD-ACC-01 eth5 (VRF public)" per attachment port, and the site LANs
    tested_at: list[str] = field(default_factory=list)
    #: source × destination pairs between attachment ports of two different access routers (not sent)
    static_only_pairs: int = 0

    @property
    def ok(self) -> bool | None:
        return self.verdict == self.intent.expect if self.testable else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.intent.name,
            "src": self.intent.src,
            "dst": self.intent.dst,
            "service": self.intent.service,
            "expect": self.intent.expect,
            "verdict": self.verdict,
            "ok": self.ok,
            "testable": self.testable,
            "tested_at": self.tested_at,
            "reason": self.reason,
            "flows": self.flows,
            "static_only_pairs": self.static_only_pairs,
            "counterexample": self.counterexample,
        }


#: What no packet of the lab can show, and where it is proven instead.
STATIC_VRF = (
    "VRF separation across the MPLS core is proven statically (`egov network check`: route targets, per-VRF "
    "route tables) — the lab kernel has no VRF device and no MPLS forwarding"
)


def coverage(compiled: Compiled, spec: LabSpec, intent: Intent, flows: list[tuple[Endpoint, Endpoint, str]],
             static_only: int) -> tuple[list[str], str]:  # fmt: skip
    """(tested_at, reason) of an intent's packet test: the attachment ports stood up at their enforcement
    point, the site LANs, and what is left to the static proof."""
    eps = {endpoint_key(e): e for s, d, _r in flows for e in (s, d)}
    ports = sorted(
        {
            f"{ap.router} {ap.ifname} (VRF {ap.vrf})"
            for e in eps.values()
            if (ap := attachment_port(compiled, spec, e)) is not None
        }
    )
    lans = sorted({e.port.device for e in eps.values() if e.port.kind == "lan"})
    tested_at = [*ports, *([f"site LANs of {len(lans)} routers"] if lans else [])]
    parts = []
    if ports:
        parts.append(
            "at the enforcement point: hosts on the attachment ports the rendered filters bind, with the "
            "routes their VRF has there (the zones' prefixes in the model); " + STATIC_VRF
        )
    else:
        parts.append("site LANs: hosts on the routers' LANs, packets across the routed lab")
    departments = set(compiled.zones.departments.values())
    if intent.src in departments and intent.dst in departments and intent.src != intent.dst:
        parts.append(
            f"{intent.src} and {intent.dst} never import each other's routes (no route between them in the "
            "network); in the lab both share the access router's one table, so the packet must be dropped by "
            "the enforcement point's filter"
        )
    if static_only:
        parts.append(
            f"{static_only} pairs between ports of two different access routers (a VRF across the MPLS core) "
            "proven statically only (`egov network policy check`)"
        )
    return tested_at, "; ".join(parts)


@dataclass
class PolicyTestReport:
    results: list[PacketResult]
    unreachable_lines: int
    shadowed_lines: int
    #: zone → why it has no endpoint in the lab
    absent_zones: dict[str, str] = field(default_factory=dict)
    filters_loaded: dict[str, int] = field(default_factory=dict)  # router → nft rules loaded
    seconds: float = 0.0
    #: (router, term chain) → packets its rule matched in this run
    hits: dict[tuple[str, str], int] = field(default_factory=dict)

    def terms_not_hit(self) -> list[str]:
        """Term chains (filter, port, term) no packet of any router matched in this run: lines the packets did
        not prove (most guard zones the lab has no endpoint of)."""
        hit = {chain for (_r, chain), n in self.hits.items() if n > 0}
        return sorted({chain for (_r, chain) in self.hits} - hit)

    @property
    def ok(self) -> bool:
        return all(r.ok is not False for r in self.results) and not (
            self.unreachable_lines or self.shadowed_lines
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "intents": [r.as_dict() for r in self.results],
            "unreachable_lines": self.unreachable_lines,
            "shadowed_lines": self.shadowed_lines,
            "not_testable": dict(sorted(self.absent_zones.items())),
            "routers_filtered": len(self.filters_loaded),
            "lines_hit": sum(1 for n in self.hits.values() if n > 0),
            "lines_not_hit": sum(1 for n in self.hits.values() if n == 0),
            "terms_not_hit": self.terms_not_hit(),
            "ok": self.ok,
        }


def _tables(ruleset: str) -> list[str]:
    """The ``table <family> <name>`` heads of an nftables ruleset."""
    return [line.rstrip(" {") for line in ruleset.splitlines() if line.startswith("table ")]


def term_chains(ruleset: str) -> list[tuple[str, str]]:
    """(table, chain) of every term chain of an Aerleon nftables ruleset (one rule each, jumped to from the
    base chains, which are the chains with a hook)."""
    out, table, chain, hooked = [], "", "", False
    for line in ruleset.splitlines():
        words = line.split()
        if line.startswith("table "):
            table = " ".join(words[1:3])
        elif words[:1] == ["chain"]:
            chain, hooked = words[1], False
        elif "hook" in words:
            hooked = True
        elif words == ["}"] and chain:
            if not hooked:
                out.append((table, chain))
            chain = ""
    return out


def add_hit_counters(prefix: str, rulesets: dict[str, str]) -> None:
    """Count the packets that hit each term: a counter-only rule before and after the term's one rule (the
    rendered rule itself stays as rendered); hits = packets in − packets that fell through."""
    for router, text in sorted(rulesets.items()):
        lines = [f"insert rule {t} {c} counter\nadd rule {t} {c} counter\n" for t, c in term_chains(text)]
        ns = namespace_name(prefix, router)
        system.run(system.in_ns(ns, ["nft", "-f", "-"]), input_text="".join(lines))


def term_hits(nft_json: dict[str, Any]) -> dict[str, int]:
    """chain → packets that matched its term, from ``nft -j list ruleset`` after :func:`add_hit_counters`."""
    counters: dict[str, list[int]] = {}
    for item in nft_json.get("nftables", []):
        rule = item.get("rule")
        if rule and len(rule.get("expr", [])) == 1 and "counter" in rule["expr"][0]:
            counters.setdefault(rule["chain"], []).append(int(rule["expr"][0]["counter"]["packets"]))
    return {chain: c[0] - c[-1] for chain, c in counters.items() if len(c) == 2}


def read_hits(prefix: str, rulesets: dict[str, str]) -> dict[tuple[str, str], int]:
    """(router, term chain) → packets its term matched during the test."""
    import json

    hits = {}
    for router in sorted(rulesets):
        cmd = system.in_ns(namespace_name(prefix, router), ["nft", "-j", "list", "ruleset"])
        out = system.run(cmd).stdout
        for chain, n in term_hits(json.loads(out)).items():
            hits[(router, chain)] = n
    return hits


def load_filters(prefix: str, rulesets: dict[str, str]) -> dict[str, int]:
    """Load each router's nftables ruleset into its namespace, atomically replacing an earlier load; returns
    router → rules loaded. Raises LabError naming the router when nft rejects a ruleset."""
    loaded = {}
    for router, text in sorted(rulesets.items()):
        reset = "".join(f"add {t}\ndelete {t}\n" for t in _tables(text))
        ns = namespace_name(prefix, router)
        proc = system.run(system.in_ns(ns, ["nft", "-f", "-"]), input_text=reset + text, check=False)
        if proc.returncode != 0:
            raise LabError(f"{router}: nft -f rejected the rendered filters: {proc.stderr.strip()[:400]}")
        loaded[router] = sum(
            1 for line in text.splitlines() if line.startswith("        ") and "{" not in line
        )
    return loaded


def unload_filters(prefix: str, rulesets: dict[str, str]) -> None:
    for router, text in sorted(rulesets.items()):
        for table in _tables(text):
            system.run(
                system.in_ns(namespace_name(prefix, router), ["nft", "delete", *table.split()]), check=False
            )


def _host_namespace(prefix: str, n: int) -> str:
    # the lab's prefix: `lab down` removes what an interrupted run leaves behind
    return f"{prefix}host{n:03d}"


#: Host namespaces of attachment ports are numbered from here (those of LAN endpoints from 0).
_ATTACHMENT_HOST_BASE = 500


def _warm_arp(hosts: Iterable[Host]) -> None:
    """One ping to each host's gateway: ARP resolved on both sides before any timed probe."""
    gateways = sorted({(h.namespace, str(h.gateway.ip)) for h in hosts})
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda g: system.run(
                    system.in_ns(g[0], ["ping", "-n", "-q", "-c", "1", "-W", "1", g[1]]), check=False
                ),
                gateways,
            )
        )


@contextmanager
def endpoint_hosts(prefix: str, spec: LabSpec, endpoints: list[Endpoint]) -> Iterator[dict[tuple, Host]]:
    """A namespace per distinct (LAN, address) endpoint, on the router's LAN; removed on exit."""
    hosts: dict[tuple, Host] = {}
    by_key = {endpoint_key(e): e for e in endpoints if lab_port(spec, e)}
    try:
        for n, key in enumerate(sorted(by_key)):
            ep = by_key[key]
            found = lab_port(spec, ep)
            assert found is not None
            ifname, gateway = found
            ns, rns = _host_namespace(prefix, n), namespace_name(prefix, ep.port.device)
            host = Host(ep.address, ep.port.device, ifname, gateway, ns)
            system.run(["ip", "netns", "delete", ns], check=False)
            system.run(["ip", "netns", "add", ns])
            hosts[key] = host
            tmp = f"eph{n:03d}"
            system.ip_batch(
                [
                    f"link add link {stub_peer(ifname)} name {tmp} type macvlan mode bridge",
                    f"link set {tmp} netns {ns}",
                ],
                ns=rns,
            )
            system.ip_batch(
                [
                    "link set lo up",
                    f"link set {tmp} name eth0",
                    f"addr add {ep.address}/{gateway.network.prefixlen} dev eth0",
                    "link set eth0 up",
                    f"route add default via {gateway.ip}",
                ],
                ns=ns,
            )
        _warm_arp(hosts.values())
        yield hosts
    finally:
        for host in hosts.values():
            system.run(["ip", "netns", "delete", host.namespace], check=False)


@contextmanager
def attachment_hosts(
    prefix: str, compiled: Compiled, spec: LabSpec, router: str, endpoints: list[Endpoint]
) -> Iterator[dict[tuple, Host]]:
    """The attachment endpoints at access router ``router``, stood up at that enforcement point: one host
    namespace per attachment port (holding every endpoint address behind it) on a veth whose router end has
    the name the rendered filter binds and the attachment's address; the routes the port's VRF has there
    (:func:`enforcement_route`) inside the router, and the same prefixes towards ``router`` on the other
    routers of the lab. Everything is removed on exit (the routers' ends go with the host namespaces)."""
    ports: dict[str, tuple[AttachmentPort, list[Endpoint]]] = {}
    for ep in sorted({endpoint_key(e): e for e in endpoints}.values(), key=endpoint_key):
        ap = attachment_port(compiled, spec, ep) if ep.port.device == router else None
        if ap is not None:
            ports.setdefault(ap.ifname, (ap, []))[1].append(ep)
    hosts: dict[tuple, Host] = {}
    namespaces: list[str] = []
    undo: list[tuple[str, list[str]]] = []
    rns = namespace_name(prefix, router)
    try:
        routes: set[IPv4Network] = set()
        for n, (ifname, (ap, eps)) in enumerate(sorted(ports.items())):
            ns = _host_namespace(prefix, _ATTACHMENT_HOST_BASE + n)
            system.run(["ip", "netns", "delete", ns], check=False)
            system.run(["ip", "netns", "add", ns])
            namespaces.append(ns)
            near, far = f"epa{n:03d}", f"epb{n:03d}"
            system.ip_batch([f"link add {near} netns {rns} type veth peer name {far} netns {ns}"])
            prefixes = sorted({enforcement_route(compiled, e) for e in eps})
            routes |= set(prefixes)
            system.ip_batch(
                [
                    f"link set {near} name {ifname}",
                    f"addr add {ap.gateway} dev {ifname}",
                    f"link set {ifname} up",
                    *(f"route replace {p} via {ap.peer} dev {ifname}" for p in prefixes),
                ],
                ns=rns,
            )
            extra = sorted({e.address for e in eps} - {ap.peer})
            system.ip_batch(
                [
                    "link set lo up",
                    f"link set {far} name eth0",
                    f"addr add {ap.peer}/{ap.gateway.network.prefixlen} dev eth0",
                    *(f"addr add {a}/32 dev eth0" for a in extra),
                    "link set eth0 up",
                    f"route add default via {ap.gateway.ip}",
                ],
                ns=ns,
            )
            for e in eps:
                hosts[endpoint_key(e)] = Host(e.address, router, ifname, ap.gateway, ns)
        undo = _routes_towards(prefix, spec, router, sorted(routes))
        _warm_arp(hosts.values())
        yield hosts
    finally:
        for ns, lines in undo:
            cmd = ["ip", "-n", ns, "-force", "-batch", "-"]
            system.run(cmd, input_text="\n".join(lines) + "\n", check=False)
        for ns in namespaces:
            system.run(["ip", "netns", "delete", ns], check=False)


def _routes_towards(
    prefix: str, spec: LabSpec, router: str, prefixes: list[IPv4Network]
) -> list[tuple[str, list[str]]]:
    """``prefixes`` on every other lab router that has a route to ``router``'s loopback, via the next hop
    that route uses (the IGP's way to the enforcement point); a router without one (the isolated domain)
    gets nothing. Returns (namespace, the ``ip`` lines that remove them again)."""
    import json

    loopback = next(str(a.ip) for a in spec.routers[router].loopbacks if isinstance(a, IPv4Interface))
    undo: list[tuple[str, list[str]]] = []
    for name in sorted(spec.routers):
        if name == router:
            continue
        ns = namespace_name(prefix, name)
        proc = system.run(["ip", "-n", ns, "-j", "route", "get", loopback], check=False)
        if proc.returncode != 0:
            continue
        hop = json.loads(proc.stdout)[0]
        if "gateway" not in hop:
            continue
        via = f"via {hop['gateway']} dev {hop['dev']}"
        undo.append((ns, [f"route del {p} {via}" for p in prefixes]))
        system.ip_batch([f"route replace {p} {via}" for p in prefixes], ns=ns)
    return undo


def _sample(pairs: list[_T], limit: int) -> list[_T]:
    if len(pairs) <= limit:
        return pairs
    step = len(pairs) / limit
    return [pairs[int(i * step)] for i in range(limit)]


#: A flow: (source endpoint, destination endpoint, the access router whose attachment hosts it needs or "").
Flow = tuple[Endpoint, Endpoint, str]


def plan_flows(
    compiled: Compiled, spec: LabSpec, intent: Intent, max_flows: int
) -> tuple[list[Flow], int, list[str]]:
    """(the flows sent for ``intent``, pairs left to the static proof, zones without an endpoint in the lab).
    Every source × destination pair of endpoints the lab can place, sorted, evenly sampled to ``max_flows``;
    a pair of attachment ports on two different access routers is not sent (see :func:`flow_router`)."""
    zones = compiled.zones.zones

    def placed(e: Endpoint) -> bool:
        return lab_port(spec, e) is not None or attachment_port(compiled, spec, e) is not None

    srcs = [e for e in zones[intent.src].sources if placed(e)]
    dsts = [e for e in zones[intent.dst].destinations if placed(e)]
    missing = [z for z, side in ((intent.src, srcs), (intent.dst, dsts)) if not side]
    pairs = sorted(
        {
            (endpoint_key(s), endpoint_key(d)): (s, d) for s in srcs for d in dsts if not same_host(s, d)
        }.items()
    )
    flows = [(s, d, r) for _k, (s, d) in pairs if (r := flow_router(s, d)) is not None]
    return _sample(flows, max_flows), len(pairs) - len(flows), list(dict.fromkeys(missing))


def run_policy_test(
    compiled: Compiled,
    spec: LabSpec,
    prefix: str,
    max_flows: int = MAX_FLOWS_PER_INTENT,
    workers: int = 16,
    tick: Callable[[], None] | None = None,
) -> PolicyTestReport:
    """Load the rendered nftables filters on the lab's routers, send packets for every intent — the flows
    between site LANs first, then those of each access router's attachment ports at that router — unload."""
    from network.zonepolicy.compile import check_policy

    started = time.monotonic()
    rulesets = {r: t for r, t in compiled.rendered["frr"].devices.items() if r in spec.routers}
    static = check_policy(compiled).as_dict(compiled.spec)
    zones = compiled.zones.zones
    everything = [e for z in zones.values() for e in (*z.sources, *z.destinations)]
    results: list[PacketResult] = []
    plans: list[list[Flow]] = []
    absent: dict[str, str] = {}
    for intent in compiled.spec.intents:
        flows, static_only, missing = plan_flows(compiled, spec, intent, max_flows)
        plans.append(flows)
        if missing:
            for zone in missing:
                absent.setdefault(zone, absent_reason(compiled, spec, zone))
            reason = "no endpoint in the lab: " + ", ".join(missing)
            results.append(PacketResult(intent, "not testable", reason=reason, testable=False))
        elif not flows:
            reason = f"{intent.src} → {intent.dst}: no pair of distinct hosts the lab can place"
            results.append(PacketResult(intent, "not testable", reason=reason, testable=False))
        else:
            tested_at, reason = coverage(compiled, spec, intent, flows, static_only)
            results.append(PacketResult(intent, "", len(flows), reason, tested_at=tested_at,
                                        static_only_pairs=static_only))  # fmt: skip
    loaded: dict[str, int] = {}
    hits: dict[tuple[str, str], int] = {}
    outcomes: list[tuple[int, Host, Host, str, int | None, bool]] = []
    try:
        loaded = load_filters(prefix, rulesets)
        add_hit_counters(prefix, rulesets)
        with endpoint_hosts(prefix, spec, everything) as lan_hosts:
            for router in sorted({r for flows in plans for _s, _d, r in flows}):  # "" (site LANs) first
                stand_up = attachment_hosts(prefix, compiled, spec, router, everything) if router else None
                with stand_up or nullcontext({}) as port_hosts:
                    hosts = {**lan_hosts, **port_hosts}
                    jobs = [
                        (i, hosts[endpoint_key(s)], hosts[endpoint_key(d)], protocol, port)
                        for i, flows in enumerate(plans)
                        if results[i].testable
                        for s, d, r in flows
                        if r == router
                        for protocol, port in service_probes(compiled, results[i].intent.service)
                    ]
                    outcomes += _probe_jobs(jobs, results, listeners_for(jobs), workers, tick)
        hits = read_hits(prefix, rulesets)
    finally:
        unload_filters(prefix, rulesets)
    _judge(outcomes, results)
    return PolicyTestReport(
        results,
        static["unreachable_lines"],
        static["shadowed_lines"],
        absent,
        loaded,
        time.monotonic() - started,
        hits,
    )


def listeners_for(jobs: list[tuple[int, Host, Host, str, int | None]]) -> Listeners:
    """Listeners on every destination (address, protocol, port) the jobs probe by TCP or UDP."""
    listeners = Listeners()
    opened: set[tuple[str, IPv4Address, str, int]] = set()
    try:
        for _i, _s, d, protocol, port in jobs:
            if protocol in ("tcp", "udp") and port is not None:
                key = (d.namespace, d.address, protocol, port)
                if key not in opened:
                    listeners.open(d, protocol, port)
                    opened.add(key)
    except BaseException:
        listeners.close()
        raise
    return listeners


def _probe_jobs(
    jobs: list[tuple[int, Host, Host, str, int | None]],
    results: list[PacketResult],
    listeners: Listeners,
    workers: int,
    tick: Callable[[], None] | None,
) -> list[tuple[int, Host, Host, str, int | None, bool]]:
    """Send every job's packet (an allowed flow gets a second chance: a lost first packet is not a verdict);
    closes ``listeners``."""

    def one(job: tuple[int, Host, Host, str, int | None]) -> bool:
        i, s, d, protocol, port = job
        arrived = probe(s, d, protocol, port, listeners)
        if not arrived and results[i].intent.expect == "allow":
            arrived = probe(s, d, protocol, port, listeners)
        if tick:
            tick()
        return arrived

    try:
        listeners.thread.start()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            arrived = list(pool.map(one, jobs))
    finally:
        listeners.close()
    return [(*job, a) for job, a in zip(jobs, arrived, strict=True)]


def _judge(
    outcomes: list[tuple[int, Host, Host, str, int | None, bool]], results: list[PacketResult]
) -> None:
    """Each testable intent's verdict from its packets, and its first counterexample."""
    per_flow: dict[tuple[int, str, str, str, str], list[bool]] = {}
    for i, s, d, protocol, port, arrived in outcomes:
        per_flow.setdefault((i, s.namespace, str(s.address), d.namespace, str(d.address)), []).append(arrived)
        if results[i].counterexample == "":
            expect_arrival = results[i].intent.expect == "allow"
            if arrived != expect_arrival:
                what = "arrived" if arrived else "did not arrive"
                results[i].counterexample = (
                    f"{protocol}{'/' + str(port) if port else ''} {s.address} ({s.router} {s.ifname}) → "
                    f"{d.address} ({d.router} {d.ifname}) {what}"
                )
    for i, result in enumerate(results):
        if not result.testable:
            continue
        flows = [all(v) for k, v in per_flow.items() if k[0] == i]
        none = [not any(v) for k, v in per_flow.items() if k[0] == i]
        result.verdict = "allow" if flows and all(flows) else "deny" if all(none) else "partial"


# ---------------------------------------------------------------- the command's one call
#: The slice `policy-test` brings up when no lab runs: one city whole (every public tier), both cores, the
#: access routers (the management LAN) and the isolated domain's routers of that city.
DEFAULT_CITIES = ("440100",)


def compile_for_lab(spec: LabSpec, data_dir: Path | None = None) -> Compiled:
    """The zone policy compiled for exactly the lab's routers (the model's subset the lab runs)."""
    from network.addressing import AddressPlan
    from network.params import DATA_DIR, load_params
    from network.topology import build_backbone
    from network.zonepolicy.compile import compile_policy
    from network.zonepolicy.intents import ZONES_FILE

    root = data_dir or DATA_DIR
    params = load_params(root / "network.yaml")
    backbone = build_backbone(data_dir=data_dir, params=params).subset(spec.routers)
    return compile_policy(backbone, AddressPlan(params), vendors=("frr",), zones_file=root / ZONES_FILE)


def start_slice(prefix: str, cities: tuple[str, ...], towns_per_county: int, timeout: float = 600) -> LabSpec:
    """Build and converge the lab slice of ``cities``; raises LabError when it does not converge."""
    from network.lab import lab
    from network.lab.from_model import lab_spec
    from network.render import render_device
    from network.topology import build_backbone

    backbone = build_backbone().slice(cities=list(cities), towns_per_county=towns_per_county)
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in sorted(backbone.devices)})
    lab.up(spec, prefix)
    _waited, report = lab.wait_converged(spec, prefix, timeout=timeout)
    if not report.ok:
        failing = (report.adjacency_failures + report.session_failures + report.ping_failures)[:5]
        raise LabError(f"the lab slice did not converge within {timeout:.0f} s: {'; '.join(failing)}")
    return spec


def policy_test(
    prefix: str,
    cities: tuple[str, ...] = DEFAULT_CITIES,
    towns_per_county: int = 1,
    data_dir: Path | None = None,
    max_flows: int = MAX_FLOWS_PER_INTENT,
    tick: Callable[[], None] | None = None,
) -> tuple[PolicyTestReport, bool]:
    """The packet test on the running lab under ``prefix`` (started first, as a slice of ``cities``, when
    none runs). Returns the report and whether the lab was started here (it is left running)."""
    from network.lab import lab
    from network.params import DATA_DIR
    from network.zonepolicy.intents import ZONES_FILE, load_zone_policy

    load_zone_policy((data_dir or DATA_DIR) / ZONES_FILE)  # bad input stops before any lab is touched
    try:
        spec, _mgmt = lab.load(prefix)
        started = False
    except LabError:
        spec, started = start_slice(prefix, cities, towns_per_county), True
    compiled = compile_for_lab(spec, data_dir)
    return run_policy_test(compiled, spec, prefix, max_flows=max_flows, tick=tick), started
