"""Network: shared 政务外网 zone networks; per department network, subnet, router, baseline rules, quota."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_openstack as openstack

from stacks.components.identity import department_tag
from stacks.protection import NETWORK, NETWORK_QUOTA, SUBNET, DepartmentNames, kept
from stacks.quotas import DepartmentQuota
from stacks.settings import NetworkQuota, ZoneNetwork

#: Ports a department's network needs besides its instances: router interface, DHCP agents, spare.
INFRASTRUCTURE_PORTS = 10


class Network(pulumi.ComponentResource):
    """External provider networks for 公用网络区 and 互联网接入区, and each department's private network.

    Networks, subnets and quotas are protected (stacks.protection): the zone networks carry every floating
    IP, a department's network its ports. A department network is routed to the public zone.
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
        self.zones, self.zone_subnets = {}, {}
        for key, zone in zones.items():
            self.zones[key], self.zone_subnets[key] = self._zone(key, zone)
        self.networks, self.subnets, self.routers, self.security_groups = {}, {}, {}, {}
        for quota in quotas:
            code = quota.code
            project_id = projects[code].id
            net, subnet, router = self._department_network(
                code, project_id, subnets[code], self.zones["public"], dns_nameservers
            )
            self.security_groups[code] = self._baseline_group(
                code, project_id, subnets[code], management_prefixes
            )
            openstack.networking.QuotaV2(
                DepartmentNames(code).network_quota,
                project_id=project_id,
                network=network_quota.network,
                subnet=network_quota.subnet,
                router=network_quota.router,
                floatingip=network_quota.floatingip,
                security_group=network_quota.security_group,
                security_group_rule=network_quota.security_group_rule,
                port=quota.instances * network_quota.ports_per_instance + INFRASTRUCTURE_PORTS,
                opts=kept(self, NETWORK_QUOTA),
            )
            self.networks[code], self.subnets[code], self.routers[code] = net, subnet, router
        self.register_outputs(
            {
                "zone_network_ids": {key: net.id for key, net in self.zones.items()},
                "network_ids": {code: net.id for code, net in self.networks.items()},
                "subnet_ids": {code: subnet.id for code, subnet in self.subnets.items()},
                "router_ids": {code: router.id for code, router in self.routers.items()},
                "security_group_ids": {code: group.id for code, group in self.security_groups.items()},
            }
        )

    def _zone(
        self, key: str, zone: ZoneNetwork
    ) -> tuple[openstack.networking.Network, openstack.networking.Subnet]:
        """An external provider network of the 政务外网 and its subnet (floating IPs come from its pool)."""
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
            opts=kept(self, NETWORK),
        )
        subnet = openstack.networking.Subnet(
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
            opts=kept(self, SUBNET),
        )
        return net, subnet

    def _department_network(
        self,
        code: str,
        project_id: pulumi.Output[str],
        cidr: ipaddress.IPv4Network,
        public: openstack.networking.Network,
        dns_nameservers: Sequence[ipaddress.IPv4Address],
    ) -> tuple[openstack.networking.Network, openstack.networking.Subnet, openstack.networking.Router]:
        """A department's network and subnet, routed to the public zone."""
        names, tags = DepartmentNames(code), [department_tag(code)]
        net = openstack.networking.Network(
            names.network,
            name=f"{code.lower()}-net",
            tenant_id=project_id,
            tags=tags,
            opts=kept(self, NETWORK),
        )
        subnet = openstack.networking.Subnet(
            names.subnet,
            name=f"{code.lower()}-subnet",
            network_id=net.id,
            tenant_id=project_id,
            cidr=str(cidr),
            gateway_ip=str(next(cidr.hosts())),
            dns_nameservers=[str(a) for a in dns_nameservers],
            tags=tags,
            opts=kept(self, SUBNET),
        )
        router = openstack.networking.Router(
            names.router,
            name=f"{code.lower()}-router",
            tenant_id=project_id,
            external_network_id=public.id,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        openstack.networking.RouterInterface(
            f"{code}-router-interface",
            router_id=router.id,
            subnet_id=subnet.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return net, subnet, router

    def _baseline_group(
        self,
        code: str,
        project_id: pulumi.Output[str],
        cidr: ipaddress.IPv4Network,
        management_prefixes: Sequence[ipaddress.IPv4Network],
    ) -> openstack.networking.SecGroup:
        """The department's ``baseline`` security group and its rules (see :func:`baseline_rules`)."""
        child = pulumi.ResourceOptions(parent=self)
        group = openstack.networking.SecGroup(
            DepartmentNames(code).security_group,
            name="baseline",
            description=f"Baseline of {code}: management from the operations prefixes only",
            tenant_id=project_id,
            # Neutron's default rules of a new group are egress-only (any IPv4, any IPv6): kept.
            delete_default_rules=False,
            tags=[department_tag(code)],
            opts=child,
        )
        for rule_name, rule in baseline_rules(cidr, management_prefixes):
            openstack.networking.SecGroupRule(
                f"{code}-{rule_name}", security_group_id=group.id, tenant_id=project_id, opts=child, **rule
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
        return group


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
