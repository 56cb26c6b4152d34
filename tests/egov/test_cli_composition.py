"""The `egov` composition: every part listed in `egov --help`, each part's CLI imported only when it runs."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from egov.cli import SUB_APPS, app

PARTS = ("capacity.cli", "egov.data_cli", "network.cli", "slots.cli", "stacks.cli")


def test_help_lists_every_part() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("capacity", "data", "network", "slots", "stack"):
        assert f" {name} " in result.stdout, name
    assert set(SUB_APPS) == {"capacity", "data", "network", "slots", "stack"}


def test_a_capacity_command_imports_no_other_parts_cli() -> None:
    # a fresh interpreter: this test process has imported every part already
    script = (
        "import sys\n"
        "from egov.cli import app\n"
        "try:\n"
        "    app(['capacity', 'check', '--format', 'json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {PARTS!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "['capacity.cli']", done.stderr


def test_a_sub_app_runs_through_the_lazy_group() -> None:
    # the sub-app's own commands, under the name and help egov gives it
    result = CliRunner().invoke(app, ["stack", "--help"])
    assert result.exit_code == 0, result.stderr
    assert "what `pulumi up` would create" in result.stdout and " plan " in result.stdout
