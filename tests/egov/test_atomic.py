"""Atomic output: whole or nothing, with the modes a plain open() would give."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from egov.atomic import staged_directory, write_text


def test_written_file_has_the_umask_mode_not_mkstemps_private_one(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "out" / "report.json", "{}")
        with staged_directory(tmp_path / "configs") as stage:
            (stage / "r1.cfg").write_text("hostname r1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out" / "report.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "configs").stat().st_mode) == 0o755


def test_failed_run_leaves_the_directory_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "configs"
    with staged_directory(target) as stage:
        (stage / "old.cfg").write_text("v1\n")
    with pytest.raises(RuntimeError), staged_directory(target) as stage:
        (stage / "new.cfg").write_text("v2\n")
        raise RuntimeError("template failed half-way")
    assert sorted(p.name for p in target.iterdir()) == ["old.cfg"]
    assert [p.name for p in tmp_path.iterdir()] == ["configs"]  # no staging leftovers


def test_success_replaces_the_directory_whole(tmp_path: Path) -> None:
    target = tmp_path / "configs"
    with staged_directory(target) as stage:
        (stage / "gone.cfg").write_text("v1\n")
    with staged_directory(target) as stage:
        (stage / "kept.cfg").write_text("v2\n")
    assert sorted(p.name for p in target.iterdir()) == ["kept.cfg"]
