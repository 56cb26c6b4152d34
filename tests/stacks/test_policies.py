"""Each policy fails on a crafted violation and passes on what the real prod program declares."""

from __future__ import annotations

from typing import Any

import pytest

from egov.source import default_source
from stacks.catalogue import host_sizes
from stacks.mocks import RecordingMocks
from stacks.policy.policies import (
    AGREED_OVERSUBSCRIPTION,
    FLAVOR,
    PROJECT,
    SECURITY_GROUP_RULE,
    Resource,
    build_policies,
    check_flavor,
    check_project,
    check_quotas_within_capacity,
    check_security_group_rule,
    quota_totals,
)
from stacks.quotas import QuotaKey, usable_totals

DEPARTMENTS = {d.code: d.name for d in default_source().departments}
HOSTS = host_sizes(default_source().cloud)


def rule(**props: Any) -> Resource:
    base = {"direction": "ingress", "ethertype": "IPv4", "securityGroupId": "sg"}
    return Resource(SECURITY_GROUP_RULE, "r", {**base, **props})


# -- pass on the real prod program -----------------------------------------------------------------
@pytest.mark.xdist_group("pulumi")
def test_every_policy_passes_on_prod(prod_mocks: RecordingMocks) -> None:
    resources = prod_mocks.policy_view()
    source = default_source()
    assert check_quotas_within_capacity(resources, usable_totals(source), AGREED_OVERSUBSCRIPTION) == []
    kinds = {r.type for r in resources}
    assert {PROJECT, FLAVOR, SECURITY_GROUP_RULE} <= kinds
    for r in resources:
        assert check_project(r, DEPARTMENTS) == []
        assert check_flavor(r, HOSTS) == []
        assert check_security_group_rule(r) == []


@pytest.mark.xdist_group("pulumi")
def test_quota_policy_fails_when_one_department_asks_too_much(prod_mocks: RecordingMocks) -> None:
    resources = prod_mocks.policy_view()
    usable = usable_totals(default_source())
    totals, problems = quota_totals(resources)
    assert problems == []
    room = usable[QuotaKey.cores] * AGREED_OVERSUBSCRIPTION[QuotaKey.cores] - totals[QuotaKey.cores]
    greedy = [
        Resource(r.type, r.name, {**r.props, "cores": int(r.props["cores"] + room + 1)})
        if r.name == "GAT-compute"
        else r
        for r in resources
    ]
    (violation,) = check_quotas_within_capacity(greedy, usable, AGREED_OVERSUBSCRIPTION)
    assert violation.startswith("Σ cores quotas")
    assert f"exceeds usable {usable[QuotaKey.cores]:,.0f} vCPU × agreed oversubscription 1" in violation
    # exactly at the limit is allowed
    at_limit = [
        Resource(r.type, r.name, {**r.props, "cores": int(r.props["cores"] + room)})
        if r.name == "GAT-compute"
        else r
        for r in resources
    ]
    assert check_quotas_within_capacity(at_limit, usable, AGREED_OVERSUBSCRIPTION) == []


def test_quota_policy_sums_by_hand_and_refuses_unlimited() -> None:
    compute = "openstack:compute/quotaSetV2:QuotaSetV2"
    volume = "openstack:blockstorage/quoteSetV3:QuoteSetV3"
    account = "openstack:objectstorage/accountV1:AccountV1"
    limit = "openstack:identity/limitV3:LimitV3"
    resources = [
        Resource(compute, "A-compute", {"cores": 60, "ram": 1000, "instances": 15}),
        Resource(compute, "B-compute", {"cores": 40, "ram": 1000, "instances": 10}),
        Resource(volume, "A-volume", {"gigabytes": 500}),
        Resource(account, "A-account", {"metadata": {"Quota-Bytes": "7000"}}),
        # vGPU quotas are Keystone unified limits of resource class:VGPU; other limits are not vGPUs
        Resource(limit, "A-vgpu-limit", {"resourceName": "class:VGPU", "resourceLimit": 6}),
        Resource(limit, "A-servers", {"resourceName": "servers", "resourceLimit": 50}),
    ]
    usable = {
        QuotaKey.cores: 100.0,
        QuotaKey.ram_mib: 1600.0,
        QuotaKey.volume_gib: 400.0,
        QuotaKey.object_bytes: 7000.0,
        QuotaKey.vgpus: 4.0,
    }
    ones = dict.fromkeys(QuotaKey, 1.0)
    totals, _ = quota_totals(resources)
    assert totals == {
        QuotaKey.cores: 100,
        QuotaKey.ram_mib: 2000,
        QuotaKey.volume_gib: 500,
        QuotaKey.object_bytes: 7000,
        QuotaKey.vgpus: 6,
    }
    violations = check_quotas_within_capacity(resources, usable, ones)
    assert [v.split()[1] for v in violations] == ["ram_mib", "volume_gib", "vgpus"]
    assert "6 vGPU exceeds usable 4 vGPU" in violations[2]
    relaxed = {**ones, QuotaKey.ram_mib: 1.25, QuotaKey.volume_gib: 1.25}
    assert [v.split()[1] for v in check_quotas_within_capacity(resources, usable, relaxed)] == ["vgpus"]
    # A quota without an agreed oversubscription (vGPUs by default) is shown by the review, not checked.
    del relaxed[QuotaKey.vgpus]
    assert check_quotas_within_capacity(resources, usable, relaxed) == []
    unlimited = [*resources, Resource(compute, "C-compute", {"cores": -1, "ram": 0})]
    assert any(
        "unlimited" in v
        for v in check_quotas_within_capacity(unlimited, usable, dict.fromkeys(QuotaKey, 9.0))
    )
    unset = [*resources, Resource(volume, "C-volume", {"volumes": 3})]
    assert any(
        "gigabytes is not set" in v
        for v in check_quotas_within_capacity(unset, usable, dict.fromkeys(QuotaKey, 9.0))
    )


# -- projects --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"name": "GAT", "description": "省公安厅", "tags": ["department:GAT"]}, []),
        ({"name": "d", "description": "the domain", "isDomain": True}, []),
        ({"name": "GAT", "description": "", "tags": ["department:GAT"]}, ["has no description"]),
        ({"name": "d", "isDomain": True}, ["has no description"]),
        (
            {"name": "GAT", "description": "x", "tags": ["GAT"]},
            ["exactly one 'department:<CODE>' tag, has 0"],
        ),
        ({"name": "GAT", "description": "x"}, ["has 0"]),
        ({"name": "GAT", "description": "x", "tags": ["department:GAT", "department:FGW"]}, ["has 2"]),
        ({"name": "ZZZ", "description": "x", "tags": ["department:ZZZ"]}, ["unknown department ZZZ"]),
    ],
)
def test_project_policy(props: dict[str, Any], expected: list[str]) -> None:
    violations = check_project(Resource(PROJECT, props["name"], props), DEPARTMENTS)
    assert len(violations) == len(expected)
    for violation, fragment in zip(violations, expected, strict=True):
        assert fragment in violation


# -- flavors ---------------------------------------------------------------------------------------
def test_largest_hosts_by_hand() -> None:
    # general-64c: 64 − 4 reserved cores, 512 GB = 488281 MiB − 16 GiB reserved;
    # highmem-48c: 48 − 4 cores, 1024 GB = 976562 MiB − 16 GiB; local disk 3840 GB = 3576 GiB − 200 GiB.
    sizes = {h.aggregate: h for h in HOSTS}
    assert (sizes["gz-1-general"].vcpus, sizes["gz-1-general"].ram_mib) == (60, 488281 - 16384)
    assert (sizes["gz-1-highmem"].vcpus, sizes["gz-1-highmem"].ram_mib) == (44, 976562 - 16384)
    assert sizes["gz-1-general"].disk_gib == 3576 - 200


@pytest.mark.parametrize(
    ("vcpus", "ram", "disk", "fits"),
    [
        (60, 65536, 100, True),  # a whole general host's cores
        (61, 65536, 100, False),  # more vCPUs than any host has cores
        (44, 960178, 100, True),  # a whole highmem host's RAM
        (8, 960179, 100, False),  # one MiB more than the largest host's RAM
        (50, 600 * 1024, 100, False),  # each dimension fits some host, but no host has both
        (8, 16384, 3377, False),  # more local disk than any host
    ],
)
def test_flavor_policy(vcpus: int, ram: int, disk: int, fits: bool) -> None:
    violations = check_flavor(Resource(FLAVOR, "x", {"vcpus": vcpus, "ram": ram, "disk": disk}), HOSTS)
    assert (violations == []) is fits, violations
    if not fits:
        assert "largest host" in violations[0]
        # In human units through egov.units (960179 MiB is 937.7 GiB), never raw MiB.
        assert "MiB" not in violations[0] and "GiB RAM" in violations[0], violations[0]


# -- security group rules --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("props", "exposed"),
    [
        (
            {"protocol": "tcp", "portRangeMin": 22, "portRangeMax": 22, "remoteIpPrefix": "0.0.0.0/0"},
            "22/ssh",
        ),
        (
            {
                "protocol": "tcp",
                "portRangeMin": 3380,
                "portRangeMax": 3390,
                "remoteIpPrefix": "::/0",
                "ethertype": "IPv6",
            },
            "3389/rdp",
        ),
        (
            {"protocol": "udp", "portRangeMin": 161, "portRangeMax": 161, "remoteIpPrefix": "0.0.0.0/0"},
            "161/snmp",
        ),
        ({"protocol": "udp", "portRangeMin": 623, "remoteIpPrefix": "0.0.0.0/0"}, "623/ipmi"),
        ({"protocol": "tcp", "remoteIpPrefix": "0.0.0.0/0"}, "23/telnet"),  # no port range = every port
        ({"remoteIpPrefix": "0.0.0.0/0"}, "22/ssh"),  # any protocol
        (
            {"protocol": "tcp", "portRangeMin": 22, "portRangeMax": 22},
            "22/ssh",
        ),  # no prefix, no group = anyone
        ({"protocol": "6", "portRangeMin": 1, "portRangeMax": 1024, "remoteIpPrefix": "0.0.0.0/0"}, "22/ssh"),
    ],
)
def test_management_port_open_to_world_is_refused(props: dict[str, Any], exposed: str) -> None:
    (violation,) = check_security_group_rule(rule(**props))
    assert exposed in violation


@pytest.mark.parametrize(
    "props",
    [
        {"protocol": "tcp", "portRangeMin": 22, "portRangeMax": 22, "remoteIpPrefix": "10.0.5.0/24"},
        {"protocol": "tcp", "portRangeMin": 443, "portRangeMax": 443, "remoteIpPrefix": "0.0.0.0/0"},
        {"protocol": "icmp", "remoteIpPrefix": "0.0.0.0/0"},
        {"protocol": "tcp", "portRangeMin": 22, "portRangeMax": 22, "remoteGroupId": "sg"},
        {
            "direction": "egress",
            "protocol": "tcp",
            "portRangeMin": 22,
            "portRangeMax": 22,
            "remoteIpPrefix": "0.0.0.0/0",
        },
    ],
)
def test_rules_that_do_not_expose_management_pass(props: dict[str, Any]) -> None:
    assert check_security_group_rule(rule(**props)) == []


# -- the pack's Policy objects (what __main__.py hands the PolicyPack) -----------------------------
def test_policy_wrappers_report_through_the_engine_callbacks() -> None:
    from pulumi_policy import PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs

    usable = usable_totals(default_source())
    policies = {p.name: p for p in build_policies(usable, HOSTS, DEPARTMENTS)}
    assert set(policies) == {
        "quotas-within-capacity",
        "departments-never-deleted",
        "protected-kinds-stay-protected",
        "project-description-and-department",
        "flavor-fits-a-host",
        "no-management-port-open-to-world",
    }
    opts = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        additional_secret_outputs=[],
        custom_timeouts=None,  # type: ignore[arg-type]
        parent=None,
    )
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    args = ResourceValidationArgs(PROJECT, {"name": "X", "tags": []}, "urn:x", "X", opts, None)
    policies["project-description-and-department"].validate(args, report)
    assert len(reported) == 2
    reported.clear()
    quota = "openstack:compute/quotaSetV2:QuotaSetV2"
    one = StackValidationArgs([_policy_resource(quota, {"cores": 10_000, "ram": 1}, opts)])
    policies["quotas-within-capacity"].validate(one, report)
    assert reported == []
    # the agreed oversubscription comes from the pack config when given
    tight = StackValidationArgs(
        [_policy_resource(quota, {"cores": 10_000, "ram": 1}, opts)],
        config={"oversubscription": {"cores": 10_000 / usable[QuotaKey.cores] / 2}},
    )
    policies["quotas-within-capacity"].validate(tight, report)
    assert len(reported) == 1 and "Σ cores" in reported[0]
    reported.clear()
    # a stack holding one unprotected quota: every department but none would be deleted, the quota unprotected
    policies["departments-never-deleted"].validate(one, report)
    assert len(reported) == len(DEPARTMENTS) == 122
    reported.clear()
    policies["protected-kinds-stay-protected"].validate(one, report)
    assert reported == [f"Nova quota r ({quota}) is not protected: declare it with protect=True"]


def _policy_resource(token: str, props: dict[str, Any], opts: Any) -> Any:
    from pulumi_policy import PolicyResource

    return PolicyResource(token, props, f"urn:{token}", "r", opts, None, None, [], {})
