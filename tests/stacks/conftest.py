"""Fixtures for the stack tests, and a guard against Pulumi tests that assert nothing.

A test returning a pulumi Output (or any awaitable) without ``@pulumi.runtime.test`` passes silently: nobody
awaits the assertions inside ``apply``. The hook below fails such a test instead.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from stacks.mocks import RecordingMocks, run_program
from stacks.settings import load_stack_settings


def _unawaited(result: Any) -> str | None:
    """Why a test function's return value means its assertions never ran (None if it does not)."""
    import pulumi

    if isinstance(result, pulumi.Output):
        return "returned a pulumi Output: decorate it with @pulumi.runtime.test so its assertions run"
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()
        return "returned an awaitable nobody awaits: decorate it with @pulumi.runtime.test"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    result = pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names})
    problem = _unawaited(result)
    if problem:
        pytest.fail(f"{pyfuncitem.name} {problem}", pytrace=False)
    return True


@pytest.fixture(scope="session")
def prod_mocks() -> RecordingMocks:
    """The whole province program (Pulumi.prod.yaml) run once under the mocks."""
    config, _settings = load_stack_settings("prod")
    return run_program("prod", config)


@pytest.fixture(scope="session")
def staging_mocks() -> RecordingMocks:
    config, _settings = load_stack_settings("staging")
    return run_program("staging", config)
