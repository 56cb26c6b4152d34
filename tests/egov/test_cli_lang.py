"""The CLI's own framing of errors (错误：/error:, the "nothing was written" summary, usage errors) is zh-CN
by default and English with `egov --lang en`, EGOV_LANG or the POSIX locale; the located part of an error
(file, row, column, value) is the same in both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cloudkit import system, write_data
from typer.testing import CliRunner

from capacity.cli import app as capacity_app
from egov import i18n
from egov.cli import app as egov_app

runner = CliRunner()
LOCALE_VARIABLES = ("EGOV_LANG", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture
def no_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in the environment names a language (tests/conftest.py sets EGOV_LANG=en for the suite)."""
    for variable in LOCALE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def bad_dir(tmp_path: Path) -> Path:
    return write_data(tmp_path / "data", systems=[system(department="ZZZ")])


def _located(bad_dir: Path) -> str:
    """The part of the error that names the user's data: the same in every language."""
    return (
        f"{bad_dir / 'systems.csv'}, row 2, column 'department': unknown department 'ZZZ' (system AAA-0001)"
    )


def _words(stderr: str) -> str:
    """stderr without the frame and line breaks of typer's error panel."""
    return " ".join(stderr.replace("│", " ").split())


def _validate(bad_dir: Path, *options: str) -> str:
    result = runner.invoke(egov_app, [*options, "data", "validate", str(bad_dir)])
    assert result.exit_code == 2, result.output
    return result.stderr


@pytest.mark.usefixtures("no_language")
def test_errors_are_framed_in_chinese_by_default(bad_dir: Path) -> None:
    stderr = _validate(bad_dir)
    assert stderr.splitlines() == [f"错误：{_located(bad_dir)}", "1 个错误；未写入任何文件。"]


@pytest.mark.usefixtures("no_language")
def test_lang_en_frames_the_same_error_in_english(bad_dir: Path) -> None:
    stderr = _validate(bad_dir, "--lang", "en")
    assert stderr.splitlines() == [f"error: {_located(bad_dir)}", "1 error(s); nothing was written."]


@pytest.mark.parametrize(
    ("environment", "first_line"),
    [
        ({"EGOV_LANG": "en"}, "error: "),
        ({"EGOV_LANG": "zh-CN", "LANG": "en_US.UTF-8"}, "错误："),  # EGOV_LANG beats the locale
        ({"LANG": "en_US.UTF-8"}, "error: "),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "错误："),  # LC_ALL beats LANG, as in POSIX
        ({"LANG": "C.UTF-8"}, "错误："),  # the C locale names no language: the default
        ({"LANG": "ja_JP.UTF-8"}, "错误："),  # no catalog for it: the default
    ],
)
@pytest.mark.usefixtures("no_language")
def test_the_environment_chooses_when_no_lang_is_given(
    bad_dir: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], first_line: str
) -> None:
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert _validate(bad_dir).splitlines()[0] == first_line + _located(bad_dir)


def test_lang_beats_the_environment(bad_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_LANG", "en")
    assert _validate(bad_dir, "--lang", "zh").splitlines()[0] == f"错误：{_located(bad_dir)}"


def test_the_language_lasts_one_invocation(bad_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--lang zh of one command does not leak into the next one run in the same process."""
    monkeypatch.setenv("EGOV_LANG", "en")
    _validate(bad_dir, "--lang", "zh")
    assert _validate(bad_dir).splitlines()[0] == f"error: {_located(bad_dir)}"


def test_an_unknown_lang_is_a_usage_error_naming_the_choices(bad_dir: Path) -> None:
    result = runner.invoke(egov_app, ["--lang", "fr", "data", "validate", str(bad_dir)])
    assert result.exit_code == 2
    assert "Invalid value for '--lang': unknown language 'fr'; choose one of: zh-CN, en" in _words(
        result.stderr
    )


def test_an_unknown_egov_lang_is_a_usage_error_naming_the_variable(
    bad_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGOV_LANG", "klingon")
    result = runner.invoke(egov_app, ["data", "validate", str(bad_dir)])
    assert result.exit_code == 2
    assert "EGOV_LANG: unknown language 'klingon'; choose one of: zh-CN, en" in _words(result.stderr)


@pytest.mark.usefixtures("no_language")
def test_a_sub_app_run_on_its_own_reads_the_environment(
    bad_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(capacity_app, ["check", "--data", str(bad_dir)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "1 个错误；未写入任何文件。"
    monkeypatch.setenv("EGOV_LANG", "en")
    result = runner.invoke(capacity_app, ["check", "--data", str(bad_dir)])
    assert result.stderr.splitlines()[-1] == "1 error(s); nothing was written."


@pytest.mark.usefixtures("no_language")
def test_a_format_usage_error_of_clitools_in_both_languages(tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    arguments = ["capacity", "fit", "--data", str(data), "--format", "csv"]
    chinese = runner.invoke(egov_app, arguments)
    english = runner.invoke(egov_app, ["--lang", "en", *arguments])
    assert (chinese.exit_code, english.exit_code) == (2, 2)
    assert "--format：fit 只输出表格或 JSON" in chinese.stderr
    assert "--format: fit prints a table or json" in english.stderr


def test_the_installed_command_in_a_subprocess_defaults_to_chinese(bad_dir: Path) -> None:
    """The environment a user's shell gives: no EGOV_LANG, LANG=C.UTF-8 (a container's default)."""
    environment = {k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES} | {"LANG": "C.UTF-8"}
    command = [sys.executable, "-m", "egov.cli", "data", "validate", str(bad_dir)]
    result = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=120, check=False
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"错误：{_located(bad_dir)}", "1 个错误；未写入任何文件。"]


@pytest.mark.parametrize(
    ("environment", "code"),
    [({}, "zh_CN"), ({"LANG": "POSIX"}, "zh_CN"), ({"LC_MESSAGES": "en_GB"}, "en"),
     ({"EGOV_LANG": " "}, "zh_CN"), ({"LC_ALL": "", "LANG": "en_US.UTF-8"}, "en"),
     ({"LANG": "zh_CN.UTF-8@pinyin"}, "zh_CN")],
)  # fmt: skip
def test_language_from_environment(environment: dict[str, str], code: str) -> None:
    assert i18n.language_from_environment(environment) == code
