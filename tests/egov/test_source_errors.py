"""Every bad-input path of the source of truth names the file, row and field; good variants load."""

from __future__ import annotations

from pathlib import Path

import pytest
from cloudkit import PLANNING, SYSTEM_HEADER, cloud, system, systems_csv, write_data

from egov.errors import SourceError, SourceErrors
from egov.source import load_source


def _errors(root: Path) -> list[SourceError]:
    with pytest.raises(SourceErrors) as caught:
        load_source(root)
    return caught.value.errors


def _one(root: Path, file: str, message: str, row: int | None = None, field: str | None = None) -> None:
    matching = [
        e
        for e in _errors(root)
        if e.path.endswith(file) and message in e.message and e.row == row and e.field == field
    ]
    assert matching, [str(e) for e in _errors(root)]


def _systems(tmp_path: Path, *rows: dict) -> Path:
    return write_data(tmp_path, systems=list(rows))


def test_small_cloud_loads(small) -> None:
    assert [s.id for s in small.systems] == ["AAA-0001"]
    assert small.physical_summary() == {"cores": "168 core", "ram": "1649 GB", "storage_raw": "0.410 PB"}


def test_missing_value(tmp_path: Path) -> None:
    _one(_systems(tmp_path, system(vcpu="")), "systems.csv", "missing value", row=2, field="vcpu")


def test_missing_required_column(tmp_path: Path) -> None:
    header = [c for c in SYSTEM_HEADER if c != "migration_month"]
    text = systems_csv([system()], header=header, keys=header)
    # one error of the header, not one "missing value" per row
    errors = _errors(write_data(tmp_path, systems_text=text))
    assert [(e.row, e.field) for e in errors] == [(1, "migration_month")]
    assert "missing column" in errors[0].message and "迁移月份" in errors[0].message


def test_negative_size(tmp_path: Path) -> None:
    _one(_systems(tmp_path, system(block_storage="-1 TB")), "systems.csv", "negative", 2, "block_storage")


def test_negative_vcpu(tmp_path: Path) -> None:
    _one(_systems(tmp_path, system(vcpu="-4")), "systems.csv", "greater than or equal to 0", 2, "vcpu")


def test_unknown_unit(tmp_path: Path) -> None:
    _one(_systems(tmp_path, system(ram="64 gigs")), "systems.csv", "unknown unit", 2, "ram")


def test_bare_number_without_unit_is_refused(tmp_path: Path) -> None:
    # GB vs GiB confusion: "512" alone could be either, so it is refused instead of guessed — once, at the
    # header that names no unit
    _one(_systems(tmp_path, system(ram="512")), "systems.csv", "the header names no unit", 1, "ram")


def test_unit_in_header_applies_to_bare_numbers(tmp_path: Path) -> None:
    header = [c if c != "ram" else "内存(GiB)" for c in SYSTEM_HEADER]
    text = systems_csv([system(ram="512")], header=header)
    source = load_source(write_data(tmp_path, systems_text=text))
    assert source.systems[0].ram.to("MiB").magnitude == 524288


def test_gib_and_gb_headers_give_different_mib(tmp_path: Path) -> None:
    figures = []
    for unit in ("GiB", "GB"):
        header = [c if c != "ram" else f"ram ({unit})" for c in SYSTEM_HEADER]
        text = systems_csv([system(ram="512")], header=header)
        source = load_source(write_data(tmp_path / unit, systems_text=text))
        figures.append(source.systems[0].ram.to("MiB").magnitude)
    assert figures == [524288, pytest.approx(488281.25)]


def test_wrong_dimension(tmp_path: Path) -> None:
    _one(_systems(tmp_path, system(ram="3 GHz")), "systems.csv", "not a quantity of byte", 2, "ram")


def test_duplicate_system_id(tmp_path: Path) -> None:
    root = _systems(tmp_path, system(), system(name="另一个"))
    _one(root, "systems.csv", "duplicate system id 'AAA-0001' (first in row 2)", 3, "id")


def test_unknown_department(tmp_path: Path) -> None:
    _one(
        _systems(tmp_path, system(department="ZZZ")),
        "systems.csv",
        "unknown department 'ZZZ'",
        2,
        "department",
    )


def test_unknown_availability_zone(tmp_path: Path) -> None:
    _one(_systems(tmp_path, system(az="az-x")), "systems.csv", "unknown availability zone 'az-x'", 2, "az")


def test_unknown_flavor(tmp_path: Path) -> None:
    root = write_data(tmp_path)
    text = (root / "systems.csv").read_text().splitlines()
    text[0] += ",flavor"
    text[1] += ",x9.huge"
    (root / "systems.csv").write_text("\n".join(text) + "\n")
    _one(root, "systems.csv", "unknown flavor 'x9.huge'", 2, "flavor")


def test_bad_month(tmp_path: Path) -> None:
    _one(
        _systems(tmp_path, system(migration_month="2027/13")),
        "systems.csv",
        "is not a month",
        2,
        "migration_month",
    )


def test_growth_rate_and_factors_together(tmp_path: Path) -> None:
    root = _systems(tmp_path, system(annual_growth="10%", yearly_factors="1;1.2"))
    _one(root, "systems.csv", "not both", 2, "annual_growth/yearly_factors")


def test_growth_factor_not_positive(tmp_path: Path) -> None:
    root = _systems(tmp_path, system(annual_growth="", yearly_factors="1;0"))
    _one(root, "systems.csv", "positive", 2, "yearly_factors")


def test_unknown_column_is_ignored_with_one_notice(tmp_path: Path) -> None:
    rows = [system(id=f"AAA-{n:04d}") for n in range(1, 4)]
    text = systems_csv(rows).replace("annual_growth", "growth_rate_guess", 1)
    source = load_source(write_data(tmp_path, systems_text=text))
    assert len(source.systems) == 3
    assert len(source.warnings) == 1
    assert "ignored columns egov does not read: 'growth_rate_guess'" in source.warnings[0]


def test_too_many_cells(tmp_path: Path) -> None:
    text = systems_csv([system()]).rstrip("\n") + ",extra\n"
    _one(write_data(tmp_path, systems_text=text), "systems.csv", "13 cells but 12 columns", 2)


def test_gb18030_is_read(tmp_path: Path) -> None:
    root = write_data(tmp_path)
    (root / "systems.csv").write_bytes(systems_csv([system()]).encode("gb18030"))
    assert load_source(root).systems[0].name == "业务系统"


def test_undecodable_bytes_name_the_encoding_problem(tmp_path: Path) -> None:
    root = write_data(tmp_path)
    (root / "systems.csv").write_bytes("id,name\n".encode("utf-16"))
    _one(root, "systems.csv", "cannot tell the encoding")


def test_bom_and_chinese_headers_are_accepted(tmp_path: Path) -> None:
    header = [
        "系统编号",
        "部门编码",
        "系统名称",
        "可用区",
        "vCPU数",
        "内存(GB)",
        "本地盘(GiB)",
        "块存储(TB)",
        "对象存储(TB)",
        "计划迁移月份",
        "年增长率",
        "逐年倍数",
    ]
    row = system(ram="64", disk="100", block_storage="2", object_storage="0.5", annual_growth="15%")
    text = systems_csv([row], header=header, bom=True)
    source = load_source(write_data(tmp_path, systems_text=text))
    loaded = source.systems[0]
    assert loaded.id == "AAA-0001" and loaded.name == "业务系统"
    assert loaded.ram.to("GB").magnitude == 64
    assert loaded.object_storage.to("GB").magnitude == pytest.approx(500)
    assert loaded.growth.annual_rate == pytest.approx(0.15)


def test_bom_in_departments_and_chinese_headers(tmp_path: Path) -> None:
    text = "\ufeff部门编码,部门名称,英文名称\nAAA,省甲厅,A\nBBB,省乙局,B\n"
    assert [d.code for d in load_source(write_data(tmp_path, departments_text=text)).departments] == [
        "AAA",
        "BBB",
    ]


def test_duplicate_department_code(tmp_path: Path) -> None:
    text = "code,name,name_en\nAAA,省甲厅,A\nAAA,省乙局,B\n"
    _one(
        write_data(tmp_path, departments_text=text), "departments.csv", "duplicate department code", 3, "code"
    )


def test_bad_department_code(tmp_path: Path) -> None:
    text = "code,name,name_en\naaa,省甲厅,A\nBBB,省乙局,B\n"
    _one(write_data(tmp_path, departments_text=text), "departments.csv", "pattern", 2, "code")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    text = "region: tiny\nhost_models:\n  m56: {cores: 56, ram: 512 GiB\navailability_zones: []\n"
    errors = _errors(write_data(tmp_path, cloud_text=text))
    assert any(e.path.endswith("cloud.yaml") and "invalid YAML" in e.message and e.row == 4 for e in errors)


def test_cloud_field_path_is_named(tmp_path: Path) -> None:
    data = cloud()
    data["availability_zones"][0]["aggregates"][0]["hosts"] = -1
    _one(
        write_data(tmp_path, cloud_data=data),
        "cloud.yaml",
        "greater than or equal to 0",
        field="availability_zones.0.aggregates.0.hosts",
    )


def test_cloud_unknown_host_model_and_pool_zone(tmp_path: Path) -> None:
    data = cloud()
    data["availability_zones"][0]["aggregates"][0]["host_model"] = "m99"
    _one(write_data(tmp_path, cloud_data=data), "cloud.yaml", "unknown host model 'm99'")


def test_cloud_unknown_key(tmp_path: Path) -> None:
    _one(write_data(tmp_path, cloud_data=cloud(colour="blue")), "cloud.yaml", "Extra inputs", field="colour")


def test_expansion_of_unknown_pool(tmp_path: Path) -> None:
    data = cloud(expansions=[{"month": "2028-01", "pool": "nope", "raw": "1 PB"}])
    _one(write_data(tmp_path, cloud_data=data), "cloud.yaml", "unknown pool 'nope'")


def test_redundancy_needs_one_scheme(tmp_path: Path) -> None:
    data = cloud()
    data["storage_pools"][0]["redundancy"] = {"replicas": 3, "k": 8, "m": 3}
    errors = _errors(write_data(tmp_path, cloud_data=data))
    assert any("either 'replicas'" in e.message and e.field == "storage_pools.0.redundancy" for e in errors)


def test_planning_headroom_out_of_range(tmp_path: Path) -> None:
    root = write_data(tmp_path, planning={**PLANNING, "headroom_target": "150%"})
    _one(root, "planning.yaml", "less than 1", field="headroom_target")


def test_missing_file(tmp_path: Path) -> None:
    root = write_data(tmp_path)
    (root / "planning.yaml").unlink()
    _one(root, "planning.yaml", "file not found")


def test_not_a_directory(tmp_path: Path) -> None:
    _one(tmp_path / "nowhere", "nowhere", "not a directory")


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    root = _systems(tmp_path, system(ram="1 parsec"), system(id="AAA-0002", vcpu="", department="QQQ"))
    (root / "planning.yaml").write_text("start_month: 2027-13\n")
    errors = _errors(root)
    places = {(Path(e.path).name, e.row, e.field) for e in errors}
    assert {
        ("systems.csv", 2, "ram"),
        ("systems.csv", 3, "vcpu"),
        ("planning.yaml", None, "start_month"),
    } <= places


def test_yaml_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    _one(write_data(tmp_path, planning_text="- 1\n- 2\n"), "planning.yaml", "expected a mapping")


def test_cross_check_names_the_real_row_after_blank_and_bad_rows(tmp_path: Path) -> None:
    text = systems_csv([system(ram="oops"), system(id="AAA-0002"), system(id="AAA-0003", department="ZZZ")])
    lines = text.splitlines()
    lines.insert(2, ",,,,,,,,,,,")  # a blank spreadsheet row between the first and the second system
    root = write_data(tmp_path, systems_text="\n".join(lines) + "\n")
    _one(root, "systems.csv", "unknown department 'ZZZ'", 5, "department")
    _one(root, "systems.csv", "'oops' has no number", 2, "ram")


def test_empty_csv(tmp_path: Path) -> None:
    _one(write_data(tmp_path, systems_text=""), "systems.csv", "empty file: expected a header row")


def test_column_given_twice(tmp_path: Path) -> None:
    text = systems_csv([system()]).replace("yearly_factors", "年增长率", 1)
    _one(write_data(tmp_path, systems_text=text), "systems.csv", "given twice", 1)
