"""One call from the source of truth to the proof: zones, filters, per-vendor text, parse-back, verdicts.

:func:`compile_policy` builds and renders (what ``egov network policy render`` writes); :func:`check_policy`
parses the rendered text back and evaluates every intent (what ``egov network policy check`` prints).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from network.addressing import AddressPlan
from network.model import Backbone
from network.params import DATA_DIR
from network.zonepolicy.evaluate import Checker, IntentResult, line_findings, parse_rendered
from network.zonepolicy.intents import ZONES_FILE, ZonePolicyInput, check_zone_names, load_zone_policy
from network.zonepolicy.policy import Filter, build_filters, definitions
from network.zonepolicy.render import ACL_TARGETS, Rendered, render_vendor
from network.zonepolicy.zones import ZoneModel, build_zones

#: the vendors of network/vendors.py that have a filter generator (render.ACL_TARGETS), in its order
VENDORS = tuple(ACL_TARGETS)


@dataclass
class Compiled:
    backbone: Backbone
    zones: ZoneModel
    spec: ZonePolicyInput
    filters: list[Filter]
    definitions: dict[str, Any]
    rendered: dict[str, Rendered]


def compile_policy(
    backbone: Backbone,
    plan: AddressPlan,
    spec: ZonePolicyInput | None = None,
    vendors: tuple[str, ...] = VENDORS,
    zones_file: Path | None = None,
) -> Compiled:
    """Zones and filters from the model, rendered for each vendor by Aerleon (and our VRP plugin)."""
    path = zones_file or DATA_DIR / ZONES_FILE
    spec = spec or load_zone_policy(path)
    zones = build_zones(backbone, plan)
    check_zone_names(path, spec, set(zones.zones))
    filters = build_filters(zones, spec)
    defs = definitions(zones, spec)
    rendered = {v: render_vendor(backbone, zones, spec, filters, defs, v) for v in vendors}
    return Compiled(backbone, zones, spec, filters, defs, rendered)


@dataclass
class CheckReport:
    results: list[IntentResult]
    findings: list[dict]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not self.findings

    def as_dict(self, spec: ZonePolicyInput) -> dict[str, Any]:
        return {
            "intents": [r.as_dict(r.intent.service) for r in self.results],
            "unreachable_lines": sum(1 for f in self.findings if f["kind"] == "unreachable"),
            "shadowed_lines": sum(1 for f in self.findings if f["kind"] == "shadowed"),
            "findings": self.findings,
            "ok": self.ok,
        }


def check_policy(compiled: Compiled) -> CheckReport:
    """Parse every vendor's rendered text back and evaluate every intent along the model's paths."""
    checker = Checker(compiled.backbone, compiled.zones, compiled.spec)
    results: list[IntentResult] = []
    findings: list[dict] = []
    for vendor, rendered in compiled.rendered.items():
        parsed = parse_rendered(rendered)
        for f in parsed.distinct:
            findings += [{"vendor": vendor, **x} for x in line_findings(f)]
        for intent in compiled.spec.intents:
            results.append(checker.check_intent(parsed, intent))
    return CheckReport(results, findings)
