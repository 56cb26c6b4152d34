"""The egov tests build data directories with the capacity tests' cloudkit (one copy of the small cloud)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "capacity"))


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
