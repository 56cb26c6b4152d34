"""Bad input stops with the file, row and field; nothing is half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egov.errors import SourceError
from network.cli import app
from network.divisions import load_divisions
from network.params import load_params
from network.topology import build_backbone

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def yaml_text() -> str:
    return (DATA / "network.yaml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "network.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_bandwidth_names_the_field(tmp_path, yaml_text) -> None:
    path = _write(
        tmp_path,
        yaml_text.replace("province_city: {bandwidth: 10 Gbit/s", "province_city: {bandwidth: 10 GB"),
    )
    with pytest.raises(SourceError) as err:
        load_params(path)
    assert err.value.field == "circuits.province_city.bandwidth" and err.value.path == str(path)


def test_overlapping_supernets_are_refused(tmp_path, yaml_text) -> None:
    path = _write(tmp_path, yaml_text.replace("cloud_tenants: 172.16.0.0/12", "cloud_tenants: 10.16.0.0/12"))
    with pytest.raises(SourceError, match="overlaps") as err:
        load_params(path)
    assert err.value.field == "ipv4.backbone"


def test_duplicate_vpn_id_is_refused(tmp_path, yaml_text) -> None:
    path = _write(tmp_path, yaml_text.replace("JXW: {vpn_id: 2}", "JXW: {vpn_id: 1}"))
    with pytest.raises(SourceError, match="vpn_id 1 already used by FGW") as err:
        load_params(path)
    assert err.value.field == "departments.JXW"


def test_unknown_key_is_refused(tmp_path, yaml_text) -> None:
    path = _write(tmp_path, yaml_text + "colour: blue\n")
    with pytest.raises(SourceError) as err:
        load_params(path)
    assert err.value.field == "colour"


def test_bad_yaml_names_the_line(tmp_path) -> None:
    with pytest.raises(SourceError) as err:
        load_params(_write(tmp_path, "ipv4:\n  backbone: [10.0.0.0/8\n"))
    assert err.value.row is not None


def test_a_backup_county_that_is_not_a_county(tmp_path, yaml_text) -> None:
    params = load_params(_write(tmp_path, yaml_text.replace('"440281",', '"440200",')))
    with pytest.raises(SourceError, match="440200 is a city") as err:
        build_backbone(params=params, data_dir=DATA)
    assert err.value.field == "backup.counties"


def test_division_rows_are_checked(tmp_path) -> None:
    path = tmp_path / "divisions.csv"
    path.write_text(
        "level,code,name,parent_code\nprovince,440000,广东省,\ncity,440100,广州市,440000\n"
        "county,440103,荔湾区,440100\ntownship,44010300,坏,440103\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as err:
        load_divisions(path)
    assert (err.value.row, err.value.field) == (5, "code")
    path.write_text(
        "level,code,name,parent_code\nprovince,440000,广东省,\ncounty,440103,荔湾区,440100\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="parent '440100'") as err:
        load_divisions(path)
    assert (err.value.row, err.value.field) == (3, "parent_code")


def test_cli_render_with_bad_data_leaves_the_output_alone(tmp_path, yaml_text) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "network.yaml").write_text(yaml_text.replace("asn: 65044", "asn: -1"), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.cfg").write_text("old", encoding="utf-8")
    result = CliRunner().invoke(app, ["render", "--out", str(out), "--data-dir", str(data)])
    assert result.exit_code == 2
    assert "network.yaml" in result.output and "bgp.asn" in result.output
    assert [p.name for p in out.iterdir()] == ["keep.cfg"]


def test_cli_render_only_one_city_twice_identical(tmp_path) -> None:
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(
            app, ["render", "--vendor", "frr", "--only", "445300", "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
    a = sorted((tmp_path / "a").iterdir())
    confs = [p for p in a if p.suffix == ".conf"]
    # 云浮: the city and its second router (罗定 445381 has a backup), 5 counties, 63 towns (divisions.csv)
    assert len(confs) == 2 + 5 + 63
    # and each one's zone filters as its companion nftables ruleset
    # (the second city router has no LAN and no attachment: no zone meets there, no ruleset)
    zoned = sorted(p.stem for p in confs if not p.stem.endswith("-B"))
    assert sorted(p.stem for p in a if p.suffix == ".nft") == zoned
    assert all(p.read_bytes() == (tmp_path / "b" / p.name).read_bytes() for p in a)


def test_cli_check_json_and_inventory(tmp_path) -> None:
    import json

    runner = CliRunner()
    result = runner.invoke(app, ["check", "--format", "json", "--no-parse-back"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["devices"] == 1773 and doc["violations"] == [] and doc["unpinned_departments"] == []
    result = runner.invoke(app, ["inventory", "--format", "json", "--out", str(tmp_path / "inv.json")])
    assert result.exit_code == 0, result.output
    tables = json.loads((tmp_path / "inv.json").read_text(encoding="utf-8"))
    assert len(tables["devices"]) == 1773 and len(tables["circuits"]) == doc["links"]
    result = runner.invoke(app, ["show", "GD-CITY-440100"])
    assert result.exit_code == 0 and "10.0.3.1" in result.output
    assert "management VRF MGMT 100.80.127.1/31 fd00:4700::7f01/127 (out-of-band)" in result.output
    assert runner.invoke(app, ["show", "GD-NOPE"]).exit_code == 2


def test_cli_check_fails_and_names_the_device(monkeypatch) -> None:
    import json

    from network import verify

    def broken(backbone, params):
        return [
            verify.Violation("link-ends", "GD-CITY-440100", "port 13", "MTU 1500 ≠ 9000 at GD-CNTY-440103")
        ]

    monkeypatch.setattr(verify, "check_model", broken)
    runner = CliRunner()
    result = runner.invoke(app, ["check", "--no-parse-back", "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["violations"][0]["device"] == "GD-CITY-440100"
    result = runner.invoke(app, ["check", "--no-parse-back"])
    assert result.exit_code == 1 and "GD-CITY-440100" in result.output and "port 13" in result.output
