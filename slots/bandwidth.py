"""A department's access-link bandwidth: the figure a data transfer to the cloud is limited by.

The backbone model owns the number (network.departments.access_bandwidth: a department's override in
data/network.yaml, else the provincial horizontal access); this module is the one seam through which slots
reads it, so tests can hand admission another figure. Without the backbone package the provincial
horizontal access of 10 Gbit/s is assumed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import pint

from egov.units import Q_

#: The provincial horizontal access link of a department when the backbone model gives no figure.
DEFAULT_ACCESS = Q_(10, "Gbit/s")


@lru_cache(maxsize=1)
def _network_lookup() -> Callable[[str], pint.Quantity] | None:
    """The backbone model's ``access_bandwidth(code)`` when it exists, else None."""
    try:
        from network.departments import access_bandwidth
    except ImportError:
        return None
    return access_bandwidth


def access_bandwidth(department: str) -> pint.Quantity:
    """The access-link bandwidth of ``department`` (a bit/s quantity)."""
    lookup = _network_lookup()
    if lookup is None:
        return DEFAULT_ACCESS
    try:
        value = lookup(department)
    except (KeyError, LookupError):
        return DEFAULT_ACCESS
    return value if value is not None else DEFAULT_ACCESS
