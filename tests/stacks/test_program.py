"""The province program under Pulumi's official mocks: what it declares, with hand-computed expectations."""

from __future__ import annotations

import csv
import gc
import ipaddress
import itertools
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from stacks.mocks import RecordingMocks, reset_runtime
from stacks.program import build, collector_paused
from stacks.settings import load_stack_settings

pytestmark = pytest.mark.xdist_group("pulumi")

DATA = Path(__file__).resolve().parents[2] / "data"
STACK_DIR = Path(__file__).resolve().parents[2] / "stacks" / "egov-cloud"

# -- resource counts, hand-computed from the stack files and data/ ---------------------------------
# prod: 122 departments, departmentRoles [member, load-balancer_member] (+1 operator assignment each),
# zones public + internet, one management prefix (network.yaml ssh_allowed) → 2 rules each (ssh, rdp)
# + icmp + own subnet + same group = 5 rules per department, 8 aggregates (2 GPU) and 17 flavors (3 GPU)
# in cloud.yaml,
# two volume tiers both with QoS; Nova's vGPU quota as Keystone unified limits: one registered default (0)
# and a project limit for each department with AI systems in systems.csv (XXZX, GAT, JTT).
PROD_COUNTS = {
    "egov:stacks:Compute": 1,
    "egov:stacks:Identity": 1,
    "egov:stacks:Network": 1,
    "egov:stacks:Storage": 1,
    "openstack:blockstorage/qosAssociationV3:QosAssociationV3": 2,
    "openstack:blockstorage/qosV3:QosV3": 2,
    "openstack:blockstorage/quoteSetV3:QuoteSetV3": 122,
    "openstack:blockstorage/volumeTypeV3:VolumeTypeV3": 2,
    "openstack:compute/aggregateV2:AggregateV2": 8,
    "openstack:compute/flavor:Flavor": 17,
    "openstack:compute/quotaSetV2:QuotaSetV2": 122,
    "openstack:identity/groupV3:GroupV3": 122,
    "openstack:identity/limitV3:LimitV3": 3,
    "openstack:identity/project:Project": 123,  # + the departments' domain
    "openstack:identity/registeredLimitV3:RegisteredLimitV3": 1,
    "openstack:identity/roleAssignment:RoleAssignment": 366,  # 122 × (2 roles + operator)
    "openstack:networking/network:Network": 124,  # + 2 zone networks
    "openstack:networking/quotaV2:QuotaV2": 122,
    "openstack:networking/router:Router": 122,
    "openstack:networking/routerInterface:RouterInterface": 122,
    "openstack:networking/secGroup:SecGroup": 122,
    "openstack:networking/secGroupRule:SecGroupRule": 610,  # 122 × 5
    "openstack:networking/subnet:Subnet": 124,
    "openstack:objectstorage/accountV1:AccountV1": 122,
    "openstack:objectstorage/container:Container": 122,
    "pulumi:providers:openstack": 122,  # one project-scoped provider per department's container
}
# staging: 5 departments, one role, only the public zone, one tier with QoS; GAT's vGPU limit.
STAGING_COUNTS = {
    "egov:stacks:Compute": 1,
    "egov:stacks:Identity": 1,
    "egov:stacks:Network": 1,
    "egov:stacks:Storage": 1,
    "openstack:blockstorage/qosAssociationV3:QosAssociationV3": 1,
    "openstack:blockstorage/qosV3:QosV3": 1,
    "openstack:blockstorage/quoteSetV3:QuoteSetV3": 5,
    "openstack:blockstorage/volumeTypeV3:VolumeTypeV3": 1,
    "openstack:compute/aggregateV2:AggregateV2": 8,
    "openstack:compute/flavor:Flavor": 17,
    "openstack:compute/quotaSetV2:QuotaSetV2": 5,
    "openstack:identity/groupV3:GroupV3": 5,
    "openstack:identity/limitV3:LimitV3": 1,
    "openstack:identity/project:Project": 6,
    "openstack:identity/registeredLimitV3:RegisteredLimitV3": 1,
    "openstack:identity/roleAssignment:RoleAssignment": 10,
    "openstack:networking/network:Network": 6,
    "openstack:networking/quotaV2:QuotaV2": 5,
    "openstack:networking/router:Router": 5,
    "openstack:networking/routerInterface:RouterInterface": 5,
    "openstack:networking/secGroup:SecGroup": 5,
    "openstack:networking/secGroupRule:SecGroupRule": 25,
    "openstack:networking/subnet:Subnet": 6,
    "openstack:objectstorage/accountV1:AccountV1": 5,
    "openstack:objectstorage/container:Container": 5,
    "pulumi:providers:openstack": 5,
}


def test_prod_resource_counts(prod_mocks: RecordingMocks) -> None:
    assert prod_mocks.counts() == PROD_COUNTS


def test_staging_resource_counts(staging_mocks: RecordingMocks) -> None:
    assert staging_mocks.counts() == STAGING_COUNTS
    projects = {r.inputs["name"] for r in staging_mocks.of_type("openstack:identity/project:Project")}
    assert projects == {"gd-departments-staging", "FGW", "JYT", "GAT", "RST", "WJW"}


@pytest.mark.parametrize("fixture", ["prod_mocks", "staging_mocks"])
def test_no_duplicate_names(fixture: str, request: pytest.FixtureRequest) -> None:
    mocks: RecordingMocks = request.getfixturevalue(fixture)
    assert mocks.duplicates() == []
    # OpenStack names that must be unique too (Keystone rejects duplicates, humans need them distinct).
    for token in (
        "openstack:identity/project:Project",
        "openstack:identity/groupV3:GroupV3",
        "openstack:compute/flavor:Flavor",
        "openstack:compute/aggregateV2:AggregateV2",
        "openstack:blockstorage/volumeTypeV3:VolumeTypeV3",
        "openstack:networking/network:Network",
    ):
        names = Counter(r.inputs["name"] for r in mocks.of_type(token))
        assert [n for n, c in names.items() if c > 1] == [], token


def test_duplicate_names_are_caught_although_the_mocks_accept_them() -> None:
    import pulumi_openstack as openstack

    mocks = RecordingMocks()
    reset_runtime("dup", {}, mocks)

    @pulumi.runtime.test
    def program() -> None:
        openstack.compute.Flavor("m1.small", vcpus=1, ram=2048, disk=40)
        openstack.compute.Flavor("m1.small", vcpus=2, ram=4096, disk=40)

    program()
    assert len(mocks.of_type("openstack:compute/flavor:Flavor")) == 2  # the mocks took both
    assert mocks.duplicates() == [("openstack:compute/flavor:Flavor", "m1.small")]


# -- a hand-picked department's quotas, recomputed from systems.csv without the capacity model -----
def _months_between(start: str, month: str) -> int:
    (y0, m0), (y1, m1) = (map(int, start.split("-")), map(int, month.split("-")))
    return (y1 - y0) * 12 + (m1 - m0)


def _growth(row: dict[str, str], t: int) -> float:
    if t < 0:
        return 0.0
    if row["annual_growth"]:
        rate = float(row["annual_growth"].rstrip("%")) / 100
        return (1 + rate) ** (t / 12)
    factors = [float(f) for f in row["yearly_factors"].split(";")]
    return factors[min(t // 12, len(factors) - 1)]


def five_year_peak(department: str) -> dict[str, float]:
    """Peak monthly demand of a department over the horizon, straight from the CSV (units of its headers)."""
    planning = yaml.safe_load((DATA / "planning.yaml").read_text(encoding="utf-8"))
    start, months = str(planning["start_month"]), int(planning["horizon_months"])
    with (DATA / "systems.csv").open(encoding="utf-8-sig") as handle:
        rows = [r for r in csv.DictReader(handle) if r["department"] == department]
    assert rows, department
    columns = {
        "vcpu": "vcpu",
        "ram_gb": "ram (GB)",
        "block_tb": "block_storage (TB)",
        "object_tb": "object_storage (TB)",
        "vgpu": "vgpu",
    }
    peak = dict.fromkeys(columns, 0.0)
    for m in range(months):
        month_total = dict.fromkeys(columns, 0.0)
        for row in rows:
            g = _growth(row, m - _months_between(start, row["migration_month"]))
            for key, column in columns.items():
                month_total[key] += float(row[column] or 0) * g  # vgpu is empty for non-AI systems
        for key in columns:
            peak[key] = max(peak[key], month_total[key])
    return peak


def _ceil_of(amount: int, expected: float) -> None:
    """``amount`` is ``expected`` rounded up, allowing float noise (a millionth, or 1e-12 of byte counts)."""
    noise = max(1e-6, expected * 1e-12)
    assert expected - noise <= amount < expected + 1, (amount, expected)


@pytest.mark.parametrize("department", ["GAT", "JYT"])
def test_department_quota_is_five_year_peak_times_factor(prod_mocks: RecordingMocks, department: str) -> None:
    stack = yaml.safe_load((STACK_DIR / "Pulumi.prod.yaml").read_text(encoding="utf-8"))["config"]
    factor = stack.get("egov:quotaFactors", {}).get(department, stack["egov:quotaFactor"])
    peak = five_year_peak(department)
    (compute,) = [
        r
        for r in prod_mocks.of_type("openstack:compute/quotaSetV2:QuotaSetV2")
        if r.name == f"{department}-compute"
    ]
    (volume,) = [
        r
        for r in prod_mocks.of_type("openstack:blockstorage/quoteSetV3:QuoteSetV3")
        if r.name == f"{department}-volume"
    ]
    (account,) = [
        r
        for r in prod_mocks.of_type("openstack:objectstorage/accountV1:AccountV1")
        if r.name == f"{department}-account"
    ]
    _ceil_of(compute.inputs["cores"], peak["vcpu"] * factor)
    _ceil_of(compute.inputs["ram"], peak["ram_gb"] * 1e9 / 2**20 * factor)  # Nova counts MiB
    assert compute.inputs["instances"] == math.ceil(compute.inputs["cores"] / stack["egov:vcpusPerInstance"])
    _ceil_of(volume.inputs["gigabytes"], peak["block_tb"] * 1e12 / 2**30 * factor)  # Cinder's "GB" is GiB
    _ceil_of(int(account.inputs["metadata"]["Quota-Bytes"]), peak["object_tb"] * 1e12 * factor)
    assert compute.inputs["projectId"] == volume.inputs["projectId"] == f"{department}-id"


@pytest.mark.parametrize("department", ["XXZX", "GAT", "JTT"])
def test_vgpu_limit_is_five_year_peak_times_factor(prod_mocks: RecordingMocks, department: str) -> None:
    """Nova's legacy quotas have no vGPU: a department with AI systems gets a Keystone unified limit
    class:VGPU of service nova, sized like its other quotas; every other project gets the default 0."""
    stack = yaml.safe_load((STACK_DIR / "Pulumi.prod.yaml").read_text(encoding="utf-8"))["config"]
    factor = stack.get("egov:quotaFactors", {}).get(department, stack["egov:quotaFactor"])
    peak = five_year_peak(department)
    assert peak["vgpu"] > 0
    (limit,) = [
        r
        for r in prod_mocks.of_type("openstack:identity/limitV3:LimitV3")
        if r.name == f"{department}-vgpu-limit"
    ]
    _ceil_of(limit.inputs["resourceLimit"], peak["vgpu"] * factor)
    assert limit.inputs["resourceName"] == "class:VGPU"
    assert limit.inputs["projectId"] == f"{department}-id"
    assert limit.inputs["serviceId"] == "service-nova-id"
    (default,) = prod_mocks.of_type("openstack:identity/registeredLimitV3:RegisteredLimitV3")
    assert (default.inputs["resourceName"], default.inputs["defaultLimit"]) == ("class:VGPU", 0)
    assert default.inputs["serviceId"] == "service-nova-id"
    # only departments with vGPU demand get a limit of their own
    assert {r.name for r in prod_mocks.of_type("openstack:identity/limitV3:LimitV3")} == {
        "XXZX-vgpu-limit",
        "GAT-vgpu-limit",
        "JTT-vgpu-limit",
    }


# -- compute catalogue -----------------------------------------------------------------------------
def test_flavors_tie_to_existing_aggregates(prod_mocks: RecordingMocks) -> None:
    aggregates = prod_mocks.of_type("openstack:compute/aggregateV2:AggregateV2")
    classes = {a.inputs["metadata"]["class"] for a in aggregates}
    flavors = prod_mocks.of_type("openstack:compute/flavor:Flavor")
    assert classes == {"general", "highmem", "gpu"}
    for flavor in flavors:
        assert flavor.inputs["extraSpecs"]["aggregate_instance_extra_specs:class"] in classes, flavor.name
    by_name = {f.name: f.inputs for f in flavors}
    assert by_name["r1.4xlarge"]["ram"] == 256 * 1024  # MiB
    assert by_name["r1.4xlarge"]["extraSpecs"] == {"aggregate_instance_extra_specs:class": "highmem"}
    # a GPU flavor asks for its vGPUs the way Nova reads them: resources:VGPU=N in its extra specs
    assert by_name["g1.2xlarge"]["extraSpecs"] == {
        "aggregate_instance_extra_specs:class": "gpu",
        "resources:VGPU": "2",
    }
    assert (by_name["g1.2xlarge"]["vcpus"], by_name["g1.2xlarge"]["ram"]) == (16, 96 * 1024)


def test_aggregates_carry_zone_metadata_and_hosts(prod_mocks: RecordingMocks) -> None:
    aggregates = {a.name: a.inputs for a in prod_mocks.of_type("openstack:compute/aggregateV2:AggregateV2")}
    general = aggregates["gz-1-general"]
    assert general["zone"] == "gz-1"
    assert general["metadata"] == {"class": "general", "host_model": "general-64c"}
    assert len(general["hosts"]) == 86 and general["hosts"][0] == "gz-1-general-001"
    assert aggregates["gz-2-legacy"]["zone"] == "gz-2" and len(aggregates["gz-2-legacy"]["hosts"]) == 27


# -- network ---------------------------------------------------------------------------------------
def test_department_subnets_stay_out_of_the_backbone(prod_mocks: RecordingMocks) -> None:
    from network.addressing import backbone_prefixes

    subnets = {
        r.name: ipaddress.ip_network(r.inputs["cidr"])
        for r in prod_mocks.of_type("openstack:networking/subnet:Subnet")
    }
    departments = {n: s for n, s in subnets.items() if not n.startswith("zone-")}
    assert len(departments) == 122
    pools = backbone_prefixes()
    for name, subnet in subnets.items():
        clashes = [p for p in pools if p.version == subnet.version and subnet.overlaps(p)]  # type: ignore[arg-type]
        assert clashes == [], f"{name} {subnet} overlaps backbone {clashes}"
    ordered = sorted(subnets.values())
    for a, b in itertools.pairwise(ordered):
        assert not a.overlaps(b), (a, b)


def test_department_subnets_are_the_backbone_plans(prod_mocks: RecordingMocks) -> None:
    from network.addressing import department_cloud_subnet

    for r in prod_mocks.of_type("openstack:networking/subnet:Subnet"):
        if not r.name.startswith("zone-"):
            assert r.inputs["cidr"] == str(department_cloud_subnet(r.name.removesuffix("-subnet")))


def test_department_router_gateways_to_the_public_zone(prod_mocks: RecordingMocks) -> None:
    routers = prod_mocks.of_type("openstack:networking/router:Router")
    assert {r.inputs["externalNetworkId"] for r in routers} == {"zone-public-id"}
    zone = {r.name: r.inputs for r in prod_mocks.of_type("openstack:networking/network:Network")}[
        "zone-public"
    ]
    assert zone["external"] is True and zone["name"] == "公用网络区"
    assert zone["segments"][0]["segmentationId"] == 1001


# -- waiting on resource ids: the outputs the engine would resolve ---------------------------------
@pytest.fixture
def staging_runtime(monkeypatch: pytest.MonkeyPatch) -> RecordingMocks:
    """Fresh mocks for the staging stack, installed before a @pulumi.runtime.test test starts."""
    from stacks.mocks import MOCK_CLOUDS

    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(MOCK_CLOUDS))
    config, _ = load_stack_settings("staging")
    mocks = RecordingMocks()
    reset_runtime("staging", config, mocks)
    return mocks


@pulumi.runtime.test
def test_quota_sets_wait_on_project_ids(staging_runtime: RecordingMocks) -> Any:
    _config, settings = load_stack_settings("staging")
    built = build(settings)
    project = built.identity.projects["GAT"]
    quota = built.compute.quotas["GAT"]
    expected = {q.code: q for q in built.plan.quotas}["GAT"]

    def check(values: list[Any]) -> None:
        project_id, quota_id, quota_project, cores, ram = values
        assert project_id == "GAT-id" and quota_id == "GAT-compute-id"
        assert quota_project == project_id
        assert (cores, ram) == (expected.cores, expected.ram_mib)

    return pulumi.Output.all(project.id, quota.id, quota.project_id, quota.cores, quota.ram).apply(check)


@pulumi.runtime.test
def test_zone_networks_are_protected_and_routers_use_them(staging_runtime: RecordingMocks) -> Any:
    _config, settings = load_stack_settings("staging")
    built = build(settings)
    public = built.network.zones["public"]
    assert public._protect is True and built.network.zone_subnets["public"]._protect is True
    assert built.network.networks["FGW"]._protect is True  # a department's network holds its ports
    assert built.network.routers["FGW"]._protect is not True  # a router holds nothing: replaceable

    def check(values: list[Any]) -> None:
        zone_id, gateway_network = values
        assert gateway_network == zone_id == "zone-public-id"

    return pulumi.Output.all(public.id, built.network.routers["FGW"].external_network_id).apply(check)


def test_the_thin_main_runs_the_program(staging_runtime: RecordingMocks) -> None:
    """egov-cloud/__main__.py, run as the Python language host runs it, declares the staging stack."""
    import runpy

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(STACK_DIR / "__main__.py"), run_name="__main__")

    with collector_paused():  # main() turns the collector off for good, as it should in its own process
        program()
    assert gc.isenabled()
    assert staging_runtime.counts() == STAGING_COUNTS


def test_components_register_the_ids_operators_need(staging_mocks: RecordingMocks) -> None:
    outputs = staging_mocks.component_outputs
    assert set(outputs) == {"identity", "compute", "network", "storage", "egov-cloud-staging"}
    identity = outputs["identity"]
    assert identity["domain_id"] == "departments-domain-id"
    assert identity["project_ids"] == {c: f"{c}-id" for c in ("FGW", "JYT", "GAT", "RST", "WJW")}
    assert identity["group_ids"]["GAT"] == "GAT-users-id"
    assert outputs["compute"]["aggregate_ids"]["gz-1-general"] == "gz-1-general-id"
    assert len(outputs["compute"]["flavor_ids"]) == 17
    network = outputs["network"]
    assert network["zone_network_ids"] == {"public": "zone-public-id"}
    assert network["subnet_ids"]["GAT"] == "GAT-subnet-id" and network["router_ids"]["GAT"] == "GAT-router-id"
    assert outputs["storage"] == {
        "volume_type_ids": {"ssd": "tier-ssd-id"},
        "container_names": {c: f"{c.lower()}-data" for c in ("FGW", "JYT", "GAT", "RST", "WJW")},
    }


# -- compute hosts by name ---------------------------------------------------------------------------
LEGACY_HOSTS = [f"cmp-{rack}-{slot}" for rack in ("a17", "b03", "c11") for slot in range(40, 49)]  # 27


def test_listed_hosts_go_into_their_aggregate_and_the_rest_by_pattern() -> None:
    from egov.source import default_source
    from stacks.catalogue import aggregate_hosts

    hosts = aggregate_hosts(default_source().cloud, {"gz-2-legacy": LEGACY_HOSTS}, "{aggregate}-{index:03d}")
    assert hosts["gz-2-legacy"] == LEGACY_HOSTS
    assert len(hosts["gz-1-general"]) == 86 and hosts["gz-1-general"][-1] == "gz-1-general-086"


@pytest.mark.parametrize(
    ("named", "message"),
    [
        ({"gz-2-legacy": LEGACY_HOSTS[:-1]}, "egov:hosts.gz-2-legacy: 26 hosts listed, cloud.yaml counts 27"),
        ({"gz-9-nowhere": []}, "egov:hosts: no aggregate gz-9-nowhere in cloud.yaml"),
        (
            {"gz-2-legacy": [*LEGACY_HOSTS[:-1], LEGACY_HOSTS[0]]},
            "egov:hosts.gz-2-legacy: host 'cmp-a17-40' is listed twice",
        ),
        (
            {"gz-2-legacy": [*LEGACY_HOSTS[:-1], "gz-1-general-001"]},
            "host 'gz-1-general-001' is listed also in gz-1-general",
        ),
    ],
)
def test_listed_hosts_must_match_the_source_of_truth(named: dict[str, list[str]], message: str) -> None:
    from egov.source import default_source
    from stacks.catalogue import aggregate_hosts

    with pytest.raises(ValueError, match=message):
        aggregate_hosts(default_source().cloud, named, "{aggregate}-{index:03d}")


@pulumi.runtime.test
def test_the_program_declares_the_listed_hosts(staging_runtime: RecordingMocks) -> Any:
    _config, settings = load_stack_settings("staging")
    built = build(settings.model_copy(update={"hosts": {"gz-2-legacy": LEGACY_HOSTS}}))

    def check(hosts: list[str]) -> None:
        assert hosts == LEGACY_HOSTS

    return built.compute.aggregates["gz-2-legacy"].hosts.apply(check)
