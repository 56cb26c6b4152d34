"""A department's access-link bandwidth: the figure a data transfer to the cloud is limited by.

The backbone model (network/) owns the number; this module is the one seam through which slots reads it.
Until the backbone model answers for a department, the provincial horizontal access (省直部门横向接入) of
10 Gbit/s is assumed.
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
        from network.addressing import access_bandwidth  # type: ignore[attr-defined]
    except ImportError:
        return None
    return access_bandwidth  # type: ignore[no-any-return]


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
