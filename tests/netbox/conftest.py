"""A real NetBox for the tests: the PyPI package in its own Python 3.12 venv, gunicorn on 127.0.0.1, its own
Redis, the suite's PostgreSQL (restored from a cached migrated dump after the first run), a superuser and a
v2 API token made per session. A missing install FAILS with the command that installs it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from network.model import Backbone
from network.netbox import CUSTOM_FIELDS

SLICE_CITY = "445300"  # 云浮: the city, 5 counties, 63 towns; with the cores, access routers and exits


@pytest.fixture(scope="session")
def netbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from netbox_server import NetBoxUnavailable, running_netbox

    try:
        with running_netbox(tmp_path_factory.mktemp("netbox")) as server:
            yield server
    except NetBoxUnavailable as exc:
        pytest.fail(str(exc))


def create_custom_fields(api: Any) -> None:
    """What a NetBox administrator does once before the first push."""
    have = {f.name for f in api.extras.custom_fields.all()}
    for name, (object_type, kind) in CUSTOM_FIELDS.items():
        if name not in have:
            api.extras.custom_fields.create(name=name, type=kind, object_types=[object_type])


@pytest.fixture(scope="session")
def api(netbox: Any) -> Any:
    """pynetbox as the superuser, with the custom fields the push needs."""
    import pynetbox

    client = pynetbox.api(netbox.url, token=netbox.token)
    create_custom_fields(client)
    return client


@pytest.fixture(scope="session")
def slice_backbone() -> Backbone:
    from network.topology import build_backbone

    return build_backbone().slice([SLICE_CITY])
