"""Routing design decided in the model: OSPF areas, costs and timers; iBGP roles; VRFs with RD/RT.

OSPF (not IS-IS): area 0 holds the cores, the access routers and every city router's uplinks; each city is its
own area (area id = the city code, e.g. 440100), summarised at the city router (the ABR) to the city's /14.
Why OSPF: both VRP and IOS-XE and FRR speak it identically enough for one model, area ranges give a per-city
summary natively, and the people who run the network already operate OSPF; IS-IS L1/L2 would give the same
hierarchy but needs NET addresses per router and route leaking for the same summarisation.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pint

from egov.units import ureg
from network.model import Bgp, Vrf
from network.params import Circuit, NetworkParams

BACKBONE_AREA = 0
PUBLIC_VPN, INTERNET_VPN, DEPARTMENT_VPN_BASE = 1, 2, 1000
#: the VRF whose route target is the shared-services RT (every department imports it)
SHARED_VRF = "public"


def city_area(city_code: str) -> int:
    """The OSPF area of a city: its division code as a number (440100 = 0.6.183.164)."""
    return int(city_code)


def ospf_cost(params: NetworkParams, bandwidth: pint.Quantity, plane: str) -> int:
    """Reference bandwidth / circuit bandwidth, times the backup factor on the backup plane."""
    cost = max(
        1, round(float((params.ospf.reference_bandwidth / bandwidth).to(ureg.dimensionless).magnitude))
    )
    return min(65535, cost * (params.ospf.backup_cost_factor if plane == "backup" else 1))


def link_mtu(params: NetworkParams, circuit: Circuit, mpls: bool) -> int:
    """MPLS links run the core MTU (labels on top of a full customer packet); others their circuit's, 1500
    unless the circuit says otherwise."""
    if mpls:
        return params.mpls.mtu
    return circuit.mtu or 1500


def bfd_interval_ms(params: NetworkParams) -> int:
    return round(float(params.bfd.interval.to("ms").magnitude))


def ospf_timers(params: NetworkParams, fast: bool) -> tuple[int, int]:
    """(hello, dead): fast on links that have an alternative path, default elsewhere."""
    timers = params.ospf.fast if fast else params.ospf.default
    return timers.hello, timers.dead


def route_reflector(asn: int, neighbors: list[str], cluster_id: IPv4Address) -> Bgp:
    return Bgp(
        asn=asn,
        role="route-reflector",
        neighbors=tuple(sorted(neighbors)),
        cluster_id=cluster_id,
        aggregates=(),
    )


def rr_client(asn: int, reflectors: list[str], aggregates: tuple = ()) -> Bgp:
    return Bgp(
        asn=asn, role="client", neighbors=tuple(sorted(reflectors)), cluster_id=None, aggregates=aggregates
    )


def vrfs_for(asn: int, router_id: IPv4Address, vpn_ids: dict[str, int], names: dict[str, str]) -> list[Vrf]:
    """The VRFs of a PE: public (公用网络区), internet (互联网接入区) and one per department (专用网络区).

    RT = ASN:vpn (public 1, internet 2, department 1000 + its VPN id); RD = router-id:vpn, unique per PE so
    the reflectors keep every PE's path. Hub and spoke: public carries the shared services and exports the
    shared-services RT (its own, ASN:1), which every department imports; it imports every department's RT
    so replies find their way back. A department exports only its own RT, so departments never reach each
    other (none imports another's). Public and internet import each other: the exit's default route reaches
    the shared services (NATed at the exit), and never a department (a VRF exports only its own routes).
    """

    def rt(number: int) -> str:
        return f"{asn}:{number}"

    departments = {code: DEPARTMENT_VPN_BASE + vpn_id for code, vpn_id in sorted(vpn_ids.items())}
    shared = rt(PUBLIC_VPN)
    out = [
        Vrf(
            "public",
            "public",
            PUBLIC_VPN,
            f"{router_id}:{PUBLIC_VPN}",
            (shared, rt(INTERNET_VPN), *(rt(n) for n in departments.values())),
            (shared,),
            "公用网络区",
        ),
        # the Internet: its default route goes to public alone (the departments import public's own routes,
        # never what public imports); public's shared services come back for the exit's NAT
        Vrf(
            "internet",
            "internet",
            INTERNET_VPN,
            f"{router_id}:{INTERNET_VPN}",
            (rt(INTERNET_VPN), shared),
            (rt(INTERNET_VPN),),
            "互联网接入区",
        ),
    ]
    for code, number in departments.items():
        own = rt(number)
        out.append(
            Vrf(
                department_vrf(code),
                "private",
                number,
                f"{router_id}:{number}",
                (own, shared),
                (own,),
                f"专用网络区 {names.get(code, code)}",
            )
        )
    return out


def department_vrf(code: str) -> str:
    """VRF name of a department's private VPN, e.g. 'dept-gddrc'."""
    return f"dept-{code.lower()}"
