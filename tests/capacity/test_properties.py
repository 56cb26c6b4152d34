"""Properties of the headroom model (hypothesis): more demand never yields more headroom; adding hosts never
moves a shortfall earlier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cloudkit import system, write_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capacity.headroom import assess, line_headroom
from egov.model import Planning, SourceOfTruth
from egov.source import load_source

PLANNING = Planning(start_month="2027-01", horizon_months=24, headroom_target=0.2, lead_time_months=6)
series = st.lists(st.floats(0, 1e6, allow_nan=False), min_size=24, max_size=24).map(np.array)


def _later_or_same(a: int | None, b: int | None) -> bool:
    """b is no earlier than a (None = never)."""
    return b is None or (a is not None and b >= a)


@settings(max_examples=200, deadline=None)
@given(usable=series, demand=series, extra=series)
def test_more_demand_never_yields_more_headroom(usable, demand, extra) -> None:
    key = ("VCPU", "az-a")
    less = line_headroom(PLANNING, key, usable, demand)
    more = line_headroom(PLANNING, key, usable, demand + extra)
    assert np.all(more.free <= less.free)
    assert more.min_percent_free <= less.min_percent_free
    assert _later_or_same(more.first_shortfall, less.first_shortfall)
    assert _later_or_same(more.first_below_target, less.first_below_target)


_sizes = st.lists(
    st.tuples(st.integers(1, 400), st.integers(0, 60), st.integers(0, 23)), min_size=1, max_size=6
)


def _cloud_source(root: Path, hosts: int, systems: list[tuple[int, int, int]]) -> SourceOfTruth:
    from cloudkit import cloud

    data = cloud()
    data["availability_zones"][0]["aggregates"][0]["hosts"] = hosts
    rows = [
        system(
            id=f"AAA-{i:04d}",
            vcpu=vcpu,
            ram=f"{vcpu * 4} GiB",
            annual_growth=f"{growth}%",
            migration_month=f"{2027 + month // 12}-{month % 12 + 1:02d}",
        )
        for i, (vcpu, growth, month) in enumerate(systems, start=1)
    ]
    return load_source(write_data(root, cloud_data=data, systems=rows))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hosts=st.integers(1, 6), more=st.integers(1, 4), systems=_sizes)
def test_adding_hosts_never_moves_a_shortfall_earlier(tmp_path: Path, hosts, more, systems) -> None:
    fewer = assess(_cloud_source(tmp_path / "a", hosts, systems))
    larger = assess(_cloud_source(tmp_path / "b", hosts + more, systems))
    for line in fewer.lines:
        bigger = larger.line(line.resource, line.az)
        assert np.all(bigger.usable >= line.usable)
        assert _later_or_same(line.first_shortfall, bigger.first_shortfall)
        assert _later_or_same(line.first_below_target, bigger.first_below_target)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    systems=_sizes,
    faster=st.floats(1.0, 4.0),
    delay=st.integers(0, 24),
)
def test_faster_growth_never_delays_and_later_migration_never_hastens_a_shortfall(
    tmp_path: Path, systems, faster, delay
) -> None:
    from capacity.scenario import MigrationDelay, Scenario, apply_scenario

    source = _cloud_source(tmp_path / "s", 2, systems)
    base = assess(source)
    grown = assess(apply_scenario(source, Scenario(name="g", growth_multiplier=faster)))
    late = assess(
        apply_scenario(
            source, Scenario(name="d", migration_delays=[MigrationDelay(department="AAA", months=delay)])
        )
    )
    for line in base.lines:
        assert _later_or_same(grown.line(line.resource, line.az).first_shortfall, line.first_shortfall)
        assert _later_or_same(line.first_shortfall, late.line(line.resource, line.az).first_shortfall)
