"""What a lab is made of: routers, links and what must hold once it has converged. Plain data, no I/O."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

IfAddr = ipaddress.IPv4Interface | ipaddress.IPv6Interface

#: FRR daemons the lab knows how to start, in start order (zebra first, as frrinit.sh does).
DAEMON_ORDER = ("zebra", "staticd", "bfdd", "ospfd", "ospf6d", "bgpd")
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Router:
    """One FRR router: its hostname, the integrated frr.conf it runs and the daemons that config needs."""

    hostname: str
    config: str
    daemons: tuple[str, ...] = ("zebra", "ospfd")
    loopbacks: tuple[IfAddr, ...] = ()
    tier: str = ""
    city: str = ""
    #: Interfaces without a peer router (site LANs, customer ports): created as dummies, by name.
    stub_interfaces: tuple[Endpoint, ...] = ()
    #: VRF devices to create (name → routing table id) and which stub interfaces they enslave.
    vrfs: tuple[tuple[str, int], ...] = ()
    vrf_members: tuple[tuple[str, str], ...] = ()
    #: Addresses this router must reach (its domain's core loopbacks): deploy's verify pings them.
    ping_targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    """One side of a link: router, Linux interface name (≤ 15 characters) and its addresses."""

    router: str
    ifname: str
    addresses: tuple[IfAddr, ...] = ()


@dataclass(frozen=True)
class Link:
    """A point-to-point link, shaped to ``rate_bit_s`` in both directions."""

    a: Endpoint
    b: Endpoint
    rate_bit_s: int
    mtu: int = 1500
    plane: str = "primary"


@dataclass(frozen=True)
class Adjacency:
    """An OSPF adjacency expected Full on ``router``'s ``ifname`` towards ``neighbor``."""

    router: str
    ifname: str
    neighbor: str


@dataclass(frozen=True)
class BgpSession:
    """A BGP session expected Established on ``router`` towards ``peer_address``."""

    router: str
    peer_address: str
    peer: str = ""


@dataclass
class LabSpec:
    """A whole lab: routers, links and the expectations `check` verifies."""

    routers: dict[str, Router]
    links: list[Link]
    adjacencies: list[Adjacency] = field(default_factory=list)
    bgp_sessions: list[BgpSession] = field(default_factory=list)
    #: (source router, destination address) pairs that must answer a ping.
    pings: list[tuple[str, str]] = field(default_factory=list)

    def validate(self) -> list[str]:
        """Problems that would make the lab unbuildable, as human-readable lines (empty when fine)."""
        problems: list[str] = []
        for name, router in self.routers.items():
            if name != router.hostname:
                problems.append(f"router key {name!r} differs from its hostname {router.hostname!r}")
            if not _NAME_OK.match(name) or len(name) > 40:
                problems.append(f"hostname {name!r} is not usable as a namespace name")
            if "zebra" not in router.daemons:
                problems.append(f"{name}: zebra must run")
            unknown = set(router.daemons) - set(DAEMON_ORDER)
            if unknown:
                problems.append(f"{name}: unknown daemons {sorted(unknown)}")
        seen: set[tuple[str, str]] = set()
        for router in self.routers.values():
            for stub in router.stub_interfaces:
                if len(stub.ifname) > 15 or (router.hostname, stub.ifname) in seen:
                    problems.append(f"{router.hostname}: bad or duplicate interface {stub.ifname!r}")
                seen.add((router.hostname, stub.ifname))
        for link in self.links:
            for end in (link.a, link.b):
                if end.router not in self.routers:
                    problems.append(f"link end on unknown router {end.router!r}")
                if len(end.ifname) > 15:
                    problems.append(f"{end.router}: interface name {end.ifname!r} is longer than 15")
                if (end.router, end.ifname) in seen:
                    problems.append(f"{end.router}: interface {end.ifname!r} used twice")
                seen.add((end.router, end.ifname))
        return problems


def namespace_name(prefix: str, hostname: str) -> str:
    """The network namespace (and FRR pathspace) of ``hostname`` in the lab with ``prefix``."""
    return f"{prefix}{hostname}"


def _addr(text: str) -> IfAddr:
    return ipaddress.ip_interface(text)  # type: ignore[return-value]


def _end_dict(end: Endpoint) -> dict[str, object]:
    return {"router": end.router, "ifname": end.ifname, "addresses": [str(a) for a in end.addresses]}


def _end(data: dict[str, object]) -> Endpoint:
    addresses = tuple(_addr(str(a)) for a in data.get("addresses", []))  # type: ignore[attr-defined]
    return Endpoint(str(data["router"]), str(data["ifname"]), addresses)


def spec_to_dict(spec: LabSpec) -> dict[str, object]:
    """JSON-ready form of ``spec`` without the configs (they are stored as files beside it)."""
    routers = {
        name: {
            "daemons": list(r.daemons),
            "loopbacks": [str(a) for a in r.loopbacks],
            "tier": r.tier,
            "city": r.city,
            "stub_interfaces": [_end_dict(e) for e in r.stub_interfaces],
            "vrfs": [list(v) for v in r.vrfs],
            "vrf_members": [list(v) for v in r.vrf_members],
            "ping_targets": list(r.ping_targets),
        }
        for name, r in spec.routers.items()
    }
    links = [
        {"a": _end_dict(k.a), "b": _end_dict(k.b), "rate": k.rate_bit_s, "mtu": k.mtu, "plane": k.plane}
        for k in spec.links
    ]
    return {
        "routers": routers,
        "links": links,
        "adjacencies": [[a.router, a.ifname, a.neighbor] for a in spec.adjacencies],
        "bgp_sessions": [[s.router, s.peer_address, s.peer] for s in spec.bgp_sessions],
        "pings": [list(p) for p in spec.pings],
    }


def spec_from_dict(data: dict[str, Any], configs: dict[str, str]) -> LabSpec:
    """The inverse of :func:`spec_to_dict`, with each router's config from ``configs``."""
    routers = {
        name: Router(
            hostname=name,
            config=configs.get(name, ""),
            daemons=tuple(r["daemons"]),
            loopbacks=tuple(_addr(a) for a in r["loopbacks"]),
            tier=r["tier"],
            city=r["city"],
            stub_interfaces=tuple(_end(e) for e in r["stub_interfaces"]),
            vrfs=tuple((str(v[0]), int(v[1])) for v in r["vrfs"]),
            vrf_members=tuple((str(v[0]), str(v[1])) for v in r["vrf_members"]),
            ping_targets=tuple(r.get("ping_targets", ())),
        )
        for name, r in data["routers"].items()
    }
    links = [
        Link(_end(k["a"]), _end(k["b"]), int(k["rate"]), int(k["mtu"]), str(k["plane"]))
        for k in data["links"]
    ]
    return LabSpec(
        routers=routers,
        links=links,
        adjacencies=[Adjacency(*a) for a in data["adjacencies"]],
        bgp_sessions=[BgpSession(*s) for s in data["bgp_sessions"]],
        pings=[(str(p[0]), str(p[1])) for p in data["pings"]],
    )
