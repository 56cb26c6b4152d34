"""The official division tree (民政部 Xzqh20251231) as the backbone sees it: province, city, county, town."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from egov.errors import SourceError

DIVISIONS_FILE = "divisions.csv"
LEVEL_TIERS = {"province": "province", "city": "city", "county": "county", "township": "town"}


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative division: code (6 digits, 9 for towns), tier, Chinese name, parent code."""

    code: str
    tier: str
    name: str
    parent: str | None

    @property
    def city_code(self) -> str:
        """The prefecture city this division belongs to (itself for a city, '440000' for the province)."""
        return self.code[:4] + "00" if self.tier != "province" else self.code

    @property
    def county_code(self) -> str:
        """The 6-digit county part (for a town directly under 东莞/中山 this is the city code)."""
        return self.code[:6]


def _check_code(path: Path, row: int, tier: str, code: str) -> None:
    want = 9 if tier == "town" else 6
    if len(code) != want or not code.isdigit():
        raise SourceError(path, f"{tier} code {code!r} must be {want} digits", row=row, field="code")
    if tier == "city" and (code[4:] != "00" or code[2:4] == "00"):
        raise SourceError(path, f"city code {code!r} must look like 44XX00", row=row, field="code")
    if tier == "county" and code[4:] == "00":
        raise SourceError(path, f"county code {code!r} must not end in 00", row=row, field="code")


def load_divisions(path: Path) -> dict[str, Division]:
    """Read divisions.csv (level,code,name,parent_code) and check the tree; errors name row and field."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    reader = csv.DictReader(text.splitlines())
    missing = {"level", "code", "name", "parent_code"} - set(reader.fieldnames or ())
    if missing:
        raise SourceError(path, f"missing column(s) {', '.join(sorted(missing))}", row=1)
    divisions: dict[str, Division] = {}
    rows: dict[str, int] = {}
    for row_no, row in enumerate(reader, start=2):
        level = (row["level"] or "").strip()
        if level not in LEVEL_TIERS:
            raise SourceError(path, f"unknown level {level!r}", row=row_no, field="level")
        tier = LEVEL_TIERS[level]
        code = (row["code"] or "").strip()
        _check_code(path, row_no, tier, code)
        if code in divisions:
            raise SourceError(
                path, f"duplicate code {code} (first on row {rows[code]})", row=row_no, field="code"
            )
        parent = (row["parent_code"] or "").strip() or None
        divisions[code] = Division(code, tier, (row["name"] or "").strip(), parent)
        rows[code] = row_no
    _check_tree(path, divisions, rows)
    return divisions


_PARENT_TIERS = {"city": ("province",), "county": ("city",), "town": ("county", "city")}


def _check_tree(path: Path, divisions: dict[str, Division], rows: dict[str, int]) -> None:
    for code, div in divisions.items():
        if div.tier == "province":
            continue
        parent = divisions.get(div.parent or "")
        if parent is None:
            raise SourceError(
                path, f"parent {div.parent!r} is not in the file", row=rows[code], field="parent_code"
            )
        if parent.tier not in _PARENT_TIERS[div.tier] or not code.startswith(parent.code.rstrip("0")[:2]):
            raise SourceError(
                path,
                f"a {div.tier} cannot hang under {parent.tier} {parent.code}",
                row=rows[code],
                field="parent_code",
            )
        if div.tier == "town" and code[:6] != parent.code:
            raise SourceError(
                path,
                f"town {code} does not start with its parent's code {parent.code}",
                row=rows[code],
                field="code",
            )
        if div.tier == "county" and code[:4] != parent.code[:4]:
            raise SourceError(
                path, f"county {code} is not inside city {parent.code}", row=rows[code], field="code"
            )
