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
