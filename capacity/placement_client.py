"""The Placement client: egov's identities in Placement (a UUID namespace, aggregate, provider and hold
consumer UUIDs), the connection and one request helper with readable errors.

The bottom of the Placement modules: capacity.placement_source (reading a live cloud) and capacity.holds
(migration holds) both build on it, and it imports neither, so the two never import each other.
"""

from __future__ import annotations

import uuid
from typing import Any

from egov.model import Cloud, SourceOfTruth

#: Read with 1.19 (aggregates with generations); every Placement since Queens serves it.
READ_MICROVERSION = "1.19"
WRITE_MICROVERSION = "1.19"
EGOV_NAMESPACE = uuid.UUID("4d1f7d0e-5b57-4a8e-9a40-6a3c1f0e2b27")


class PlacementError(RuntimeError):
    """Placement answered with an error: the message names the request and Placement's own words."""


def aggregate_uuid(cloud: Cloud, aggregate: str) -> str:
    """The UUID egov gives aggregate ``aggregate`` of ``cloud`` in Placement (stable across runs)."""
    return str(uuid.uuid5(EGOV_NAMESPACE, f"{cloud.region}:aggregate:{aggregate}"))


def provider_uuid(cloud: Cloud, host: str) -> str:
    """The UUID :func:`register_cloud` gives a host's resource provider (stable across runs)."""
    return str(uuid.uuid5(EGOV_NAMESPACE, f"{cloud.region}:host:{host}"))


def connect(cloud: str) -> Any:
    """An openstacksdk connection to ``cloud`` of clouds.yaml (OS_CLIENT_CONFIG_FILE honoured)."""
    import openstack

    return openstack.connect(cloud=cloud)


def call(conn: Any, method: str, url: str, microversion: str = READ_MICROVERSION, **kwargs: Any) -> Any:
    """One Placement request through the connection's placement adapter; errors become PlacementError."""
    response = conn.placement.request(url, method, microversion=microversion, raise_exc=False, **kwargs)
    if response.status_code >= 400:
        raise PlacementError(f"{method} {url}: {response.status_code} {response.text.strip()[:400]}")
    return response


def get_json(conn: Any, url: str, microversion: str = READ_MICROVERSION) -> dict[str, Any]:
    result: dict[str, Any] = call(conn, "GET", url, microversion).json()
    return result


def hold_consumer_id(region: str, system_id: str) -> str:
    """The Placement consumer UUID of a system's migration hold (the same system always gets the same)."""
    return str(uuid.uuid5(EGOV_NAMESPACE, f"{region}:hold:{system_id}"))


def hold_consumer_ids(source: SourceOfTruth) -> set[str]:
    """The hold consumer of every system of the source of truth."""
    return {hold_consumer_id(source.cloud.region, s.id) for s in source.systems}
