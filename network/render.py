"""Render router configs from the model: one jinja2 template per vendor, one file per device (atomic)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import jinja2

from egov.atomic import staged_directory
from network.model import Backbone
from network.params import NetworkParams, load_params
from network.vendors import get_vendor
from network.views import device_view
from network.zonepolicy.render import Rendered

#: the suffix of an FRR device's companion nftables ruleset (its zone filters)
NFT_SUFFIX = ".nft"


def _template(vendor: str) -> jinja2.Template:
    record = get_vendor(vendor)
    return _load_template(record.template_path, record.template)


@cache
def _load_template(directory: Path, name: str) -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(name)


@cache
def _default_params() -> NetworkParams:
    return load_params()


def render_device(
    backbone: Backbone,
    hostname: str,
    vendor: str,
    params: NetworkParams | None = None,
    zone: Rendered | None = None,
) -> str:
    """The config of one device for ``vendor`` (a name in :data:`network.vendors.VENDORS`).

    With ``zone`` (the zone policy rendered for ``vendor``) the config carries the device's zone filters
    and binds them on their ports (VRP, IOS-XE); FRR's filters are the companion nftables file instead.

    FRR output is a single integrated frr.conf (FRR 8.4): hostname, interfaces (``ethN``, ``lo``, ``lan0``),
    ``router ospf``, ``router bgp`` on the reflectors and PEs only; no VRFs, SNMP, AAA or QoS.
    """
    device = backbone.devices[hostname]
    return _template(vendor).render(device_view(backbone, device, vendor, params or _default_params(), zone))


def zone_filters(
    backbone: Backbone, vendor: str, params: NetworkParams, zones_file: Path | None = None
) -> Rendered | None:
    """The zone policy of data/zones.yaml rendered for ``vendor`` (what ``egov network policy render``
    writes), to include in the device configs; ``None`` for a vendor without a filter generator."""
    from network.addressing import AddressPlan
    from network.zonepolicy.compile import VENDORS, compile_policy

    if vendor not in VENDORS:
        return None
    compiled = compile_policy(backbone, AddressPlan(params), vendors=(vendor,), zones_file=zones_file)
    return compiled.rendered[vendor]


def filename(hostname: str, vendor: str) -> str:
    """The file a device's config is written to: the hostname plus the vendor's suffix."""
    return hostname + get_vendor(vendor).suffix


def render_all(
    backbone: Backbone,
    vendor: str,
    out_dir: Path,
    params: NetworkParams | None = None,
    progress: Callable[[str], None] | None = None,
    hostnames: Iterable[str] | None = None,
    zone: Rendered | None = None,
) -> list[Path]:
    """Render every device (or only ``hostnames``) into ``out_dir``, one file per device named by hostname.

    With ``zone`` each config carries its zone filters; for FRR each device with filters gets its nftables
    ruleset beside its config (``HOSTNAME.nft``, what the lab and playbooks load with ``nft -f``).

    ``out_dir`` is replaced whole and atomically: a failure leaves it as it was. ``progress`` is called with
    each hostname once its file is written.
    """
    _template(vendor)
    params = params or _default_params()
    names = sorted(backbone.devices if hostnames is None else hostnames)
    written = []
    with staged_directory(Path(out_dir)) as stage:
        for hostname in names:
            text = render_device(backbone, hostname, vendor, params, zone)
            path = stage / filename(hostname, vendor)
            path.write_bytes(text.encode("utf-8"))
            written.append(Path(out_dir) / path.name)
            if zone is not None and vendor == "frr" and hostname in zone.devices:
                ruleset = stage / (hostname + NFT_SUFFIX)
                ruleset.write_bytes(zone.devices[hostname].encode("utf-8"))
                written.append(Path(out_dir) / ruleset.name)
            if progress is not None:
                progress(hostname)
    return written
