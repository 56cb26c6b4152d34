"""`egov capacity check` loads only what it uses: its start-up is most of its second (bench_capacity.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: libraries of other commands (report, workbook, plan, network, slots) and the progress bar the check never
#: shows; each costs tens of milliseconds to import
NOT_IMPORTED = (
    "jinja2",
    "openpyxl",
    "matplotlib",
    "ortools",
    "networkx",
    "sqlalchemy",
    "fastapi",
    "aerleon",
    "scipy",
    "rich.progress",
)


def _modules_after(*args: str) -> tuple[str, set[str]]:
    """Run ``egov *args`` in a fresh interpreter (this test process has imported everything already); its
    stdout and the modules loaded at its end."""
    script = (
        "import json, sys\n"
        "from egov.cli import app\n"
        "try:\n"
        f"    app({list(args)!r})\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout, set(json.loads(run.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("output", ["json", "table"])
def test_the_check_imports_none_of_the_heavy_libraries_it_does_not_use(output: str) -> None:
    stdout, modules = _modules_after("capacity", "check", "--format", output)
    assert stdout.strip()  # the check ran and printed
    loaded = sorted(name for name in NOT_IMPORTED if name in modules)
    assert loaded == [], f"`egov capacity check --format {output}` imported {loaded}"
    assert "capacity.fit" in modules  # the probe sees the check's own imports
