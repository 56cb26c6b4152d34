"""The egov tests build data directories with the capacity tests' cloudkit (one copy of the small cloud)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "capacity"))
