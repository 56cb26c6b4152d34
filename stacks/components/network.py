"""Network: shared 政务外网 zone networks; per department network, subnet, router, baseline rules, quota."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_openstack as openstack

from stacks.quotas import DepartmentQuota
from stacks.settings import NetworkQuota, ZoneNetwork

#: Ports a department's network needs besides its instances: router interface, DHCP agents, spare.
INFRASTRUCTURE_PORTS = 10


class Network(pulumi.ComponentResource):
    """External provider networks for 公用网络区 and 互联网接入区, and each department's private network.

    The zone networks are shared by every department and carry floating IPs: they are ``protect``-ed so no
    ``pulumi up`` or ``destroy`` can take them away. A department network is routed to the public zone.
    """

    zones: dict[str, openstack.networking.Network]
    zone_subnets: dict[str, openstack.networking.Subnet]
    networks: dict[str, openstack.networking.Network]
    subnets: dict[str, openstack.networking.Subnet]
    routers: dict[str, openstack.networking.Router]
    security_groups: dict[str, openstack.networking.SecGroup]

    def __init__(
        self,
        name: str,
        *,
        zones: Mapping[str, ZoneNetwork],
        subnets: Mapping[str, ipaddress.IPv4Network],
        projects: Mapping[str, openstack.identity.Project],
        quotas: Sequence[DepartmentQuota],
        network_quota: NetworkQuota,
        management_prefixes: Sequence[ipaddress.IPv4Network],
        dns_nameservers: Sequence[ipaddress.IPv4Address],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("egov:stacks:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        shared = pulumi.ResourceOptions(parent=self, protect=True)
        self.zones, self.zone_subnets = {}, {}
        for key, zone in zones.items():
            net = openstack.networking.Network(
                f"zone-{key}",
                name=zone.name,
                external=True,
                description=f"政务外网 {zone.name}: provider network on {zone.physical_network}",
                segments=[
                    openstack.networking.NetworkSegmentArgs(
                        network_type=zone.network_type,
                        physical_network=zone.physical_network,
                        segmentation_id=zone.segmentation_id,
                    )
                ],
                opts=shared,
            )
            self.zones[key] = net
            self.zone_subnets[key] = openstack.networking.Subnet(
                f"zone-{key}-subnet",
                name=f"{zone.name} {zone.cidr}",
                network_id=net.id,
                cidr=str(zone.cidr),
                gateway_ip=str(zone.gateway),
                enable_dhcp=False,
                allocation_pools=[
                    openstack.networking.SubnetAllocationPoolArgs(
                        start=str(zone.pool_start), end=str(zone.pool_end)
                    )
                ],
                opts=shared,
            )
        public = self.zones["public"]
        self.networks, self.subnets, self.routers, self.security_groups = {}, {}, {}, {}
        for quota in quotas:
            code = quota.code
            project_id = projects[code].id
            cidr = subnets[code]
            tags = [f"department:{code}"]
            net = openstack.networking.Network(
                f"{code}-net", name=f"{code.lower()}-net", tenant_id=project_id, tags=tags, opts=child
            )
            subnet = openstack.networking.Subnet(
                f"{code}-subnet",
                name=f"{code.lower()}-subnet",
                network_id=net.id,
                tenant_id=project_id,
                cidr=str(cidr),
                gateway_ip=str(next(cidr.hosts())),
                dns_nameservers=[str(a) for a in dns_nameservers],
                tags=tags,
                opts=child,
            )
            router = openstack.networking.Router(
                f"{code}-router",
                name=f"{code.lower()}-router",
                tenant_id=project_id,
                external_network_id=public.id,
                tags=tags,
                opts=child,
            )
            openstack.networking.RouterInterface(
                f"{code}-router-interface", router_id=router.id, subnet_id=subnet.id, opts=child
            )
            group = openstack.networking.SecGroup(
                f"{code}-baseline",
                name="baseline",
                description=f"Baseline of {code}: management from the operations prefixes only",
                tenant_id=project_id,
                # Neutron's default rules of a new group are egress-only (any IPv4, any IPv6): kept.
                delete_default_rules=False,
                tags=tags,
                opts=child,
            )
            for rule_name, rule in baseline_rules(cidr, management_prefixes):
                openstack.networking.SecGroupRule(
                    f"{code}-{rule_name}",
                    security_group_id=group.id,
                    tenant_id=project_id,
                    opts=child,
                    **rule,
                )
            openstack.networking.SecGroupRule(
                f"{code}-in-same-group",
                security_group_id=group.id,
                tenant_id=project_id,
                direction="ingress",
                ethertype="IPv4",
                remote_group_id=group.id,
                description="members of the baseline group reach each other",
                opts=child,
            )
            openstack.networking.QuotaV2(
                f"{code}-network",
                project_id=project_id,
                network=network_quota.network,
                subnet=network_quota.subnet,
                router=network_quota.router,
                floatingip=network_quota.floatingip,
                security_group=network_quota.security_group,
                security_group_rule=network_quota.security_group_rule,
                port=quota.instances * network_quota.ports_per_instance + INFRASTRUCTURE_PORTS,
                opts=child,
            )
            self.networks[code], self.subnets[code] = net, subnet
            self.routers[code], self.security_groups[code] = router, group
        self.register_outputs({})


def baseline_rules(
    cidr: ipaddress.IPv4Network, management_prefixes: Sequence[ipaddress.IPv4Network]
) -> list[tuple[str, dict[str, Any]]]:
    """The baseline rules of a department's security group (name, SecGroupRule arguments).

    SSH and RDP only from the operations prefixes; ICMP from anywhere (path-MTU discovery needs it); anything
    from the department's own subnet. Egress stays open through Neutron's default rules of a new group, and
    traffic between members of the group is allowed by a rule referencing the group itself.
    """
    rules: list[tuple[str, dict[str, Any]]] = [
        (
            "in-icmp",
            {
                "direction": "ingress",
                "ethertype": "IPv4",
                "protocol": "icmp",
                "remote_ip_prefix": "0.0.0.0/0",
                "description": "ping and path-MTU discovery",
            },
        ),
    ]
    for i, prefix in enumerate(management_prefixes):
        for service, port in (("ssh", 22), ("rdp", 3389)):
            rules.append(
                (
                    f"in-{service}-mgmt{i}",
                    {
                        "direction": "ingress",
                        "ethertype": "IPv4",
                        "protocol": "tcp",
                        "port_range_min": port,
                        "port_range_max": port,
                        "remote_ip_prefix": str(prefix),
                        "description": f"{service} from the operations prefix {prefix}",
                    },
                )
            )
    rules.append(
        (
            "in-subnet",
            {
                "direction": "ingress",
                "ethertype": "IPv4",
                "remote_ip_prefix": str(cidr),
                "description": "anything from the department's own subnet",
            },
        )
    )
    return rules
