"""The static proof: every intent against the filters AS RENDERED for each vendor, along the model's paths.

For an intent (src zone → dst zone, service) every pair of a source endpoint and a destination endpoint is
a flow: a box (the service's protocol and port range; one source and one destination address). Its path is
the model's IGP shortest path (OSPF costs of the links) between the two endpoints' routers; no path (the
isolated domain) is a deny. At every router on the path the flow meets the filters bound, in the parsed
device text, to its input interface (inbound) and its output interface (outbound) — for nftables both base
chains with those interface names; on VRP the exit firewall's security-policy where the path crosses the
Internet exit. A filter splits the box it is given into the part it permits and the part it denies, line by
line, first match; the verdict is allow when the whole flow box arrives, deny when none of it does, and
"partial" otherwise (a failure for either expectation).

Filter lines: a line whose match space is covered by the lines above it (with the same interface guards)
can never decide a packet. It is **shadowed** when a covering line above decides the opposite (the line's
intent is lost), **unreachable** when the lines above decide the same (dead text).

VRF import/export is not modelled here (the model's routing check proves VPN separation); the path is the
IGP's.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from network.model import Backbone, Interface
from network.naming import interface_name
from network.zonepolicy.intents import PROTOCOL_NUMBERS, Intent, ZonePolicyInput
from network.zonepolicy.parse import (
    ANY_PORT,
    ANY_PROTO,
    Box,
    Interval,
    ParsedFilter,
    Rule,
    parse_cisco,
    parse_cisco_bindings,
    parse_nftables,
    parse_security_policy,
    parse_vrp,
    parse_vrp_bindings,
)
from network.zonepolicy.render import EXIT_FIREWALL, TRUST, UNTRUST, Rendered, port_name
from network.zonepolicy.zones import Endpoint, ZoneModel

#: No input may cost unbounded time: an intent between two large zones is refused, not evaluated for hours.
MAX_FLOWS_PER_INTENT = 200_000


class IntentTooLarge(ValueError):
    pass


# -- boxes --
def _intersect(a: Box, b: Box) -> Box | None:
    # unrolled over the four dimensions, with comparisons instead of max()/min() calls: the proof calls this
    # over a million times a run (bench_policy.py)
    (a0, a1), (b0, b1), (c0, c1), (d0, d1) = a
    (e0, e1), (f0, f1), (g0, g1), (h0, h1) = b
    lo = a0 if a0 > e0 else e0
    hi = a1 if a1 < e1 else e1
    if lo > hi:
        return None
    proto = (lo, hi)
    lo = b0 if b0 > f0 else f0
    hi = b1 if b1 < f1 else f1
    if lo > hi:
        return None
    src = (lo, hi)
    lo = c0 if c0 > g0 else g0
    hi = c1 if c1 < g1 else g1
    if lo > hi:
        return None
    dst = (lo, hi)
    lo = d0 if d0 > h0 else h0
    hi = d1 if d1 < h1 else h1
    if lo > hi:
        return None
    return (proto, src, dst, (lo, hi))


def _subtract(a: Box, b: Box) -> list[Box]:
    """``a`` minus ``b`` as disjoint boxes (at most two per dimension): dimension by dimension, the parts of
    ``a`` below and above the intersection, the dimensions before it already cut to the intersection."""
    inter = _intersect(a, b)
    if inter is None:
        return [a]
    (p0, p1), (s0, s1), (d0, d1), (q0, q1) = a
    ip, is_, id_, iq = inter
    pieces: list[Box] = []
    if p0 < ip[0]:
        pieces.append(((p0, ip[0] - 1), a[1], a[2], a[3]))
    if ip[1] < p1:
        pieces.append(((ip[1] + 1, p1), a[1], a[2], a[3]))
    if s0 < is_[0]:
        pieces.append((ip, (s0, is_[0] - 1), a[2], a[3]))
    if is_[1] < s1:
        pieces.append((ip, (is_[1] + 1, s1), a[2], a[3]))
    if d0 < id_[0]:
        pieces.append((ip, is_, (d0, id_[0] - 1), a[3]))
    if id_[1] < d1:
        pieces.append((ip, is_, (id_[1] + 1, d1), a[3]))
    if q0 < iq[0]:
        pieces.append((ip, is_, id_, (q0, iq[0] - 1)))
    if iq[1] < q1:
        pieces.append((ip, is_, id_, (iq[1] + 1, q1)))
    return pieces


def _volume(box: Box) -> int:
    v = 1
    for lo, hi in box:
        v *= hi - lo + 1
    return v


def _guard_ok(rule: Rule, iif: str | None, oif: str | None) -> bool:
    return (rule.iif is None or rule.iif == iif) and (rule.oif is None or rule.oif == oif)


def apply_filter(f: ParsedFilter, boxes: list[Box], iif: str | None, oif: str | None) -> list[Box]:
    """The part of ``boxes`` that ``f`` permits (first match, then the platform's default)."""
    permitted: list[Box] = []
    pending = boxes
    for rule in f.rules:
        if not pending:
            break
        if not _guard_ok(rule, iif, oif):
            continue
        for rbox in rule.boxes:
            nxt: list[Box] = []
            for box in pending:
                inter = _intersect(box, rbox)
                if inter is None:
                    nxt.append(box)
                    continue
                if rule.permit:
                    permitted.append(inter)
                nxt.extend(_subtract(box, rbox))
            pending = nxt
    if f.default_permit:
        permitted.extend(pending)
    return permitted


def _classes(f: ParsedFilter) -> tuple[list[int], list[int]]:
    """Cut points of the source and destination addresses the rules name: two addresses between the same
    cuts meet the same lines, so their verdicts are the same (memo key)."""
    if f.cuts is None:
        src: set[int] = set()
        dst: set[int] = set()
        for rule in f.rules:
            for box in rule.boxes:
                src.update((box[1][0], box[1][1] + 1))
                dst.update((box[2][0], box[2][1] + 1))
        f.cuts = (sorted(src), sorted(dst))
    return f.cuts


def _point_filter(f: ParsedFilter, flow: Box, iif: str | None, oif: str | None) -> list[Box]:
    """apply_filter for a flow with one source and one destination address, memoised per address class."""
    scuts, dcuts = _classes(f)
    key = (
        bisect.bisect_right(scuts, flow[1][0]),
        bisect.bisect_right(dcuts, flow[2][0]),
        flow[0],
        flow[3],
        iif,
        oif,
    )
    hit = f.memo.get(key)
    if hit is None:
        # the addresses are points, so the answer is the permitted (protocol, port) sub-boxes,
        # re-attached to any address of the class
        hit = [(b[0], b[3]) for b in apply_filter(f, [flow], iif, oif)]
        f.memo[key] = hit
    return [(p, flow[1], flow[2], port) for p, port in hit]


def _relevant(f: ParsedFilter, iif: str, oif: str) -> bool:
    """Can any line of ``f`` match on these interfaces? (nftables chains guard every line by interface)"""
    if f.guards is None:
        names: set[str | None] = set()
        for rule in f.rules:
            names.add(rule.iif)
            names.add(rule.oif)
        f.guards = names
    return None in f.guards or iif in f.guards or oif in f.guards


#: The coverage test splits boxes; past this many fragments a line is counted as reachable (never a false
#: finding, at worst a missed dead line) so that no filter costs unbounded time.
MAX_FRAGMENTS = 4096


def covered(box: Box, above: Iterable[Box]) -> bool:
    """True when ``above`` (a union of boxes) covers ``box`` whole (largest boxes first)."""
    # boxes that miss ``box`` cannot cut any part of it: leaving them out changes no step's outcome
    touching = [other for other in above if _intersect(box, other) is not None]
    # A corner of ``box`` that no box above contains proves it is not covered, without splitting: most lines
    # are not (the policy has no dead line), and the answer is the same False the splitting would reach.
    for corner in itertools.product(*box):
        if not any(all(lo <= x <= hi for x, (lo, hi) in zip(corner, o, strict=True)) for o in touching):
            return False
    remaining = [box]
    for other in sorted(touching, key=_volume, reverse=True):
        nxt = []
        for r in remaining:
            nxt.extend(_subtract(r, other))
        remaining = nxt
        if not remaining:
            return True
        if len(remaining) > MAX_FRAGMENTS:
            return False
    return not remaining


def line_findings(f: ParsedFilter) -> list[dict]:
    """Shadowed and unreachable lines of one parsed filter."""
    out = []
    by_guard: dict[tuple[str | None, str | None], list[Rule]] = {}
    for rule in f.rules:
        candidates = [
            r
            for guard in {(None, None), (rule.iif, None), (None, rule.oif), (rule.iif, rule.oif)}
            for r in by_guard.get(guard, [])
        ]
        above = sorted((r for r in candidates if _overlaps(r, rule)), key=lambda r: r.line)
        by_guard.setdefault((rule.iif, rule.oif), []).append(rule)
        if not above:
            continue
        if all(covered(b, [ab for r in above for ab in r.boxes]) for b in rule.boxes):
            opposite = [r for r in above if r.permit != rule.permit]
            kind = "shadowed" if opposite else "unreachable"
            by = opposite[0] if opposite else above[-1]
            out.append(
                {
                    "kind": kind,
                    "filter": f.name,
                    "line": rule.line,
                    "text": rule.text,
                    "by_line": by.line,
                    "by_text": by.text,
                }
            )
    return out


def _guard_covers(upper: Rule, lower: Rule) -> bool:
    return (upper.iif is None or upper.iif == lower.iif) and (upper.oif is None or upper.oif == lower.oif)


def _overlaps(a: Rule, b: Rule) -> bool:
    return any(_intersect(x, y) is not None for x in a.boxes for y in b.boxes)


# -- paths --
class Paths:
    """The model's IGP shortest paths, and the interface a router uses towards each neighbour."""

    def __init__(self, backbone: Backbone) -> None:
        self.backbone = backbone
        self.graph = nx.Graph()
        self.towards: dict[tuple[str, str], Interface] = {}
        for name, dev in backbone.devices.items():
            self.graph.add_node(name)
            for iface in dev.interfaces:
                key = (name, iface.peer)
                best = self.towards.get(key)
                if best is None or (iface.ospf_cost, iface.port) < (best.ospf_cost, best.port):
                    self.towards[key] = iface
        for (a, b), iface in self.towards.items():
            self.graph.add_edge(a, b, cost=iface.ospf_cost)
        self._trees: dict[str, dict[str, list[str]]] = {}
        self._component = {n: i for i, comp in enumerate(nx.connected_components(self.graph)) for n in comp}

    def path(self, src: str, dst: str) -> list[str] | None:
        if self._component[src] != self._component[dst]:
            return None
        if dst in self._trees:
            return list(reversed(self._trees[dst][src]))
        if src not in self._trees:
            self._trees[src] = nx.single_source_dijkstra_path(self.graph, src, weight="cost")
        return self._trees[src][dst]

    def prefer_root(self, names: Iterable[str]) -> None:
        """Precompute trees from these routers (the smaller side of an intent)."""
        for n in names:
            if n not in self._trees:
                self._trees[n] = nx.single_source_dijkstra_path(self.graph, n, weight="cost")


# -- per-vendor parsed state --
@dataclass
class VendorFilters:
    vendor: str
    #: device → (interface, direction) → parsed filters met there, in order
    bindings: dict[str, dict[tuple[str, str], list[ParsedFilter]]]
    #: device → base chains applied to every forwarded packet (nftables)
    chains: dict[str, list[ParsedFilter]]
    exit_firewall: ParsedFilter | None
    #: every distinct parsed filter (for the line findings)
    distinct: list[ParsedFilter]


def parse_rendered(rendered: Rendered) -> VendorFilters:
    """Parse every device's artefact text (identical texts once: same text, same parse)."""
    by_text: dict[str, object] = {}
    bindings: dict[str, dict[tuple[str, str], list[ParsedFilter]]] = {}
    chains: dict[str, list[ParsedFilter]] = {}
    distinct: list[ParsedFilter] = []
    seen_filter_text: dict[tuple[str, tuple], ParsedFilter] = {}

    def dedupe(f: ParsedFilter) -> ParsedFilter:
        key = (f.name, tuple((r.text, r.iif, r.oif) for r in f.rules))
        if key not in seen_filter_text:
            seen_filter_text[key] = f
            distinct.append(f)
        return seen_filter_text[key]

    for device, text in rendered.devices.items():
        parsed = by_text.get(text)
        if parsed is None:
            if rendered.vendor == "frr":
                parsed = [dedupe(f) for f in parse_nftables(text)]
            else:
                acls = parse_cisco(text) if rendered.vendor == "iosxe" else parse_vrp(text)
                acls = {n: dedupe(f) for n, f in acls.items()}
                binds = parse_cisco_bindings(text) if rendered.vendor == "iosxe" else parse_vrp_bindings(text)
                missing = sorted(set(binds.values()) - set(acls))
                if missing:
                    raise ValueError(f"{device}: interface bound to undefined ACL {', '.join(missing)}")
                parsed = {k: [acls[name]] for k, name in binds.items()}
            by_text[text] = parsed
        if rendered.vendor == "frr":
            chains[device] = parsed  # type: ignore[assignment]
        else:
            bindings[device] = parsed  # type: ignore[assignment]
    fw = None
    fw_text = rendered.extra.get(f"{EXIT_FIREWALL}.cfg")
    if fw_text is not None:
        fw = dedupe(parse_security_policy(fw_text))
    return VendorFilters(rendered.vendor, bindings, chains, fw, distinct)


# -- the check --
@dataclass
class IntentResult:
    intent: Intent
    vendor: str
    verdict: str  # allow, deny, partial
    flows: int
    counterexample: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == self.intent.expect

    def as_dict(self, service: str) -> dict:
        return {
            "name": self.intent.name,
            "vendor": self.vendor,
            "src": self.intent.src,
            "dst": self.intent.dst,
            "service": service,
            "expect": self.intent.expect,
            "verdict": self.verdict,
            "ok": self.ok,
            "flows": self.flows,
            "counterexample": self.counterexample,
        }


class Checker:
    def __init__(self, backbone: Backbone, zones: ZoneModel, spec: ZonePolicyInput) -> None:
        self.backbone = backbone
        self.zones = zones
        self.spec = spec
        self.paths = Paths(backbone)
        self._towards: dict[tuple[str, str, str], str] = {}
        self._ports: dict[tuple[str, str, str, int], str] = {}
        self._steps: dict[tuple, list[tuple] | None] = {}
        self._hops: dict[tuple, list[tuple]] = {}
        self._exit_ports = {
            (a.port.device, a.port.index) for a in zones.attaches if a.filter == "GD-INTERNET-IN"
        }

    def service_box(self, name: str) -> tuple[Interval, Interval]:
        svc = self.spec.services[name]
        proto = PROTOCOL_NUMBERS[svc.protocol]
        protos = ANY_PROTO if proto is None else (proto, proto)
        ports = (svc.port, svc.port) if svc.port is not None else ANY_PORT
        return protos, ports

    def _iface(self, vendor: str, device: str, peer: str) -> str:
        key = (vendor, device, peer)
        name = self._towards.get(key)
        if name is None:
            name = self._towards[key] = interface_name(vendor, self.paths.towards[(device, peer)])
        return name

    def _port(self, vendor: str, ep: Endpoint) -> str:
        key = (vendor, ep.port.device, ep.port.kind, ep.port.index)
        name = self._ports.get(key)
        if name is None:
            name = self._ports[key] = port_name(self.backbone, vendor, ep.port)
        return name

    def steps(self, vf: VendorFilters, src: Endpoint, dst: Endpoint) -> list[tuple] | None:
        """The filters a flow from ``src`` to ``dst`` meets, in order, with the interfaces they see; None
        when the model has no path. Cached: many intents share endpoints."""
        key = (vf.vendor, _port_key(src), _port_key(dst))
        if key in self._steps:
            return self._steps[key]
        out: list[tuple] | None
        if src.port == dst.port:
            out = []  # the same LAN: no router in between
        else:
            path = self.paths.path(src.port.device, dst.port.device)
            out = None if path is None else self._walk(vf, src, dst, path)
        self._steps[key] = out
        return out

    def _walk(self, vf: VendorFilters, src: Endpoint, dst: Endpoint, path: list[str]) -> list[tuple]:
        out: list[tuple] = []
        for i, device in enumerate(path):
            first, last = i == 0, i == len(path) - 1
            iif = self._port(vf.vendor, src) if first else self._iface(vf.vendor, device, path[i - 1])
            oif = self._port(vf.vendor, dst) if last else self._iface(vf.vendor, device, path[i + 1])
            out += self._hop(vf, device, iif, oif)
        # the USG exit firewall stands on the Internet side of the exit port
        if vf.exit_firewall is not None:
            if self._is_exit(src):
                out.insert(0, (vf.exit_firewall, UNTRUST, TRUST))
            if self._is_exit(dst):
                out.append((vf.exit_firewall, TRUST, UNTRUST))
        return out

    def _hop(self, vf: VendorFilters, device: str, iif: str, oif: str) -> list[tuple]:
        key = (vf.vendor, device, iif, oif)
        hit = self._hops.get(key)
        if hit is None:
            if vf.vendor == "frr":
                hit = [(f, iif, oif) for f in vf.chains.get(device, []) if _relevant(f, iif, oif)]
            else:
                binds = vf.bindings.get(device, {})
                hit = [(f, iif, oif) for f in binds.get((iif, "in"), [])]
                hit += [(f, iif, oif) for f in binds.get((oif, "out"), [])]
            self._hops[key] = hit
        return hit

    def _is_exit(self, ep: Endpoint) -> bool:
        return ep.port.kind == "attachment" and (ep.port.device, ep.port.index) in self._exit_ports

    def flow(self, vf: VendorFilters, src: Endpoint, dst: Endpoint, box: Box) -> list[Box]:
        """The part of ``box`` that arrives at ``dst`` from ``src``."""
        steps = self.steps(vf, src, dst)
        if steps is None:
            return []
        boxes = [box]
        for f, iif, oif in steps:
            nxt: list[Box] = []
            for b in boxes:
                nxt.extend(_point_filter(f, b, iif, oif))
            boxes = nxt
            if not boxes:
                return []
        return boxes

    def check_intent(self, vf: VendorFilters, intent: Intent) -> IntentResult:
        srcs = self.zones.zones[intent.src].sources
        dsts = self.zones.zones[intent.dst].destinations
        if len(srcs) * len(dsts) > MAX_FLOWS_PER_INTENT:
            raise IntentTooLarge(
                f"intent {intent.name!r}: {len(srcs)} × {len(dsts)} flows exceed {MAX_FLOWS_PER_INTENT:,}; "
                "narrow its zones"
            )
        small = {e.port.device for e in (srcs if len(srcs) <= len(dsts) else dsts)}
        self.paths.prefer_root(sorted(small))
        protos, ports = self.service_box(intent.service)
        allowed = denied = 0
        example = ""
        flow = self.flow
        points = [(d, (int(d.address),) * 2) for d in dsts]
        full = (protos[1] - protos[0] + 1) * (ports[1] - ports[0] + 1)  # the volume of every flow's box
        for s in srcs:
            source = (int(s.address),) * 2
            for d, destination in points:
                box: Box = (protos, source, destination, ports)  # type: ignore[assignment]
                got = sum(_volume(b) for b in flow(vf, s, d, box))
                if got == full:
                    allowed += 1
                    if intent.expect == "deny" and not example:
                        example = _describe(s, d, "allowed")
                elif got == 0:
                    denied += 1
                    if intent.expect == "allow" and not example:
                        example = _describe(s, d, "denied")
                elif not example:
                    example = _describe(s, d, "partly allowed")
        flows = len(srcs) * len(dsts)
        verdict = "allow" if allowed == flows else "deny" if denied == flows else "partial"
        return IntentResult(intent, vf.vendor, verdict, flows, "" if verdict == intent.expect else example)


def _port_key(ep: Endpoint) -> tuple[str, str, int]:
    """What identifies an endpoint's port in the path caches."""
    return (ep.port.device, ep.port.kind, ep.port.index)


def _describe(s: Endpoint, d: Endpoint, what: str) -> str:
    return f"{s.address} ({s.port.device}) → {d.address} ({d.port.device}) {what}"
