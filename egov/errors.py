"""Errors that point a user at the exact place of bad input."""

from __future__ import annotations

from pathlib import Path


class SourceError(ValueError):
    """Bad source-of-truth input, located by file, row (1-based, header = row 1) and field."""

    def __init__(self, path: Path | str, message: str, *, row: int | None = None, field: str | None = None):
        self.path = str(path)
        self.row = row
        self.field = field
        self.message = message
        where = self.path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class SourceErrors(ValueError):
    """Several source errors found in one pass, so a user fixes them all at once."""

    def __init__(self, errors: list[SourceError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
