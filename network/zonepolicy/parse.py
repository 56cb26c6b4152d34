"""Parse rendered filter text back into match boxes: what a router would read, not what the model meant.

Every filter line becomes a :class:`Rule`: its action and the union of boxes it matches over
(protocol, source address, destination address, destination port), with optional guards (the input and
output interface of an nftables rule; the source and destination security zone of a USG rule). A line this
parser does not understand is an error naming the line, never skipped: the check would otherwise pass on text
it has not read.

Defaults are each platform's, not the model's: an IOS extended ACL denies what no line matches, a VRP
``traffic-filter`` PERMITS it, a USG ``security-policy`` denies it, an nftables base chain applies its
``policy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

ANY_PROTO = (0, 255)
ANY_ADDR = (0, (1 << 32) - 1)
ANY_PORT = (0, 65535)
PROTOCOLS = {"ip": ANY_PROTO, "icmp": (1, 1), "tcp": (6, 6), "udp": (17, 17), "ospf": (89, 89)}

Interval = tuple[int, int]
#: (protocol, source, destination, destination port)
Box = tuple[Interval, Interval, Interval, Interval]


class ParseError(ValueError):
    """A rendered line the parser does not understand (named by filter and line number)."""


@dataclass(frozen=True, slots=True)
class Rule:
    filter: str
    line: int  # 1-based line number inside the filter's text
    text: str
    permit: bool
    boxes: tuple[Box, ...]
    iif: str | None = None  # None: any
    oif: str | None = None


@dataclass
class ParsedFilter:
    name: str
    rules: list[Rule]
    default_permit: bool
    #: memo of evaluations (see network.zonepolicy.evaluate)
    memo: dict = field(default_factory=dict, repr=False, compare=False)
    cuts: tuple[list[int], list[int]] | None = field(default=None, repr=False, compare=False)
    guards: set[str | None] | None = field(default=None, repr=False, compare=False)


def _span(net: IPv4Network) -> Interval:
    return int(net.network_address), int(net.broadcast_address)


def _wildcard_net(address: str, wildcard: str) -> IPv4Network:
    try:
        return IPv4Network(f"{address}/{wildcard}")  # ipaddress accepts a host mask
    except ValueError as exc:
        raise ParseError(f"{address} {wildcard}: not a contiguous wildcard ({exc})") from None


def _proto(token: str) -> Interval:
    if token in PROTOCOLS:
        return PROTOCOLS[token]
    if token.isdigit() and int(token) <= 255:
        return int(token), int(token)
    raise ParseError(f"unknown protocol {token!r}")


def _port_spec(tokens: list[str], i: int) -> tuple[Interval, int]:
    """'eq N' or 'range A B' at tokens[i]; returns the interval and the next index."""
    if tokens[i] == "eq":
        return (int(tokens[i + 1]), int(tokens[i + 1])), i + 2
    if tokens[i] == "range":
        return (int(tokens[i + 1]), int(tokens[i + 2])), i + 3
    raise ParseError(f"unsupported port operator {tokens[i]!r}")


# -- Cisco IOS / IOS-XE extended ACLs ---------------------------------------------------------------------
def _cisco_address(tokens: list[str], i: int) -> tuple[Interval, int]:
    if tokens[i] == "any":
        return ANY_ADDR, i + 1
    if tokens[i] == "host":
        a = int(IPv4Address(tokens[i + 1]))
        return (a, a), i + 2
    return _span(_wildcard_net(tokens[i], tokens[i + 1])), i + 2


def parse_cisco(text: str, only: set[str] | None = None) -> dict[str, ParsedFilter]:
    """``ip access-list extended NAME`` blocks; remarks and the ``no ip access-list`` line are skipped.
    With ``only``, ACLs of other names (a full device config's infrastructure ACL and CoPP) are skipped."""
    filters: dict[str, ParsedFilter] = {}
    current: ParsedFilter | None = None
    n = 0
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("ip access-list extended "):
            name = line.split()[3]
            current = None
            if only is None or name in only:
                current = filters[name] = ParsedFilter(name, [], default_permit=False)
            n = 0
            continue
        if line == "exit":
            current = None
            continue
        if current is None or not line or line.startswith(("remark", "!")):
            continue
        n += 1
        tokens = line.split()
        try:
            if tokens[0] not in ("permit", "deny"):
                raise ParseError(f"expected permit or deny, not {tokens[0]!r}")
            proto = _proto(tokens[1])
            src, i = _cisco_address(tokens, 2)
            if i < len(tokens) and tokens[i] in ("eq", "range", "gt", "lt", "neq"):
                raise ParseError("source ports are not used by the zone policy")
            dst, i = _cisco_address(tokens, i)
            port = ANY_PORT
            if i < len(tokens):
                port, i = _port_spec(tokens, i)
            if i != len(tokens):
                raise ParseError(f"unexpected {' '.join(tokens[i:])!r}")
        except (ParseError, IndexError, ValueError) as exc:
            raise ParseError(f"{current.name} line {n}: {line!r}: {exc}") from None
        current.rules.append(Rule(current.name, n, line, tokens[0] == "permit", ((proto, src, dst, port),)))
    return filters


def parse_cisco_bindings(text: str) -> dict[tuple[str, str], str]:
    """(interface, 'in'|'out') → ACL name from ``interface X`` / `` ip access-group NAME in``."""
    out: dict[tuple[str, str], str] = {}
    iface = None
    for raw in text.splitlines():
        if raw.startswith("interface "):
            iface = raw.split(maxsplit=1)[1]
        elif iface and raw.startswith(" ip access-group "):
            _, _, name, direction = raw.split()
            out[(iface, direction)] = name
    return out


# -- Huawei VRP advanced ACLs and USG security-policy --------------------------------------------------------
_VRP_RULE = re.compile(r"^rule (\d+) (permit|deny) (\S+)(.*)$")


def parse_vrp(text: str, only: set[str] | None = None) -> dict[str, ParsedFilter]:
    """``acl name NAME advance`` blocks of ``rule N permit|deny PROTO [source A W] [destination A W]
    [destination-port eq N|range A B]``, matched in rule-number order (a rule's ``line`` is its number).
    Unmatched packets are permitted (VRP traffic-filter)."""
    filters: dict[str, ParsedFilter] = {}
    current: ParsedFilter | None = None
    n = 0
    for raw in text.splitlines():
        line = raw.strip()
        if raw.startswith("acl name "):
            name = raw.split()[2]
            current = None
            if only is None or name in only:  # with ``only``: skip the infrastructure ACL and the like
                current = filters[name] = ParsedFilter(name, [], default_permit=True)
            n = 0
            continue
        if current is None or line.startswith("description") or not line:
            continue
        if line == "#":
            current = None
            continue
        n += 1
        m = _VRP_RULE.match(line)
        try:
            if m is None:
                raise ParseError("not a rule")
            proto = _proto(m.group(3))
            tokens = m.group(4).split()
            src = dst = ANY_ADDR
            port = ANY_PORT
            i = 0
            while i < len(tokens):
                if tokens[i] in ("source", "destination"):
                    span = _span(_wildcard_net(tokens[i + 1], tokens[i + 2]))
                    src, dst = (span, dst) if tokens[i] == "source" else (src, span)
                    i += 3
                elif tokens[i] == "destination-port":
                    port, i = _port_spec(tokens, i + 1)
                else:
                    raise ParseError(f"unexpected {tokens[i]!r}")
        except (ParseError, IndexError, ValueError) as exc:
            raise ParseError(f"{current.name} line {n}: {line!r}: {exc}") from None
        assert m is not None
        number = int(m.group(1))
        if any(r.line == number for r in current.rules):
            raise ParseError(f"{current.name}: rule {number} appears twice")
        current.rules.append(
            Rule(current.name, number, line, m.group(2) == "permit", ((proto, src, dst, port),))
        )
    for f in filters.values():
        f.rules.sort(key=lambda r: r.line)  # VRP matches in rule-number order, whatever the text order
    return filters


def parse_vrp_bindings(text: str) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    iface = None
    for raw in text.splitlines():
        if raw.startswith("interface "):
            iface = raw.split(maxsplit=1)[1]
        elif iface and raw.startswith(" traffic-filter ") and raw.split()[2] != "ipv6":
            tokens = raw.split()  # IPv6 filters (the infrastructure ACL's) are not zone filters
            out[(iface, "in" if tokens[1] == "inbound" else "out")] = tokens[4]
    return out


def parse_security_policy(text: str) -> ParsedFilter:
    """A USG ``security-policy``: rules in order, first match, default deny; zones become the guards."""
    rules: list[Rule] = []
    current: dict | None = None
    n = 0

    def close() -> None:
        if current is None:
            return
        if "action" not in current:
            raise ParseError(f"security-policy rule {current['name']}: no action")
        box = (current["proto"], current["src"], current["dst"], current["port"])
        rules.append(
            Rule(
                "security-policy",
                current["line"],
                current["name"],
                current["action"] == "permit",
                (box,),
                current.get("src_zone"),
                current.get("dst_zone"),
            )
        )

    for raw in text.splitlines():
        line = raw.strip()
        if raw.startswith(" rule name "):
            close()
            n += 1
            current = {
                "name": line.split()[2],
                "line": n,
                "proto": ANY_PROTO,
                "src": ANY_ADDR,
                "dst": ANY_ADDR,
                "port": ANY_PORT,
            }
            continue
        if current is None or not raw.startswith("  "):
            if line in ("security-policy", "#", ""):
                continue
            raise ParseError(f"security-policy: unexpected line {line!r}")
        tokens = line.split()
        try:
            if tokens[0] == "source-zone":
                current["src_zone"] = tokens[1]
            elif tokens[0] == "destination-zone":
                current["dst_zone"] = tokens[1]
            elif tokens[0] in ("source-address", "destination-address") and tokens[2] == "mask":
                key = "src" if tokens[0] == "source-address" else "dst"
                current[key] = _span(IPv4Network(f"{tokens[1]}/{tokens[3]}"))
            elif tokens[:2] == ["service", "protocol"]:
                current["proto"] = _proto(tokens[2])
                if len(tokens) > 3:
                    if tokens[3] != "destination-port":
                        raise ParseError(f"unexpected {tokens[3]!r}")
                    lo = int(tokens[4])
                    hi = int(tokens[6]) if len(tokens) > 6 and tokens[5] == "to" else lo
                    current["port"] = (lo, hi)
            elif tokens[0] == "action" and tokens[1] in ("permit", "deny"):
                current["action"] = tokens[1]
            else:
                raise ParseError("not understood")
        except (ParseError, IndexError, ValueError) as exc:
            raise ParseError(f"security-policy rule {current['name']}: {line!r}: {exc}") from None
    close()
    return ParsedFilter("security-policy", rules, default_permit=False)


# -- nftables (Aerleon's layout: child chains jumped to from base chains) ------------------------------------
_SET = re.compile(r"\{([^}]*)\}")


def _nft_values(tokens: list[str], i: int) -> tuple[list[str], int]:
    """A single value or a '{ a, b }' set starting at tokens[i]."""
    if tokens[i] == "{":
        j = tokens.index("}", i)
        return [t.rstrip(",") for t in tokens[i + 1 : j] if t != ","], j + 1
    return [tokens[i]], i + 1


def _nft_rule(chain: str, n: int, line: str) -> tuple[Rule | None, str | None]:
    """One nftables rule; returns (rule, None), or (None, chain jumped to)."""
    tokens = line.replace("{", " { ").replace("}", " } ").split()
    if tokens[0] == "jump":
        return None, tokens[1]
    iif = oif = None
    protos: list[Interval] = [ANY_PROTO]
    srcs: list[Interval] = [ANY_ADDR]
    dsts: list[Interval] = [ANY_ADDR]
    ports: list[Interval] = [ANY_PORT]
    verdict = None
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in ("iifname", "oifname"):
            name = tokens[i + 1].strip('"')
            iif, oif = (name, oif) if t == "iifname" else (iif, name)
            i += 2
        elif t == "ip" and tokens[i + 1] in ("saddr", "daddr"):
            values, j = _nft_values(tokens, i + 2)
            spans = [_span(IPv4Network(v)) for v in values]
            if tokens[i + 1] == "saddr":
                srcs = spans
            else:
                dsts = spans
            i = j
        elif t == "ip" and tokens[i + 1] == "protocol":
            values, j = _nft_values(tokens, i + 2)
            protos = [_proto(v) for v in values]
            i = j
        elif t in ("tcp", "udp") and tokens[i + 1] == "dport":
            values, j = _nft_values(tokens, i + 2)
            protos = [PROTOCOLS[t]]
            ports = [(int(v.split("-")[0]), int(v.split("-")[-1])) for v in values]
            i = j
        elif t == "ct" and tokens[i + 1] == "state":
            i += 3  # 'ct state new': the check evaluates new flows
        elif t in ("accept", "drop"):
            verdict = t
            i += 1
        else:
            raise ParseError(f"unexpected {t!r}")
    if verdict is None or i != len(tokens):
        raise ParseError("no verdict")
    boxes = tuple((p, s, d, o) for p in protos for s in srcs for d in dsts for o in ports)
    return Rule(chain, n, line, verdict == "accept", boxes, iif, oif), None


def parse_nftables(text: str) -> list[ParsedFilter]:
    """The base chains of Aerleon's ``filtering_policies`` table, in priority order, each flattened: the
    rules of its child chains inlined at their jumps (a verdict ends the base chain)."""
    chains: dict[str, list[str]] = {}
    bases: list[tuple[int, str, bool]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("table ") or not line:
            continue
        if line.startswith("chain ") and line.endswith("{"):
            current = line.split()[1]
            chains[current] = []
            continue
        if line == "}":
            current = None
            continue
        if current is None:
            raise ParseError(f"nftables: line outside a chain: {line!r}")
        m = re.match(r"type filter hook (\w+) priority (-?\d+); policy (accept|drop);", line)
        if m:
            if m.group(1) != "forward":
                raise ParseError(f"chain {current}: hook {m.group(1)} (the zone policy uses forward)")
            bases.append((int(m.group(2)), current, m.group(3) == "accept"))
            continue
        if line == "ct state established,related accept" or line.startswith("comment "):
            continue
        chains[current].append(line)
    out = []
    for _, base, default_permit in sorted(bases):
        rules: list[Rule] = []
        n = 0
        for line in chains[base]:
            try:
                rule, jump = _nft_rule(base, 0, line)
            except (ParseError, IndexError, ValueError) as exc:
                raise ParseError(f"chain {base}: {line!r}: {exc}") from None
            if jump is None:
                n += 1
                assert rule is not None
                rules.append(Rule(base, n, line, rule.permit, rule.boxes, rule.iif, rule.oif))
                continue
            for child in chains.get(jump) or []:
                n += 1
                try:
                    rule, nested = _nft_rule(jump, n, child)
                except (ParseError, IndexError, ValueError) as exc:
                    raise ParseError(f"chain {jump}: {child!r}: {exc}") from None
                if nested is not None or rule is None:
                    raise ParseError(f"chain {jump}: nested jump {nested!r} (Aerleon's layout has none)")
                rules.append(Rule(base, n, f"{jump}: {child}", rule.permit, rule.boxes, rule.iif, rule.oif))
        out.append(ParsedFilter(base, rules, default_permit))
    return out
