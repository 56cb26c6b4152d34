"""Backbone parameters from data/network.yaml: supernets, circuits per tier, backup plane, isolated domain.

The file holds only what an engineer decides (numbers, codes, names of servers and secrets); everything else
is computed from the official division tree. Secrets are referenced by NAME only, never by value.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

import pint
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from egov.errors import SourceError
from egov.source import read_yaml, validation_errors
from egov.units import parse_quantity, ureg

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
PARAMS_FILE = "network.yaml"

Bandwidth = Annotated[pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "bit/s"))]
Duration = Annotated[pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "s"))]
SecretName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{2,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Circuit(_Strict):
    """A circuit class: its bandwidth and the MTU both ends must agree on (MPLS links: ``mpls.mtu``)."""

    bandwidth: Bandwidth
    mtu: int | None = Field(default=None, ge=1280, le=9216)


class Mpls(_Strict):
    """The MPLS core: one MTU on every LDP link, so a 1,500-byte customer packet plus labels always fits."""

    mtu: int = Field(ge=1530, le=9216)


class Bfd(_Strict):
    """BFD on links with an alternative path; OSPF and BGP register with it."""

    interval: Duration  # transmit = receive interval
    multiplier: int = Field(ge=2, le=50)

    @field_validator("interval")
    @classmethod
    def _sane(cls, v: pint.Quantity) -> pint.Quantity:
        ms = float(v.to("ms").magnitude)
        if not 10 <= ms <= 10_000 or ms != int(ms):
            raise ValueError(f"{v} must be a whole number of milliseconds between 10 ms and 10 s")
        return v


class QosClass(_Strict):
    """A DSCP class under every shaper: its share of the rate; ``priority``: a strict-priority queue."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,30}$")
    dscp: tuple[str, ...] = Field(min_length=1)
    percent: int = Field(ge=1, le=100)
    priority: bool = False

    @field_validator("dscp")
    @classmethod
    def _dscp_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        known = {"ef", "cs5", "cs6", "cs7"} | {f"af{a}{b}" for a in "1234" for b in "123"}
        for name in v:
            if name not in known:
                raise ValueError(f"{name!r} is not a DSCP name ({', '.join(sorted(known))})")
        return v


class ProtectedProtocol(_Strict):
    """A routing or management protocol the infrastructure ACL lets in from the infrastructure prefixes, and
    the rate control-plane policing holds it to."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,20}$")
    protocol: Literal["ospf", "tcp", "udp"]
    port: int | None = Field(default=None, ge=1, le=65535)
    rate: Bandwidth

    @model_validator(mode="after")
    def _port_matches_protocol(self) -> ProtectedProtocol:
        if (self.protocol == "ospf") != (self.port is None):
            raise ValueError("tcp and udp need a port; ospf takes none")
        if not 8 * ureg.kbit / ureg.s <= self.rate <= 100 * ureg.Mbit / ureg.s:
            raise ValueError(f"rate {self.rate} is not between 8 kbit/s and 100 Mbit/s")
        return self


class Protection(_Strict):
    """Infrastructure protection: what backbone-facing ports accept for the routers themselves (iACL), and
    control-plane policing of the same protocols."""

    protocols: tuple[ProtectedProtocol, ...] = Field(min_length=1)
    #: every other packet to the control plane (management from the management LANs included)
    default_rate: Bandwidth


class Qos(_Strict):
    """DSCP classes (voice/video priority, government business); everything else is the default class."""

    classes: tuple[QosClass, ...]

    @field_validator("classes")
    @classmethod
    def _fits(cls, v: tuple[QosClass, ...]) -> tuple[QosClass, ...]:
        total = sum(c.percent for c in v)
        if total >= 100:
            raise ValueError(f"the classes take {total} % of the rate; leave some for the default class")
        return v


class Circuits(_Strict):
    """Circuits per tier of the primary plane (第一运营商)."""

    carrier: str  # who provides them (NetBox's provider of the primary and isolated circuits)
    core_interconnect: Circuit
    core_access: Circuit
    province_city: Circuit
    city_county: Circuit
    county_town: Circuit
    city_town: Circuit  # 东莞/中山: towns attached to the city directly
    dc_access: Circuit  # the cloud data centre at each provincial access router
    internet_access: Circuit  # the unified internet exit at each provincial access router


class Backup(_Strict):
    """The backup plane (备份网): second circuits from another carrier."""

    carrier: str
    city_uplink: Circuit  # every city: second circuit to the other core router
    county_uplink: Circuit  # counties listed below: second circuit to their city
    counties: tuple[str, ...] = ()

    @field_validator("counties")
    @classmethod
    def _six_digits(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for code in v:
            if not (len(code) == 6 and code.isdigit()):
                raise ValueError(f"{code!r} is not a 6-digit county code")
        return tuple(sorted(set(v)))


class InternetExit(_Strict):
    """The provincial Internet exit (省级统一的互联网出口): the carrier's public addresses it translates the
    inside to. Split in two halves, one per access router, so a reply returns to the router holding the
    translation."""

    nat_pool: ipaddress.IPv4Network

    @field_validator("nat_pool")
    @classmethod
    def _public_and_split(cls, v: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if v.prefixlen > 29:
            raise ValueError(f"{v} must be a /29 or larger (half of it for each of the two exits)")
        if v.is_private and not any(v.subnet_of(d) for d in _DOCUMENTATION):
            raise ValueError(f"{v} is private address space, not a carrier's public pool")
        return v


#: RFC 5737 documentation ranges: a stand-in for the carrier's pool until the real one is assigned
_DOCUMENTATION = tuple(
    ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


class Isolated(_Strict):
    """The physically isolated domain (物理隔离域): its own devices, links and addresses."""

    sites: tuple[str, ...]
    circuit: Circuit
    management: Management  # its own servers, users and secret names: nothing shared with the backbone
    ipv4: ipaddress.IPv4Network  # a /16: loopbacks, links, one /24 LAN per site
    ipv6: ipaddress.IPv6Network  # a /48: the IPv4 plan mirrored in its first /64, one /64 LAN per site

    @field_validator("ipv4")
    @classmethod
    def _v4_size(cls, v: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if v.prefixlen > 16:
            raise ValueError(f"{v} must be a /16 or larger")
        return v

    @field_validator("ipv6")
    @classmethod
    def _v6_size(cls, v: ipaddress.IPv6Network) -> ipaddress.IPv6Network:
        if v.prefixlen > 48:
            raise ValueError(f"{v} must be a /48 or larger (a /64 per site LAN)")
        return v


class IPv4Plan(_Strict):
    backbone: ipaddress.IPv4Network  # must be a /8: 64 city blocks /14 keyed by the city code
    cloud_tenants: ipaddress.IPv4Network  # one /24 per department, keyed by its VPN id
    department_lans: ipaddress.IPv4Network  # one /24 per department's own LAN (behind its CE), by VPN id

    @field_validator("backbone")
    @classmethod
    def _slash8(cls, v: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if v.prefixlen != 8:
            raise ValueError(f"{v} must be a /8 (64 city blocks of /14)")
        return v

    @field_validator("cloud_tenants")
    @classmethod
    def _slash12(cls, v: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if v.prefixlen > 12:
            raise ValueError(f"{v} must be a /12 or larger (4,096 department /24s)")
        return v

    @field_validator("department_lans")
    @classmethod
    def _lans_slash12(cls, v: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if v.prefixlen > 12:
            raise ValueError(f"{v} must be a /12 or larger (4,096 department LAN /24s)")
        return v


class IPv6Plan(_Strict):
    infrastructure: ipaddress.IPv6Network  # loopbacks /128 and links /127 mirror the IPv4 plan
    lan: ipaddress.IPv6Network  # one /64 per site LAN

    @field_validator("infrastructure")
    @classmethod
    def _room(cls, v: ipaddress.IPv6Network) -> ipaddress.IPv6Network:
        if v.prefixlen > 104:
            raise ValueError(f"{v} must be a /104 or larger (it mirrors a /8 of IPv4)")
        return v

    @field_validator("lan")
    @classmethod
    def _lan_room(cls, v: ipaddress.IPv6Network) -> ipaddress.IPv6Network:
        if v.prefixlen > 44:
            raise ValueError(f"{v} must be a /44 or larger (2^20 site /64s)")
        return v


class Bgp(_Strict):
    asn: int = Field(ge=1, le=4294967295)


class DepartmentNetwork(_Strict):
    """Per-department settings: a pinned VPN id (RD/RT and cloud subnet key) and an access override."""

    vpn_id: int = Field(ge=1, le=4095)
    access_bandwidth: Bandwidth | None = None


class Management(_Strict):
    """Management baseline of one routing domain: servers by address, SNMPv3 users, a local fallback user,
    and secret NAMES (never values) for AAA, SNMP, NTP, OSPF and BGP keys."""

    domain: str
    ntp_servers: tuple[ipaddress.IPv4Address, ...]
    syslog_servers: tuple[ipaddress.IPv4Address, ...]
    aaa_servers: tuple[ipaddress.IPv4Address, ...]
    snmp_users: tuple[str, ...]
    snmp_auth_secret: SecretName
    snmp_priv_secret: SecretName
    aaa_key_secret: SecretName
    ntp_key_secret: SecretName
    ospf_key_secret: SecretName
    bgp_key_secret: SecretName
    local_user: str = Field(pattern=r"^[a-z][a-z0-9-]{2,31}$")  # when every AAA server is unreachable
    local_password_secret: SecretName
    ssh_allowed: tuple[ipaddress.IPv4Network, ...]  # their IPv6 twins are the model's LANs of these prefixes
    #: the management VRF every router of the domain keeps its out-of-band port in; AAA, NTP, syslog and SNMP
    #: run in it, towards the management LANs (``ssh_allowed``) over the out-of-band network
    vrf: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,30}$")
    #: the out-of-band block: one /31 per router (the router the odd address, the out-of-band switch the even)
    oob: ipaddress.IPv4Network
    #: the IPv6 twins of ``oob``: each /31's /127 at the same offset, so as large as ``oob`` at least
    oob_v6: ipaddress.IPv6Network

    @field_validator("oob_v6")
    @classmethod
    def _oob_v6_holds_oob(cls, value: ipaddress.IPv6Network, info: ValidationInfo) -> ipaddress.IPv6Network:
        oob = info.data.get("oob")
        if oob is not None and value.num_addresses < oob.num_addresses:
            raise ValueError(f"{value} is smaller than oob {oob}")
        return value

    def secret_names(self) -> dict[str, str]:
        """What each secret is for → its name."""
        return {
            "snmp_auth": self.snmp_auth_secret,
            "snmp_priv": self.snmp_priv_secret,
            "aaa_key": self.aaa_key_secret,
            "ntp_key": self.ntp_key_secret,
            "ospf_key": self.ospf_key_secret,
            "bgp_key": self.bgp_key_secret,
            "local_password": self.local_password_secret,
        }


class OspfTimers(_Strict):
    hello: int = Field(ge=1, le=65535)
    dead: int = Field(ge=2, le=65535)


class Ospf(_Strict):
    reference_bandwidth: Bandwidth
    backup_cost_factor: int = Field(ge=1, le=100)
    fast: OspfTimers  # links with an alternative path (core, city, backed-up counties)
    default: OspfTimers


class NetworkParams(_Strict):
    """Everything data/network.yaml holds."""

    ipv4: IPv4Plan
    ipv6: IPv6Plan
    bgp: Bgp
    ospf: Ospf
    circuits: Circuits
    backup: Backup
    isolated: Isolated
    mpls: Mpls
    bfd: Bfd
    qos: Qos
    protection: Protection
    department_access: Bandwidth
    internet_exit: InternetExit
    departments: dict[str, DepartmentNetwork] = {}
    management: Management

    def vpn_ids(self) -> dict[str, int]:
        """Pinned VPN ids by department code."""
        return {code: d.vpn_id for code, d in self.departments.items()}


def load_params(path: Path | None = None) -> NetworkParams:
    """Read and validate data/network.yaml; any error names the file and the field."""
    path = path or DATA_DIR / PARAMS_FILE
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping at the top level")
    try:
        params = NetworkParams.model_validate(raw)
    except ValidationError as exc:
        raise validation_errors(path, exc).errors[0] from None
    _check_disjoint(path, params)
    ids: dict[int, str] = {}
    for code, dept in sorted(params.departments.items()):
        if dept.vpn_id in ids:
            raise SourceError(
                path, f"vpn_id {dept.vpn_id} already used by {ids[dept.vpn_id]}", field=f"departments.{code}"
            )
        ids[dept.vpn_id] = code
    return params


def _check_disjoint(path: Path, params: NetworkParams) -> None:
    """Supernets must not overlap: the isolated domain and cloud tenants share nothing with the backbone."""
    v4 = {
        "ipv4.backbone": params.ipv4.backbone,
        "ipv4.cloud_tenants": params.ipv4.cloud_tenants,
        "ipv4.department_lans": params.ipv4.department_lans,
        "isolated.ipv4": params.isolated.ipv4,
        "management.oob": params.management.oob,
    }
    v6 = {
        "ipv6.infrastructure": params.ipv6.infrastructure,
        "ipv6.lan": params.ipv6.lan,
        "isolated.ipv6": params.isolated.ipv6,
        "management.oob_v6": params.management.oob_v6,
    }
    for pools in (v4, v6):
        names = sorted(pools)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if pools[a].overlaps(pools[b]):  # type: ignore[arg-type]
                    raise SourceError(path, f"{pools[a]} overlaps {b} {pools[b]}", field=a)
    # the isolated domain's out-of-band block is its own: inside its pool, and its VRF is not the backbone's
    iso = params.isolated.management
    if not iso.oob.subnet_of(params.isolated.ipv4):
        raise SourceError(
            path,
            f"{iso.oob} is outside isolated.ipv4 {params.isolated.ipv4}",
            field="isolated.management.oob",
        )
    if not iso.oob_v6.subnet_of(params.isolated.ipv6):
        raise SourceError(
            path,
            f"{iso.oob_v6} is outside isolated.ipv6 {params.isolated.ipv6}",
            field="isolated.management.oob_v6",
        )
    if iso.vrf == params.management.vrf:
        raise SourceError(
            path, f"{iso.vrf} is also the backbone's management VRF", field="isolated.management.vrf"
        )
