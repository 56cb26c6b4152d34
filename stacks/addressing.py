"""Department tenant subnets: the one seam between the stack and the backbone address plan.

The backbone plan (network.addressing, over data/network.yaml) owns the tenant supernet and keys each
department's /24 by its VPN id, outside every backbone pool; the stack only asks it.
"""

from __future__ import annotations

import ipaddress

from egov.model import SourceOfTruth


def department_subnets(source: SourceOfTruth, codes: list[str]) -> dict[str, ipaddress.IPv4Network]:
    """The tenant subnet of each department in ``codes``, as the backbone plan allocates it.

    VPN ids are resolved over all departments of ``source`` (not only those of the stack), so a staging
    stack with five departments gets the same subnets as production.
    """
    from network.addressing import default_plan, resolve_vpn_ids

    plan = default_plan()
    vpn_ids = resolve_vpn_ids(plan.params, [d.code for d in source.departments])
    return {code: plan.department_cloud_subnet(vpn_ids[code]) for code in codes}


def backbone_prefixes() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Every pool the backbone allocates from (department subnets and zone networks must stay outside)."""
    from network.addressing import backbone_prefixes as pools

    return pools()
