"""Loading the source of truth from a data directory into the pydantic models of egov.model.

Files in a data directory:
- cloud.yaml        availability zones, aggregates, host models, storage pools, expansions, flavors
- departments.csv   code, name, name_en
- systems.csv       the business-system inventory (Chinese or English headers, UTF-8 with or without BOM)
- planning.yaml     start month, horizon, headroom target, lead time, blackouts
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from egov.errors import SourceError, SourceErrors
from egov.model import Cloud, Department, Planning, SourceOfTruth, System

M = TypeVar("M", bound=BaseModel)

#: The embedded Guangdong default.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"

#: Accepted column headers for systems.csv, English and Chinese, mapped to model fields.
SYSTEM_COLUMNS: dict[str, str] = {
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
    "vcpu": "vcpu",
    "vcpus": "vcpu",
    "虚拟cpu": "vcpu",
    "cpu": "vcpu",
    "vcpu数": "vcpu",
    "ram": "ram",
    "memory": "ram",
    "内存": "ram",
    "disk": "disk",
    "local_disk": "disk",
    "本地盘": "disk",
    "本地磁盘": "disk",
    "block_storage": "block_storage",
    "block": "block_storage",
    "块存储": "block_storage",
    "object_storage": "object_storage",
    "object": "object_storage",
    "对象存储": "object_storage",
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
_REQUIRED_SYSTEM_FIELDS = (
    "id",
    "department",
    "name",
    "az",
    "vcpu",
    "ram",
    "block_storage",
    "migration_month",
)
#: A unit in a header, e.g. "内存(GB)", "ram [GiB]", "block_storage (TB)".
_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[（](?P<unit>[^\)\]）]+)[\)\]）]\s*$")


def load_source(data_dir: Path | str | None = None) -> SourceOfTruth:
    """Load and validate a whole data directory; raises SourceErrors naming every bad file, row and field."""
    root = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    if not root.is_dir():
        raise SourceErrors([SourceError(root, "not a directory")])
    errors: list[SourceError] = []
    cloud = _collect(errors, lambda: load_cloud(root / "cloud.yaml"))
    planning = _collect(errors, lambda: load_planning(root / "planning.yaml"))
    departments = _collect(errors, lambda: load_departments(root / "departments.csv"))
    numbered = _collect(errors, lambda: _read_systems(root / "systems.csv", errors))
    if cloud is not None and departments is not None and numbered is not None:
        # rows that loaded are cross-checked even when others did not: one pass shows every error
        errors.extend(_cross_check(root / "systems.csv", cloud, departments, numbered))
    if errors:
        raise SourceErrors(sorted(errors, key=_error_order))
    assert cloud is not None and planning is not None and departments is not None and numbered is not None
    systems = [system for _, system in numbered]
    return SourceOfTruth(cloud=cloud, departments=departments, systems=systems, planning=planning)


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


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error names the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise SourceError(path, f"invalid YAML: {getattr(exc, 'problem', exc)}", row=row) from None


def validation_errors(path: Path, exc: ValidationError, row: int | None = None) -> SourceErrors:
    """Turn a pydantic ValidationError into SourceErrors naming the field path."""
    found = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or None
        message = err["msg"].removeprefix("Value error, ")
        found.append(SourceError(path, message, row=row, field=loc))
    return SourceErrors(found)


def _load_mapping(path: Path, model: type[M]) -> M:
    """A YAML file whose top level is a mapping, validated into ``model``; errors name file and field."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping at the top level")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_errors(path, exc) from None


def load_cloud(path: Path) -> Cloud:
    return _load_mapping(path, Cloud)


def load_planning(path: Path) -> Planning:
    return _load_mapping(path, Planning)


def read_csv_rows(
    path: Path, columns: dict[str, str]
) -> tuple[list[tuple[int, dict[str, str]]], dict[str, str]]:
    """Rows of a spreadsheet CSV as (row number, {field: text}) plus {field: unit named in its header}.

    Accepts UTF-8 with or without BOM, English or Chinese headers, units in headers ("内存(GB)").
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(path, f"not UTF-8 (byte {exc.start}); save the sheet as 'CSV UTF-8'") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise SourceError(path, "empty file: expected a header row")
    fields: list[str | None] = []
    header_units: dict[str, str] = {}
    for title in header:
        name, unit = title.strip(), None
        match = _HEADER_UNIT.match(name)
        if match:
            name, unit = match.group("name").strip(), match.group("unit").strip()
        key = columns.get(name.lower()) or columns.get(name)
        if key is None and name:
            raise SourceError(
                path, f"unknown column {title!r}; known: {sorted(set(columns.values()))}", row=1
            )
        if key is not None and key in fields:
            raise SourceError(path, f"column {title!r} given twice", row=1)
        fields.append(key)
        if key is not None and unit is not None:
            header_units[key] = unit
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(fields):
            raise SourceError(path, f"{len(values)} cells but {len(fields)} columns", row=number)
        record = {f: v.strip() for f, v in zip(fields, values, strict=False) if f is not None}
        rows.append((number, record))
    return rows, header_units


def load_departments(path: Path) -> list[Department]:
    rows, _ = read_csv_rows(path, DEPARTMENT_COLUMNS)
    departments: list[Department] = []
    errors: list[SourceError] = []
    seen: dict[str, int] = {}
    for number, record in rows:
        try:
            dept = Department.model_validate(record)
        except ValidationError as exc:
            errors.extend(validation_errors(path, exc, row=number).errors)
            continue
        duplicate = _repeated(path, seen, dept.code, number, "department code", "code")
        if duplicate is not None:
            errors.append(duplicate)
            continue
        departments.append(dept)
    if errors:
        raise SourceErrors(errors)
    return departments


def _repeated(
    path: Path, seen: dict[str, int], key: str, row: int, what: str, field: str
) -> SourceError | None:
    """The error for a ``key`` given in an earlier row; otherwise remember this row and return None."""
    if key in seen:
        return SourceError(path, f"duplicate {what} {key!r} (first in row {seen[key]})", row=row, field=field)
    seen[key] = row
    return None


def _with_unit(text: str, unit: str | None) -> str:
    """A cell's text with the header's unit appended when the cell is a bare number."""
    if unit and re.fullmatch(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?", text):
        return f"{text} {unit}"
    return text


def _system_record(record: dict[str, str], units: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in ("id", "department", "name", "az", "migration_month"):
        out[field] = record.get(field, "")
    out["vcpu"] = record.get("vcpu", "")
    for field in ("ram", "disk", "block_storage", "object_storage"):
        value = record.get(field, "")
        if field in ("disk", "object_storage") and value == "":
            value = "0 GB"
        out[field] = _with_unit(value, units.get(field))
    out["flavor"] = record.get("flavor") or None
    rate, factors = record.get("annual_growth", ""), record.get("yearly_factors", "")
    growth: dict[str, Any] = {}
    if rate:
        growth["annual_rate"] = float(rate.rstrip("%").strip()) / 100 if rate.endswith("%") else rate
    if factors:
        growth["yearly_factors"] = tuple(f.strip() for f in re.split(r"[;；|]", factors) if f.strip())
    if not growth:
        growth["annual_rate"] = 0.0
    out["growth"] = growth
    return out


def load_systems(path: Path) -> list[System]:
    errors: list[SourceError] = []
    numbered = _read_systems(path, errors)
    if errors:
        raise SourceErrors(errors)
    return [system for _, system in numbered]


def _read_systems(path: Path, errors: list[SourceError]) -> list[tuple[int, System]]:
    """The systems that load, each with its row number; the errors of the others go into ``errors``."""
    rows, units = read_csv_rows(path, SYSTEM_COLUMNS)
    systems: list[tuple[int, System]] = []
    seen: dict[str, int] = {}
    for number, record in rows:
        missing = [f for f in _REQUIRED_SYSTEM_FIELDS if not record.get(f)]
        if missing:
            errors.extend(SourceError(path, "missing value", row=number, field=f) for f in missing)
            continue
        try:
            system = System.model_validate(_system_record(record, units))
        except ValidationError as exc:
            errors.extend(validation_errors(path, exc, row=number).errors)
            continue
        duplicate = _repeated(path, seen, system.id, number, "system id", "id")
        if duplicate is not None:
            errors.append(duplicate)
            continue
        systems.append((number, system))
    return systems


def _cross_check(
    path: Path, cloud: Cloud, departments: list[Department], systems: list[tuple[int, System]]
) -> list[SourceError]:
    """References between files: departments, availability zones and flavors that systems name."""
    codes = {d.code for d in departments}
    azs = {az.name for az in cloud.availability_zones}
    flavors = {f.name for f in cloud.flavors}
    errors = []
    for number, system in systems:
        if system.department not in codes:
            errors.append(
                SourceError(
                    path,
                    f"unknown department {system.department!r} (system {system.id})",
                    row=number,
                    field="department",
                )
            )
        if system.az not in azs:
            errors.append(
                SourceError(
                    path,
                    f"unknown availability zone {system.az!r}; known: {sorted(azs)}",
                    row=number,
                    field="az",
                )
            )
        if system.flavor is not None and system.flavor not in flavors:
            errors.append(SourceError(path, f"unknown flavor {system.flavor!r}", row=number, field="flavor"))
    return errors
