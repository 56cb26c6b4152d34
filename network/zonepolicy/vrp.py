"""Huawei VRP for Aerleon: a generator plugin (entry-point group ``aerleon.plugin``, target ``huawei_vrp``).

Aerleon has no Huawei generator (its users have asked since 2023, aerleon issues #292 and #293); this one is
registered in pyproject.toml the way any third-party plug-in is, and found by Aerleon's plugin supervisor.

Header options: ``huawei_vrp: "<ACL name>"`` renders an advanced ACL for a router's ``traffic-filter``;
``huawei_vrp: "<name> security-policy <source-zone> <destination-zone>"`` renders the rules of a USG
firewall's ``security-policy`` between two security zones.

Why an explicit final rule: a VRP ``traffic-filter`` PERMITS a packet that matches no rule of its ACL (the
opposite of IOS), so every ACL this generator writes ends in ``rule … deny ip`` — and the parse-back models
VRP's default permit, so a missing final deny fails the check. A USG ``security-policy`` denies by default.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from aerleon.lib import aclgenerator, plugin

TARGET = "huawei_vrp"
RULE_STEP = 5


def _wildcard(net: IPv4Network) -> str:
    return str(net.hostmask)


def _acl_address(keyword: str, net: IPv4Network | None) -> str:
    """' source 10.0.0.0 0.0.255.255' (VRP: wildcard mask; omitted for any, as VRP shows it)."""
    if net is None or net.prefixlen == 0:
        return ""
    return f" {keyword} {net.network_address} {_wildcard(net)}"


def _ports(keyword: str, port: tuple[int, int] | None) -> str:
    if port is None:
        return ""
    lo, hi = port
    return f" {keyword} eq {lo}" if lo == hi else f" {keyword} range {lo} {hi}"


def _v4(addresses: list[Any]) -> list[IPv4Network | None]:
    """IPv4 networks of an aerleon address list (None: any)."""
    if not addresses:
        return [None]
    return [IPv4Network(str(a)) for a in addresses if a.version == 4]


class Term(aclgenerator.Term):
    """One aerleon term as VRP ACL rules or USG security-policy rules."""

    def __init__(self, term: Any) -> None:
        super().__init__(term)
        self.term = term

    def _matches(self) -> list[tuple[str, IPv4Network | None, IPv4Network | None, tuple[int, int] | None]]:
        t = self.term
        protocols = t.protocol or ["ip"]
        ports: list[tuple[int, int] | None] = list(t.destination_port) or [None]
        out = []
        sources, destinations = _v4(t.source_address), _v4(t.destination_address)
        for proto in protocols:
            for src in sources:
                for dst in destinations:
                    for port in ports if proto in ("tcp", "udp") else [None]:
                        out.append((proto, src, dst, port))
        return out

    def action(self) -> str:
        return "permit" if self.term.action[0] == "accept" else "deny"

    def acl_rules(self) -> list[str]:
        return [
            f"{self.action()} {proto}{_acl_address('source', src)}{_acl_address('destination', dst)}"
            f"{_ports('destination-port', port)}"
            for proto, src, dst, port in self._matches()
        ]

    def security_rules(self, src_zone: str, dst_zone: str) -> list[list[str]]:
        rules = []
        for proto, src, dst, port in self._matches():
            body = [f"source-zone {src_zone}", f"destination-zone {dst_zone}"]
            if src is not None and src.prefixlen:
                body.append(f"source-address {src.network_address} mask {src.netmask}")
            if dst is not None and dst.prefixlen:
                body.append(f"destination-address {dst.network_address} mask {dst.netmask}")
            if proto != "ip":
                body.append(f"service protocol {proto}" + _ports("destination-port", port).replace(" eq", ""))
            body.append(f"action {self.action()}")
            rules.append(body)
        return rules


class HuaweiVrp(aclgenerator.ACLGenerator):
    """Advanced ACLs (``acl name X advance``) for ``traffic-filter``, and USG ``security-policy`` rules."""

    _PLATFORM = TARGET  # type: ignore[assignment]  # aerleon declares it None on the base class
    SUFFIX = ".vrp"
    _TERM_MAX_LENGTH = 63

    def _BuildTokens(self) -> tuple[set[str], dict[str, set[str]]]:
        supported_tokens, supported_sub_tokens = super()._BuildTokens()
        # what this generator spells; anything else in a term is an error, not silently dropped
        supported_tokens -= {"logging", "counter", "icmp_type", "option", "verbatim"}
        supported_sub_tokens = {"action": {"accept", "deny"}}
        return supported_tokens, supported_sub_tokens

    def _TranslatePolicy(self, pol: Any, exp_info: int) -> None:
        self.acls: list[tuple[str, str, list[str]]] = []
        self.policies: list[tuple[str, list[tuple[str, list[list[str]]]]]] = []
        for header, terms in pol.filters:
            options = header.FilterOptions(self._PLATFORM)
            if not options:
                raise aclgenerator.UnsupportedFilterError("huawei_vrp: the header needs an ACL name")
            name = options[0]
            comment = " ".join(header.comment)[:127]
            if len(options) > 1 and options[1] == "security-policy":
                if len(options) != 4:
                    raise aclgenerator.UnsupportedFilterError(
                        f"huawei_vrp {name}: 'security-policy <source-zone> <destination-zone>'"
                    )
                src_zone, dst_zone = options[2], options[3]
                self.policies.append(
                    (name, [(t.name, Term(t).security_rules(src_zone, dst_zone)) for t in terms])
                )
            else:
                rules = [rule for t in terms for rule in Term(t).acl_rules()]
                self.acls.append((name, comment, rules))

    def __str__(self) -> str:
        out = []
        for name, comment, rules in self.acls:
            out.append(f"acl name {name} advance")
            if comment:
                out.append(f" description {comment}")
            for n, rule in enumerate(rules, start=1):
                out.append(f" rule {n * RULE_STEP} {rule}")
            out.append("#")
        for name, terms in self.policies:
            out.append("security-policy")
            for term_name, bodies in terms:
                for n, body in enumerate(bodies, start=1):
                    suffix = f"-{n}" if len(bodies) > 1 else ""
                    out.append(f" rule name {name}-{term_name}{suffix}")
                    out.extend(f"  {line}" for line in body)
            out.append("#")
        return "\n".join(out) + "\n"


class AerleonPlugin(plugin.BasePlugin):
    """What aerleon's plugin supervisor loads from our entry point."""

    def __init__(self) -> None:
        pass

    def RequestMetadata(self, _platformMetadata: Any) -> plugin.PluginMetadata:
        return plugin.PluginMetadata(capabilities={plugin.PluginCapability.GENERATOR})

    @property
    def generators(self) -> dict[str, type[aclgenerator.ACLGenerator]]:
        return {TARGET: HuaweiVrp}
