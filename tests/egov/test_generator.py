"""The embedded default inventory is exactly what the documented generator produces with its fixed seed."""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _generator():
    path = ROOT / "scripts" / "generate_systems.py"
    spec = importlib.util.spec_from_file_location("generate_systems", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_data_systems_csv_is_the_generator_output() -> None:
    generator = _generator()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(generator.HEADER)
    writer.writerows(generator.generate(2027, 1054))
    assert (ROOT / "data" / "systems.csv").read_text(encoding="utf-8") == buffer.getvalue()


def test_another_seed_gives_another_inventory_with_the_same_flagships() -> None:
    generator = _generator()
    one, two = generator.generate(2027, 200), generator.generate(7, 200)
    flagships = len(generator.FLAGSHIPS)
    assert one[:flagships] == two[:flagships]
    assert one[flagships:] != two[flagships:]
    assert len({row[0] for row in one}) == 200  # ids are unique
