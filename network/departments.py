"""The departments the backbone serves (horizontal access, one private VPN each) and their access links."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pint

from egov.source import load_departments
from network.params import DATA_DIR, NetworkParams, load_params


def load_department_names(data_dir: Path | None = None) -> dict[str, str]:
    """{code: Chinese name} of every department in data/departments.csv (the source of truth), by code.

    Only the departments file is read (egov.source.load_departments), so a problem elsewhere in the source
    of truth does not stop the backbone.
    """
    root = data_dir or DATA_DIR
    return {d.code: d.name for d in sorted(load_departments(root / "departments.csv"), key=lambda d: d.code)}


def department_codes(data_dir: Path | None = None) -> list[str]:
    """Codes of all departments, sorted."""
    return sorted(load_department_names(data_dir))


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
