"""A real OpenStack Keystone for the tests: gunicorn (one worker) on 127.0.0.1, SQLite, fernet tokens.

Started once per session by the fixture itself (keystone_server.py, the recipe of issue 16). Missing keystone
makes the tests FAIL with the install command; they never skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running Keystone (its auth URL and admin credentials), stopped at the end of the session."""
    from keystone_server import KeystoneUnavailable, running_keystone

    try:
        with running_keystone(tmp_path_factory.mktemp("keystone")) as server:
            yield server
    except KeystoneUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def keystone_admin(keystone: Any) -> Any:
    """openstacksdk logged in as the test Keystone's admin."""
    from keystone_server import connect

    return connect(keystone)
