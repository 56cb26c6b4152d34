"""The whole province: the JSON contract, conservation of traffic, failures that must shift load, the CLI."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from egov.units import parse_quantity
from network import capacity_present
from network.cli import app
from network.linkload import (
    CapacityInputs,
    capacity_report,
    evaluate,
    failures_for,
    free_capacity_on_path,
    load_capacity_inputs,
    report_json,
)
from network.paths import BACKBONE_AREA
from network.traffic import DC

DATA = Path(__file__).resolve().parents[2] / "data"
runner = CliRunner()


@pytest.fixture(scope="module")
def inputs() -> CapacityInputs:
    return load_capacity_inputs(DATA)


@pytest.fixture(scope="module")
def doc(inputs: CapacityInputs):  # type: ignore[no-untyped-def]
    report = capacity_report(evaluate(inputs.model, failures_for(inputs, "srlg")), inputs.params)
    return report, report_json(report)


def _link(doc: dict, a: str, b: str, tier: str) -> dict:
    return next(x for x in doc["links"] if x["a"] == a and x["b"] == b and x["tier"] == tier)


def test_json_contract(inputs: CapacityInputs, doc) -> None:  # type: ignore[no-untyped-def]
    _, body = doc
    assert set(body) == {"links", "sites", "upgrades", "failures_evaluated"}
    graph = inputs.graph
    assert body["failures_evaluated"] == len(graph.circuits) + len(graph.devices) + 4
    assert len(body["links"]) == len(graph.circuits)
    for link in body["links"]:
        assert set(link) == {
            "a", "b", "tier", "capacity", "peak_utilisation", "worst_utilisation", "worst_failure",
            "first_over_target",
        }  # fmt: skip
        assert parse_quantity(link["capacity"], "bit/s").to("bit/s").magnitude > 0
        assert 0 <= link["peak_utilisation"] <= link["worst_utilisation"]
    assert {s["site"] for s in body["sites"]} == set(inputs.model.demand.sites)
    assert all(parse_quantity(s["demand_peak"], "bit/s").magnitude > 0 for s in body["sites"])
    for upgrade in body["upgrades"]:
        assert upgrade["order_by"] < upgrade["first_over_target"]
        assert parse_quantity(upgrade["to"], "bit/s") > parse_quantity(upgrade["from"], "bit/s")


def test_traffic_is_conserved(inputs: CapacityInputs) -> None:
    """Everything the sites send arrives at the hubs, and everything the hubs send at the sites."""
    model = inputs.model
    demand = model.demand
    graph = model.graph
    into_hubs = sum(model.nominal[2 * c.index] for c in graph.circuits if c.plane == "attachment")
    out_of_hubs = sum(model.nominal[2 * c.index + 1] for c in graph.circuits if c.plane == "attachment")
    down, up = demand.site_totals()
    transfers = sum(series for _, _, series in demand.transfers)
    assert np.allclose(into_hubs, up.sum(axis=0) + transfers)
    assert np.allclose(out_of_hubs, down.sum(axis=0) + transfers)
    # a town's uplink carries exactly its own users' traffic
    town = "GD-TOWN-440103001"
    circuit = next(c for c in graph.circuits if c.b == town)
    users = dict(zip(demand.sites, demand.users, strict=True))[town]
    assert np.allclose(model.nominal[2 * circuit.index], users * demand.down.sum(axis=0))


def test_a_city_loses_its_primary_and_the_backup_takes_it_all(doc) -> None:  # type: ignore[no-untyped-def]
    _, body = doc
    for city in ("GD-CITY-440100", "GD-CITY-445300"):
        primary = _link(body, "GD-CORE-01", city, "province_city")
        backup = _link(body, "GD-CORE-02", city, "backup.city_uplink")
        assert backup["peak_utilisation"] == 0
        assert backup["worst_utilisation"] == pytest.approx(primary["peak_utilisation"], abs=1e-4)
        assert backup["worst_failure"] in {f"circuit GD-CORE-01–{city}", "router GD-CORE-01"}
        assert primary["worst_failure"] is None


def test_the_dc_attachments_cover_each_other(doc) -> None:  # type: ignore[no-untyped-def]
    _, body = doc
    one = _link(body, "GD-ACC-01", DC, "dc_access")
    assert one["worst_utilisation"] == pytest.approx(2 * one["peak_utilisation"], rel=1e-3)
    assert one["worst_failure"] in {"circuit GD-ACC-02–cloud-dc", "router GD-ACC-02"}
    upgrade = next(u for u in body["upgrades"] if u["a"] == "GD-ACC-01" and u["b"] == DC)
    # ordered the lead time (4 months) before the first month over the target
    first = date.fromisoformat(upgrade["first_over_target"] + "-01")
    order = date.fromisoformat(upgrade["order_by"] + "-01")
    assert (first.year - order.year) * 12 + first.month - order.month == 4
    assert upgrade["utilisation_after"] <= 0.7


def test_an_srlg_fails_all_its_circuits_together(inputs: CapacityInputs) -> None:
    model = inputs.model
    group = next(f for f in failures_for(inputs, "srlg") if f.name == "srlg 省核心互联光缆")
    assert len(group.circuits) == 2
    loads = model.loads(group)
    for c in group.circuits:
        assert not loads[2 * c].any() and not loads[2 * c + 1].any()
    # the same traffic still reaches the hubs
    into = [2 * c.index for c in model.graph.circuits if c.plane == "attachment"]
    assert np.allclose(loads[into].sum(axis=0), model.nominal[into].sum(axis=0))


def test_free_capacity_of_a_department_on_its_routed_path(inputs: CapacityInputs) -> None:
    month = date(2027, 3, 1)
    free = free_capacity_on_path("GAT", month, inputs).to("Gbit/s").magnitude
    # two 10G attachments at 70 %, minus what they already carry: between 0 and 2 × 7 Gbit/s
    assert 0 < free <= 14
    with pytest.raises(KeyError):
        free_capacity_on_path("NOPE", month, inputs)


def test_cli_json_is_the_contract_and_byte_identical(tmp_path: Path) -> None:
    args = ["capacity", "--failures", "none", "--format", "json", "--month", "2029-06", "--data", str(DATA)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert body["failures_evaluated"] == 0
    assert all(x["worst_failure"] is None for x in body["links"])
    again = runner.invoke(app, [*args, "--out", str(tmp_path / "c.json")])
    assert again.exit_code == 0
    assert (tmp_path / "c.json").read_text(encoding="utf-8") == first.stdout


def test_cli_bad_inputs_name_file_row_field(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    bad = runner.invoke(app, ["capacity", "--month", "2040-01", "--failures", "none", "--data", str(data)])
    assert bad.exit_code == 2 and "2040-01" in bad.output and "horizon" in bad.output
    (data / "traffic.yaml").write_text(
        (DATA / "traffic.yaml").read_text(encoding="utf-8").replace("town: 80", "town: -80"), encoding="utf-8"
    )
    bad = runner.invoke(app, ["capacity", "--failures", "none", "--data", str(data)])
    assert bad.exit_code == 2
    assert "traffic.yaml" in bad.output and "users_per_site.town" in bad.output and "-80" in bad.output
    assert "row " in bad.output
    # nothing written: an earlier report stays as it was, a new file is not created
    earlier = tmp_path / "earlier.json"
    earlier.write_text("{}\n", encoding="utf-8")
    for fmt, out in (("json", earlier), ("xlsx", tmp_path / "new.xlsx"), ("png", tmp_path / "new.png")):
        args = ["capacity", "--failures", "none", "--format", fmt, "--out", str(out), "--data", str(data)]
        bad = runner.invoke(app, args)
        assert bad.exit_code == 2 and "users_per_site.town" in bad.output
    assert earlier.read_text(encoding="utf-8") == "{}\n"
    assert not (tmp_path / "new.xlsx").exists() and not (tmp_path / "new.png").exists()


def test_cli_table_is_chinese_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("EGOV_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):  # tests/conftest.py asks for English
        monkeypatch.delenv(variable, raising=False)
    args = ["capacity", "--failures", "none", "--month", "2027-06", "--data", str(DATA)]
    zh = runner.invoke(app, args)
    assert zh.exit_code == 0, zh.output
    assert "骨干网容量 · 2027-06" in zh.stdout and "链路" in zh.stdout and "最坏利用率" in zh.stdout
    en = runner.invoke(app, [*args, "--lang", "en"])
    assert en.exit_code == 0, en.output
    assert "Backbone capacity · 2027-06" in en.stdout and "链路" not in en.stdout


def test_cli_language_follows_egov_lang_and_the_global_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's language as every egov command's: its own --lang, else egov --lang, else EGOV_LANG, else
    the locale, else zh-CN."""
    import network.linkload
    from egov.cli import app as egov

    computed = network.linkload.backbone_capacity(DATA, date(2027, 6, 1), "none")
    monkeypatch.setattr(network.linkload, "backbone_capacity", lambda *a, **k: computed)
    for variable in ("EGOV_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    args = ["network", "capacity", "--failures", "none", "--month", "2027-06", "--data", str(DATA)]

    def title(argv: list[str], env: dict[str, str] | None = None) -> str:
        result = runner.invoke(egov, argv, env=env)
        assert result.exit_code == 0, result.output
        if "骨干网容量 · 2027-06" in result.stdout:
            return "zh"
        assert "Backbone capacity · 2027-06" in result.stdout, result.stdout[:200]
        return "en"

    assert title(args) == "zh"
    assert title(args, {"EGOV_LANG": "en"}) == "en"
    assert title(args, {"LANG": "en_US.UTF-8"}) == "en"
    assert title(["--lang", "en", *args]) == "en"
    assert title(["--lang", "en", *args, "--lang", "zh-CN"]) == "zh"  # the command's own flag wins
    assert title([*args, "--lang", "en-US"], {"EGOV_LANG": "zh-CN"}) == "en"
    bad = runner.invoke(egov, [*args, "--lang", "fr"])
    assert bad.exit_code == 2 and "'fr'" in bad.output and "zh-CN" in bad.output


def test_xlsx_and_png_are_reproducible(inputs: CapacityInputs, doc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    report, body = doc
    for n in (1, 2):
        capacity_present.write_xlsx(report, body, tmp_path / f"{n}.xlsx")
    assert (tmp_path / "1.xlsx").read_bytes() == (tmp_path / "2.xlsx").read_bytes()
    book = load_workbook(tmp_path / "1.xlsx")  # zh-CN by default: sheet names and headers
    assert book.sheetnames == ["链路", "扩容建议", "站点", "失联故障", "汇总"]
    links = book["链路"]
    assert links.max_row == len(body["links"]) + 1
    assert [c.value for c in links[1]] == [
        "端点 A", "端点 B", "电路类型", "带宽", "正常峰值利用率", "最坏利用率", "最坏故障", "首次超过目标",
    ]  # fmt: skip
    assert [c.value for c in book["站点"][1]] == ["站点", "峰值需求"]
    capacity_present.write_xlsx(report, body, tmp_path / "en.xlsx", "en")
    english = load_workbook(tmp_path / "en.xlsx")
    assert english.sheetnames == ["links", "upgrades", "sites", "isolations", "summary"]
    assert [c.value for c in english["links"][1]][:3] == ["a", "b", "tier"]
    coordinates = capacity_present.load_coordinates(DATA / "coordinates.csv")
    assert len(coordinates) == 22
    for n in (1, 2):
        capacity_present.write_png(report, inputs.graph, coordinates, tmp_path / f"{n}.png")
    png = (tmp_path / "1.png").read_bytes()
    assert png.startswith(b"\x89PNG") and png == (tmp_path / "2.png").read_bytes()


def test_the_map_refuses_to_draw_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib import font_manager

    monkeypatch.setattr(capacity_present, "CJK_FONTS", ("No Such Font",))
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    with pytest.raises(capacity_present.MissingFont, match="apt-get install -y fonts-noto-cjk"):
        capacity_present.cjk_font()


def test_worst_failure_is_a_failure_that_was_evaluated(inputs: CapacityInputs, doc) -> None:  # type: ignore[no-untyped-def]
    _, body = doc
    names = {f.name for f in failures_for(inputs, "srlg")}
    assert {x["worst_failure"] for x in body["links"]} - {None} <= names


def test_failures_that_cut_sites_off_are_reported(inputs: CapacityInputs, doc) -> None:  # type: ignore[no-untyped-def]
    report, _ = doc
    cut = {i.failure: i for i in report.isolations}
    # the SRLG of 汕尾's two uplinks cuts off the whole city: its router, counties and towns
    shanwei = [n for n in inputs.model.users if n == "GD-CITY-441500" or n[8:12] == "4415"]
    assert cut["srlg 汕尾市局入局管道"].sites == len(shanwei)
    assert cut["srlg 汕尾市局入局管道"].users == sum(inputs.model.users[n] for n in shanwei)
    # a single city uplink isolates nothing (the backup plane), nor does a backed-up county's primary
    assert not any(name.startswith("circuit GD-CORE-01–GD-CITY-") for name in cut)
    assert "circuit GD-CITY-440900–GD-CNTY-440981 (primary)" not in cut
    # a county without a backup circuit takes its towns with it
    towns = [n for n in inputs.model.users if n.startswith("GD-TOWN-440103")]
    assert cut["circuit GD-CITY-440100–GD-CNTY-440103"].sites == 1 + len(towns)
    assert report.isolations == sorted(report.isolations, key=lambda i: (-i.users, i.failure))


def test_shortcuts_equal_routing_everything_from_scratch(inputs: CapacityInputs) -> None:
    """Re-routing only the touched areas (and the cities whose ABR choice a failure moves), and a leaf's
    failure without routing, give exactly the city areas' loads of routing everything again under the
    failure, and area 0's whenever the failure reaches it; a failure inside a city that only cuts sites off
    keeps area 0's intact loads (an upper bound)."""
    model = inputs.model
    graph = model.graph
    from network.linkload import single_failures

    yunfu = set(graph.areas[445300].nodes)
    chosen = [
        f
        for f in single_failures(graph)
        if (f.routers & yunfu)
        or any({graph.circuits[c].a, graph.circuits[c].b} & yunfu for c in f.circuits)
        or f.name in {"router GD-CORE-01", "circuit GD-ACC-01–cloud-dc", "circuit GD-ACC-02–GAT"}
    ]
    assert len(chosen) > 100
    bounded = 0
    for failure in chosen:
        scratch = model.loads_from_scratch(failure)
        loads = model.loads(failure)
        cities = np.array([a for area in model.city_areas for a in area.arcs], dtype=int)
        assert np.allclose(loads[cities], scratch[cities], rtol=1e-9, atol=1e-3), failure.name
        if BACKBONE_AREA in model.touched_areas(failure):
            assert np.allclose(loads, scratch, rtol=1e-9, atol=1e-3), failure.name
        else:
            # a failure inside a city that only cuts sites off keeps area 0's intact loads: an upper bound
            assert (loads >= scratch - 1e-3).all(), failure.name
            bounded += not np.allclose(loads, scratch, rtol=1e-9, atol=1e-3)
    assert bounded > 50


def test_table_and_workbook_show_the_same_link_rows(doc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Both render the JSON document's link rows (one helper): the table's utilisations are the JSON's own
    figures as percentages, never rounded a second time."""
    from openpyxl import load_workbook

    report, body = doc
    tables = capacity_present.render_table(report, body, "en", limit=10_000)
    links = tables[0]
    worst = list(links.columns[4].cells)
    expected = sorted(body["links"], key=lambda r: (-r["worst_utilisation"], r["a"], r["b"]))
    assert len(worst) == len(expected)
    for cell, row in zip(worst, expected, strict=True):
        assert cell == f"{row['worst_utilisation'] * 100:.2f} %", row
    capacity_present.write_xlsx(report, body, tmp_path / "c.xlsx", "en")
    sheet = load_workbook(tmp_path / "c.xlsx").worksheets[0]
    first = next(r for r in body["links"] if r["worst_failure"])
    cells = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert cells[body["links"].index(first)] == [
        first["a"],
        first["b"],
        first["tier"],
        first["capacity"],
        first["peak_utilisation"],
        first["worst_utilisation"],
        first["worst_failure"],
        first["first_over_target"] or None,
    ]
