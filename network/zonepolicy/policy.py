"""The one platform-neutral zone policy, in Aerleon's policy and definitions format, generated from the model.

Each filter guards one kind of zone boundary; :mod:`network.zonepolicy.zones` says on which ports of which
devices it sits. Terms are written from the zones and ``published`` services of data/zones.yaml, never from
the intents (those are the independent expectation the check holds the rendered text to).

Filters (``in``: entering the router from the zone, ``out``: leaving towards it):

* ``GD-PUBLIC-IN`` on every site LAN: no way into the isolated domain, management or other departments;
  shared services and the Internet only for the published services.
* ``GD-DEPT-<CODE>-IN`` on a department's access: its own cloud subnet, and the shared services.
* ``GD-DC-IN`` / ``GD-DC-OUT`` on the DC ports: each department's cloud subnet talks only to its own sites.
* ``GD-INTERNET-IN`` / ``GD-INTERNET-OUT`` on the provincial Internet exit: published services only, no
  spoofed source of our own space.
* ``GD-MGMT-OUT`` towards the management LAN: the routers' AAA, NTP and syslog only.
* ``GD-ISOLATED-IN`` / ``GD-ISOLATED-OUT`` on the isolated domain's LANs: nothing but the isolated domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from network.zonepolicy.intents import ZonePolicyInput
from network.zonepolicy.zones import ZoneModel


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    action: str  # "accept" or "deny"
    source: str | None = None  # a network name of the definitions; None = any
    destination: str | None = None
    services: tuple[str, ...] = ()  # service names of data/zones.yaml; () = any protocol
    #: which MLPS control point the term serves (evidence report)
    control: str = "access-control"


@dataclass(frozen=True, slots=True)
class Filter:
    name: str
    comment: str
    terms: tuple[Term, ...]
    #: the MLPS control points this filter evidences as a whole
    controls: tuple[str, ...] = field(default=("access-control",))


DENY_ALL = Term("deny-all", "deny", control="access-control")


def build_filters(zones: ZoneModel, spec: ZonePolicyInput) -> list[Filter]:
    """The zone filters, in a fixed order (byte-identical output for the same input)."""
    pub = spec.published
    filters = [
        Filter(
            "GD-PUBLIC-IN",
            "公用网络区 site LAN, inbound",
            (
                Term("public-deny-isolated", "deny", destination="ISOLATED", control="network-architecture"),
                Term(
                    "public-deny-management", "deny", destination="MANAGEMENT", control="boundary-protection"
                ),
                Term("public-shared-services", "accept", "PUBLIC", "SHARED_SERVICES", pub.public_to_cloud),
                Term("public-deny-cloud", "deny", destination="CLOUD_TENANTS"),
                Term("public-deny-departments", "deny", destination="DEPARTMENT_LINKS"),
                Term("public-to-public", "accept", destination="PUBLIC"),
                Term("public-deny-backbone", "deny", destination="BACKBONE"),
                Term("public-internet", "accept", "PUBLIC", None, pub.public_to_internet),
                DENY_ALL,
            ),
            ("network-architecture", "boundary-protection", "access-control"),
        )
    ]
    for code in zones.departments:
        up = code.upper()
        filters.append(
            Filter(
                f"GD-DEPT-{up}-IN",
                f"专用网络区 {code} access, inbound",
                (
                    Term(f"{code.lower()}-own-cloud", "accept", f"{up}_SITES", f"{up}_CLOUD"),
                    Term(
                        f"{code.lower()}-shared-services",
                        "accept",
                        f"{up}_SITES",
                        "SHARED_SERVICES",
                        pub.department_to_cloud,
                    ),
                    DENY_ALL,
                ),
                ("network-architecture", "access-control"),
            )
        )
    dc_in = [
        Term("dc-deny-management", "deny", destination="MANAGEMENT", control="boundary-protection"),
        Term("dc-deny-isolated", "deny", destination="ISOLATED", control="network-architecture"),
        Term("dc-shared-services-out", "accept", "SHARED_SERVICES", None),
    ]
    dc_out = [
        Term("dc-shared-public", "accept", "PUBLIC", "SHARED_SERVICES", pub.public_to_cloud),
        Term(
            "dc-shared-departments", "accept", "DEPARTMENT_LINKS", "SHARED_SERVICES", pub.department_to_cloud
        ),
        Term("dc-shared-internet", "accept", None, "SHARED_SERVICES", pub.internet_to_cloud),
    ]
    for code in zones.departments:
        up, low = code.upper(), code.lower()
        dc_in.append(Term(f"dc-{low}-replies", "accept", f"{up}_CLOUD", f"{up}_SITES"))
        dc_out.append(Term(f"dc-{low}-own-cloud", "accept", f"{up}_SITES", f"{up}_CLOUD"))
    filters += [
        Filter("GD-DC-IN", "云数据中心 port, inbound", (*dc_in, DENY_ALL)),
        Filter(
            "GD-DC-OUT",
            "云数据中心 port, outbound",
            (*dc_out, DENY_ALL),
            ("boundary-protection", "access-control"),
        ),
        Filter(
            "GD-INTERNET-IN",
            "互联网接入区 provincial exit, inbound",
            (
                Term("internet-deny-spoofed", "deny", "OWN_SPACE", None, control="intrusion-prevention"),
                Term(
                    "internet-published",
                    "accept",
                    None,
                    "SHARED_SERVICES",
                    pub.internet_to_cloud,
                    control="boundary-protection",
                ),
                DENY_ALL,
            ),
            ("boundary-protection", "intrusion-prevention"),
        ),
        Filter(
            "GD-INTERNET-OUT",
            "互联网接入区 provincial exit, outbound",
            (
                Term("internet-from-public", "accept", "PUBLIC", None, pub.public_to_internet),
                Term("internet-from-shared", "accept", "SHARED_SERVICES", None),
                DENY_ALL,
            ),
            ("boundary-protection",),
        ),
        Filter(
            "GD-MGMT-OUT",
            "管理区 LAN, outbound",
            (
                Term(
                    "mgmt-deny-departments", "deny", "DEPARTMENT_LINKS", None, control="boundary-protection"
                ),
                Term(
                    "mgmt-from-infrastructure",
                    "accept",
                    "BACKBONE",
                    "MANAGEMENT",
                    pub.infrastructure_to_management,
                    control="audit",
                ),
                DENY_ALL,
            ),
            ("boundary-protection", "audit"),
        ),
        Filter(
            "GD-ISOLATED-IN",
            "物理隔离域 LAN, inbound",
            (
                Term("isolated-only", "accept", "ISOLATED", "ISOLATED", control="network-architecture"),
                DENY_ALL,
            ),
            ("network-architecture",),
        ),
        Filter(
            "GD-ISOLATED-OUT",
            "物理隔离域 LAN, outbound",
            (
                Term("isolated-only", "accept", "ISOLATED", "ISOLATED", control="network-architecture"),
                DENY_ALL,
            ),
            ("network-architecture",),
        ),
    ]
    return filters


# -- Aerleon's format ----------------------------------------------------------------------------------------
def definitions(zones: ZoneModel, spec: ZonePolicyInput) -> dict[str, Any]:
    """Aerleon definitions (networks and services) as a plain mapping, in a fixed order."""
    networks = {
        name: {"values": [{"address": str(p)} for p in prefixes]}
        for name, prefixes in sorted(zones.networks.items())
    }
    services = {
        name.upper(): [{"port": s.port, "protocol": s.protocol}]
        for name, s in sorted(spec.services.items())
        if s.port is not None
    }
    return {"networks": networks, "services": services}


def term_dicts(term: Term, spec: ZonePolicyInput) -> list[dict[str, Any]]:
    """A term in Aerleon's format: one per protocol when its services mix protocols (Aerleon would cross
    every port with every protocol: tcp/123, udp/49)."""
    base: dict[str, Any] = {"name": term.name}
    if term.source:
        base["source-address"] = term.source
    if term.destination:
        base["destination-address"] = term.destination
    if not term.services or any(spec.services[s].protocol == "ip" for s in term.services):
        return [{**base, "action": term.action}]
    protocols = sorted({spec.services[s].protocol for s in term.services})
    out = []
    for proto in protocols:
        ports = [
            s.upper() for s in term.services if spec.services[s].protocol == proto and spec.services[s].port
        ]
        entry = {**base, "protocol": proto}
        if len(protocols) > 1:
            entry["name"] = f"{term.name}-{proto}"
        if ports:
            entry["destination-port"] = " ".join(ports)
        out.append({**entry, "action": term.action})
    return out


def aerleon_policy(
    filters: list[Filter],
    spec: ZonePolicyInput,
    targets: dict[str, str],
    filename: str = "gd-zones",
) -> dict[str, Any]:
    """One Aerleon policy: every filter with a header naming ``targets`` (platform → options, in which
    ``{name}`` stands for the filter's name)."""
    out = []
    for f in filters:
        terms = [d for t in f.terms for d in term_dicts(t, spec)]
        out.append(
            {
                "header": {
                    "comment": f.comment,
                    "targets": {p: opts.format(name=f.name) for p, opts in targets.items()},
                },
                "terms": terms,
            }
        )
    return {"filename": filename, "filters": out}


def policy_yaml(policy: dict[str, Any]) -> str:
    """The policy as the YAML file aerleon's ``aclgen`` reads."""
    doc = {"filters": policy["filters"]}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110)


def definitions_yaml(defs: dict[str, Any]) -> str:
    return yaml.safe_dump(defs, allow_unicode=True, sort_keys=False, width=110)
