"""Loading the source of truth from a data directory into the pydantic models of egov.model.

Files in a data directory:
- cloud.yaml        availability zones, aggregates, host models, storage pools, expansions, flavors
- departments.csv   code, name, name_en
- systems.csv       the business-system inventory (Chinese or English headers, UTF-8 with or without BOM)
- planning.yaml     start month, horizon, headroom target, lead time, blackouts
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from egov.errors import SourceError, SourceErrors
from egov.model import Cloud, Department, Planning, SourceOfTruth, System
from egov.months import month_label
from egov.resources import (
    DEFAULT_DATA_DIR,
    TABLE_FILE,
    ResourceTable,
    standard_table,
    table_from,
)
from egov.units import UnitError, is_plain_number, parse_fraction, parse_number, parse_quantity

M = TypeVar("M", bound=BaseModel)

#: Accepted column headers for systems.csv, English and Chinese, mapped to model fields; the resource
#: columns come from the resource-class table (a class's name and aliases, see :func:`system_columns`).
FIXED_SYSTEM_COLUMNS: dict[str, str] = {
    "id": "id",
    "system_id": "id",
    "系统编号": "id",
    "编号": "id",
    "department": "department",
    "department_code": "department",
    "部门编码": "department",
    "部门": "department",
    "name": "name",
    "system_name": "name",
    "系统名称": "name",
    "名称": "name",
    "az": "az",
    "availability_zone": "az",
    "可用区": "az",
    "migration_month": "migration_month",
    "迁移月份": "migration_month",
    "计划迁移月份": "migration_month",
    "annual_growth": "annual_growth",
    "年增长率": "annual_growth",
    "yearly_factors": "yearly_factors",
    "逐年倍数": "yearly_factors",
    "逐年规模": "yearly_factors",
    "flavor": "flavor",
    "规格": "flavor",
    "云主机规格": "flavor",
}


def system_columns(table: ResourceTable) -> dict[str, str]:
    """Every accepted systems.csv header → its field: the fixed columns, and per resource class its name and
    aliases → the class (``vcpu`` → VCPU, ``内存`` → MEMORY_MB)."""
    columns = dict(FIXED_SYSTEM_COLUMNS)
    for spec in table:
        for alias in (spec.name, *spec.aliases):
            columns.setdefault(alias.lower(), spec.name)
    return columns


DEPARTMENT_COLUMNS: dict[str, str] = {
    "code": "code",
    "部门编码": "code",
    "编码": "code",
    "name": "name",
    "部门名称": "name",
    "名称": "name",
    "name_en": "name_en",
    "英文名称": "name_en",
}
_FIXED_REQUIRED = ("id", "department", "name", "az", "migration_month")


def _required_fields(table: ResourceTable) -> tuple[str, ...]:
    """The columns systems.csv must have: the fixed ones and the required resource classes."""
    return (*_FIXED_REQUIRED[:4], *(c.name for c in table if c.required), _FIXED_REQUIRED[4])


#: A unit in a header, e.g. "内存(GB)", "ram [GiB]", "block_storage (TB)".
_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[（](?P<unit>[^\)\]）]+)[\)\]）]\s*$")


def load_source(data_dir: Path | str | None = None) -> SourceOfTruth:
    """Load and validate a whole data directory; raises SourceErrors naming every bad file, row and field.
    What was ignored on the way (columns egov does not read) is in the result's ``warnings``."""
    root = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    if not root.is_dir():
        raise SourceErrors([SourceError(root, "not a directory")])
    errors: list[SourceError] = []
    warnings: list[str] = []
    table = _collect(errors, lambda: load_table(root)) or standard_table()
    cloud = _collect(errors, lambda: load_cloud(root / "cloud.yaml", table))
    planning = _collect(errors, lambda: load_planning(root / "planning.yaml"))
    departments = _collect(errors, lambda: _read_departments(root / "departments.csv", warnings))
    inventory = _collect(errors, lambda: _read_systems(root / "systems.csv", errors, warnings, table))
    if cloud is not None and departments is not None and inventory is not None:
        # rows that loaded are cross-checked even when others did not: one pass shows every error
        errors.extend(_cross_check(root / "systems.csv", cloud, departments, inventory, planning))
    if errors:
        raise SourceErrors(sorted(errors, key=_error_order))
    assert cloud is not None and planning is not None and departments is not None and inventory is not None
    systems = [system for _, system in inventory.systems]
    return SourceOfTruth(
        cloud=cloud, departments=departments, systems=systems, planning=planning, warnings=tuple(warnings)
    )


def _error_order(error: SourceError) -> tuple[str, int, str]:
    return (error.path, error.row or 0, error.field or "")


@lru_cache(maxsize=4)
def default_source() -> SourceOfTruth:
    """The embedded Guangdong default, loaded once per process."""
    return load_source(DEFAULT_DATA_DIR)


def _collect(errors: list[SourceError], load: Any) -> Any:
    try:
        return load()
    except SourceErrors as exc:
        errors.extend(exc.errors)
    except SourceError as exc:
        errors.append(exc)
    return None


#: The largest source file read (a data directory is a few MB; a bigger file is a mistake, not data).
MAX_FILE_BYTES = 64 * 1024 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases: nested aliases ("billion laughs") expand to exponentially many
    values for validation to walk. egov's files never need them; an alias is an error naming its line."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted: write the value out", event.start_mark
            )
        return super().compose_node(parent, index)


def _load_yaml(text: str) -> Any:
    """``text`` parsed safely, without aliases. With libyaml (PyYAML's C parser, in its wheels) the events are
    read in C, aliases refused there, then the same safe constructor builds the values: ≈6× faster than the
    pure-Python loader, which cost `egov capacity check` ≈60 ms of its start."""
    if not yaml.__with_libyaml__:
        return yaml.load(text, Loader=_NoAliasLoader)
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark  # libyaml's mark: the same line and column fields as the Python one
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not accepted: write the value out",
                mark,  # type: ignore[arg-type]
            )
    return yaml.load(text, Loader=yaml.CSafeLoader)


def read_source_bytes(path: Path) -> bytes:
    """A source file's bytes; a missing or oversized file is a SourceError naming it."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(path, f"{size} bytes: larger than {MAX_FILE_BYTES // 2**20} MiB, not read")
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise SourceError(path, "file not found") from None


def read_yaml(path: Path) -> Any:
    """Parse a YAML file (no aliases); a syntax error names the file and line."""
    try:
        text = read_source_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(path, f"not UTF-8 (byte {exc.start})") from None
    try:
        return _load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise SourceError(path, f"invalid YAML: {getattr(exc, 'problem', exc)}", row=row) from None


def validation_errors(
    path: Path,
    exc: ValidationError,
    row: int | None = None,
    headers: dict[str, str] | None = None,
    cells: dict[str, str] | None = None,
) -> SourceErrors:
    """Turn a pydantic ValidationError into SourceErrors naming the field path and echoing the value; with
    ``headers`` (a CSV file's field → column header as the user wrote it) naming the column instead, and
    echoing the row's ``cells`` as the user typed them."""
    found = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        message = _bilingual(err)
        value = err.get("input")
        value = value if isinstance(value, str | int | float) and not isinstance(value, bool) else None
        if headers is None:
            found.append(SourceError(path, message, row=row, field=".".join(loc) or None, value=value))
            continue
        keys = _columns(loc, headers)
        column = "/".join(headers.get(k, k) for k in keys) or None
        if cells is not None and len(keys) == 1 and cells.get(keys[0]):
            value = cells[keys[0]]
        found.append(SourceError(path, message, row=row, field=column, value=value, kind="column"))
    return SourceErrors(found)


#: Chinese first for pydantic's common complaints (users read Chinese first); the English follows.
_ZH_MESSAGES = {
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "extra_forbidden": "未知字段",
    "missing": "缺少字段",
    "string_pattern_mismatch": "格式不符",
    "string_too_short": "不能为空",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
}


def _bilingual(err: Any) -> str:
    """A pydantic error's message, with its Chinese first when it is one of the common kinds."""
    english = str(err["msg"]).removeprefix("Value error, ")
    template = _ZH_MESSAGES.get(err.get("type", ""))
    if template is None:
        return english
    try:
        return f"{template.format(**err.get('ctx', {}))} / {english}"
    except (KeyError, IndexError, ValueError):
        return english


def _columns(loc: tuple[str, ...], headers: dict[str, str]) -> list[str]:
    """The CSV column(s) of a model field path (growth.annual_rate → annual_growth)."""
    if not loc:
        return []
    if loc[0] == "growth":
        if len(loc) > 1 and loc[1] == "annual_rate":
            return ["annual_growth"]
        if len(loc) > 1 and loc[1] == "yearly_factors":
            return ["yearly_factors"]
        return [k for k in ("annual_growth", "yearly_factors") if k in headers] or ["growth"]
    return [loc[0]]


def _load_mapping(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """A YAML file whose top level is a mapping, validated into ``model``; errors name file and field."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping at the top level")
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        raise validation_errors(path, exc) from None


def load_table(root: Path) -> ResourceTable:
    """The resource-class table of a data directory (its resource_classes.yaml), else the standard one."""
    path = root / TABLE_FILE
    if not path.exists():
        return standard_table()
    raw = read_yaml(path)
    try:
        return table_from(raw)
    except ValidationError as exc:
        raise validation_errors(path, exc) from None
    except ValueError as exc:
        raise SourceError(path, str(exc)) from None


def load_cloud(path: Path, table: ResourceTable | None = None) -> Cloud:
    return _load_mapping(path, Cloud, {"resource_classes": table or standard_table()})


def load_planning(path: Path) -> Planning:
    return _load_mapping(path, Planning)


@dataclass(frozen=True)
class CsvTable:
    """A spreadsheet CSV read against a column map: rows as {field: text}, and what its header says."""

    rows: list[tuple[int, dict[str, str]]]  # (row number, {field: cell text}); header = row 1
    units: dict[str, str]  # field → unit named in its header ("内存(GB)" → ram: GB)
    headers: dict[str, str]  # field → the column header as the user wrote it
    notices: list[str]  # what was ignored (columns egov does not know), one line each
    encoding: str


#: Encodings a Chinese spreadsheet's "CSV" comes in besides UTF-8: Excel and WPS save GB18030/GBK.
_CSV_ENCODINGS = ["gb18030", "big5"]


def decode_spreadsheet(path: Path, data: bytes) -> tuple[str, str]:
    """The text of a spreadsheet export and its encoding: UTF-8 with or without BOM, else what
    charset-normalizer detects among the Chinese encodings (GB2312 and GBK read as their superset GB18030)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    from charset_normalizer import from_bytes

    # a short sheet (ids, digits, a few Chinese names) scores a "chaos" of 0.1–0.3 in GB18030, above the
    # default threshold 0.2; 0.5 keeps it while a binary file still matches nothing
    best = from_bytes(data, cp_isolation=_CSV_ENCODINGS, threshold=0.5).best()
    if best is None or b"\x00" in data:
        raise SourceError(
            path,
            f"无法识别文件编码（第 {first_bad} 字节）；请另存为 'CSV UTF-8' / cannot tell the encoding "
            f"(byte {first_bad}); save the sheet as 'CSV UTF-8'",
        )
    encoding = "gb18030" if best.encoding in ("gb2312", "gbk", "gb18030") else best.encoding
    return data.decode(encoding), encoding


def read_csv_table(path: Path, columns: dict[str, str]) -> CsvTable:
    """A spreadsheet CSV against ``columns`` (accepted header → field): English or Chinese headers, units in
    headers ("内存(GB)"), UTF-8 with or without BOM or GB18030/GBK. Columns it does not know (备注) are
    ignored with one notice each; a unit in a header is checked once, here."""
    text, encoding = decode_spreadsheet(path, read_source_bytes(path))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise SourceError(path, f"not a CSV file: {exc}", row=1) from None
    if not header:
        raise SourceError(path, "empty file: expected a header row")
    fields: list[str | None] = []
    units: dict[str, str] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for title in header:
        name, unit = title.strip(), None
        match = _HEADER_UNIT.match(name)
        if match:
            name, unit = match.group("name").strip(), match.group("unit").strip()
        key = columns.get(name.lower()) or columns.get(name)
        if key is not None and key in headers:
            raise SourceError(path, f"column {title!r} given twice (also as {headers[key]!r})", row=1)
        fields.append(key)
        if key is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        headers[key] = title.strip()
        if unit is not None:
            units[key] = unit
    notices = []
    if ignored:
        notices.append(
            f"{path}: 已忽略未知列 / ignored columns egov does not read: {', '.join(map(repr, ignored))}"
        )
    rows = []
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(fields) and any(v.strip() for v in values[len(fields) :]):
                raise SourceError(path, f"{len(values)} cells but {len(fields)} columns", row=number)
            record = {f: v.strip() for f, v in zip(fields, values, strict=False) if f is not None}
            rows.append((number, record))
    except csv.Error as exc:
        raise SourceError(path, f"not a CSV file: {exc}", row=reader.line_num) from None
    return CsvTable(rows, units, headers, notices, encoding)


def load_departments(path: Path) -> list[Department]:
    return _read_departments(path, [])


def _read_departments(path: Path, warnings: list[str]) -> list[Department]:
    table = read_csv_table(path, DEPARTMENT_COLUMNS)
    warnings.extend(table.notices)
    departments: list[Department] = []
    errors: list[SourceError] = []
    seen: dict[str, int] = {}
    for number, record in table.rows:
        try:
            dept = Department.model_validate(record)
        except ValidationError as exc:
            errors.extend(validation_errors(path, exc, number, table.headers, record).errors)
            continue
        duplicate = _repeated(path, seen, dept.code, number, "department code", table.headers["code"])
        if duplicate is not None:
            errors.append(duplicate)
            continue
        departments.append(dept)
    if errors:
        raise SourceErrors(errors)
    return departments


def _repeated(
    path: Path, seen: dict[str, int], key: str, row: int, what: str, column: str
) -> SourceError | None:
    """The error for a ``key`` given in an earlier row; otherwise remember this row and return None."""
    if key in seen:
        return SourceError(
            path, f"duplicate {what} {key!r} (first in row {seen[key]})", row=row, field=column, kind="column"
        )
    seen[key] = row
    return None


_GROWTH_FIELDS = ("annual_growth", "yearly_factors")


def _size_fields(table: ResourceTable) -> tuple[str, ...]:
    """The resource columns given in bytes (a bare number there is the GB/GiB confusion)."""
    return tuple(c.name for c in table if not c.counted)


def _size_example(table: ResourceTable, rc: str) -> str:
    """A size header with its unit for the error of a size column without one: 内存(GiB), 块存储(TB)."""
    spec = table[rc]
    chinese = [a for a in spec.aliases if not a.isascii()]
    name = chinese[0] if chinese else (spec.aliases[0] if spec.aliases else spec.name)
    return f"{name}({'GiB' if spec.unit in ('MiB', 'GiB') else 'TB'})"


def _with_unit(text: str, unit: str | None) -> str:
    """A cell's text with the header's unit appended when the cell is a bare number."""
    if unit and is_plain_number(text):
        return f"{text} {unit}"
    return text


@dataclass
class _Inventory:
    """systems.csv as read: the systems that loaded (with their row numbers) and the column headers."""

    systems: list[tuple[int, System]]
    headers: dict[str, str]


def _header_errors(path: Path, table: CsvTable, classes: ResourceTable) -> tuple[list[SourceError], set[str]]:
    """Problems of the header itself, one error each (never one per row): a required column missing, a unit
    in a header that is no size, a size column of bare numbers with no unit in its header. Also the fields
    whose cells those errors already cover."""
    errors: list[SourceError] = []
    covered: set[str] = set()
    for field in _required_fields(classes):
        if field not in table.headers:
            names = [h for h, f in system_columns(classes).items() if f == field]
            errors.append(
                SourceError(
                    path,
                    f"缺少列 / missing column; name it one of {names}",
                    row=1,
                    field=names[0],
                    kind="column",
                )
            )
            covered.add(field)
    for field in _size_fields(classes):
        header = table.headers.get(field)
        if header is None:
            continue
        unit = table.units.get(field)
        if unit is not None:
            try:
                parse_quantity(f"1 {unit}", "byte")
            except UnitError:
                errors.append(
                    SourceError(
                        path,
                        "表头单位不是容量单位 / the unit in the header is no size; "
                        f"write e.g. {_size_example(classes, field)}",
                        row=1,
                        field=header,
                        value=unit,
                        kind="column",
                    )
                )
                covered.add(field)
            continue
        bare = [(n, r[field]) for n, r in table.rows if is_plain_number(r.get(field, ""))]
        if bare:
            first_row, first_value = bare[0]
            units = ("GiB", "GB") if field == "MEMORY_MB" else ("TB", "TiB")
            examples = f"'{header}({units[0]})' / '{header}({units[1]})'"
            errors.append(
                SourceError(
                    path,
                    f"{len(bare)} 行只有数字（如第 {first_row} 行 {first_value!r}），表头也没有单位："
                    f"请在表头写明单位，如 {examples} / {len(bare)} rows give a bare number "
                    f"(e.g. row {first_row}: {first_value!r}) "
                    f"and the header names no unit: write it in the header, e.g. {examples} "
                    f"({units[0]} and {units[1]} differ by 7 %)",
                    row=1,
                    field=header,
                    kind="column",
                )
            )
            covered.add(field)
    return errors, covered


def _system_record(
    record: dict[str, str], units: dict[str, str], headers: dict[str, str], table: ResourceTable
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in ("id", "department", "name", "az", "migration_month"):
        out[field] = record.get(field, "")
    resources: dict[str, Any] = {}
    for spec in table:
        value = record.get(spec.name, "")
        if value == "" and not spec.required:
            continue  # an empty optional cell is none of that class
        resources[spec.name] = _with_unit(value, units.get(spec.name))
    out["resources"] = resources
    out["flavor"] = record.get("flavor") or None
    rate, factors = record.get("annual_growth", ""), record.get("yearly_factors", "")
    growth: dict[str, Any] = {}
    if rate:
        growth["annual_rate"] = parse_fraction(rate, field=headers.get("annual_growth"))
    if factors:
        column = headers.get("yearly_factors")
        growth["yearly_factors"] = tuple(
            parse_number(f.strip(), field=column) for f in re.split(r"[;；|]", factors) if f.strip()
        )
    if not growth:
        growth["annual_rate"] = 0.0
    out["growth"] = growth
    return out


def _read_systems(
    path: Path, errors: list[SourceError], warnings: list[str], classes: ResourceTable | None = None
) -> _Inventory:
    """The systems that load, each with its row number; the errors of the others go into ``errors``."""
    classes = classes or standard_table()
    required = _required_fields(classes)
    context = {"resource_classes": classes}
    table = read_csv_table(path, system_columns(classes))
    warnings.extend(table.notices)
    header_errors, covered = _header_errors(path, table, classes)
    errors.extend(header_errors)
    headers = table.headers
    systems: list[tuple[int, System]] = []
    seen: dict[str, int] = {}
    if any(f not in headers for f in required):
        return _Inventory([], headers)  # no row can load; the header's one error says why
    for number, record in table.rows:
        if any(is_plain_number(record.get(f, "")) for f in covered):
            continue  # the header's one error covers this cell
        missing = [f for f in required if not record.get(f)]
        if missing:
            errors.extend(
                SourceError(path, "缺少值 / missing value", row=number, field=headers[f], kind="column")
                for f in missing
            )
            continue
        try:
            system = System.model_validate(
                _system_record(record, table.units, headers, classes), context=context
            )
        except UnitError as exc:  # a growth or resource cell, read before the model
            errors.append(
                SourceError(
                    path,
                    str(exc).split(": ", 1)[-1],
                    row=number,
                    field=_growth_column(exc, headers),
                    kind="column",
                )
            )
            continue
        except ValidationError as exc:
            # a growth error names the growth column(s) this row fills
            filled = {k: v for k, v in headers.items() if k not in _GROWTH_FIELDS or record.get(k)}
            errors.extend(validation_errors(path, exc, number, filled, record).errors)
            continue
        duplicate = _repeated(path, seen, system.id, number, "system id", headers["id"])
        if duplicate is not None:
            errors.append(duplicate)
            continue
        systems.append((number, system))
    return _Inventory(systems, headers)


def _growth_column(exc: UnitError, headers: dict[str, str]) -> str:
    """The column a cell's UnitError names (growth or a resource class)."""
    for header in headers.values():
        if str(exc).startswith(f"{header}: "):
            return header
    return "growth"


def _cross_check(
    path: Path,
    cloud: Cloud,
    departments: list[Department],
    inventory: _Inventory,
    planning: Planning | None,
) -> list[SourceError]:
    """References between files: departments, availability zones and flavors that systems name, and
    migration months within the planning horizon (a system after the horizon would silently count for
    nothing in every output, so it is an error naming the row)."""
    codes = {d.code for d in departments}
    azs = {az.name for az in cloud.availability_zones}
    flavors = {f.name for f in cloud.flavors}
    headers = inventory.headers
    errors = []

    def error(number: int, field: str, message: str, value: Any) -> None:
        errors.append(
            SourceError(
                path, message, row=number, field=headers.get(field, field), value=value, kind="column"
            )
        )

    for number, system in inventory.systems:
        if system.department not in codes:
            error(
                number, "department", f"unknown department {system.department!r} (system {system.id})", None
            )
        if system.az not in azs:
            error(number, "az", f"unknown availability zone {system.az!r}; known: {sorted(azs)}", None)
        if system.flavor is not None and system.flavor not in flavors:
            error(number, "flavor", f"unknown flavor {system.flavor!r}", None)
        if planning is not None and system.migration_month > planning.end_month:
            error(
                number,
                "migration_month",
                f"迁移月份在规划期之后 / the migration month lies after the horizon "
                f"{month_label(planning.start_month)} → {month_label(planning.end_month)} "
                f"(planning.yaml horizon_months {planning.horizon_months}): "
                "extend the horizon or correct the month",
                month_label(system.migration_month),
            )
    return errors
