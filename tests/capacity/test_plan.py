"""The procurement plan: a hand-computed cheapest plan, the building's power forcing a dearer model, bad price
lists, and the default plan proven by check, fit and building through its scenario file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudkit import cloud, system, write_data
from typer.testing import CliRunner

from capacity.building import assess_building
from capacity.plan import make_plan
from capacity.prices import Prices, load_prices
from capacity.scenario import scenario_run
from egov.building import Building
from egov.cli import app
from egov.errors import SourceErrors
from egov.model import SourceOfTruth
from egov.source import load_source

# m56: (56 − 8) × 4 = 192 vCPU for 100,000 CNY (521 CNY a vCPU); m112: (112 − 8) × 4 = 416 vCPU for
# 150,000 CNY (361 CNY a vCPU). Local disks large enough that only vCPU and RAM bind the fit.
PRICES: dict[str, Any] = {
    "discount_rate": "5%",
    "order_window_months": 6,
    "hosts": {"m56": {"price": "100000 CNY"}, "m112": {"price": "150000 CNY"}},
}


def _cloud(m112_typical: str = "900 W") -> dict[str, Any]:
    data = cloud()
    data["host_models"]["m56"].update(
        local_disk="20000 GiB", rack_units=1, power_typical="300 W", power_max="400 W"
    )
    data["host_models"]["m112"] = {
        "cores": 112,
        "ram": "1 TiB",
        "local_disk": "20000 GiB",
        "rack_units": 2,
        "power_typical": m112_typical,
        "power_max": "1200 W",
    }
    data["availability_zones"][0]["aggregates"].append(
        {"name": "agg-b", "host_model": "m112", "hosts": 0, "metadata": {"class": "general"}}
    )
    for pool in data["storage_pools"]:
        pool["enclosure"] = {"disks": 12, "rack_units": 1, "power_typical": "0 W", "power_max": "0 W"}
    return data


def _source(tmp_path: Path) -> SourceOfTruth:
    # 400 vCPU from the start (needs 500 with 20 % free: 576 suffice); 300 more from 2029-01 (month 24):
    # 700 ÷ 0.8 = 875 → 299 vCPU short of the target: one m112 (416, 150,000 CNY) beats two m56 (384,
    # 200,000 CNY). Both systems are m1.large VMs (4 vCPU, 8 GiB): 100 + 75.
    rows = [
        system(id="AAA-0001", vcpu=400, ram="800 GiB", block_storage="1 GB"),
        system(id="AAA-0002", vcpu=300, ram="600 GiB", block_storage="1 GB", migration_month="2029-01"),
    ]
    return load_source(write_data(tmp_path / "data", cloud_data=_cloud(), systems=rows))


def _room(power: str) -> Building:
    feed = {"voltage": "400 V", "amperage": "63 A", "phase": "three-phase"}
    return Building.model_validate(
        {
            "name": "楼",
            "rooms": [
                {
                    "name": "R1",
                    "zones": ["az-a", "region"],
                    "max_rack_units": 42,
                    "cooling": "100 kW",
                    "pue": {"fixed_overhead": "1 kW", "cooling_by_month": [0.1] * 12},
                    "rows": [
                        {
                            "name": "A",
                            "racks": 1,
                            "rack_units": 42,
                            "rack_power": power,
                            "feeds": {"A": {"name": "a", **feed}, "B": {"name": "b", **feed}},
                        }
                    ],
                }
            ],
        }
    )


def test_the_cheaper_model_bought_as_late_as_it_may_be(tmp_path: Path) -> None:
    plan = make_plan(_source(tmp_path), Prices.model_validate(PRICES))
    assert plan.proven, plan.failures
    # delivered in 2029-01 (month 24) exactly: ordered in the 2028-07 window with the 6-month lead time
    bought = [(t.option.target, t.count, t.order_by, t.deliver) for t in plan.tranches]
    assert bought == [("agg-b", 1, 18, 24)]
    assert plan.total_cost == 150_000
    assert plan.present_value == pytest.approx(150_000 / 1.05**1.5)


def test_a_room_whose_power_runs_out_first_takes_the_leaner_model(tmp_path: Path) -> None:
    source = _source(tmp_path)
    # 3 m56 draw 900 W today; a 1.6 kW rack leaves 700 W: no m112 (900 W) fits though 39 U are free,
    # two m56 (600 W, 384 vCPU ≥ 299) do — the dearer plan, 200,000 CNY.
    room = _room("1.6 kW")
    assert assess_building(source, room).rooms[0].first_exhausted["power"] is None
    plan = make_plan(source, Prices.model_validate(PRICES), room)
    assert plan.proven, plan.failures
    assert [(t.option.target, t.count, t.deliver) for t in plan.tranches] == [("agg-a", 2, 24)]
    assert plan.total_cost == 200_000


@pytest.mark.parametrize(
    ("prices", "field", "words"),
    [
        ({"hosts": {"m99": {"price": "1 CNY"}}}, "hosts", "unknown host model 'm99'"),
        ({"hosts": {"m56": {"price": "-5 CNY"}}}, "hosts.m56.price", "negative"),
        ({"hosts": {"m56": {"price": 100000}}}, "hosts.m56.price", "no unit"),
        ({"disks": {"nowhere": {"price": "1 CNY"}}}, "disks", "unknown storage pool"),
    ],
)
def test_bad_prices_name_file_and_field(
    tmp_path: Path, prices: dict[str, Any], field: str, words: str
) -> None:
    source = _source(tmp_path)
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(prices), encoding="utf-8")
    with pytest.raises(SourceErrors) as caught:
        load_prices(path, source.cloud)
    assert any(e.field == field and words in e.message for e in caught.value.errors), caught.value.errors


def test_bad_prices_write_nothing(tmp_path: Path) -> None:
    root = write_data(tmp_path / "data", cloud_data=_cloud())
    (root / "prices.yaml").write_text("hosts: {m56: {price: -1 CNY}}\n", encoding="utf-8")
    scenario = tmp_path / "plan.yaml"
    result = CliRunner().invoke(
        app, ["capacity", "plan", "--data", str(root), "--format", "json", "--scenario-out", str(scenario)]
    )
    assert result.exit_code == 2 and result.stdout == "" and not scenario.exists()
    assert "prices.yaml, field 'hosts.m56.price'" in result.stderr


def test_the_default_plan_applied_keeps_every_line_every_vm_and_the_building(tmp_path: Path) -> None:
    scenario = tmp_path / "plan.yaml"
    result = CliRunner().invoke(
        app, ["capacity", "plan", "--format", "json", "--scenario-out", str(scenario)]
    )
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["proven"] and plan["tranches"]
    for tranche in plan["tranches"]:
        assert tranche["order_by"] < tranche["deliver"] and tranche["cost"].endswith(" CNY")
        assert tranche["kind"] in ("host", "disk") and tranche["count"] > 0
    assert plan["total_cost"] == f"{sum(int(t['cost'].split()[0]) for t in plan['tranches'])} CNY"
    assert [len(room["pue"]) for room in plan["building"]] == [60, 60]
    # the plan costs no more than the one-shot purchase per class (grown until the fit places every VM); on
    # the default the one-shot on the sums alone leaves general VMs without a host
    total, naive = (int(plan[k].split()[0]) for k in ("total_cost", "naive_cost"))
    assert plan["naive_proven"] and total <= naive
    assert int(plan["naive_sums_cost"].split()[0]) <= naive
    # the trim pass ran to its end and did not raise the cost of the first proven plan
    assert not plan["trim"]["capped"] and total <= int(plan["trim"]["cost_before"].split()[0])
    # the written scenario, run through the check as a planner would
    run = scenario_run(load_source(None), scenario)
    assert run.assessment.keeps_target
    check = CliRunner().invoke(app, ["capacity", "check", "--scenario", str(scenario), "--format", "json"])
    document = json.loads(check.stdout)
    assert all(zone["first_month_unplaced"] is None for zone in document["fit"]["zones"])
    assert all(v is None for room in document["building"] for v in room["first_exhausted"].values())


def test_a_yearly_budget_cap_spreads_the_orders_or_is_named(tmp_path: Path) -> None:
    source = _source(tmp_path)
    # 140,000 CNY a year: no m112 (150,000) at all; two m56 (100,000 each) ordered in different years
    capped = make_plan(source, Prices.model_validate({**PRICES, "yearly_budget": "140000 CNY"}))
    assert capped.proven and capped.total_cost == 200_000
    years = [source.planning.month(t.order_by).year for t in capped.tranches for _ in range(t.count)]
    assert [t.option.target for t in capped.tranches] == ["agg-a", "agg-a"] and len(set(years)) == 2
    # 90,000 CNY a year buys nothing: the plan says which constraint stands in the way
    broke = make_plan(source, Prices.model_validate({**PRICES, "yearly_budget": "90000 CNY"}))
    assert not broke.proven and "yearly budget cap" in broke.failures[0]


def test_confidence_sizes_on_the_drawn_demand(tmp_path: Path) -> None:
    from capacity.risk import demand_quantile
    from capacity.supply import build_supply

    source = _source(tmp_path)
    prices = Prices.model_validate(PRICES)
    nominal = make_plan(source, prices)
    sure = make_plan(source, prices, confidence=0.9, draws=400, seed=3)
    assert sure.proven, sure.failures
    assert sure.total_cost >= nominal.total_cost and sure.confidence == 0.9
    # with the tranches, every line keeps the target against the 90 % demand of the same draws
    drawn = demand_quantile(source, 0.9, draws=400, seed=3)
    usable = build_supply(sure.applied).lines
    for key, demand in drawn.items():
        assert (demand <= 0.8 * usable[key].usable + 1e-6).all(), key


def test_plan_workbook_is_byte_identical(tmp_path: Path) -> None:
    from capacity.plan_present import plan_workbook

    source = _source(tmp_path)
    prices = Prices.model_validate(PRICES)
    first = plan_workbook(make_plan(source, prices))
    assert first == plan_workbook(make_plan(source, prices)) and first[:2] == b"PK"


def test_a_plan_made_on_a_scenario_writes_that_scenario_with_the_tranches(tmp_path: Path) -> None:
    source = _source(tmp_path)
    root = tmp_path / "data"
    (root / "prices.yaml").write_text(yaml.safe_dump(PRICES), encoding="utf-8")
    (tmp_path / "fast.yaml").write_text("growth_multiplier: 1.5\n", encoding="utf-8")
    written = tmp_path / "plan.yaml"
    args = ["--data", str(root), "--scenario", str(tmp_path / "fast.yaml"), "--scenario-out", str(written)]
    result = CliRunner().invoke(app, ["capacity", "plan", "--format", "json", *args])
    assert result.exit_code == 0, result.stderr
    document = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert document["growth_multiplier"] == 1.5 and document["expansions"]
    assert scenario_run(source, written).assessment.keeps_target


def _trim(
    source: SourceOfTruth, bought: list[tuple[str, int, int]], max_proofs: int = 50, lines: bool = True
) -> Any:
    """``bought`` — (aggregate, count, order month) — trimmed by the plan's trim pass, with its prover
    (``lines=False``: no line to keep above target, the fit alone proves)."""
    from capacity.demand import demand_lines
    from capacity.fit import Weigher
    from capacity.plan import Tranche, _Prover, options_of, trim

    prices = Prices.model_validate(PRICES)
    options = {o.target: o for o in options_of(source, prices)}
    tranches = [Tranche(m, m + options[a].lead, options[a], n) for a, n, m in bought]
    need = {key: d / (1 - source.planning.headroom_target) for key, d in demand_lines(source).items()}
    prover = _Prover(source, prices, need if lines else {}, None, None, Weigher.spread, max_proofs)
    kept = trim(tranches, prover, prices, source.planning.horizon_months)
    return [(t.option.target, t.count, t.order_by, t.deliver) for t in kept], prover


def test_the_trim_takes_out_exactly_what_was_over_bought(tmp_path: Path) -> None:
    source = _source(tmp_path)
    # Over-bought by hand: three m56 from 2027-07 (none is needed: 576 vCPU carry 400 ÷ 0.8 = 500) and a
    # second m112 a year early. Largest cost first: 3 m56 → 2 holds, → 0 holds (2 proofs); the m112 of 2027-07
    # → 0 holds, the 2028-07 one still delivers in 2029-01 (1 proof); the last m112 → 0 fails: 299 vCPU
    # short from 2029-01 (1 proof); one window later it would deliver in 2029-07, too late (1 proof).
    kept, prover = _trim(source, [("agg-a", 3, 0), ("agg-b", 1, 6), ("agg-b", 1, 18)])
    assert kept == [("agg-b", 1, 18, 24)]
    assert prover.proofs == 5 and not prover.exhausted


def test_the_trim_postpones_an_order_to_the_last_window_that_delivers_in_time(tmp_path: Path) -> None:
    # the one m112 is needed from 2029-01 (month 24); ordered at the start, it moves 0 → 6 → 12 → 18 and no
    # further: ordered in 2029-01 it would deliver in 2029-07
    kept, prover = _trim(_source(tmp_path), [("agg-b", 1, 0)])
    assert kept == [("agg-b", 1, 18, 24)] and prover.proofs == 5


def test_the_trim_stops_at_its_proof_cap_and_keeps_only_proven_steps(tmp_path: Path) -> None:
    kept, prover = _trim(_source(tmp_path), [("agg-a", 3, 0), ("agg-b", 1, 18)], max_proofs=1)
    # one proof: 3 m56 → 2 holds, then the cap; everything else as it was
    assert kept == [("agg-a", 2, 0, 6), ("agg-b", 1, 18, 24)] and prover.exhausted


def test_a_plan_records_its_trim(tmp_path: Path) -> None:
    plan = make_plan(_source(tmp_path), Prices.model_validate(PRICES))
    assert plan.trim is not None and plan.trim.cost_before >= plan.total_cost and not plan.trim.capped


def test_the_trim_keeps_what_the_fit_needs_when_no_line_asks_for_it(tmp_path: Path) -> None:
    # no line target at all: only the fit proves. From 2029-01 the 175 m1.large VMs (700 vCPU) exceed the
    # 3 m56 (576 vCPU: 144 VMs), so the m112 stays, and stays delivered in 2029-01.
    kept, prover = _trim(_source(tmp_path), [("agg-b", 1, 18)], lines=False)
    assert kept == [("agg-b", 1, 18, 24)] and prover.proofs == 2


def _two_steps(tmp_path: Path) -> SourceOfTruth:
    # 400 vCPU from the start, 300 more from 2029-01 (month 24), 400 more from 2031-01 (month 48); m1.large
    # VMs (4 vCPU, 8 GiB): 100 + 75 + 100.
    rows = [
        system(id="AAA-0001", vcpu=400, ram="800 GiB", block_storage="1 GB"),
        system(id="AAA-0002", vcpu=300, ram="600 GiB", block_storage="1 GB", migration_month="2029-01"),
        system(id="AAA-0003", vcpu=400, ram="800 GiB", block_storage="1 GB", migration_month="2031-01"),
    ]
    return load_source(write_data(tmp_path / "data", cloud_data=_cloud(), systems=rows))


def test_the_staged_plan_costs_no_more_than_the_one_shot_per_class(tmp_path: Path) -> None:
    # One-shot on the class's sums: 1,100 vCPU ÷ 0.8 = 1,375 − 576 = 799 vCPU and 2,200 GiB ÷ 0.8 = 2,750 −
    # 1,536 = 1,214 GiB short at the peak: two m112 (832 vCPU, 2 TiB; 300,000 CNY) beat five m56 (500,000).
    # First needed in 2029-01: ordered in one go in the 2028-07 window. The fit places all 275 VMs with it.
    # Staged: one m112 for 2029-01 (299 vCPU short) ordered 2028-07, one for 2031-01 (383 more) ordered
    # 2030-07 — the same 300,000 CNY, paid later: present value 150,000 ÷ 1.05^1.5 + 150,000 ÷ 1.05^3.5.
    source = _two_steps(tmp_path)
    plan = make_plan(source, Prices.model_validate(PRICES))
    assert plan.proven, plan.failures
    naive = plan.naive
    assert naive is not None and naive.feasible and naive.proven and naive.unplaced_months == 0
    assert [(t.option.target, t.count, t.order_by, t.deliver) for t in naive.tranches] == [
        ("agg-b", 2, 18, 24)
    ]
    assert naive.sums_cost == naive.cost == plan.naive_cost == 300_000
    assert [(t.option.target, t.count, t.order_by) for t in plan.tranches] == [
        ("agg-b", 1, 18),
        ("agg-b", 1, 42),
    ]
    assert plan.total_cost == 300_000 <= plan.naive_cost
    assert plan.present_value == pytest.approx(150_000 / 1.05**1.5 + 150_000 / 1.05**3.5)
    assert not plan.from_one_shot


def _three_vms_per_host(tmp_path: Path) -> SourceOfTruth:
    # No headroom target. Eleven 49-vCPU VMs (539 vCPU) on three m56 (192 vCPU each, 576 in all): the sums
    # carry them, but a host takes three (four need 196), so two find no host from the first month.
    from cloudkit import PLANNING

    data = _cloud()
    data["flavors"] = [{"name": "c49", "vcpus": 49, "ram": "8 GiB", "disk": "10 GiB"}]
    rows = [system(id="AAA-0001", vcpu=539, ram="32 GiB", block_storage="1 GB")]
    planning = {**PLANNING, "headroom_target": "0%"}
    return load_source(write_data(tmp_path / "data", cloud_data=data, planning=planning, systems=rows))


def test_a_one_shot_the_fit_refutes_is_grown_until_it_places_every_vm(tmp_path: Path) -> None:
    # The sums buy nothing; the fit leaves two VMs without a host in all 60 months. Grown: one m56 (three more
    # VMs; 100,000 CNY, cheaper than an m112), needed from the first month: overdue (ordered 2026-07).
    plan = make_plan(_three_vms_per_host(tmp_path), Prices.model_validate(PRICES))
    naive = plan.naive
    assert naive is not None and naive.sums == [] and naive.sums_cost == 0
    assert not naive.feasible and naive.unplaced_months == 60 and naive.proven
    grown = [(t.option.target, t.count, t.order_by, t.deliver) for t in naive.tranches]
    assert grown == [("agg-a", 1, -6, 0)]
    assert plan.naive_cost == 100_000
    assert plan.proven and plan.total_cost <= 100_000


def test_a_plan_the_rounds_over_buy_falls_back_to_the_proven_one_shot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The solver made to over-buy (ten m56 at the start, 1,000,000 CNY) and no trim proof allowed: the proven
    # one-shot (two m112, 300,000 CNY) is a cheaper plan, and the plan takes it.
    import capacity.plan as plan_module

    def extravagant(source: SourceOfTruth, prices: Prices, options: list[Any], *_: Any) -> Any:
        return [(next(o for o in options if o.target == "agg-a"), 0, 10)]

    monkeypatch.setattr(plan_module, "_solve", extravagant)
    plan = make_plan(_two_steps(tmp_path), Prices.model_validate(PRICES), max_trim_proofs=0)
    assert plan.proven and plan.from_one_shot
    assert [(t.option.target, t.count, t.order_by) for t in plan.tranches] == [("agg-b", 2, 18)]
    assert plan.total_cost == plan.naive_cost == 300_000


@pytest.mark.usefixtures("chinese_by_default")
def test_plan_xlsx_reads_back_sheets_a_tranche_and_chinese_headers(tmp_path: Path) -> None:
    """`egov capacity plan --format xlsx`: the workbook read back with openpyxl — its sheets, the one tranche
    of the hand-computed case above (one m112 into agg-b, ordered 2028-07 for 2029-01, 150,000 CNY) cell by
    cell, and zh-CN headers unless --lang en."""
    from openpyxl import load_workbook

    _source(tmp_path)
    root = tmp_path / "data"
    (root / "prices.yaml").write_text(yaml.safe_dump(PRICES), encoding="utf-8")
    books = {}
    for lang in ("zh-CN", "en"):
        out = tmp_path / lang
        args = ["--data", str(root), "--format", "xlsx", "--out", str(out)]
        result = CliRunner().invoke(
            app, ["capacity", "plan", *args] + (["--lang", lang] if lang == "en" else [])
        )
        assert result.exit_code == 0, result.stderr
        books[lang] = load_workbook(out / "capacity-plan.xlsx")
    zh, en = books["zh-CN"], books["en"]
    assert zh.sheetnames[:2] == ["采购计划", "一次性采购"] and en.sheetnames[:2] == ["Plan", "One-shot"]
    plan = [list(row) for row in zh["采购计划"].iter_rows(values_only=True)]
    assert plan[0] == [
        "下单截止",
        "交付",
        "类型",
        "型号",
        "数量",
        "放入",
        "费用（元）",
        "功率（kW）",
        "机架单元（U）",
    ]
    # m112: 2 U; power as capacity.plan sizes a tranche (count × the model's typical draw, 900 W)
    assert plan[1][:7] == ["2028-07", "2029-01", "主机", "m112", 1, "agg-b", 150000]
    assert plan[1][7:] == [0.9, 2]
    assert en["Plan"].cell(1, 1).value == "order by"
    assert ["合计", None, None, None, None, None, 150000] in [r[:7] for r in plan]
    # the one-shot sheet has the same columns (one helper writes both)
    assert next(zh["一次性采购"].iter_rows(max_row=1, values_only=True)) == tuple(plan[0])
