"""The departments the backbone serves (horizontal access, one private VPN each) and their access links."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pint

from network.params import NetworkParams, load_params


def department_codes(data_dir: Path | None = None) -> list[str]:
    """Codes of all departments of the source of truth (egov.source), sorted.

    Falls back to the departments pinned in data/network.yaml while the source loader is not available.
    """
    try:
        from egov.source import load_source
    except ImportError:
        return sorted(load_params().departments)
    return sorted(d.code for d in load_source(data_dir).departments)


def department_access_bandwidth(params: NetworkParams, code: str) -> pint.Quantity:
    """Horizontal access bandwidth of a department: its override in network.yaml, else the default."""
    override = params.departments.get(code)
    if override is not None and override.access_bandwidth is not None:
        return override.access_bandwidth
    return params.department_access


@cache
def _params() -> NetworkParams:
    return load_params()


def access_bandwidth(department_code: str) -> pint.Quantity:
    """Bandwidth of a department's horizontal access link at the provincial core (default 10 Gbit/s).

    For the migration-slots engineer: ``access_bandwidth("GDDRC").to("Gbit/s")``.
    """
    return department_access_bandwidth(_params(), department_code)
