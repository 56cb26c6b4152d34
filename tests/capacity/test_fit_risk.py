"""Risk on the fit: the draws are the Monte Carlo's own, and with no uncertainty the probability is the fit's
own answer, 0 before the month a flavor finds no host and 1 from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cloudkit import system, write_data

from capacity.demand import demand_lines
from capacity.fit_risk import fit_risk
from capacity.risk import UncertaintyModel, demand_quantile, drawn_sources
from egov.source import load_source


def test_drawn_sources_are_the_monte_carlo_draws(tmp_path: Path) -> None:
    rows = [
        system(id="AAA-0001", vcpu=40, annual_growth="20%"),
        system(
            id="BBB-0001",
            department="BBB",
            vcpu=30,
            yearly_factors="1;1.5;2",
            annual_growth="",
            migration_month="2027-05",
        ),
    ]
    source = load_source(write_data(tmp_path / "data", systems=rows))
    for draws in (1, 3):
        # with one draw, the 'higher' quantile is that draw: the demand of the source the draw describes
        last = list(drawn_sources(source, draws, draws, seed=7))[-1]
        if draws == 1:
            drawn = demand_quantile(source, 0.5, draws=1, seed=7)
            for key, series in demand_lines(last).items():
                np.testing.assert_allclose(drawn[key], series, rtol=1e-5)
        assert len(list(drawn_sources(source, draws, 10, seed=7))) == draws


def test_without_uncertainty_the_fit_risk_is_the_fit(tmp_path: Path) -> None:
    # 3 hosts × 25 m1.large (2000 GiB disk ÷ 80 GiB per VM binds before vCPU and RAM) = 75 VMs.
    # 280 vCPU / 560 GiB = 70 m1.large in 2027; ×1.1 from 2028-01 (month 12) = 77 > 75: no host from then.
    rows = [system(vcpu=280, ram="560 GiB", yearly_factors="1;1.1", annual_growth="")]
    source = load_source(write_data(tmp_path / "data", systems=rows))
    certain = UncertaintyModel(growth_sigma_common=0, growth_sigma_system=0, slip_probability=0)
    risk = fit_risk(source, draws=3, risk_draws=3, seed=1, model=certain)
    (large,) = [f for f in risk.flavors if f.flavor == "m1.large"]
    assert large.no_host_by_month[:12].tolist() == [0.0] * 12
    assert large.no_host_by_month[12:].tolist() == [1.0] * 48
    assert large.p50_no_host == 12


def test_fit_draws_cannot_exceed_the_draws(tmp_path: Path) -> None:
    source = load_source(write_data(tmp_path / "data"))
    with pytest.raises(ValueError, match="fit draws"):
        fit_risk(source, draws=5, risk_draws=2)
