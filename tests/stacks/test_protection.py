"""What `pulumi up` never deletes: protect / retain_on_delete as the engine receives them, and the checks."""

from __future__ import annotations

import pytest

from stacks.mocks import RecordingMocks
from stacks.policy.policies import Resource, check_departments_kept, check_protected_kinds
from stacks.protection import DepartmentNames

pytestmark = pytest.mark.xdist_group("pulumi")

# Hand-counted from test_program.PROD_COUNTS: every resource of these kinds is protected.
FULLY_PROTECTED = {
    "openstack:identity/project:Project": 123,  # the domain + 122 department projects
    "openstack:identity/groupV3:GroupV3": 122,
    "openstack:identity/roleAssignment:RoleAssignment": 366,
    "openstack:compute/quotaSetV2:QuotaSetV2": 122,
    "openstack:blockstorage/quoteSetV3:QuoteSetV3": 122,
    "openstack:networking/quotaV2:QuotaV2": 122,
    "openstack:objectstorage/accountV1:AccountV1": 122,
    "openstack:networking/network:Network": 124,  # + the 2 zone networks
    "openstack:networking/subnet:Subnet": 124,
    "openstack:blockstorage/volumeTypeV3:VolumeTypeV3": 2,
    "openstack:objectstorage/container:Container": 122,
    "openstack:identity/limitV3:LimitV3": 3,  # vGPU limits of XXZX, GAT, JTT (departments with AI systems)
    "openstack:identity/registeredLimitV3:RegisteredLimitV3": 1,  # the vGPU default of 0
}
# Replaceable without losing anything: routers, rules, flavors, aggregates, QoS, the scoped providers.
UNPROTECTED = {
    "openstack:networking/router:Router",
    "openstack:networking/routerInterface:RouterInterface",
    "openstack:networking/secGroup:SecGroup",
    "openstack:networking/secGroupRule:SecGroupRule",
    "openstack:compute/flavor:Flavor",
    "openstack:compute/aggregateV2:AggregateV2",
    "openstack:blockstorage/qosV3:QosV3",
    "openstack:blockstorage/qosAssociationV3:QosAssociationV3",
    "pulumi:providers:openstack",
}


def test_prod_protection_per_type_token(prod_mocks: RecordingMocks) -> None:
    protection = prod_mocks.protection()
    for token, count in FULLY_PROTECTED.items():
        assert protection[token] == {"resources": count, "protected": count}, token
    for token in UNPROTECTED:
        assert protection[token]["protected"] == 0, token
    assert set(protection) == set(FULLY_PROTECTED) | UNPROTECTED


def test_data_holding_kinds_are_retained_on_delete(prod_mocks: RecordingMocks) -> None:
    by_name = {(r.type, r.name): r for r in prod_mocks.custom_resources()}
    for token, name in (
        ("openstack:identity/project:Project", "departments-domain"),
        ("openstack:identity/project:Project", "GAT"),
        ("openstack:objectstorage/container:Container", "GAT-container"),
        ("openstack:networking/network:Network", "GAT-net"),
        ("openstack:networking/network:Network", "zone-public"),
    ):
        assert by_name[token, name].retain_on_delete, name
    # A quota holds no data: once unprotected on purpose, deleting it really resets it in the cloud.
    assert not by_name["openstack:compute/quotaSetV2:QuotaSetV2", "GAT-compute"].retain_on_delete
    # The component is the parent: the URN an import must give (stacks.importing).
    assert by_name["openstack:identity/project:Project", "GAT"].parent.endswith(
        "egov:stacks:Identity::identity"
    )


def _department(code: str, roles: tuple[str, ...] = ("member",)) -> list[Resource]:
    names = DepartmentNames(code)
    resources = [Resource(token, name, {}, protect=True) for token, name in names.protected()]
    return resources + [
        Resource("openstack:identity/roleAssignment:RoleAssignment", names.group_role(r), {}, protect=True)
        for r in roles
    ]


DEPARTMENTS = {"FGW": "省发展改革委", "GAT": "省公安厅", "JYT": "省教育厅"}


def test_departments_kept_names_what_is_missing() -> None:
    stack = _department("FGW") + _department("GAT")
    assert check_departments_kept(stack, DEPARTMENTS, {"departments": ["FGW", "GAT"]}) == []
    (message,) = check_departments_kept(stack, DEPARTMENTS, {})  # default: every department
    assert message.startswith("department JYT (省教育厅) would be deleted: JYT, JYT-users, JYT-compute")
    assert message.count("JYT") >= 4 and "and 6 more" in message
    assert check_departments_kept(stack, DEPARTMENTS, {"retired": ["JYT"]}) == []
    # Only its quota gone (e.g. a resource renamed): still caught, naming that one resource.
    partial = [r for r in stack if r.name != "GAT-volume"]
    (message,) = check_departments_kept(partial, DEPARTMENTS, {"departments": ["FGW", "GAT"]})
    assert message.startswith("department GAT (省公安厅) would be deleted: GAT-volume not in the stack")
    no_roles = [r for r in stack if r.name != "FGW-users-member"]
    (message,) = check_departments_kept(no_roles, DEPARTMENTS, {"departments": ["FGW", "GAT"]})
    assert "FGW-users-* role assignments" in message


def test_departments_kept_refuses_unknown_codes_in_its_config() -> None:
    stack = _department("FGW")
    messages = check_departments_kept(stack, DEPARTMENTS, {"departments": ["FGW"], "retired": ["XYZ"]})
    assert messages == ["policy config names unknown department XYZ"]


def test_protected_kinds_must_carry_protect() -> None:
    stack = _department("GAT")
    assert check_protected_kinds(stack) == []
    stack[2] = Resource(stack[2].type, stack[2].name, {}, protect=False)
    assert check_protected_kinds(stack) == [
        "Nova quota GAT-compute (openstack:compute/quotaSetV2:QuotaSetV2) is not protected: "
        "declare it with protect=True"
    ]
    assert check_protected_kinds([Resource("openstack:networking/router:Router", "r", {})]) == []
