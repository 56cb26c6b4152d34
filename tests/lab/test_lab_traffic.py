"""iperf3 across one county (issue 14): the lab's link counters against network.linkload's computed loads.

One city (440100, one town per county) is built; 30 Mbit/s of UDP from GD-TOWN-440103001's LAN to
GD-CORE-01's loopback crosses the town's 100M uplink, the county's 1G uplink and the city's 10G uplink.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from lab_support import record, require_lab_host

from network.lab import lab, system
from network.lab import traffic_test as tt
from network.lab.engine import tbf_burst
from network.lab.spec import LabSpec, namespace_name

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab"), pytest.mark.usefixtures("lab_host")]

PREFIX = "egq-"
TOWN, SERVER, OTHER_TOWN = "GD-TOWN-440103001", "GD-CORE-01", "GD-TOWN-440104001"
OFFERED = 30e6


@pytest.fixture(scope="module")
def city_lab(lab_host: None) -> Iterator[LabSpec]:
    require_lab_host()
    from network.lab.from_model import lab_spec
    from network.render import render_device
    from network.topology import build_backbone

    backbone = build_backbone().slice(cities=["440100"], towns_per_county=1)
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})
    lab.down(PREFIX)
    try:
        lab.up(spec, PREFIX)
        _waited, report = lab.wait_converged(spec, PREFIX, timeout=600)
        assert report.ok, report
        yield spec
    finally:
        lab.down(PREFIX)


def _uplink(spec: LabSpec) -> tt.Direction:
    return next(d for d in tt.watched_directions(spec, [TOWN, "GD-CNTY-440103"]) if d.tail == TOWN)


def test_measured_link_loads_match_the_model(city_lab: LabSpec) -> None:
    result = tt.run(city_lab, PREFIX, TOWN, SERVER, OFFERED)
    loaded = [c for c in result.comparisons if c.computed_bit_s > 0]
    assert len(loaded) == 3, tt.traffic_test_json(result)
    assert result.ok, tt.traffic_test_json(result)
    uplink = next(c for c in loaded if c.direction == _uplink(city_lab))
    assert uplink.computed_utilisation == pytest.approx(0.30)
    record("traffic_test_town_uplink_measured_utilisation", round(uplink.measured_utilisation, 4))
    record("traffic_test_worst_deviation", round(max(abs(c.deviation) for c in result.comparisons), 4))


def test_a_wrong_shaper_rate_fails_the_comparison(city_lab: LabSpec) -> None:
    """The town's uplink shaped at 15 Mbit/s instead of its tier's 100M: it (and every link behind it)
    carries half the load."""
    uplink = _uplink(city_lab)
    ns = namespace_name(PREFIX, TOWN)

    def shape(rate: int) -> None:
        system.run(
            [
                "tc",
                "-n",
                ns,
                "qdisc",
                "replace",
                "dev",
                uplink.ifname,
                "root",
                "tbf",
                "rate",
                f"{rate}bit",
                "burst",
                str(tbf_burst(rate)),
                "latency",
                "50ms",
            ]
        )

    shape(15_000_000)
    try:
        result = tt.run(city_lab, PREFIX, TOWN, SERVER, OFFERED)
    finally:
        shape(uplink.capacity_bit_s)
    failing = {c.direction: c for c in result.comparisons if not c.ok}
    assert uplink in failing, tt.traffic_test_json(result)
    assert failing[uplink].deviation < -0.3


def test_the_load_computed_for_another_town_fails_the_comparison(city_lab: LabSpec) -> None:
    test, measured = tt.measure(city_lab, PREFIX, TOWN, SERVER, OFFERED)
    wrong = tt.computed_loads(OTHER_TOWN, OFFERED, list(measured))
    result = tt.compare(test, wrong, measured)
    assert not result.ok
    assert _uplink(city_lab) in {c.direction for c in result.comparisons if not c.ok}
    right = tt.compare(replace(test), tt.computed_loads(TOWN, OFFERED, list(measured)), measured)
    assert right.ok, tt.traffic_test_json(right)
