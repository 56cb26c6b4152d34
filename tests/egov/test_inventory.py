"""Inventory errors people can act on (issue 15) and inventories that are no trap (issue 11): one error per
header problem, every error names the user's column header and echoes the value, unknown columns ignored
with one notice, GB18030/GBK and UTF-8 with or without BOM, "1,200" read as 1200, migration months after the
horizon refused naming the row; and hypothesis over CSV cells and YAML values: a loaded source or located
errors, never a traceback, never a hang."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from cloudkit import CLOUD, PLANNING, SYSTEM_HEADER, cloud, system, systems_csv, write_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egov.errors import SourceError, SourceErrors
from egov.source import load_source

CHINESE = [
    "系统编号",
    "部门编码",
    "系统名称",
    "可用区",
    "vCPU数",
    "内存",
    "本地盘(GiB)",
    "块存储(TB)",
    "对象存储(TB)",
    "计划迁移月份",
    "年增长率",
    "逐年倍数",
]


def _errors(root: Path) -> list[SourceError]:
    with pytest.raises(SourceErrors) as caught:
        load_source(root)
    return caught.value.errors


def _rows(count: int, **fields: object) -> list[dict]:
    return [system(id=f"AAA-{n:04d}", **fields) for n in range(1, count + 1)]


def test_ram_header_without_unit_is_one_error_not_one_per_row(tmp_path: Path) -> None:
    rows = _rows(40, ram="512", disk="100", block_storage="2", object_storage="0")
    errors = _errors(write_data(tmp_path, systems_text=systems_csv(rows, header=CHINESE)))
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert (error.row, error.field) == (1, "内存")
    assert "40 行只有数字（如第 2 行 '512'）" in error.message
    assert "'内存(GiB)' / '内存(GB)'" in error.message
    assert "40 rows give a bare number" in error.message  # English after the Chinese


def test_a_bad_unit_in_a_header_is_one_error(tmp_path: Path) -> None:
    header = [c if c != "本地盘(GiB)" else "本地盘(核)" for c in CHINESE]
    header = [c if c != "内存" else "内存(GB)" for c in header]
    rows = _rows(5, ram="512", disk="100", block_storage="2", object_storage="0")
    errors = _errors(write_data(tmp_path, systems_text=systems_csv(rows, header=header)))
    assert [(e.row, e.field, e.value) for e in errors] == [(1, "本地盘(核)", "核")]
    assert "本地盘(核)" in str(errors[0]) and "'核'" in str(errors[0])


def test_errors_name_the_users_header_and_echo_the_value(tmp_path: Path) -> None:
    sizes = {"ram": "64", "disk": "100", "block_storage": "2", "object_storage": "0"}
    rows = [
        system(**sizes, annual_growth="fast"),
        system(id="AAA-0002", **sizes, vcpu="-4"),
        system(id="AAA-0003", **sizes, annual_growth="-90%"),
    ]
    header = [c if c != "内存" else "内存(GB)" for c in CHINESE]
    errors = _errors(write_data(tmp_path, systems_text=systems_csv(rows, header=header)))
    found = {(e.row, e.field): str(e) for e in errors}
    assert set(found) == {(2, "年增长率"), (3, "vCPU数"), (4, "年增长率")}
    assert "column '年增长率'" in found[(2, "年增长率")] and "'fast'" in found[(2, "年增长率")]
    assert (
        "column 'vCPU数' = '-4': 应大于或等于 0 / Input should be greater than or equal to 0"
        in found[(3, "vCPU数")]
    )
    assert "column '年增长率' = '-90%'" in found[(4, "年增长率")]
    assert not any("growth.annual_rate" in text for text in found.values())


def test_remarks_column_is_ignored_with_one_notice(tmp_path: Path) -> None:
    rows = _rows(3, 备注="迁移前需安全测评")
    header, keys = [*SYSTEM_HEADER, "备注"], [*SYSTEM_HEADER, "备注"]
    source = load_source(write_data(tmp_path, systems_text=systems_csv(rows, header=header, keys=keys)))
    assert len(source.systems) == 3
    assert len(source.warnings) == 1 and "'备注'" in source.warnings[0]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8", "utf-8-sig"])
def test_chinese_inventory_in_every_encoding_excel_and_wps_save(tmp_path: Path, encoding: str) -> None:
    header = [c if c != "内存" else "内存(GiB)" for c in CHINESE]
    rows = [
        system(id=f"AAA-{n:04d}", name=f"省级政务服务平台第{n}期", ram="1,200", disk="100", block_storage="2")
        for n in range(1, 4)
    ]
    root = write_data(tmp_path)
    (root / "systems.csv").write_bytes(systems_csv(rows, header=header).encode(encoding))
    (root / "departments.csv").write_bytes("部门编码,部门名称\nAAA,省甲厅\nBBB,省乙局\n".encode(encoding))
    source = load_source(root)
    assert [s.name for s in source.systems] == [f"省级政务服务平台第{n}期" for n in range(1, 4)]
    assert source.systems[0].ram.to("GiB").magnitude == 1200  # "1,200" under 内存(GiB)
    assert source.department("AAA").name == "省甲厅"


def test_thousands_separators_in_counts_and_sizes(tmp_path: Path) -> None:
    source = load_source(_data(tmp_path, vcpu="1,200", ram="1,024 GiB"))
    assert source.systems[0].vcpu == 1200
    assert source.systems[0].ram.to("GiB").magnitude == 1024


def test_decimal_comma_is_ambiguous_and_refused(tmp_path: Path) -> None:
    errors = _errors(_data(tmp_path, ram="1,5 GiB"))
    assert [(e.row, e.field) for e in errors] == [(2, "ram")] and "'1,5 GiB'" in str(errors[0])


def test_migration_after_the_horizon_is_an_error_naming_row_and_value(tmp_path: Path) -> None:
    # horizon 2027-01 → 2031-12 (60 months): 2032-01 would count for nothing in every output
    root = write_data(tmp_path, systems=[system(), system(id="AAA-0002", migration_month="2032-01")])
    errors = _errors(root)
    assert [(e.row, e.field, e.value) for e in errors] == [(3, "migration_month", "2032-01")]
    assert "after the horizon 2027-01 → 2031-12" in errors[0].message
    load_source(write_data(tmp_path / "last", systems=[system(migration_month="2031-12")]))


def _data(tmp_path: Path, **fields: object) -> Path:
    return write_data(tmp_path, systems=[system(**fields)])


# --- fuzzing: CSV cells and YAML values -------------------------------------------------------------------

CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["(9**9**9) TB", "10**400 TB", "1e999 GB", "nan GB", "-1 GB", "1,200", "1,2", "nan%", "1e999%", "inf"]
    ),
    st.from_regex(r"[0-9,.eE+-]{1,12} ?(GB|GiB|TB|%)?", fullmatch=True),
)
FUZZ = settings(
    max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _loads_or_locates(root: Path) -> None:
    try:
        load_source(root)
    except SourceErrors as exc:
        assert exc.errors and all(isinstance(e, SourceError) and e.path for e in exc.errors)


@FUZZ
@given(field=st.sampled_from(SYSTEM_HEADER), value=CELL)
def test_any_systems_cell_loads_or_is_a_located_error(field: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _loads_or_locates(write_data(Path(tmp), systems=[system(**{field: value})]))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_any_bytes_as_systems_csv_load_or_are_a_located_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_data(Path(tmp))
        (root / "systems.csv").write_bytes(raw)
        _loads_or_locates(root)


SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["(9**9**9) TB", "10**400 TB", "1e999 GB", "nan GB", "-1 GB", ".nan", "1,200"]),
)
CLOUD_PLACES = [
    ("host_models", "m56", "cores"),
    ("host_models", "m56", "ram"),
    ("host_models", "m56", "local_disk"),
    ("storage_pools", 0, "raw"),
    ("storage_pools", 0, "full_ratio"),
    ("storage_pools", 0, "disk_unit"),
    ("availability_zones", 0, "aggregates", 0, "hosts"),
    ("reserved_per_host", "MEMORY_MB"),
    ("allocation_ratios", "VCPU"),
    ("flavors", 0, "ram"),
    ("flavors", 0, "vcpus"),
]


@FUZZ
@given(place=st.sampled_from(CLOUD_PLACES), value=SCALAR)
def test_any_cloud_yaml_value_loads_or_is_a_located_error(place: tuple, value: object) -> None:
    data = cloud()
    target = data
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        _loads_or_locates(write_data(Path(tmp), cloud_data=data))


@FUZZ
@given(key=st.sampled_from(sorted(PLANNING)), value=SCALAR)
def test_any_planning_yaml_value_loads_or_is_a_located_error(key: str, value: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _loads_or_locates(write_data(Path(tmp), planning={**PLANNING, key: value}))


def test_cloud_fixture_is_unchanged() -> None:
    assert yaml.safe_dump(CLOUD) == yaml.safe_dump(cloud())


@pytest.mark.parametrize(
    ("place", "value", "field"),
    [
        (
            ("availability_zones", 0, "aggregates", 0, "hosts"),
            True,
            "availability_zones.0.aggregates.0.hosts",
        ),
        (("allocation_ratios", "VCPU"), True, "allocation_ratios.VCPU"),
        (("allocation_ratios", "VCPU"), ".nan", "allocation_ratios.VCPU"),
        (("flavors", 0, "vcpus"), "4.5", "flavors.0.vcpus"),
    ],
)
def test_no_bool_nan_or_fraction_for_a_count_in_yaml(
    tmp_path: Path, place: tuple, value: object, field: str
) -> None:
    # YAML's `true` was read as 1 host, `.nan` as a ratio that compares false with every bound
    data = cloud()
    target = data
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = float("nan") if value == ".nan" else value
    errors = _errors(write_data(tmp_path, cloud_data=data))
    assert [e.field for e in errors] == [field], [str(e) for e in errors]


def test_yaml_alias_bomb_is_refused_at_its_line(tmp_path: Path) -> None:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]  # 10^9 values
    root = write_data(tmp_path, planning_text="start_month: 2027-01\n" + "\n".join(lines) + "\n")
    (error,) = _errors(root)
    assert error.path.endswith("planning.yaml") and error.row == 3
    assert "aliases (*name) are not accepted" in error.message


def test_an_oversized_file_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import egov.source

    root = write_data(tmp_path)
    monkeypatch.setattr(egov.source, "MAX_FILE_BYTES", 100)
    errors = _errors(root)
    assert {Path(e.path).name for e in errors} >= {"cloud.yaml", "systems.csv"}
    assert all("larger than" in e.message for e in errors)


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pure-python"])
def test_both_yaml_parsers_read_the_data_alike_and_refuse_aliases(
    libyaml: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_yaml parses with libyaml when PyYAML has it, else in Python: the same values for every data file,
    and an alias refused at its line either way."""
    import yaml

    import egov.source

    assert yaml.__with_libyaml__, "PyYAML without libyaml: pip install --force-reinstall pyyaml (a wheel)"
    data = Path(egov.source.DEFAULT_DATA_DIR)
    texts = {p.name: p.read_text(encoding="utf-8-sig") for p in sorted(data.glob("*.yaml"))}
    reference = {name: yaml.load(text, Loader=yaml.SafeLoader) for name, text in texts.items()}
    monkeypatch.setattr(yaml, "__with_libyaml__", libyaml)
    assert {name: egov.source._load_yaml(text) for name, text in texts.items()} == reference
    with pytest.raises(yaml.YAMLError, match="aliases") as caught:
        egov.source._load_yaml("a: &x 1\nb: *x\n")
    assert caught.value.problem_mark is not None and caught.value.problem_mark.line == 1
