"""Render the zone policy per vendor with Aerleon's generators, and cut it into per-device artefacts.

* ``iosxe``: Aerleon's own ``cisco`` generator (extended ACLs; IOS-XE takes IOS syntax), bound with
  ``ip access-group NAME in|out``.
* ``vrp``: our ``huawei_vrp`` plugin (advanced ACLs, bound with ``traffic-filter inbound|outbound acl name``),
  plus a USG ``security-policy`` for the provincial Internet exit firewall (file ``GD-EXIT-FW.cfg``: the exit
  firewall is not a device of the model; it stands on the Internet ports of the access routers).
* ``frr``: Aerleon's own ``nftables`` generator (the lab's Linux routers): one ``forward`` base chain for the
  inbound filters (priority 0) and one for the outbound filters (priority 10), every term guarded by
  ``iifname``/``oifname`` of the port the model attaches its filter to. An ``accept`` ends only its own base
  chain, so a packet entering one zone port and leaving another meets both filters, as on a router.

Each filter is generated once per vendor; a device's artefact holds the filters attached to its ports and the
bindings (device, interface, direction) — what the lead includes in the device configs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network.model import Backbone
from network.naming import interface_name, lan_name
from network.zonepolicy.intents import ZonePolicyInput
from network.zonepolicy.policy import Filter, aerleon_policy
from network.zonepolicy.zones import Attach, Port, ZoneModel

#: vendor (network/vendors.py) → the Aerleon target that spells its filters
ACL_TARGETS = {"vrp": "huawei_vrp", "iosxe": "cisco", "frr": "nftables"}
EXIT_FIREWALL = "GD-EXIT-FW"
#: security zones of the exit firewall: the Internet side and the inside
UNTRUST, TRUST = "untrust", "trust"


def port_name(backbone: Backbone, vendor: str, port: Port) -> str:
    """The interface name ``vendor`` gives a zone port of the model."""
    if port.kind == "lan":
        return lan_name(vendor, port.index)
    dev = backbone.devices[port.device]
    for att in dev.attachments:
        if att.port == port.index:
            return interface_name(vendor, att)
    raise KeyError(f"{port.device} has no attachment on port {port.index}")


def _generate(policy: dict[str, Any], defs: dict[str, Any]) -> str:
    """Aerleon's policy builder and the generator of the policy's one target, called as ``api.Generate``
    does but without its defensive deep copy of the whole policy per target (we build a fresh policy for
    each call, and the copy was half of the time on the province's 130 filters)."""
    from absl import logging as absl_logging
    from aerleon.lib import naming, plugin_supervisor
    from aerleon.lib import policy as aerleon_policy_mod
    from aerleon.lib.policy_builder import PolicyBuilder

    absl_logging.set_verbosity(absl_logging.ERROR)  # aerleon's INFO chatter is not ours to print
    definitions = naming.Naming()
    definitions.ParseDefinitionsObject(defs, "")
    targets = {t for f in policy["filters"] for t in f["header"]["targets"]}
    if len(targets) != 1:
        raise ValueError(f"one target per generated policy, not {sorted(targets)}")
    target = targets.pop()
    supervisor = plugin_supervisor.PluginSupervisor
    if not supervisor.is_setup:
        supervisor.Start()
    generator = supervisor.generators.get(target)
    if generator is None:
        raise RuntimeError(
            f"aerleon has no generator {target!r}; is egov installed (pip install -e .) so that its "
            "'aerleon.plugin' entry point is registered?"
        )
    built = aerleon_policy_mod.FromBuilder(PolicyBuilder(policy, definitions, False, False))  # type: ignore[arg-type]
    return _strip_id_tags(str(generator(built, 2)))


def _strip_id_tags(text: str) -> str:
    """Aerleon's revision-control placeholders ($Id:$ …) carry nothing; drop them (same input, same bytes)."""
    keep = [
        line
        for line in text.splitlines()
        if "$Id:$" not in line and "$Date:$" not in line and "$Revision:$" not in line
    ]
    return "\n".join(keep).strip("\n") + "\n"


def _split_blocks(text: str, start: Callable[[str], str | None], end: str) -> dict[str, str]:
    """Cut a generated file into one block per filter: a line for which ``start`` returns a name opens it,
    a line equal to ``end`` closes it."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        name = start(line)
        if name is not None and name not in blocks:
            current = blocks[name] = []
        if current is not None:
            current.append(line)
            if line == end:
                current = None
    return {name: "\n".join(lines) + "\n" for name, lines in blocks.items()}


def _cisco_start(line: str) -> str | None:
    prefix = "no ip access-list extended "
    return line[len(prefix) :].strip() if line.startswith(prefix) else None


def _vrp_start(line: str) -> str | None:
    if line.startswith("acl name ") and line.endswith(" advance"):
        return line.split()[2]
    return None


@dataclass
class Rendered:
    """One vendor's artefacts: text per device (only devices with a filter), and extra files."""

    vendor: str
    devices: dict[str, str]
    extra: dict[str, str]
    #: VRP and IOS-XE: per device, the ACL definitions alone, and its bindings (interface, direction, filter)
    #: — the two halves of ``devices[name]`` that the device config places in its ACL and interface sections
    acls: dict[str, str] = field(default_factory=dict)
    bindings: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def files(self) -> dict[str, str]:
        from network.vendors import get_vendor

        suffix = get_vendor(self.vendor).suffix
        out = {f"{name}{suffix}": text for name, text in self.devices.items()}
        out.update(self.extra)
        return dict(sorted(out.items()))


def render_vendor(
    backbone: Backbone,
    zones: ZoneModel,
    spec: ZonePolicyInput,
    filters: list[Filter],
    defs: dict[str, Any],
    vendor: str,
) -> Rendered:
    """Every device's filters for ``vendor``, spelt by Aerleon (and our VRP plugin)."""
    if vendor == "frr":
        return _render_nftables(backbone, zones, spec, filters, defs)
    by_device: dict[str, list[Attach]] = {}
    for a in zones.attaches:
        by_device.setdefault(a.port.device, []).append(a)
    target = ACL_TARGETS[vendor]
    if vendor == "iosxe":
        text = _generate_cached(vendor, aerleon_policy(filters, spec, {target: "{name} extended"}), defs)
        blocks = _split_blocks(text, _cisco_start, "exit")
    else:
        text = _generate_cached(vendor, aerleon_policy(filters, spec, {target: "{name}"}), defs)
        blocks = _split_blocks(text, _vrp_start, "#")
    devices, acls, bindings = {}, {}, {}
    for device, attaches in sorted(by_device.items()):
        names = sorted({a.filter for a in attaches})
        acls[device] = "".join(blocks[n] for n in names)
        bindings[device] = [(port_name(backbone, vendor, a.port), a.direction, a.filter) for a in attaches]
        end = "!" if vendor == "iosxe" else "#"
        devices[device] = acls[device] + "".join(
            f"interface {ifname}\n {binding_line(vendor, direction, name)}\n{end}\n"
            for ifname, direction, name in bindings[device]
        )
    extra = {}
    if vendor == "vrp":
        extra[f"{EXIT_FIREWALL}.cfg"] = _exit_firewall(spec, filters, defs)
    return Rendered(vendor, devices, extra, acls, bindings)


def binding_line(vendor: str, direction: str, name: str) -> str:
    """The interface line that binds filter ``name`` in ``direction`` ('in' or 'out') on ``vendor``."""
    if vendor == "iosxe":
        return f"ip access-group {name} {direction}"
    return f"traffic-filter {'inbound' if direction == 'in' else 'outbound'} acl name {name}"


def _exit_firewall(spec: ZonePolicyInput, filters: list[Filter], defs: dict[str, Any]) -> str:
    """The USG exit firewall's security-policy: the Internet filters between its untrust and trust zones."""
    chosen = [f for f in filters if f.name in ("GD-INTERNET-IN", "GD-INTERNET-OUT")]
    target = ACL_TARGETS["vrp"]
    parts = []
    for f in chosen:
        zones_ = f"{UNTRUST} {TRUST}" if f.name.endswith("-IN") else f"{TRUST} {UNTRUST}"
        policy = aerleon_policy([f], spec, {target: "{name} security-policy " + zones_}, filename=f.name)
        parts.append(_generate_cached("vrp-fw", policy, defs))
    return "".join(parts)


def _render_nftables(
    backbone: Backbone, zones: ZoneModel, spec: ZonePolicyInput, filters: list[Filter], defs: dict[str, Any]
) -> Rendered:
    """Group devices by the (filter, interface, direction) set of their ports: one nftables ruleset each."""
    by_name = {f.name: f for f in filters}
    groups: dict[tuple[tuple[str, str, str], ...], list[str]] = {}
    by_device: dict[str, list[Attach]] = {}
    for a in zones.attaches:
        by_device.setdefault(a.port.device, []).append(a)
    for device, attaches in sorted(by_device.items()):
        signature = tuple(
            sorted((a.filter, port_name(backbone, "frr", a.port), a.direction) for a in attaches)
        )
        groups.setdefault(signature, []).append(device)
    devices = {}
    for signature, members in groups.items():
        text = _nft_ruleset(signature, by_name, spec, defs)
        for device in members:
            devices[device] = text
    return Rendered("frr", dict(sorted(devices.items())), {})


def _nft_ruleset(
    signature: tuple[tuple[str, str, str], ...],
    by_name: dict[str, Filter],
    spec: ZonePolicyInput,
    defs: dict[str, Any],
) -> str:
    from network.zonepolicy.policy import term_dicts

    chains = []
    for direction, priority in (("in", 0), ("out", 10)):
        terms = []
        for fname, ifname, d in signature:
            if d != direction:
                continue
            for term in by_name[fname].terms:
                for t in term_dicts(term, spec):
                    t["name"] = f"{fname.lower()}-{ifname}-{t['name']}"
                    t["source-interface" if d == "in" else "destination-interface"] = ifname
                    terms.append(t)
        if terms:
            chains.append(
                {
                    "header": {
                        "comment": f"zone filters, {direction}bound",
                        "targets": {"nftables": f"inet forward {priority} ACCEPT"},
                    },
                    "terms": terms,
                }
            )
    policy = {"filename": "gd-zones", "filters": chains}
    return _generate_cached("frr", policy, defs)


_CACHE: dict[str, str] = {}


def _generate_cached(kind: str, policy: dict[str, Any], defs: dict[str, Any]) -> str:
    """Aerleon's output for a policy, memoised on its content (a re-render of the same input is instant)."""
    import json

    key = hashlib.sha256(json.dumps([kind, policy, defs], sort_keys=True).encode()).hexdigest()
    if key not in _CACHE:
        _CACHE[key] = _generate(policy, defs)
    return _CACHE[key]


def clear_cache() -> None:
    _CACHE.clear()


def write_policy(compiled: Any, vendor: str, out_dir: Path) -> list[Path]:
    """Write one vendor's artefacts into ``out_dir`` (replaced whole and atomically): one file per device,
    ``attachments.json`` (where each filter is bound: device, interface, direction, filter) and the Aerleon
    policy and definitions it was generated from (``aerleon/``)."""
    import json

    from egov.atomic import staged_directory
    from network.zonepolicy.policy import aerleon_policy, definitions_yaml, policy_yaml

    rendered = compiled.rendered[vendor]
    files = rendered.files()
    files["attachments.json"] = (
        json.dumps(
            [
                {
                    "device": a.port.device,
                    "interface": port_name(compiled.backbone, vendor, a.port),
                    "direction": a.direction,
                    "filter": a.filter,
                }
                for a in compiled.zones.attaches
            ],
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )
    target = ACL_TARGETS[vendor]
    options = {"iosxe": "{name} extended", "vrp": "{name}", "frr": "inet forward 0 ACCEPT"}[vendor]
    policy = aerleon_policy(compiled.filters, compiled.spec, {target: options})
    files["aerleon/gd-zones.yaml"] = policy_yaml(policy)
    files["aerleon/definitions.yaml"] = definitions_yaml(compiled.definitions)
    written = []
    with staged_directory(out_dir) as stage:
        for name, text in sorted(files.items()):
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_bytes(text.encode("utf-8"))
            written.append(out_dir / name)
    return written
