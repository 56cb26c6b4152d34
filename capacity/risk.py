"""Risk: Monte Carlo over uncertain growth and migration dates.

The deterministic check trusts every department's declared growth and migration month. Here each draw
perturbs both, and we count in how many draws each (resource, zone) line runs short and when.

The model (all draws independent; supply — installed hosts, pools, planned expansions — is certain):

- growth: a system's growth is multiplied by m = exp(σ_c·Z_c + σ_s·Z_s), where Z_c ~ N(0, 1) is ONE
  province-wide factor per draw (a policy push or a budget freeze moves every department together) and
  Z_s ~ N(0, 1) is each system's own factor. m has median 1. "Multiplied" means what a scenario's
  ``growth_multiplier`` means (capacity.demand.scaled_growth): an annual rate r becomes r·m, a yearly factor
  f becomes 1 + (f − 1)·m. With the defaults σ_c = 0.25, σ_s = 0.35, a 20 %/year system grows between
  about 12 % and 33 %/year in 80 % of draws.
- migration dates: each department independently migrates on time with probability 1 − p, otherwise all its
  systems slip by 1..max months (uniformly). Defaults p = 0.4, max = 12. Migrations never come early.

Per line we report the probability of a shortfall within the horizon and two shortfall months:
P50 — half of the draws run short by then; P90 — 90 % of the draws last at least until then, the month to
plan against (the 10th percentile of the shortfall month). A month beyond the horizon is reported as None.
The probability of meeting the five-year mandate is the share of draws with no shortfall on any line.

Computation is vectorised over (months × systems) in float32, one draw at a time. Random numbers are drawn
in blocks of RANDOM_BLOCK draws, block i from child i of the seed's SeedSequence, so the result depends on
the seed and the number of draws only, and memory stays bounded for any number of draws.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from capacity.demand import system_matrix
from capacity.supply import LineKey, build_supply
from egov.model import Planning, ResourceClass, SourceOfTruth
from egov.months import months_between

#: Draws per block of random numbers (see simulate).
RANDOM_BLOCK = 2048
#: Draws between two calls of simulate's ``progress`` (a call per draw would cost more than the draw).
PROGRESS_EVERY = 100


@dataclass(frozen=True)
class UncertaintyModel:
    """The spread of the Monte Carlo draws (see the module docstring)."""

    growth_sigma_common: float = 0.25
    growth_sigma_system: float = 0.35
    slip_probability: float = 0.4
    max_slip_months: int = 12

    def __post_init__(self) -> None:
        if self.growth_sigma_common < 0 or self.growth_sigma_system < 0:
            raise ValueError("growth sigmas must be ≥ 0")
        if not 0 <= self.slip_probability <= 1:
            raise ValueError("slip probability must be within 0..1")
        if self.max_slip_months < 1:
            raise ValueError("max slip must be at least 1 month")


@dataclass(frozen=True)
class LineRisk:
    resource: ResourceClass
    az: str
    probability_short: float  # share of draws with a shortfall within the horizon
    p50_shortfall: int | None  # month index; None: beyond the horizon
    p90_shortfall: int | None  # month index 90 % of the draws last until; None: beyond the horizon
    unit: str = ""  # the resource class's (egov.resources)


@dataclass(frozen=True)
class RiskResult:
    planning: Planning
    draws: int
    seed: int
    model: UncertaintyModel
    lines: list[LineRisk]
    probability_mandate: float  # share of draws with no shortfall anywhere in the horizon


def shortfall_quantile(first_short: np.ndarray, horizon: int, share_lasting: float) -> int | None:
    """The latest month such that at least ``share_lasting`` of the draws run short no earlier than it.

    ``first_short`` holds each draw's first shortfall month, ``horizon`` for none. share 0.5 → P50,
    0.9 → P90 (the planning month). None when that month lies beyond the horizon.
    """
    ordered = np.sort(first_short)
    index = int(np.floor((1.0 - share_lasting) * len(ordered) + 1e-9))
    month = int(ordered[min(index, len(ordered) - 1)])
    return None if month >= horizon else month


@dataclass(frozen=True)
class _Inputs:
    keys: list[LineKey]
    units: list[str]  # each line's unit
    usable: np.ndarray  # (months, lines) float32
    base: np.ndarray  # (systems, lines) float32, annual-rate systems first
    migration: np.ndarray  # (systems,) month index
    department: np.ndarray  # (systems,) index into the departments
    rates: np.ndarray  # (annual systems,)
    factors: np.ndarray  # (yearly systems, years), padded with each system's last factor
    departments: int


def _inputs(source: SourceOfTruth) -> _Inputs:
    supply = build_supply(source)
    keys = list(supply.lines)
    annual = [s for s in source.systems if s.growth.annual_rate is not None]
    yearly = [s for s in source.systems if s.growth.annual_rate is None]
    systems = annual + yearly
    demand_keys, matrix = system_matrix(source, systems)
    base = np.zeros((len(systems), len(keys)), dtype=np.float32)
    for k, key in enumerate(demand_keys):
        if key not in supply.lines:
            raise ValueError(f"demand on a line with no supply: {key}")
        base[:, keys.index(key)] = matrix[:, k]
    usable = np.stack([supply.lines[key].usable for key in keys], axis=1).astype(np.float32)
    codes = {d.code: i for i, d in enumerate(source.departments)}
    start = source.planning.start_month
    years = max((len(s.growth.yearly_factors or ()) for s in yearly), default=1)
    factors = np.ones((len(yearly), years), dtype=np.float32)
    for i, system in enumerate(yearly):
        row = system.growth.yearly_factors or (1.0,)
        factors[i, : len(row)] = row
        factors[i, len(row) :] = row[-1]
    return _Inputs(
        keys=keys,
        units=[supply.lines[key].unit for key in keys],
        usable=usable,
        base=base,
        migration=np.array([months_between(start, s.migration_month) for s in systems], dtype=np.int32),
        department=np.array([codes[s.department] for s in systems], dtype=np.int32),
        rates=np.array([s.growth.annual_rate for s in annual], dtype=np.float32),
        factors=factors,
        departments=len(codes),
    )


def _block(
    data: _Inputs, model: UncertaintyModel, block_seed: np.random.SeedSequence, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One block's random numbers: the common and per-system growth normals and each department's slip."""
    rng = np.random.default_rng(block_seed)
    z_common = rng.standard_normal(size, dtype=np.float32)
    z_system = rng.standard_normal((size, len(data.migration)), dtype=np.float32)
    late = rng.random((size, data.departments)) < model.slip_probability
    slip = rng.integers(1, model.max_slip_months + 1, size=late.shape, dtype=np.int32)
    return z_common, z_system, np.where(late, slip, 0).astype(np.int32)


def drawn_sources(
    source: SourceOfTruth, count: int, risk_draws: int, seed: int, model: UncertaintyModel | None = None
) -> Iterator[SourceOfTruth]:
    """The first ``count`` draws of a ``risk_draws``-draw Monte Carlo with ``seed`` — the same draws as
    :func:`simulate` — as whole sources of truth: each system's growth scaled by its draw's multiplier and its
    department's slip added to its migration month (for the fit, which needs systems, not sums)."""
    from capacity.demand import scaled_growth
    from egov.months import add_months

    model = model or UncertaintyModel()
    data = _inputs(source)
    annual = [s for s in source.systems if s.growth.annual_rate is not None]
    systems = annual + [s for s in source.systems if s.growth.annual_rate is None]
    position = {s.id: i for i, s in enumerate(systems)}
    codes = {d.code: i for i, d in enumerate(source.departments)}
    blocks = np.random.SeedSequence(seed).spawn(-(-risk_draws // RANDOM_BLOCK))
    for number, block_seed in enumerate(blocks):
        start = number * RANDOM_BLOCK
        if start >= count:
            return
        z_common, z_system, delay = _block(
            data, model, block_seed, min(risk_draws, start + RANDOM_BLOCK) - start
        )
        for j in range(min(count - start, len(z_common))):
            multiplier = np.exp(
                model.growth_sigma_common * z_common[j] + model.growth_sigma_system * z_system[j]
            )
            changed = []
            for system in source.systems:
                slip = int(delay[j, codes[system.department]])
                changed.append(
                    system.model_copy(
                        update={
                            "growth": scaled_growth(system.growth, float(multiplier[position[system.id]])),
                            "migration_month": add_months(system.migration_month, slip),
                        }
                    )
                )
            yield source.model_copy(update={"systems": changed})


def _demand_draws(
    data: _Inputs, horizon: int, draws: int, seed: int, model: UncertaintyModel
) -> Iterator[tuple[int, np.ndarray]]:
    """Each draw as (its number, demand of shape (months, lines) in the order of ``data.keys``), one draw at a
    time: a draw's month × system arrays (≈250 KB in float32) stay in the CPU's cache, and computing several
    draws together measured slower (10,000 draws, CPU: 3.2 s one at a time, 4.4 s four, 3.9 s sixteen, 5.8 s
    sixty-four at a time). The yielded array is reused: copy what you keep. ``simulate`` and
    ``demand_quantile`` consume the same draws."""
    n_systems, n_lines = data.base.shape
    n_annual = len(data.rates)
    months = np.arange(horizon, dtype=np.float32)[:, None]
    years = data.factors.shape[1]
    flat_factors = data.factors.ravel()
    factor_rows = (np.arange(len(data.factors), dtype=np.float32) * years)[None, :]
    # Buffers reused by every draw: fresh arrays per draw cost page faults, not arithmetic.
    tau = np.empty((horizon, n_systems), dtype=np.float32)
    curves = np.empty_like(tau)
    live = np.empty(tau.shape, dtype=bool)
    year = np.empty((horizon, n_systems - n_annual), dtype=np.float32)
    demand = np.empty((horizon, n_lines), dtype=np.float32)
    # Random numbers come in blocks of RANDOM_BLOCK draws, each from its own child of the seed: memory stays
    # bounded for any number of draws, and draw i is the same whatever the total — except in a last, partial
    # block, whose numbers are drawn for its own size.
    blocks = np.random.SeedSequence(seed).spawn(-(-draws // RANDOM_BLOCK))
    # One BLAS thread: each draw's product is small, and on a busy machine BLAS threads spin instead of work.
    with threadpool_limits(limits=1, user_api="blas"):
        for number, block_seed in enumerate(blocks):
            start = number * RANDOM_BLOCK
            stop = min(draws, start + RANDOM_BLOCK)
            z_common, z_system, delay = _block(data, model, block_seed, stop - start)
            for j in range(stop - start):
                multiplier = np.exp(
                    model.growth_sigma_common * z_common[j] + model.growth_sigma_system * z_system[j]
                )
                shift = (data.migration + delay[j][data.department]).astype(np.float32)
                np.subtract(months, shift, out=tau)  # (months, systems): months since migration
                np.greater_equal(tau, 0, out=live)
                if n_annual:
                    # (1 + r·m)^(τ/12) = exp(τ · log1p(r·m) / 12); before migration (τ < 0) the mask zeroes
                    # it, and |τ · log1p(r·m) / 12| stays far below float32's range: no clamp of τ needed.
                    rate = np.maximum(data.rates * multiplier[:n_annual], np.float32(-0.9))
                    per_month = np.log1p(rate) / np.float32(12.0)
                    np.multiply(tau[:, :n_annual], per_month, out=curves[:, :n_annual])
                    np.exp(curves[:, :n_annual], out=curves[:, :n_annual])
                if n_annual < n_systems:
                    # whole years since migration (τ·(1/12) rounds up at multiples of 12 in float32, so
                    # floor is exact for integral τ), clamped to the list; the last factor holds beyond it
                    np.multiply(tau[:, n_annual:], np.float32(1.0 / 12.0), out=year)
                    np.floor(year, out=year)
                    np.clip(year, 0, years - 1, out=year)
                    year += factor_rows
                    factor = flat_factors[year.astype(np.intp)]
                    grown = 1.0 + (factor - 1.0) * multiplier[n_annual:]
                    np.maximum(grown, np.float32(0.01), out=curves[:, n_annual:])
                curves *= live
                np.matmul(curves, data.base, out=demand)
                yield start + j, demand


def simulate(
    source: SourceOfTruth,
    draws: int,
    seed: int = 0,
    model: UncertaintyModel | None = None,
    progress: Callable[[int], None] | None = None,
) -> RiskResult:
    """Run ``draws`` Monte Carlo draws of demand against the supply of ``source``; ``progress`` is called
    with the number of draws done, every PROGRESS_EVERY draws and at the end."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    model = model or UncertaintyModel()
    data = _inputs(source)
    horizon = source.planning.horizon_months
    threshold = data.usable * np.float32(1.0 + 1e-7) + np.float32(1e-6)
    first_short = np.empty((draws, len(data.keys)), dtype=np.int32)
    short = np.empty(threshold.shape, dtype=bool)
    for draw, demand in _demand_draws(data, horizon, draws, seed, model):
        np.greater(demand, threshold, out=short)
        first_short[draw] = np.where(short.any(axis=0), short.argmax(axis=0), horizon)
        if progress is not None and ((draw + 1) % PROGRESS_EVERY == 0 or draw + 1 == draws):
            progress(draw + 1)
    lines = [
        LineRisk(
            resource=key[0],
            az=key[1],
            probability_short=float(np.mean(first_short[:, k] < horizon)),
            p50_shortfall=shortfall_quantile(first_short[:, k], horizon, 0.5),
            p90_shortfall=shortfall_quantile(first_short[:, k], horizon, 0.9),
            unit=data.units[k],
        )
        for k, key in enumerate(data.keys)
    ]
    mandate = float(np.mean(np.all(first_short >= horizon, axis=1)))
    return RiskResult(source.planning, draws, seed, model, lines, mandate)


def demand_quantile(
    source: SourceOfTruth,
    share: float,
    draws: int = 10_000,
    seed: int = 0,
    model: UncertaintyModel | None = None,
) -> dict[LineKey, np.ndarray]:
    """Per line and month, the demand that ``share`` of the draws stay at or below (0.9 → the 90th
    percentile): the same draws, seed by seed, as :func:`simulate`. A plan sized on it meets the target in
    at least that share of the draws, line by line and month by month."""
    if not 0 < share < 1:
        raise ValueError("the confidence must lie strictly between 0 and 1")
    model = model or UncertaintyModel()
    data = _inputs(source)
    keys = data.keys
    horizon = source.planning.horizon_months
    every = np.empty((draws, horizon, len(keys)), dtype=np.float32)
    for draw, demand in _demand_draws(data, horizon, draws, seed, model):
        every[draw] = demand
    quantile = np.quantile(every, share, axis=0, method="higher")
    return {key: quantile[:, k].astype(float) for k, key in enumerate(keys)}
