"""The guard of conftest.py: a Pulumi test whose assertions never run must fail, not pass silently."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROBE = """
import pulumi


def test_output_without_decorator():
    return pulumi.Output.from_input(1).apply(lambda v: None)


@pulumi.runtime.test
def test_decorated_assertion_runs():
    def check(v):
        assert v == 2, "the apply ran"

    return pulumi.Output.from_input(1).apply(check)


@pulumi.runtime.test
def test_decorated_passes():
    def check(v):
        assert v == 1

    return pulumi.Output.from_input(1).apply(check)


def test_plain_passes():
    assert True
"""


def test_guard_fails_unawaited_outputs_and_decorated_tests_assert(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-rA",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    out = result.stdout
    assert "FAILED test_probe.py::test_output_without_decorator" in out, out
    assert "returned a pulumi Output" in out, out
    assert "FAILED test_probe.py::test_decorated_assertion_runs" in out, out
    assert "PASSED test_probe.py::test_decorated_passes" in out, out
    assert "PASSED test_probe.py::test_plain_passes" in out, out
