"""Backbone traffic demands, month by month: who sends how much to whom at the busy-hour peak.

Endpoints are the sites of the division tree (the city, county and town routers, with their users) and the
*hubs* attached at the provincial access routers: the cloud DC (``cloud-dc``), the internet exit
(``internet-exit``) and each department's own machine room (its department code). Three kinds of traffic:

* service traffic of each site's users to where each business system runs: its department until the
  system's migration month, the cloud DC from then on (a system's share is its vCPU share: the larger the
  system, the more it is used — an assumption, stated in docs/network.md);
* internet traffic of each site's users to the internet exit;
* migration transfers: each system's data (local disk + block + object storage) from its department to the
  cloud DC within ``transfer_days`` of its migration month.

Per-user rates (downstream, toward the user) × the peak-hour factor × growth (1 + r)^(t/12); upstream is
``upstream_ratio`` of downstream. Every site's demand is users × a per-user curve per hub, so the demand of a
whole city is its users × the same curves. All rates are kept in bit/s as plain floats inside (pint converts
at the edges: parameters in, unit strings out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pint
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from egov.errors import SourceError
from egov.model import Fraction, SourceOfTruth, System
from egov.months import add_months, months_between
from egov.source import read_yaml
from egov.units import magnitude_in
from network.divisions import Division
from network.model import Backbone
from network.params import DATA_DIR, Bandwidth

TRAFFIC_FILE = "traffic.yaml"
DC, INTERNET = "cloud-dc", "internet-exit"
SITE_TIERS = ("city", "county", "town")
SECONDS_PER_DAY = 86400.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class UsersPerTier(_Strict):
    city: int = Field(ge=0, le=10_000_000)
    county: int = Field(ge=0, le=10_000_000)
    town: int = Field(ge=0, le=10_000_000)


class PerUser(_Strict):
    cloud: Bandwidth
    internet: Bandwidth


class SiteOverride(_Strict):
    users: int = Field(ge=0, le=10_000_000)


class TrafficParams(_Strict):
    """Everything data/traffic.yaml holds."""

    users_per_site: UsersPerTier
    per_user: PerUser
    upstream_ratio: Fraction = Field(ge=0, le=10)
    peak_hour_factor: float = Field(ge=1, le=100)
    annual_growth: Fraction = Field(ge=-0.5, le=10)
    transfer_days: float = Field(gt=0, le=366)
    target_utilisation: Fraction = Field(gt=0, le=1)
    circuit_lead_time_months: int = Field(ge=0, le=60)
    circuit_tiers: tuple[Bandwidth, ...] = Field(min_length=1)
    sites: dict[str, SiteOverride] = Field(default_factory=dict)

    @field_validator("circuit_tiers")
    @classmethod
    def _ascending(cls, v: tuple[pint.Quantity, ...]) -> tuple[pint.Quantity, ...]:
        rates = [magnitude_in(q, "bit/s") for q in v]
        if any(b <= a for a, b in pairwise(rates)) or rates[0] <= 0:
            raise ValueError("circuit tiers must be positive and in ascending order")
        return v


def yaml_line(path: Path, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the node at ``loc`` (keys and list indexes) in a YAML file, or of its deepest
    existing parent; None when the file cannot be composed. Used so an error names the row as well."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            found = None
            for k, v in node.value:
                if str(k.value) == str(key):
                    found = v
                    line = k.start_mark.line + 1
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
        else:
            break
    if node is not None:
        line = node.start_mark.line + 1
    return line


def load_traffic_params(
    path: Path | None = None, divisions: dict[str, Division] | None = None
) -> TrafficParams:
    """Read and validate data/traffic.yaml; an error names the file, the line and the field. With
    ``divisions``, every site override must name a city, county or township of the division tree."""
    path = path or DATA_DIR / TRAFFIC_FILE
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping at the top level")
    try:
        params = TrafficParams.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        value = err.get("input")
        shown = f" (got {value!r})" if not isinstance(value, dict | list) else ""
        raise SourceError(
            path,
            err["msg"].removeprefix("Value error, ") + shown,
            row=yaml_line(path, loc),
            field=".".join(str(p) for p in loc),
        ) from None
    if divisions is not None:
        for code in params.sites:
            div = divisions.get(code)
            if div is None or div.tier not in SITE_TIERS:
                what = "not in the division tree" if div is None else f"a {div.tier}, not a site"
                raise SourceError(
                    path,
                    f"site {code!r} is {what}",
                    row=yaml_line(path, ("sites", code)),
                    field=f"sites.{code}",
                )
    return params


@dataclass
class Demand:
    """The month-by-month traffic matrix in bit/s, factorised as users × per-user curves.

    ``down[h, m]`` is the downstream rate per user from hub h in month m (``up`` the upstream rate per user
    toward it); site s sends ``users[s] × up[h, m]`` to hub h and receives ``users[s] × down[h, m]``.
    ``transfers`` are hub-to-hub flows (a department's migration data to the DC), bit/s per month.
    """

    months: list[date]
    sites: list[str]  # router hostnames: cities, counties, towns
    users: np.ndarray  # per site
    hubs: list[str]  # cloud-dc, internet-exit, department codes
    down: np.ndarray  # hubs × months, bit/s per user
    up: np.ndarray  # hubs × months, bit/s per user
    transfers: list[tuple[str, str, np.ndarray]]

    def site_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(downstream, upstream) of every site per month: sites × months, bit/s."""
        return np.outer(self.users, self.down.sum(axis=0)), np.outer(self.users, self.up.sum(axis=0))

    def hose(self) -> np.ndarray:
        """Each site's hose bound: the most it sends or receives in any month, bit/s."""
        down, up = self.site_totals()
        return np.maximum(down.max(axis=1), up.max(axis=1)) if len(self.months) else np.zeros(len(self.sites))


def site_users(backbone: Backbone, params: TrafficParams) -> dict[str, int]:
    """Users per site router (hostname): the site's override, else its tier's default. Users sit behind a
    site LAN: a city's second router (backup circuits only, no LAN) serves none."""
    out = {}
    for name, dev in sorted(backbone.devices.items()):
        if dev.tier in SITE_TIERS and dev.lans:
            override = params.sites.get(dev.division_code)
            out[name] = override.users if override is not None else getattr(params.users_per_site, dev.tier)
    return out


def hub_names(backbone: Backbone) -> list[str]:
    """The hubs attached at the provincial access routers, DC and internet exit first, then departments."""
    customers = {a.customer for d in backbone.by_tier("access") for a in d.attachments}
    rest = sorted(customers - {DC, INTERNET})
    return [h for h in (DC, INTERNET) if h in customers] + rest


@dataclass
class BookedMigrations:
    """What the slot ledger has booked: each booked system's month (its slot week's month), the ad-hoc
    systems of bookings (not in the inventory), and each department's booked data per slot week (bytes)."""

    months: dict[str, date]
    adhoc: list[System]
    volumes: dict[str, dict[date, float]]  # department -> {slot week's Monday: bytes}


def load_booked(url: str, source: SourceOfTruth) -> BookedMigrations:
    """Read the granted and approved requests of the slot ledger at ``url`` (read only; the ledger's own
    tables and its request format, resolved as the ledger resolves them)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from slots.db import Request, make_engine
    from slots.ledger import BOOKED
    from slots.request import RequestSpec, resolve

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise SourceError(url, "no slot ledger database at this path")  # SQLite would create an empty one
    engine = make_engine(url, writes=False)
    by_id = {s.id: s for s in source.systems}
    months: dict[str, date] = {}
    adhoc: list[System] = []
    volumes: dict[str, dict[date, float]] = {}
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(Request).where(Request.status.in_(BOOKED)).order_by(Request.id)
            ).scalars()
            for row in rows:
                if row.granted_week is None:
                    continue
                spec = RequestSpec.model_validate_json(row.spec)
                month = row.granted_week.replace(day=1)
                for system in resolve(source, spec, row.id, by_id):
                    months[system.id] = month
                    if system.id not in by_id:
                        adhoc.append(system.model_copy(update={"migration_month": month}))
                week = volumes.setdefault(row.department, {})
                week[row.granted_week] = week.get(row.granted_week, 0.0) + spec.data_volume_gb * 1e9
    except SQLAlchemyError as exc:
        reason = f"{exc.__class__.__name__}: {exc.args[0]}"
        raise SourceError(url, f"cannot read the slot ledger: {reason}") from None
    finally:
        engine.dispose()
    return BookedMigrations(months, adhoc, volumes)


def build_demand(
    source: SourceOfTruth,
    backbone: Backbone,
    params: TrafficParams,
    booked: BookedMigrations | None = None,
) -> Demand:
    """The traffic matrix over the planning horizon, from the plan (each system's migration month), or with
    ``booked`` from the slot ledger: a booked system moves in its slot's month and its request's data volume
    crosses in its slot week (7 days; the month keeps its busiest week); unbooked systems follow the plan."""
    planning = source.planning
    months = [add_months(planning.start_month, i) for i in range(planning.horizon_months)]
    horizon = len(months)
    users = site_users(backbone, params)
    hubs = hub_names(backbone)
    index = {h: i for i, h in enumerate(hubs)}
    t = np.arange(horizon)
    scale = params.peak_hour_factor * np.power(1.0 + params.annual_growth, t / 12.0)
    cloud = magnitude_in(params.per_user.cloud, "bit/s") * scale
    internet = magnitude_in(params.per_user.internet, "bit/s") * scale

    moves = booked.months if booked is not None else {}
    systems = list(source.systems) + (booked.adhoc if booked is not None else [])
    total_vcpu = sum(s.vcpu for s in systems) or 1
    down = np.zeros((len(hubs), horizon))
    transfers: dict[str, np.ndarray] = {}
    for system in systems:
        if system.department not in index:
            raise SourceError(
                "systems.csv", f"department {system.department!r} has no access link in the backbone"
            )
        start = months_between(planning.start_month, moves.get(system.id, system.migration_month))
        moved = t >= start
        share = system.vcpu / total_vcpu
        down[index[DC]] += share * cloud * moved
        down[index[system.department]] += share * cloud * ~moved
        if system.id not in moves and 0 <= start < horizon:
            volume = sum(
                magnitude_in(q, "bit") for q in (system.disk, system.block_storage, system.object_storage)
            )
            series = transfers.setdefault(system.department, np.zeros(horizon))
            series[start] += volume / (params.transfer_days * SECONDS_PER_DAY)
    for department, weeks in (booked.volumes if booked is not None else {}).items():
        busiest = np.zeros(horizon)
        for monday, volume_bytes in weeks.items():
            m = months_between(planning.start_month, monday.replace(day=1))
            if 0 <= m < horizon:
                busiest[m] = max(busiest[m], volume_bytes * 8 / (7 * SECONDS_PER_DAY))
        transfers[department] = transfers.get(department, np.zeros(horizon)) + busiest
    down[index[INTERNET]] += internet
    names = list(users)
    return Demand(
        months=months,
        sites=names,
        users=np.array([users[n] for n in names], dtype=float),
        hubs=hubs,
        down=down,
        up=down * params.upstream_ratio,
        transfers=[(dept, DC, transfers[dept]) for dept in sorted(transfers)],
    )
