"""A hand-written 3-router lab (core, city, county in a triangle) for the engine's own tests."""

from __future__ import annotations

from ipaddress import IPv4Interface

from network.lab.spec import Adjacency, BgpSession, Endpoint, LabSpec, Link, Router


def _conf(host: str, lo: str, ifaces: list[tuple[str, str]], bgp_peers: list[str]) -> str:
    lines = ["frr defaults traditional", f"hostname {host}", "!"]
    for ifname, area in [("lo", "0"), *ifaces]:
        lines += [f"interface {ifname}", f" ip ospf area {area}"]
        if ifname != "lo":
            lines += [" ip ospf network point-to-point", " ip ospf hello-interval 1"]
            lines += [" ip ospf dead-interval 4"]
        lines += ["exit", "!"]
    lines += ["router ospf", f" ospf router-id {lo}", "exit", "!"]
    if bgp_peers:
        lines += ["router bgp 65000", f" bgp router-id {lo}", " no bgp ebgp-requires-policy"]
        for peer in bgp_peers:
            lines += [f" neighbor {peer} remote-as 65000", f" neighbor {peer} update-source lo"]
        lines += ["exit", "!"]
    return "\n".join(lines) + "\n"


def tiny_spec() -> LabSpec:
    """Core (bgpd) — city (bgpd) — county, plus a slow county–core link."""
    los = {"tcore": "10.255.0.1", "tcity": "10.255.0.2", "tcounty": "10.255.0.3"}
    links = [
        ("tcore", "to-city", "10.0.0.1/30", "tcity", "to-core", "10.0.0.2/30", 10_000_000_000),
        ("tcity", "to-county", "10.0.0.5/30", "tcounty", "to-city", "10.0.0.6/30", 1_000_000_000),
        ("tcounty", "to-core", "10.0.0.9/30", "tcore", "to-county", "10.0.0.10/30", 100_000_000),
    ]
    ifaces: dict[str, list[tuple[str, str]]] = {name: [] for name in los}
    spec_links = []
    for ra, ia, aa, rb, ib, ab, rate in links:
        ifaces[ra].append((ia, "0"))
        ifaces[rb].append((ib, "0"))
        spec_links.append(
            Link(Endpoint(ra, ia, (IPv4Interface(aa),)), Endpoint(rb, ib, (IPv4Interface(ab),)), rate)
        )
    bgp = {"tcore": [los["tcity"]], "tcity": [los["tcore"]]}
    routers = {
        name: Router(
            hostname=name,
            config=_conf(name, lo, ifaces[name], bgp.get(name, [])),
            daemons=("zebra", "ospfd", "bgpd") if name in bgp else ("zebra", "ospfd"),
            loopbacks=(IPv4Interface(f"{lo}/32"),),
            ping_targets=(los["tcore"],),
        )
        for name, lo in los.items()
    }
    adjacencies = []
    for ra, ia, _aa, rb, ib, _ab, _rate in links:
        adjacencies += [Adjacency(ra, ia, rb), Adjacency(rb, ib, ra)]
    sessions = [BgpSession(r, los[p], p) for r, p in (("tcore", "tcity"), ("tcity", "tcore"))]
    pings = [("tcounty", los["tcore"]), ("tcounty", los["tcity"])]
    return LabSpec(routers, spec_links, adjacencies, sessions, pings)
