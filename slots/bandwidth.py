"""A department's access-link bandwidth: the figure a data transfer to the cloud is limited by.

The backbone model owns the number (network.departments.access_bandwidth: a department's override in
data/network.yaml, else the provincial horizontal access); this module is the one seam through which slots
reads it, so tests can hand admission another figure (``Province(source, bandwidth=…)``).
"""

from __future__ import annotations

from network.departments import access_bandwidth

__all__ = ["access_bandwidth"]
