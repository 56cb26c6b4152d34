"""One answer: what to buy, when and where comes from the procurement plan alone. The check states each zone's
facts (binding resource, first month below target) and points to `egov capacity plan`; the report's decision
is the plan's tranches, or the reason there is no plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cloudkit import system, write_data
from typer.testing import CliRunner

from capacity.cli import app

runner = CliRunner()
PRICES = {"hosts": {"m56": {"price": "100000 CNY"}}}


@pytest.fixture
def short_dir(tmp_path: Path) -> Path:
    # VCPU of az-a: usable (56 − 8) × 4 × 3 = 576; demand 500 from 2027-01 > 80 % × 576 = 460.8, so below
    # target from the first month; 500 × 1.2^(t/12) > 576 from t = 10: short in 2027-11. The sums' zone
    # purchase would say "order by 2026-07" (first below target − 6), the line "order by 2027-05".
    return write_data(tmp_path / "data", systems=[system(vcpu=500, annual_growth="20%", ram="100 GiB")])


def test_check_json_zones_state_facts_and_point_to_the_plan(short_dir: Path) -> None:
    result = runner.invoke(app, ["check", "--data", str(short_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["zones"] == [
        {
            "az": "az-a",
            "binding_resource": "VCPU",
            "first_below_target": "2027-01",
            "first_month": "2027-01",
            "binds": "headroom",
            "binding_flavor": None,
            "what_to_buy": "egov capacity plan",
        },
        {
            "az": "region",
            "binding_resource": "OBJECT_STORAGE",
            "first_below_target": None,
            "first_month": None,
            "binds": None,
            "binding_flavor": None,
            "what_to_buy": None,
        },
    ]
    # the per-line contract stays: the VCPU line's shortfall 2027-11 − 6 months of lead time
    vcpu = next(r for r in document["resources"] if (r["resource"], r["az"]) == ("VCPU", "az-a"))
    assert (vcpu["first_shortfall"], vcpu["order_by"]) == ("2027-11", "2027-05")


@pytest.mark.parametrize(
    ("lang", "zone_line", "pointer"),
    [
        ("en", "az-a: binding virtual CPU (VCPU); below the 20% target from 2027-01", "egov capacity plan"),
        ("zh-CN", "az-a：制约资源为虚拟CPU (VCPU)；自 2027-01 起低于 20% 目标", "买什么、何时买、放在哪里"),
    ],
)
def test_check_table_shows_no_order_by_date(short_dir: Path, lang: str, zone_line: str, pointer: str) -> None:
    result = runner.invoke(app, ["check", "--data", str(short_dir), "--lang", lang])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert zone_line in text and pointer in text and "egov capacity plan" in text
    # neither the sum-based zone order-by nor a line's order-by is on the screen
    assert "2026-07" not in text and "2027-05" not in text
    assert "order by" not in text.lower() and "下单截止：" not in text


def test_check_refuses_an_unknown_language(short_dir: Path) -> None:
    result = runner.invoke(app, ["check", "--data", str(short_dir), "--lang", "fr"])
    assert result.exit_code == 2 and "unknown language 'fr'; choose one of: zh-CN, en" in result.stderr


@pytest.mark.usefixtures("chinese_by_default")
def test_report_cli_takes_the_decision_from_the_plan(short_dir: Path, tmp_path: Path) -> None:
    without = runner.invoke(app, ["report", "--data", str(short_dir), "--out", str(tmp_path / "a")])
    assert without.exit_code == 0, without.output
    html = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    said = f"无可签署的采购计划：没有价格表（{short_dir / 'prices.yaml'}）。"
    assert said in html and html.index(said) < html.index("<table>")
    assert "2026-07" not in html and "2027-05" not in html
    (short_dir / "prices.yaml").write_text(yaml.safe_dump(PRICES), encoding="utf-8")
    planned = runner.invoke(app, ["report", "--data", str(short_dir), "--out", str(tmp_path / "b")])
    assert planned.exit_code == 0, planned.output
    again = runner.invoke(app, ["report", "--data", str(short_dir), "--out", str(tmp_path / "c")])
    html = (tmp_path / "b" / "index.html").read_text(encoding="utf-8")
    assert "本应在 2026-07 前下单，已逾期。" in html and "整个采购计划共计" in html and "2027-05" not in html
    for name in ("index.html", "capacity-check.xlsx"):  # the plan keeps the report deterministic
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes(), name
    assert again.exit_code == 0


def test_report_cli_on_a_bad_price_list_writes_nothing(short_dir: Path, tmp_path: Path) -> None:
    (short_dir / "prices.yaml").write_text(yaml.safe_dump({"hosts": {"m56": {"price": "-5 CNY"}}}))
    result = runner.invoke(app, ["report", "--data", str(short_dir), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "prices.yaml" in result.stderr and "hosts.m56.price" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("chinese_by_default")
def test_plan_table_in_chinese_by_default_and_english_on_request(short_dir: Path) -> None:
    (short_dir / "prices.yaml").write_text(yaml.safe_dump(PRICES), encoding="utf-8")
    chinese = runner.invoke(app, ["plan", "--data", str(short_dir)])
    assert chinese.exit_code == 0, chinese.output
    assert "采购批次（每批次一个下单截止）" in chinese.stdout and "已验证" in chinese.stdout
    assert "2026-07 (已逾期)" in chinese.stdout
    english = runner.invoke(app, ["plan", "--data", str(short_dir), "--lang", "en"])
    assert english.exit_code == 0, english.output
    assert "Tranches (one order-by per tranche)" in english.stdout and "Proven:" in english.stdout
    assert "2026-07 (overdue)" in english.stdout


@pytest.fixture
def fit_first_dir(tmp_path: Path) -> Path:
    # No headroom target; eleven 49-vCPU VMs (539 vCPU) on three m56 (192 vCPU each, 576 in all): the sums
    # never fall below target, but a host takes three VMs (four need 196), so two find no host from 2027-01.
    from cloudkit import PLANNING, cloud

    data = cloud(flavors=[{"name": "c49", "vcpus": 49, "ram": "8 GiB", "disk": "10 GiB"}])
    planning = {**PLANNING, "headroom_target": "0%"}
    rows = [system(vcpu=539, ram="32 GiB")]
    return write_data(tmp_path / "data", cloud_data=data, planning=planning, systems=rows)


@pytest.mark.usefixtures("chinese_by_default")
def test_the_zone_line_names_the_fit_when_it_binds_first(fit_first_dir: Path) -> None:
    result = runner.invoke(app, ["check", "--data", str(fit_first_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    zone = json.loads(result.stdout)["zones"][0]
    assert zone["first_below_target"] is None  # the sums alone would see nothing to do
    assert (zone["first_month"], zone["binds"], zone["binding_flavor"]) == ("2027-01", "fit", "c49")
    assert zone["what_to_buy"] == "egov capacity plan"
    table = runner.invoke(app, ["check", "--data", str(fit_first_dir), "--lang", "en"]).stdout
    assert "az-a: binding the fit; c49 VMs find no host from 2027-01" in table
    assert "nothing to order" not in table and "egov capacity plan" in table
    zh = runner.invoke(app, ["check", "--data", str(fit_first_dir)]).stdout
    assert "az-a：制约因素为装箱模拟；自 2027-01 起 c49 虚拟机找不到主机" in zh


@pytest.mark.usefixtures("chinese_by_default")
def test_make_demo_reads_chinese_first_fit_and_building_included() -> None:
    # `make demo` is `egov capacity check` on the default data: zh-CN unless English is asked for (--lang en,
    # egov --lang en, EGOV_LANG or the locale)
    zh = runner.invoke(app, ["check"])
    assert zh.exit_code == 0, zh.output
    text = zh.stdout
    assert "15000 核" in text and "15000 core" not in text
    assert "装箱（spread）：逐台主机计，各规格还能放下多少虚拟机" in text
    assert "碎片容量" in text and "已用主机" in text
    assert "规划期内各机房" in text and "最重供电回路（另一路失效后）" in text
    for english in ("how many more VMs", "stranded", "hosts used", "rooms over the horizon", "worst feed"):
        assert english not in text, english
    en = runner.invoke(app, ["check", "--lang", "en"]).stdout
    assert "15000 cores" in en and "how many more VMs of each flavor fit" in en and "worst feed" in en
