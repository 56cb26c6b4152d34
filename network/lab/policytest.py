"""`egov network lab policy-test`: the zone policy proven with real packets in the running lab (issue 13).

The nftables filters Aerleon renders for the lab's routers (``egov network policy render --vendor frr``) are
loaded into each router's namespace, one host namespace stands in for every zone endpoint the lab has, and
for every intent of data/zones.yaml real packets are sent: ``ping`` for icmp, a TCP connect or a UDP datagram
for a port, all three for ``any``. A flow is allowed when the packet arrived (the TCP handshake completed,
the UDP datagram or the echo reply came back), denied when it did not. The JSON has the shape of the static
check.

Endpoint hosts sit on the router's LAN as macvlan interfaces (bridge mode) of the peer of the router's LAN
veth, so two hosts of one LAN talk through the "switch" without the router, as on a real site LAN.

Only ports that the lab's routers carry can hold an endpoint: site LANs of the global table. The cloud DC,
Internet and department ports are VRF attachments (VRF ``public``, ``internet``, ``dept-<code>``) that the FRR
configs of the lab do not carry — the lab kernel has no VRF device and no MPLS forwarding — so intents
touching those zones are reported as not testable, with that reason, never dropped.
"""

from __future__ import annotations

import ctypes
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any, TypeVar

from network.lab import system
from network.lab.engine import stub_peer
from network.lab.spec import LabSpec, namespace_name
from network.lab.system import NETNS_DIR, LabError
from network.naming import lan_name
from network.zonepolicy.compile import Compiled
from network.zonepolicy.intents import PROTOCOL_NUMBERS, Intent
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


def absent_reason(compiled: Compiled, spec: LabSpec, zone: str) -> str:
    """Why zone ``zone`` has no endpoint in the lab (the VRF its ports sit in, or the routers missing)."""
    eps = [*compiled.zones.zones[zone].sources, *compiled.zones.zones[zone].destinations]
    vrfs = set()
    for ep in eps:
        if ep.port.kind == "attachment":
            dev = compiled.backbone.devices[ep.port.device]
            vrfs |= {a.vrf for a in dev.attachments if a.port == ep.port.index}
    if vrfs:
        return (
            f"{zone}: its ports are attachments in VRF {', '.join(sorted(vrfs))}, which the lab's FRR "
            "configs do not carry (the lab kernel has no VRF device and no MPLS forwarding); proven "
            "statically by `egov network policy check`"
        )
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
        cmd = ["ping", "-n", "-q", "-c", "1", "-W", str(int(PROBE_TIMEOUT_S) or 1), str(dst.address)]
        proc = system.run(system.in_ns(src.namespace, cmd), check=False, timeout=PROBE_TIMEOUT_S + 10)
        return proc.returncode == 0
    _enter(src.namespace)
    assert port is not None
    if protocol == "tcp":
        try:
            with socket.create_connection((str(dst.address), port), timeout=PROBE_TIMEOUT_S):
                return True
        except OSError:
            return False
    token = _token()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
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
    reason: str = ""
    counterexample: str = ""

    @property
    def testable(self) -> bool:
        return not self.reason

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
            "reason": self.reason,
            "flows": self.flows,
            "counterexample": self.counterexample,
        }


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


@contextmanager
def endpoint_hosts(prefix: str, spec: LabSpec, endpoints: list[Endpoint]) -> Iterator[dict[tuple, Host]]:
    """A namespace per distinct (port, address) endpoint, on the router's LAN; removed on exit."""
    hosts: dict[tuple, Host] = {}
    keys = sorted({(e.port.device, e.port.index, e.address) for e in endpoints if lab_port(spec, e)})
    by_ep = {(e.port.device, e.port.index, e.address): e for e in endpoints}
    try:
        for n, key in enumerate(keys):
            ep = by_ep[key]
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
        # one ping to the gateway: ARP resolved on both sides before any timed probe
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda h: system.run(
                        system.in_ns(
                            h.namespace, ["ping", "-n", "-q", "-c", "1", "-W", "1", str(h.gateway.ip)]
                        ),
                        check=False,
                    ),
                    hosts.values(),
                )
            )
        yield hosts
    finally:
        for host in hosts.values():
            system.run(["ip", "netns", "delete", host.namespace], check=False)


def _sample(pairs: list[_T], limit: int) -> list[_T]:
    if len(pairs) <= limit:
        return pairs
    step = len(pairs) / limit
    return [pairs[int(i * step)] for i in range(limit)]


def run_policy_test(
    compiled: Compiled,
    spec: LabSpec,
    prefix: str,
    max_flows: int = MAX_FLOWS_PER_INTENT,
    workers: int = 16,
    tick: Callable[[], None] | None = None,
) -> PolicyTestReport:
    """Load the rendered nftables filters on the lab's routers, send packets for every intent, unload."""
    from network.zonepolicy.compile import check_policy

    started = time.monotonic()
    rulesets = {r: t for r, t in compiled.rendered["frr"].devices.items() if r in spec.routers}
    static = check_policy(compiled).as_dict(compiled.spec)
    zones = compiled.zones.zones
    everything = [e for z in zones.values() for e in (*z.sources, *z.destinations)]
    results: list[PacketResult] = []
    loaded: dict[str, int] = {}
    hits: dict[tuple[str, str], int] = {}
    try:
        loaded = load_filters(prefix, rulesets)
        with endpoint_hosts(prefix, spec, everything) as hosts:

            def host_of(e: Endpoint) -> Host | None:
                return hosts.get((e.port.device, e.port.index, e.address))

            plans: list[list[tuple[Host, Host]] | None] = []
            absent: dict[str, str] = {}
            for intent in compiled.spec.intents:
                srcs = [h for e in zones[intent.src].sources if (h := host_of(e))]
                dsts = [h for e in zones[intent.dst].destinations if (h := host_of(e))]
                missing = [z for z, side in ((intent.src, srcs), (intent.dst, dsts)) if not side]
                if missing:
                    for zone in missing:
                        absent.setdefault(zone, absent_reason(compiled, spec, zone))
                    reason = "no endpoint in the lab: " + ", ".join(dict.fromkeys(missing))
                    results.append(PacketResult(intent, "not testable", reason=reason))
                    plans.append(None)
                    continue
                # a host to itself proves nothing: no packet leaves it
                pairs = sorted(
                    {(s, d) for s in srcs for d in dsts if s != d},
                    key=lambda p: (p[0].namespace, p[1].namespace),
                )
                if not pairs:
                    reason = f"{intent.src} → {intent.dst}: the lab has only one host of both, itself"
                    results.append(PacketResult(intent, "not testable", reason=reason))
                    plans.append(None)
                    continue
                sampled = _sample(pairs, max_flows)
                plans.append(sampled)
                results.append(PacketResult(intent, "", flows=len(sampled)))
            listeners = Listeners()
            opened: set[tuple[str, str, int]] = set()
            try:
                for plan, result in zip(plans, results, strict=True):
                    for _s, d in plan or []:
                        for protocol, port in service_probes(compiled, result.intent.service):
                            if protocol in ("tcp", "udp") and port is not None:
                                key = (d.namespace, protocol, port)
                                if key not in opened:
                                    listeners.open(d, protocol, port)
                                    opened.add(key)
                listeners.thread.start()
                add_hit_counters(prefix, rulesets)
                _probe_all(compiled, plans, results, listeners, workers, tick)
                hits = read_hits(prefix, rulesets)
            finally:
                listeners.close()
    finally:
        unload_filters(prefix, rulesets)
    return PolicyTestReport(
        results,
        static["unreachable_lines"],
        static["shadowed_lines"],
        absent,
        loaded,
        time.monotonic() - started,
        hits,
    )


def _probe_all(
    compiled: Compiled,
    plans: list[list[tuple[Host, Host]] | None],
    results: list[PacketResult],
    listeners: Listeners,
    workers: int,
    tick: Callable[[], None] | None,
) -> None:
    jobs = [
        (i, s, d, protocol, port)
        for i, plan in enumerate(plans)
        for s, d in plan or []
        for protocol, port in service_probes(compiled, results[i].intent.service)
    ]

    def one(job: tuple[int, Host, Host, str, int | None]) -> bool:
        i, s, d, protocol, port = job
        arrived = probe(s, d, protocol, port, listeners)
        if not arrived and results[i].intent.expect == "allow":
            arrived = probe(s, d, protocol, port, listeners)  # a lost first packet is not a verdict
        if tick:
            tick()
        return arrived

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(one, jobs))
    per_flow: dict[tuple[int, str, str], list[bool]] = {}
    for (i, s, d, protocol, port), arrived in zip(jobs, outcomes, strict=True):
        per_flow.setdefault((i, s.namespace, d.namespace), []).append(arrived)
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
