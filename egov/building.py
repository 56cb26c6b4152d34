"""The building every purchase must fit into (省电子政务数据中心业务大楼 and its 机房), as pydantic + pint
models.

data/building.yaml holds machine rooms; each room hosts some availability zones, has a cooling capacity and a
height limit for racks, and rows of identical racks (rack units, a power budget per rack) fed by an A and a B
power feed with NetBox's PowerFeed fields (voltage, amperage, phase, max utilisation). The PUE model and the
GB 40879-2021 grade live here too; the month-by-month arithmetic is capacity.building's.

Every power figure carries its unit ('12 kW', '400 V', '63 A'); a bare number is refused.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pint
from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from egov.model import _AS_TEXT, Fraction, Power, Strict
from egov.units import magnitude_in, parse_quantity

Voltage = Annotated[pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "V")), _AS_TEXT]
Current = Annotated[pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "A")), _AS_TEXT]

#: GB 40879-2021 《数据中心能效限定值及能效等级》: the highest PUE of each energy-efficiency grade
#: (grade 3 is the limit value every data centre must meet).
GB40879_GRADES: tuple[tuple[int, float], ...] = ((1, 1.20), (2, 1.30), (3, 1.50))


def gb40879_grade(pue: float) -> int | None:
    """The GB 40879-2021 grade a PUE reaches (1 best), or None above the limit value 1.50."""
    for grade, limit in GB40879_GRADES:
        if pue <= limit + 1e-9:
            return grade
    return None


class Phase(StrEnum):
    single = "single-phase"
    three = "three-phase"


class PowerFeed(Strict):
    """One power feed of a row (NetBox PowerFeed): its usable power is V × A (× √3 three-phase) × max
    utilisation."""

    name: str = Field(min_length=1)
    voltage: Voltage
    amperage: Current
    phase: Phase = Phase.three
    max_utilization: Fraction = Field(default=0.8, gt=0, le=1)

    @property
    def available_kw(self) -> float:
        volts = magnitude_in(self.voltage, "V")
        amps = magnitude_in(self.amperage, "A")
        factor = math.sqrt(3) if self.phase is Phase.three else 1.0
        return volts * amps * factor * self.max_utilization / 1000.0


class Row(Strict):
    """A row of identical racks, fed by an A and a B feed. A dual-corded device stays up when either feed is
    lost, so each feed alone must carry the whole row."""

    name: str = Field(min_length=1)
    racks: int = Field(gt=0, le=200)
    rack_units: int = Field(gt=0, le=60, description="U per rack")
    reserved_units: int = Field(default=0, ge=0, description="U per rack kept for switches and patch panels")
    rack_power: Power = Field(description="power budget per rack")
    feeds: dict[str, PowerFeed] = Field(default_factory=dict)

    @field_validator("feeds")
    @classmethod
    def _a_and_b(cls, feeds: dict[str, PowerFeed]) -> dict[str, PowerFeed]:
        if sorted(feeds) != ["A", "B"]:
            got = sorted(feeds) or "none"
            raise ValueError(f"a row needs an A and a B feed (dual-corded hosts); got {got}")
        return feeds

    @model_validator(mode="after")
    def _room_left(self) -> Row:
        if self.reserved_units >= self.rack_units:
            raise ValueError(
                f"reserved_units {self.reserved_units} leave no room in a {self.rack_units} U rack"
            )
        return self

    @property
    def rack_kw(self) -> float:
        return magnitude_in(self.rack_power, "kW")

    @property
    def feed_kw(self) -> float:
        """What the row may draw: the weaker feed carries everything when the other is lost."""
        return min(feed.available_kw for feed in self.feeds.values())


class PueModel(Strict):
    """Facility power = IT power × PUE, PUE = 1 + fixed overhead ÷ IT + proportional losses + the cooling
    coefficient of the month of year (Guangzhou's summer costs more than its winter)."""

    fixed_overhead: Power = Field(description="lighting, UPS no-load losses, offices: independent of load")
    proportional_loss: Fraction = Field(default=0.05, ge=0, le=1, description="UPS and distribution losses")
    cooling_by_month: tuple[float, ...] = Field(description="12 values, January first: cooling kW per IT kW")

    @field_validator("cooling_by_month")
    @classmethod
    def _twelve(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if len(values) != 12 or any(v < 0 or v > 2 for v in values):
            raise ValueError("give 12 monthly cooling coefficients between 0 and 2, January first")
        return values

    def pue(self, it_kw: float, month_of_year: int) -> float | None:
        """The PUE at ``it_kw`` of IT load in a month (1 = January); None without IT load."""
        if it_kw <= 0:
            return None
        fixed = magnitude_in(self.fixed_overhead, "kW")
        return 1.0 + fixed / it_kw + self.proportional_loss + self.cooling_by_month[month_of_year - 1]


class Room(Strict):
    """A machine room (机房): the zones it hosts, its rows, cooling and rack height limit."""

    name: str = Field(min_length=1)
    zones: list[str] = Field(min_length=1, description="availability zones (or 'region') placed here")
    max_rack_units: int = Field(gt=0, le=60, description="tallest rack the room's height and floor allow")
    cooling: Power = Field(description="heat the room's cooling removes")
    pue: PueModel
    rows: list[Row] = Field(min_length=1)

    @model_validator(mode="after")
    def _racks_fit_the_room(self) -> Room:
        for row in self.rows:
            if row.rack_units > self.max_rack_units:
                raise ValueError(
                    f"row {row.name!r}: {row.rack_units} U racks are taller than room {self.name!r} allows "
                    f"({self.max_rack_units} U)"
                )
        return self

    @property
    def cooling_kw(self) -> float:
        return magnitude_in(self.cooling, "kW")


class Building(Strict):
    name: str = Field(min_length=1)
    rooms: list[Room] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Building:
        rooms = [r.name for r in self.rooms]
        if len(set(rooms)) != len(rooms):
            raise ValueError(f"duplicate room names: {rooms}")
        for room in self.rooms:
            rows = [r.name for r in room.rows]
            if len(set(rows)) != len(rows):
                raise ValueError(f"room {room.name!r}: duplicate row names {rows}")
        return self


def load_building(path: Path) -> Building:
    """Read and validate building.yaml; errors name the file and the field path (rooms.0.rows.1.feeds)."""
    from egov.errors import SourceError
    from egov.source import read_yaml, validation_errors

    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping at the top level")
    try:
        return Building.model_validate(raw)
    except ValidationError as exc:
        raise validation_errors(path, exc) from None
