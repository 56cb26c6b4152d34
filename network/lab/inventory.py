"""The lab's Ansible inventory: routers reached through the management sshd, run in their namespaces."""

from __future__ import annotations

from network.inventory import InventoryHost
from network.lab.check import v6_expected
from network.lab.engine import Management
from network.lab.spec import LabSpec, namespace_name


def lab_hosts(spec: LabSpec, prefix: str, mgmt: Management) -> list[InventoryHost]:
    """One inventory host per lab router, with its verify expectations from the spec."""
    ospf: dict[str, list[str]] = {}
    ospf6: dict[str, list[str]] = {}
    for adj in spec.adjacencies:
        ospf.setdefault(adj.router, []).append(adj.ifname)
        if v6_expected(spec, adj):
            ospf6.setdefault(adj.router, []).append(adj.ifname)
    bgp: dict[str, list[str]] = {}
    for session in spec.bgp_sessions:
        bgp.setdefault(session.router, []).append(session.peer_address)
    hosts = []
    for name, router in spec.routers.items():
        ns = namespace_name(prefix, name)
        wrap = [str(mgmt.frr_exec), ns]
        v4 = [str(lo.ip) for lo in router.loopbacks if lo.version == 4]
        targets = [a for a in router.ping_targets if a not in v4]
        hosts.append(
            InventoryHost(
                name=name,
                vendor="frr",
                tier=router.tier or "lab",
                city=router.city,
                ansible_host=mgmt.address,
                ospf_interfaces=ospf.get(name, []),
                bgp_peers=bgp.get(name, []),
                ping_source=v4[0] if v4 else "",
                ping_targets=targets if v4 else [],
                extra={
                    "frr_pathspace": ns,
                    "frr_vtysh": [*wrap, "/usr/bin/vtysh", "-N", ns],
                    "frr_reload": [*wrap, "/usr/lib/frr/frr-reload.py", "-N", ns],
                    "frr_ping": [*wrap, "ping"],
                    "frr_conf": f"/etc/frr/{ns}/frr.conf",
                    "egov_ospf6_interfaces": sorted(ospf6.get(name, [])),
                },
            )
        )
    return hosts


def lab_group_vars(mgmt: Management) -> dict[str, object]:
    """Connection settings shared by every lab router: root over SSH with the lab's own key (on tmpfs)."""
    return {
        "ansible_user": "root",
        "ansible_connection": "ssh",
        "ansible_ssh_private_key_file": str(mgmt.key_file),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={mgmt.known_hosts} -o StrictHostKeyChecking=yes",
        "ansible_python_interpreter": "/usr/bin/python3",
    }
