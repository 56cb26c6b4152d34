"""Errors that point a user at the exact place of bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SourceError(ValueError):
    """Bad source-of-truth input, located by file, row (1-based, header = row 1) and field, echoing the value.

    In a CSV file ``field`` is the column header as the user wrote it (年增长率, not growth.annual_rate) and
    ``kind`` is "column"; in YAML it is the field path."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
        value: Any = None,
        kind: str = "field",
    ):
        self.path = str(path)
        self.row = row
        self.field = field
        self.message = message
        self.value = value
        where = self.path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", {kind} '{field}'"
        if value is not None and repr(value) not in message:
            where += f" = {value!r}"
        super().__init__(f"{where}: {message}")


class SourceErrors(ValueError):
    """Several source errors found in one pass, so a user fixes them all at once."""

    def __init__(self, errors: list[SourceError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
