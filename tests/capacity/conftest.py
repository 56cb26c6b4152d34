"""Fixtures of the capacity tests: small hand-computable clouds in temp dirs (see cloudkit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cloudkit import write_data

from egov.model import SourceOfTruth
from egov.source import load_source


@pytest.fixture
def small_dir(tmp_path: Path) -> Path:
    return write_data(tmp_path / "data")


@pytest.fixture
def small(small_dir: Path) -> SourceOfTruth:
    return load_source(small_dir)


@pytest.fixture
def chinese_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No language asked for anywhere — what a user gets without --lang (the suite itself sets EGOV_LANG=en,
    which the capacity commands follow like every egov command)."""
    for variable in ("EGOV_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
