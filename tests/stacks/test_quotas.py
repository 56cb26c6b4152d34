"""The planning layer: quotas in each service's unit, totals, usable capacity (no Pulumi involved)."""

from __future__ import annotations

import math

import pytest

from egov.source import default_source
from stacks.mocks import RecordingMocks
from stacks.quotas import (
    QuotaKey,
    department_quota,
    quota_totals,
    round_up,
    select_departments,
    to_quota_unit,
    usable_totals,
)


def test_units_are_the_services_units() -> None:
    assert to_quota_unit("BLOCK_STORAGE", 1000, "GiB") == pytest.approx(1e12 / 2**30)  # 931.3 GiB
    assert to_quota_unit("OBJECT_STORAGE", 1, "B") == 1e9
    assert to_quota_unit("MEMORY_MB", 2048, "MiB") == 2048
    assert to_quota_unit("VCPU", 12, "vcpu") == 12


def test_round_up_ignores_float_noise_only() -> None:
    assert round_up(1200 * 1.1) == 1320  # 1320.0000000000002 in floats
    assert round_up(1320.01) == 1321
    assert round_up(0.0) == 0


def test_quota_scales_with_the_factor_and_derives_instances_and_volumes() -> None:
    source = default_source()
    one = department_quota(source, "GAT", 1.0, 4, 2)
    double = department_quota(source, "GAT", 2.0, 4, 2)
    assert double.cores in (2 * one.cores - 1, 2 * one.cores)
    assert one.instances == math.ceil(one.cores / 4)
    assert one.volumes == one.instances * 2
    assert double.volume_gib > one.volume_gib > 0 and one.object_bytes > 0


def test_totals_sum_departments() -> None:
    source = default_source()
    quotas = [department_quota(source, code, 1.0, 4, 2) for code in ("GAT", "FGW")]
    totals = quota_totals(quotas)
    assert totals[QuotaKey.cores] == quotas[0].cores + quotas[1].cores
    assert totals[QuotaKey.object_bytes] == quotas[0].object_bytes + quotas[1].object_bytes


def test_usable_totals_are_the_end_of_horizon_supply() -> None:
    # cloud.yaml at 2031-12: gz-1 = (86+16) general × 60 × 4 + 20 highmem × 44 × 2 + 28 legacy × 36 × 2
    # + 12 GPU × 60 × 2, gz-2 = (84+16) × 240 + 20 × 88 + 27 × 72 + 4 × 120, each minus N+2 per aggregate
    # class: 2 × 240 (general), 2 × 88 (highmem) and 2 × 120 (gpu).
    gz1 = 102 * 240 + 20 * 88 + 28 * 72 + 12 * 120 - 2 * 240 - 2 * 88 - 2 * 120
    gz2 = 100 * 240 + 20 * 88 + 27 * 72 + 4 * 120 - 2 * 240 - 2 * 88 - 2 * 120
    usable = usable_totals(default_source())
    assert usable[QuotaKey.cores] == gz1 + gz2 == 56088
    # block: 2 pools × 6 PB raw ÷ 3 replicas × 0.85 = 3.4 PB = 3.4e15 / 2^30 GiB
    assert usable[QuotaKey.volume_gib] == pytest.approx(3.4e15 / 2**30)
    # object: (3 + 1) PB raw × 8/11 (EC 8+3) × 0.85, in bytes
    assert usable[QuotaKey.object_bytes] == pytest.approx(4e15 * 8 / 11 * 0.85)


def test_select_departments() -> None:
    source = default_source()
    assert len(select_departments(source, "all")) == 122
    assert select_departments(source, ["WJW", "FGW"]) == ["FGW", "WJW"]  # source order
    with pytest.raises(KeyError, match="twice"):
        select_departments(source, ["FGW", "FGW"])


def test_a_flavor_no_aggregate_can_host_stops_the_program() -> None:
    from egov.model import Flavor
    from stacks.program import plan
    from stacks.settings import load_stack_settings

    source = default_source()
    # no aggregate of the default carries class fpga
    fpga = Flavor(name="f1.xlarge", vcpus=8, ram="64 GiB", disk="100 GiB", aggregate_class="fpga")
    cloud = source.cloud.model_copy(update={"flavors": [*source.cloud.flavors, fpga]})
    _, settings = load_stack_settings("staging")
    with pytest.raises(ValueError, match=r"aggregate class no aggregate carries: f1\.xlarge"):
        plan(settings, source.model_copy(update={"cloud": cloud}))


@pytest.mark.xdist_group("pulumi")
def test_program_quotas_are_the_planning_layers(prod_mocks: RecordingMocks) -> None:
    from stacks.program import plan
    from stacks.settings import load_stack_settings

    _, settings = load_stack_settings("prod")
    planned = quota_totals(plan(settings).quotas)
    declared = prod_mocks.of_type("openstack:compute/quotaSetV2:QuotaSetV2")
    assert sum(r.inputs["cores"] for r in declared) == planned[QuotaKey.cores]
    assert sum(r.inputs["ram"] for r in declared) == planned[QuotaKey.ram_mib]
