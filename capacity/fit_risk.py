"""Risk on the fit: the probability that a flavor finds no host by month m, beside the sums' P50/P90.

The sums' Monte Carlo (capacity.risk) counts demand against usable capacity; a VM needs one host with room.
Here the first N draws of the same Monte Carlo (same seed, same random numbers, capacity.risk.drawn_sources)
are each run through the fit simulator (capacity.fit), and for every zone and flavor we note the first month
in which not one more VM of the flavor would find a host (Placement's answer: fits = 0). The probability by
month m is the share of draws whose first such month is m or earlier. A fit costs about a second, so N is
small (tens): the figures carry the sampling error of N draws (± about 1/√N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capacity.fit import Weigher, simulate
from capacity.risk import UncertaintyModel, drawn_sources, shortfall_quantile
from egov.model import SourceOfTruth


@dataclass(frozen=True)
class FlavorRisk:
    az: str
    flavor: str
    no_host_by_month: np.ndarray  # per month: share of draws in which the flavor has found no host by then
    p50_no_host: int | None  # month by which half the draws find no host; None beyond the horizon


@dataclass(frozen=True)
class FitRisk:
    draws: int
    risk_draws: int
    seed: int
    weigher: Weigher
    flavors: list[FlavorRisk]


def fit_risk(
    source: SourceOfTruth,
    draws: int,
    risk_draws: int = 10_000,
    seed: int = 0,
    model: UncertaintyModel | None = None,
    weigher: Weigher = Weigher.spread,
) -> FitRisk:
    """Run the first ``draws`` of the ``risk_draws``-draw Monte Carlo through the fit (module docstring)."""
    if not 1 <= draws <= risk_draws:
        raise ValueError("fit draws must be between 1 and the Monte Carlo's draws")
    horizon = source.planning.horizon_months
    classes = {
        (az.name, agg.metadata.get("class", "general"))
        for az in source.cloud.availability_zones
        for agg in az.aggregates
    }
    keys = [
        (az.name, f.name)
        for az in source.cloud.availability_zones
        for f in source.cloud.flavors
        if (az.name, f.aggregate_class) in classes
    ]
    first = np.full((draws, len(keys)), horizon, dtype=np.int64)
    for d, drawn in enumerate(drawn_sources(source, draws, risk_draws, seed, model)):
        report = simulate(drawn, weigher)
        for k, key in enumerate(keys):
            for m, month in enumerate(report.months):
                if month.flavor_fits.get(key, 0) == 0:
                    first[d, k] = m
                    break
    months = np.arange(horizon)
    flavors = [
        FlavorRisk(
            az=az,
            flavor=flavor,
            no_host_by_month=(first[:, k][:, None] <= months[None, :]).mean(axis=0),
            p50_no_host=shortfall_quantile(first[:, k], horizon, 0.5),
        )
        for k, (az, flavor) in enumerate(keys)
    ]
    return FitRisk(draws, risk_draws, seed, weigher, flavors)
