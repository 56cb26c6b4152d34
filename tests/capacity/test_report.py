"""The planners' report and workbook: complete, numbers as numbers, byte-identical, atomic."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from cloudkit import system, write_data
from openpyxl import load_workbook

from capacity import report
from capacity.headroom import assess
from egov.source import load_source


@pytest.fixture
def short_source(tmp_path: Path):
    rows = [system(vcpu=500, annual_growth="20%", ram="100 GiB")]
    return load_source(write_data(tmp_path / "data", systems=rows))


def test_report_files_and_same_bytes_twice(short_source, tmp_path: Path) -> None:
    assessment = assess(short_source)
    first = report.write_report(tmp_path / "r1", short_source, assessment)
    report.write_report(tmp_path / "r2", short_source, assessment)
    names = sorted(p.as_posix() for p in first)
    assert "index.html" in names and "capacity-check.xlsx" in names
    assert sum(name.startswith("charts/") for name in names) == len(assessment.lines) == 5
    for name in names:
        one, two = (tmp_path / "r1" / name).read_bytes(), (tmp_path / "r2" / name).read_bytes()
        assert one == two, name
        if name.endswith(".png"):
            assert one.startswith(b"\x89PNG") and b"Software" not in one
    html = (tmp_path / "r1" / "index.html").read_text(encoding="utf-8")
    assert "charts/vcpu-az-a.png" in html and "2027-11" in html  # VCPU short in 2027-11 (see test_cli)
    assert "Supply does NOT cover demand" in html


def test_workbook_numbers_are_numbers_with_units(short_source) -> None:
    assessment = assess(short_source)
    data = report.workbook_bytes(short_source, assessment)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "Summary" and book.sheetnames[-1] == "Zones and purchases"
    assert "VCPU az-a" in book.sheetnames and "OBJECT_STORAGE region" in book.sheetnames
    summary = book["Summary"]
    rows = list(summary.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "resource")
    vcpu = dict(zip(rows[header], rows[header + 1], strict=True))
    assert (vcpu["resource"], vcpu["unit"], vcpu["usable (start)"]) == ("VCPU", "vcpu", 576.0)
    assert vcpu["first shortfall"] == datetime(2027, 11, 1)
    monthly = list(book["MEMORY_MB az-a"].iter_rows(values_only=True))
    assert monthly[0][:3] == ("month", "usable", "demand") and monthly[1][7] == "MiB"
    assert monthly[1][1] == 3 * 524288 and monthly[1][2] == 100 * 1024
    assert book.properties.creator == "egov"
    assert book.properties.modified == datetime(2027, 1, 1)


def test_workbook_bytes_do_not_depend_on_the_clock(short_source, monkeypatch: pytest.MonkeyPatch) -> None:
    assessment = assess(short_source)
    first = report.workbook_bytes(short_source, assessment)
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 86_400 * 400)
    monkeypatch.setattr(time, "localtime", lambda *_: time.struct_time((2031, 5, 5, 5, 5, 5, 0, 125, 0)))
    assert report.workbook_bytes(short_source, assessment) == first


def test_failed_report_leaves_the_old_one(short_source, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "report"
    report.write_report(out, short_source, assess(short_source))
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    old_html = (out / "index.html").read_bytes()

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "workbook_bytes", broken)
    with pytest.raises(RuntimeError):
        report.write_report(out, short_source, assess(short_source))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert (out / "index.html").read_bytes() == old_html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "report"]  # no staging left behind


def test_report_cli_on_bad_data_writes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from capacity.cli import app

    root = write_data(tmp_path / "data", systems=[system(az="nowhere")])
    result = CliRunner().invoke(app, ["report", "--data", str(root), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "unknown availability zone 'nowhere'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_report_with_a_risk_section(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from capacity.cli import app

    root = write_data(tmp_path / "data", systems=[system(vcpu=400, annual_growth="20%")])
    args = ["report", "--data", str(root), "--risk-draws", "200", "--seed", "9"]
    first = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    second = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    html = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    assert "Risk: 200 Monte Carlo draws (seed 9)" in html and "P90 shortfall (plan for)" in html
    assert html == (tmp_path / "b" / "index.html").read_text(encoding="utf-8")
    plain = CliRunner().invoke(app, ["report", "--data", str(root), "--out", str(tmp_path / "c")])
    assert plain.exit_code == 0 and "Monte Carlo" not in (tmp_path / "c" / "index.html").read_text()
