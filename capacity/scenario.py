"""Scenarios: a YAML file of overrides run against the base source of truth.

A scenario never holds a second copy of the inventory: it names what changes (growth ×1.5, an allocation
ratio, a department's delay, an extra purchase, the headroom target or lead time) and ``apply_scenario``
builds a modified SourceOfTruth from the base with ``model_copy``. Every name it uses (department code,
aggregate, pool) is checked against the base, so a typo is an error naming the file and field, not a silent
no-op.

    name: growth-x1.5                  # optional; defaults to the file name
    description: demand grows 50 % faster than the departments declared
    growth_multiplier: 1.5             # annual rate r → r × 1.5; yearly factor f → 1 + (f − 1) × 1.5
    allocation_ratios:                 # without 'aggregate': every aggregate
      - {VCPU: 3.0}
      - {aggregate: gz-1-highmem, MEMORY_MB: 1.2}
    migration_delays:                  # months later (negative: earlier)
      - {department: GAT, months: 12}
    expansions:                        # added to cloud.yaml's planned expansions, same fields
      - {month: 2029-07, aggregate: gz-1-general, hosts: 20}
      - {month: 2029-01, pool: gz-1-rbd, raw: 2 PB}
    planning: {headroom_target: 15%, lead_time_months: 9}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic import model_validator as _model_validator

from egov.errors import SourceError
from egov.model import (
    Cloud,
    Expansion,
    Fraction,
    Planning,
    SourceOfTruth,
    System,
    parse_ratios,
)
from egov.months import add_months
from egov.resources import standard_table

if TYPE_CHECKING:
    from capacity.headroom import Assessment

#: Where the shipped example scenarios live, relative to a data directory.
SCENARIO_DIR = "scenarios"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _source(info: ValidationInfo) -> SourceOfTruth | None:
    context = info.context or {}
    source = context.get("source")
    return source if isinstance(source, SourceOfTruth) else None


def _aggregate_names(source: SourceOfTruth) -> list[str]:
    return [agg.name for az in source.cloud.availability_zones for agg in az.aggregates]


def _check_aggregate(cls: type, value: str | None, info: ValidationInfo) -> str | None:
    """An aggregate a scenario names must exist in the base cloud."""
    source = _source(info)
    if value is not None and source is not None and value not in _aggregate_names(source):
        raise ValueError(f"unknown aggregate {value!r}; known: {_aggregate_names(source)}")
    return value


#: The largest allocation ratio a scenario may set (Placement accepts more; no cloud runs above it).
MAX_RATIO = 64.0


class RatioOverride(_Strict):
    """Allocation ratios keyed by resource class (``{VCPU: 3.0}``, ``{VGPU: 1.0}``) for one aggregate, or
    for every aggregate when ``aggregate`` is omitted."""

    aggregate: str | None = None
    by_class: dict[str, float] = Field(default_factory=dict)

    _known_aggregate = field_validator("aggregate")(_check_aggregate)

    @_model_validator(mode="before")
    @classmethod
    def _gather(cls, data: Any, info: ValidationInfo) -> Any:
        """Every key but ``aggregate`` names a host resource class of the source's table."""
        if not isinstance(data, dict):
            return data
        source = _source(info)
        table = source.cloud.resource_classes if source is not None else standard_table()
        ratios = {k: v for k, v in data.items() if k != "aggregate"}
        by_class = parse_ratios(ratios, table, table.host_classes, MAX_RATIO)
        if not by_class:
            raise ValueError(f"give at least one ratio by resource class, e.g. {list(table.host_classes)}")
        return {"aggregate": data.get("aggregate"), "by_class": by_class}

    def ratios(self) -> dict[str, float]:
        return dict(self.by_class)


class MigrationDelay(_Strict):
    """A department's systems all migrate ``months`` later (earlier when negative)."""

    department: str
    months: int = Field(ge=-60, le=120)

    @field_validator("department")
    @classmethod
    def _known_department(cls, value: str, info: ValidationInfo) -> str:
        source = _source(info)
        if source is not None and value not in {d.code for d in source.departments}:
            raise ValueError(_unknown_code(value, [d.code for d in source.departments]))
        return value


class ScenarioExpansion(Expansion):
    """A purchase added to the planned expansions of cloud.yaml (same fields), checked against the base."""

    _known_aggregate = field_validator("aggregate")(_check_aggregate)

    @field_validator("pool")
    @classmethod
    def _known_pool(cls, value: str | None, info: ValidationInfo) -> str | None:
        source = _source(info)
        pools = [] if source is None else [p.name for p in source.cloud.storage_pools]
        if value is not None and source is not None and value not in pools:
            raise ValueError(f"unknown storage pool {value!r}; known: {pools}")
        return value


class DepartmentOverride(_Strict):
    """One department's own scenario: its systems grow ``growth_multiplier`` times as fast (on top of the
    scenario-wide multiplier) and migrate ``delay_months`` later (on top of ``migration_delays``)."""

    growth_multiplier: float = Field(default=1.0, gt=0, le=10)
    delay_months: int = Field(default=0, ge=-60, le=120)


def _unknown_code(code: str, known: list[str]) -> str:
    """The error for an unknown department code, with the closest codes as a did-you-mean."""
    import difflib

    close = difflib.get_close_matches(code, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown department code {code!r} (see departments.csv){hint}"


class PlanningOverrides(_Strict):
    headroom_target: Fraction | None = Field(default=None, ge=0, lt=1)
    lead_time_months: int | None = Field(default=None, ge=0, le=60)


class Scenario(_Strict):
    """What a scenario changes against the base."""

    name: str = Field(min_length=1)
    description: str = ""
    growth_multiplier: float = Field(default=1.0, gt=0, le=10)
    allocation_ratios: list[RatioOverride] = Field(default_factory=list)
    migration_delays: list[MigrationDelay] = Field(default_factory=list)
    expansions: list[ScenarioExpansion] = Field(default_factory=list)
    planning: PlanningOverrides = Field(default_factory=PlanningOverrides)
    departments: dict[str, DepartmentOverride] = Field(default_factory=dict)

    @field_validator("departments")
    @classmethod
    def _known_departments(
        cls, value: dict[str, DepartmentOverride], info: ValidationInfo
    ) -> dict[str, DepartmentOverride]:
        source = _source(info)
        if source is not None:
            known = [d.code for d in source.departments]
            for code in value:
                if code not in known:
                    raise ValueError(_unknown_code(code, known))
        return value

    @field_validator("migration_delays")
    @classmethod
    def _one_delay_per_department(cls, delays: list[MigrationDelay]) -> list[MigrationDelay]:
        seen: set[str] = set()
        for delay in delays:
            if delay.department in seen:
                raise ValueError(f"department {delay.department!r} is delayed twice")
            seen.add(delay.department)
        return delays


def resolve_scenario_path(name: str | Path, data_dir: Path | None = None) -> Path:
    """A scenario argument as a file: a path as given, else ``<name>.yaml`` in the data directory's
    scenarios/ (or the embedded default's)."""
    from egov.source import DEFAULT_DATA_DIR

    candidate = Path(name)
    if candidate.is_file():
        return candidate
    directories = [d / SCENARIO_DIR for d in (data_dir, DEFAULT_DATA_DIR) if d is not None]
    for directory in directories:
        for suffix in ("", ".yaml", ".yml"):
            path = directory / f"{name}{suffix}"
            if path.is_file():
                return path
    known = sorted({p.stem for d in directories if d.is_dir() for p in d.glob("*.y*ml")})
    raise SourceError(candidate, f"no such scenario file; shipped scenarios: {known}")


def load_scenario(path: Path, source: SourceOfTruth) -> Scenario:
    """Read and validate a scenario file against ``source``; raises SourceErrors naming file and field."""
    from egov.source import read_yaml, validation_errors

    raw: Any = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping of overrides at the top level")
    raw.setdefault("name", path.stem)
    try:
        return Scenario.model_validate(raw, context={"source": source})
    except ValidationError as exc:
        raise validation_errors(path, exc) from None


def _override_ratios(ratios: dict[str, float], changes: dict[str, float]) -> dict[str, float]:
    return {**ratios, **changes}


def _apply_cloud(cloud: Cloud, scenario: Scenario) -> Cloud:
    default_ratios = cloud.allocation_ratios
    own: dict[str, dict[str, float] | None] = {
        agg.name: agg.allocation_ratios for az in cloud.availability_zones for agg in az.aggregates
    }
    for override in scenario.allocation_ratios:
        changes = override.ratios()
        if override.aggregate is None:
            default_ratios = _override_ratios(default_ratios, changes)
            own = {name: None if r is None else _override_ratios(r, changes) for name, r in own.items()}
        else:
            current = own[override.aggregate] or default_ratios
            own[override.aggregate] = _override_ratios(current, changes)
    zones = [
        az.model_copy(
            update={
                "aggregates": [
                    agg.model_copy(update={"allocation_ratios": own[agg.name]}) for agg in az.aggregates
                ]
            }
        )
        for az in cloud.availability_zones
    ]
    extra = [Expansion.model_validate(e.model_dump(by_alias=True)) for e in scenario.expansions]
    return cloud.model_copy(
        update={
            "allocation_ratios": default_ratios,
            "availability_zones": zones,
            "expansions": [*cloud.expansions, *extra],
        }
    )


def apply_scenario(source: SourceOfTruth, scenario: Scenario) -> SourceOfTruth:
    """The base ``source`` with ``scenario``'s overrides applied (the base is left unchanged)."""
    from capacity.demand import scaled_growth

    delays = {d.department: d.months for d in scenario.migration_delays}
    for code, own in scenario.departments.items():
        delays[code] = delays.get(code, 0) + own.delay_months
    growth = {code: own.growth_multiplier for code, own in scenario.departments.items()}
    systems = source.systems
    if delays or growth or scenario.growth_multiplier != 1.0:
        changed = []
        for system in systems:
            update: dict[str, Any] = {}
            if delays.get(system.department, 0):
                update["migration_month"] = add_months(system.migration_month, delays[system.department])
            multiplier = scenario.growth_multiplier * growth.get(system.department, 1.0)
            if multiplier != 1.0:
                update["growth"] = scaled_growth(system.growth, multiplier)
            changed.append(system.model_copy(update=update) if update else system)
        systems = changed
    planning_changes = scenario.planning.model_dump(exclude_none=True)
    planning = source.planning.model_copy(update=planning_changes) if planning_changes else source.planning
    cloud = _apply_cloud(source.cloud, scenario)
    warnings = (*source.warnings, *_after_the_horizon(systems, planning, scenario.name))
    return source.model_copy(
        update={"cloud": cloud, "systems": systems, "planning": planning, "warnings": warnings}
    )


def _after_the_horizon(systems: Sequence[System], planning: Planning, scenario: str) -> list[str]:
    """A delay may push a system past the horizon, where the check cannot count it: say so, naming them
    (the source's own migration months are refused at loading; a scenario's shift is said, not refused)."""
    late = [s.id for s in systems if s.migration_month > planning.end_month]
    if not late:
        return []
    shown = ", ".join(late[:10]) + (f" and {len(late) - 10} more" if len(late) > 10 else "")
    return [
        f"scenario {scenario!r}: {len(late)} system(s) migrate after the horizon "
        f"({planning.end_month:%Y-%m}) and are not counted: {shown}"
    ]


@dataclass(frozen=True)
class ScenarioRun:
    """One assessed run of a comparison: the base or a scenario applied to it."""

    name: str
    description: str
    path: Path | None
    source: SourceOfTruth
    assessment: Assessment


def base_run(source: SourceOfTruth) -> ScenarioRun:
    from capacity.headroom import assess

    return ScenarioRun("base", "the source of truth as it is", None, source, assess(source))


def scenario_run(source: SourceOfTruth, path: Path) -> ScenarioRun:
    """Load the scenario at ``path``, apply it to ``source`` and assess the result."""
    from capacity.headroom import assess

    scenario = load_scenario(path, source)
    modified = apply_scenario(source, scenario)
    return ScenarioRun(scenario.name, scenario.description, path, modified, assess(modified))


def compare(source: SourceOfTruth, paths: list[Path]) -> list[ScenarioRun]:
    """The base and each scenario, assessed; errors of every scenario file are collected before raising."""
    from egov.errors import SourceErrors

    runs = [base_run(source)]
    errors: list[SourceError] = []
    for path in paths:
        try:
            runs.append(scenario_run(source, path))
        except SourceErrors as exc:
            errors.extend(exc.errors)
        except SourceError as exc:
            errors.append(exc)
    if errors:
        raise SourceErrors(errors)
    return runs


def month_shift(base: int | None, other: int | None) -> int | None:
    """Months ``other`` is later than ``base`` (negative: earlier); None unless both months exist."""
    return None if base is None or other is None else other - base
