"""Monte Carlo risk: agrees with the deterministic check without uncertainty, seeded, each draw the same
whatever the number of draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cloudkit import system, write_data

from capacity.headroom import assess
from capacity.risk import UncertaintyModel, shortfall_quantile, simulate
from egov.model import SourceOfTruth
from egov.source import load_source

CERTAIN = UncertaintyModel(growth_sigma_common=0, growth_sigma_system=0, slip_probability=0)


@pytest.fixture
def growing(tmp_path: Path) -> SourceOfTruth:
    rows = [
        system(id="AAA-0001", vcpu=200, annual_growth="20%", block_storage="30 TB"),
        system(
            id="BBB-0001",
            department="BBB",
            vcpu=100,
            annual_growth="",
            yearly_factors="1;1.5;2.5",
            migration_month="2027-07",
            object_storage="30 TB",
        ),
    ]
    return load_source(write_data(tmp_path / "data", systems=rows))


def test_without_uncertainty_every_draw_is_the_deterministic_check(growing: SourceOfTruth) -> None:
    result = simulate(growing, draws=7, seed=1, model=CERTAIN)
    assessment = assess(growing)
    for risk_line in result.lines:
        line = assessment.line(risk_line.resource, risk_line.az)
        assert risk_line.p50_shortfall == line.first_shortfall
        assert risk_line.p90_shortfall == line.first_shortfall
        assert risk_line.probability_short == (0.0 if line.first_shortfall is None else 1.0)
    assert result.probability_mandate == (1.0 if assessment.carries_horizon else 0.0)
    # this cloud runs short within the horizon, so every certain draw fails the mandate
    assert not assessment.carries_horizon


def test_same_seed_same_result(growing: SourceOfTruth) -> None:
    assert simulate(growing, draws=500, seed=11) == simulate(growing, draws=500, seed=11)


def test_different_seeds_differ_on_the_default() -> None:
    from egov.source import default_source

    one = simulate(default_source(), draws=400, seed=1)
    two = simulate(default_source(), draws=400, seed=2)
    assert [line.probability_short for line in one.lines] != [line.probability_short for line in two.lines]


def test_delays_alone_never_bring_a_shortfall_earlier(growing: SourceOfTruth) -> None:
    # migrations only slip later and growth is certain: no draw runs short before the deterministic month
    late = UncertaintyModel(growth_sigma_common=0, growth_sigma_system=0, slip_probability=0.7)
    result = simulate(growing, draws=300, seed=3, model=late)
    assessment = assess(growing)
    for risk_line in result.lines:
        month = assessment.line(risk_line.resource, risk_line.az).first_shortfall
        if month is not None and risk_line.p90_shortfall is not None:
            assert risk_line.p90_shortfall >= month


def test_more_growth_spread_makes_the_early_tail_earlier(growing: SourceOfTruth) -> None:
    narrow = simulate(growing, 2000, seed=5, model=UncertaintyModel(0.05, 0.05, 0.0))
    wide = simulate(growing, 2000, seed=5, model=UncertaintyModel(0.5, 0.5, 0.0))
    vcpu = [
        (n.p90_shortfall, w.p90_shortfall)
        for n, w in zip(narrow.lines, wide.lines, strict=True)
        if n.resource == "VCPU"
    ]
    ((narrow_p90, wide_p90),) = vcpu
    assert narrow_p90 is not None and wide_p90 is not None and wide_p90 < narrow_p90


def test_shortfall_quantile_by_hand() -> None:
    months = np.array([10, 20, 30, 40, 50, 60, 60, 60, 60, 60])  # 60 = no shortfall within the horizon
    assert shortfall_quantile(months, 60, 0.9) == 20  # 9 of 10 draws last until month 20, not until 30
    assert shortfall_quantile(months, 60, 0.5) is None  # half the draws never run short
    assert shortfall_quantile(np.array([5] * 10), 60, 0.9) == 5


def test_model_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        UncertaintyModel(slip_probability=1.5)
    with pytest.raises(ValueError):
        UncertaintyModel(growth_sigma_common=-0.1)


def test_each_draw_is_the_same_whatever_the_number_of_draws(
    growing: SourceOfTruth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random numbers come in blocks, each from its own child seed: the draws of the whole blocks of a
    150-draw run (2 × 64) are the first 128 draws of a 500-draw run; its last, partial block draws its
    numbers for its own size (as it always has: the same draws as before, and as drawn_sources)."""
    import capacity.risk
    from capacity.risk import UncertaintyModel, _demand_draws, _inputs

    monkeypatch.setattr(capacity.risk, "RANDOM_BLOCK", 64)
    data, horizon, model = _inputs(growing), growing.planning.horizon_months, UncertaintyModel()
    short = [(i, d.copy()) for i, d in _demand_draws(data, horizon, 150, 4, model)]
    long = [(i, d.copy()) for i, d in _demand_draws(data, horizon, 500, 4, model)][:150]
    assert [i for i, _ in short] == list(range(150))
    assert all(a == b and (x == y).all() for (a, x), (b, y) in zip(short[:128], long[:128], strict=True))
    assert not all((x == y).all() for (_, x), (_, y) in zip(short[128:], long[128:], strict=True))
    assert not (short[0][1] == short[64][1]).all()  # a new block draws new numbers
    done: list[int] = []
    simulate(growing, draws=450, seed=4, progress=done.append)
    assert done == [100, 200, 300, 400, 450]


def test_each_draws_department_slips_are_the_drawn_sources_demand() -> None:
    """The vectorised draws and the whole-source draws (``drawn_sources``, which the fit's risk uses) are
    two spellings of one Monte Carlo: with growth certain and slips likely, draw by draw, each line's demand
    from the arrays equals the deterministic demand of the source whose systems moved by their department's
    slip."""
    from capacity.demand import demand_lines
    from capacity.risk import _demand_draws, _inputs, drawn_sources
    from egov.source import default_source

    source = default_source()
    slips = UncertaintyModel(
        growth_sigma_common=0, growth_sigma_system=0, slip_probability=0.5, max_slip_months=9
    )
    data = _inputs(source)
    horizon = source.planning.horizon_months
    count, seed = 4, 13
    drawn = list(drawn_sources(source, count, count, seed, slips))
    moved = 0
    for (number, demand), one in zip(_demand_draws(data, horizon, count, seed, slips), drawn, strict=True):
        expected = demand_lines(one)
        moved += sum(
            a.migration_month != b.migration_month for a, b in zip(source.systems, one.systems, strict=True)
        )
        for k, key in enumerate(data.keys):
            want = expected.get(key, np.zeros(horizon))
            np.testing.assert_allclose(
                demand[:, k], want, rtol=2e-5, atol=1e-3, err_msg=f"draw {number} {key}"
            )
    # the slips did move systems (else this proves nothing about departments)
    assert moved > len(source.systems)
