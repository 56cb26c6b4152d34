"""The building month by month: where every host and storage enclosure stands, and when a room runs out of
rack units, rack power, feed capacity or cooling; the PUE of each room.

Equipment comes from the cloud (installed hosts, planned expansions — including a plan's tranches applied as
expansions — and storage enclosures: ⌈raw ÷ disk unit ÷ disks per enclosure⌉ per pool) in a fixed order:
by the month it arrives, then zone, aggregate or pool, then number. Each item goes into the first rack, in
the order of building.yaml (room, row, rack), of a room that hosts its zone and has both the rack units and
the rack's power budget (typical draw) left. Racks are never re-shuffled: what stands stays.

Limits per room (first month crossed, as the resource lines' months):
- rack_units: an item finds no rack with enough free U in the rooms of its zone;
- power: an item finds racks with the U but none with the power budget left;
- feed: a row's A and B feeds each carry the row's whole nameplate (maximum) draw when the other is lost,
  so Σ power_max of the row must stay within the weaker feed's V × A (× √3) × max utilisation;
- cooling: the room's IT load (Σ typical draw, all of it turned into heat) exceeds its cooling capacity.
PUE = 1 + fixed overhead ÷ IT load + proportional losses + the month's cooling coefficient (egov.building).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from egov.building import Building, Room, load_building
from egov.errors import SourceError
from egov.model import SourceOfTruth
from egov.months import months_between
from egov.units import magnitude_in

#: The four limits of a room, in the order of the JSON's first_exhausted object.
LIMITS = ("rack_units", "power", "feed", "cooling")


@dataclass(frozen=True)
class Equipment:
    """One host or storage enclosure to stand in a rack."""

    name: str
    zone: str
    rack_units: int
    typical_kw: float
    max_kw: float
    month: int  # first month in service (0 for today's installation)


@dataclass(frozen=True)
class Position:
    """Where an item stands: room, row and rack number (1-based) — or nowhere."""

    equipment: Equipment
    room: str | None
    row: str | None
    rack: int | None


@dataclass
class RoomMonths:
    """One room over the horizon."""

    room: Room
    rack_units_total: int
    rack_units_used: np.ndarray  # per month
    it_kw: np.ndarray  # Σ typical draw per month
    feed_load_kw: dict[str, np.ndarray]  # per row: one feed's load after losing the other (Σ power_max)
    pue: list[float | None]
    first_exhausted: dict[str, int | None] = field(default_factory=dict)

    @property
    def pue_mean(self) -> float | None:
        """The mean of the months with a PUE (None: no month has IT load)."""
        valid = [v for v in self.pue if v is not None]
        return sum(valid) / len(valid) if valid else None


@dataclass(frozen=True)
class BuildingReport:
    building: Building
    target_pue: float
    rooms: list[RoomMonths]
    positions: list[Position]

    @property
    def unplaced(self) -> list[Position]:
        return [p for p in self.positions if p.room is None]

    @property
    def crossed(self) -> bool:
        """Whether any limit of any room is crossed within the horizon."""
        return any(m is not None for room in self.rooms for m in room.first_exhausted.values())


def _kw(quantity: Any) -> float:
    return magnitude_in(quantity, "kW")


def equipment_of(source: SourceOfTruth, path: Path | str = "cloud.yaml") -> list[Equipment]:
    """Every host and enclosure of ``source`` with the month it arrives; a model without rack units or power
    is an error naming the field."""
    cloud, planning = source.cloud, source.planning
    items: list[Equipment] = []
    missing: list[SourceError] = []
    for name, model in cloud.host_models.items():
        if model.rack_units is None or model.power_typical is None or model.power_max is None:
            missing.append(
                SourceError(
                    path,
                    "the building needs rack_units, power_typical and power_max of every host model",
                    field=f"host_models.{name}",
                )
            )
    for number, pool in enumerate(cloud.storage_pools):
        if pool.enclosure is None:
            missing.append(
                SourceError(
                    path,
                    "the building needs the enclosure (disks, rack_units, power) of every storage pool",
                    field=f"storage_pools.{number}.enclosure",
                )
            )
    if missing:
        from egov.errors import SourceErrors

        raise SourceErrors(missing)
    for az in cloud.availability_zones:
        for agg in az.aggregates:
            model = cloud.host_models[agg.host_model]
            assert model.rack_units and model.power_typical is not None and model.power_max is not None
            typical, maximum = _kw(model.power_typical), _kw(model.power_max)
            arrivals = [(0, agg.hosts)] + [
                (max(0, months_between(planning.start_month, e.month)), e.hosts or 0)
                for e in cloud.expansions
                if e.aggregate == agg.name
            ]
            count = 0
            for month, hosts in arrivals:
                for _ in range(hosts):
                    count += 1
                    items.append(
                        Equipment(
                            f"{agg.name}-{count:03d}",
                            az.name,
                            model.rack_units,
                            typical,
                            maximum,
                            month,
                        )
                    )
    for pool in cloud.storage_pools:
        enclosure = pool.enclosure
        assert enclosure is not None
        per_enclosure_gb = magnitude_in(pool.disk_unit, "GB") * enclosure.disks
        raw = magnitude_in(pool.raw, "GB")
        steps = sorted(
            (max(0, months_between(planning.start_month, e.month)), magnitude_in(e.raw, "GB"))
            for e in cloud.expansions
            if e.pool == pool.name and e.raw is not None
        )
        count = 0
        for month, added in [(0, 0.0), *steps]:
            raw += added
            needed = math.ceil(raw / per_enclosure_gb - 1e-9)
            while count < needed:
                count += 1
                items.append(
                    Equipment(
                        f"{pool.name}-enc-{count:03d}",
                        pool.az,
                        enclosure.rack_units,
                        _kw(enclosure.power_typical),
                        _kw(enclosure.power_max),
                        month,
                    )
                )
    # arrival order: month first; within a month the cloud.yaml order above (stable sort)
    return sorted(items, key=lambda e: e.month)


def assess_building(
    source: SourceOfTruth, building: Building, cloud_path: Path | str = "cloud.yaml"
) -> BuildingReport:
    """Place every item of ``source`` into ``building`` and follow each room month by month (``cloud_path``
    names the file in errors about missing rack units or power)."""
    months = source.planning.horizon_months
    items = equipment_of(source, cloud_path)
    racks: list[tuple[int, int, int]] = []  # (room, row, rack number)
    free_u: list[int] = []
    free_kw: list[float] = []
    for r, room in enumerate(building.rooms):
        for w, row in enumerate(room.rows):
            for k in range(row.racks):
                racks.append((r, w, k + 1))
                free_u.append(row.rack_units - row.reserved_units)
                free_kw.append(row.rack_kw)
    serves = [set(room.zones) for room in building.rooms]
    positions: list[Position] = []
    crossing: list[dict[str, int | None]] = [dict.fromkeys(LIMITS) for _ in building.rooms]
    by_zone: dict[str, list[int]] = {}
    for item in items:
        candidates = by_zone.get(item.zone)
        if candidates is None:
            candidates = by_zone[item.zone] = [
                i for i, (r, _, _) in enumerate(racks) if item.zone in serves[r]
            ]
        spot = next(
            (i for i in candidates if free_u[i] >= item.rack_units and free_kw[i] >= item.typical_kw - 1e-9),
            None,
        )
        if spot is None:
            limit = "power" if any(free_u[i] >= item.rack_units for i in candidates) else "rack_units"
            for r in {racks[i][0] for i in candidates} or set():
                if crossing[r][limit] is None or item.month < (crossing[r][limit] or 0):
                    crossing[r][limit] = item.month
            positions.append(Position(item, None, None, None))
            continue
        free_u[spot] -= item.rack_units
        free_kw[spot] -= item.typical_kw
        r, w, k = racks[spot]
        positions.append(Position(item, building.rooms[r].name, building.rooms[r].rows[w].name, k))
    rooms: list[RoomMonths] = []
    start = source.planning.start_month
    for r, room in enumerate(building.rooms):
        # what arrives each month, then running sums: equipment stays once it stands
        u_used, it_kw = np.zeros(months), np.zeros(months)
        feed_load = {row.name: np.zeros(months) for row in room.rows}
        for p in positions:
            if p.room != room.name or p.equipment.month >= months:
                continue
            assert p.row is not None
            u_used[p.equipment.month] += p.equipment.rack_units
            it_kw[p.equipment.month] += p.equipment.typical_kw
            feed_load[p.row][p.equipment.month] += p.equipment.max_kw
        u_used, it_kw = np.cumsum(u_used), np.cumsum(it_kw)
        feed_load = {row: np.cumsum(load) for row, load in feed_load.items()}
        first = crossing[r]
        over_feed = [
            int(np.flatnonzero(feed_load[row.name] > row.feed_kw + 1e-9)[0])
            for row in room.rows
            if (feed_load[row.name] > row.feed_kw + 1e-9).any()
        ]
        first["feed"] = min(over_feed) if over_feed else None
        hot = np.flatnonzero(it_kw > room.cooling_kw + 1e-9)
        first["cooling"] = int(hot[0]) if hot.size else None
        month_of_year = [(start.month - 1 + t) % 12 + 1 for t in range(months)]
        pue = [room.pue.pue(float(it_kw[t]), month_of_year[t]) for t in range(months)]
        rooms.append(
            RoomMonths(
                room=room,
                rack_units_total=sum(row.racks * (row.rack_units - row.reserved_units) for row in room.rows),
                rack_units_used=u_used,
                it_kw=it_kw,
                feed_load_kw=feed_load,
                pue=[None if v is None else round(v, 4) for v in pue],
                first_exhausted=first,
            )
        )
    return BuildingReport(building, source.planning.target_pue, rooms, positions)


def building_path(data_dir: Path | None) -> Path:
    """building.yaml of a data directory (the embedded default's without one)."""
    from egov.source import DEFAULT_DATA_DIR

    return (data_dir or DEFAULT_DATA_DIR) / "building.yaml"


def load_building_of(data_dir: Path | None) -> Building | None:
    """The building of a data directory, or None when it has no building.yaml."""
    path = building_path(data_dir)
    return load_building(path) if path.is_file() else None
