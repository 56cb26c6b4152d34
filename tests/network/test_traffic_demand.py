"""Demands from the migration calendar, hand-computed; bad traffic and SRLG inputs name file, row, field."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from egov.errors import SourceError
from egov.model import SourceOfTruth, System
from egov.source import load_source
from network.divisions import load_divisions
from network.linkload import load_srlgs
from network.model import Backbone
from network.paths import RoutingGraph
from network.traffic import DC, INTERNET, build_demand, load_booked, load_traffic_params

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def source() -> SourceOfTruth:
    return load_source(DATA)


@pytest.fixture(scope="module")
def divisions():  # type: ignore[no-untyped-def]
    return load_divisions(DATA / "divisions.csv")


def _system(sid: str, dept: str, vcpu: int, month: str, disk: str, block: str, obj: str) -> System:
    return System.model_validate(
        {
            "id": sid,
            "department": dept,
            "name": sid,
            "az": "gz-1",
            "vcpu": vcpu,
            "ram": "64 GB",
            "disk": disk,
            "block_storage": block,
            "object_storage": obj,
            "migration_month": month,
            "growth": {"annual_rate": 0.1},
        }
    )


def test_service_traffic_follows_each_system_to_the_cloud(source: SourceOfTruth, backbone: Backbone) -> None:
    params = load_traffic_params(DATA / "traffic.yaml")
    systems = [
        _system("S1", "GAT", 300, "2027-03", "1000 GB", "9 TB", "0 TB"),
        _system("S2", "CZT", 100, "2027-02", "0 GB", "0 TB", "2 TB"),
    ]
    demand = build_demand(source.model_copy(update={"systems": systems}), backbone, params)
    hub = {h: i for i, h in enumerate(demand.hubs)}
    per_user = 20e3 * 1.6  # the default: 20 kbit/s to the cloud × peak-hour factor 1.6
    growth = 1.15 ** (np.arange(60) / 12)
    # January: nothing has moved; the departments serve by vCPU share 3:1
    assert demand.down[hub["GAT"], 0] == pytest.approx(0.75 * per_user)
    assert demand.down[hub["CZT"], 0] == pytest.approx(0.25 * per_user)
    assert demand.down[hub[DC], 0] == 0
    # February: CZT's system is in the cloud; March: both
    assert demand.down[hub[DC], 1] == pytest.approx(0.25 * per_user * growth[1])
    assert demand.down[hub[DC], 2] == pytest.approx(per_user * growth[2])
    assert demand.down[hub["GAT"], 2] == 0
    assert demand.down[hub[INTERNET], 0] == pytest.approx(10e3 * 1.6)
    assert demand.up[hub[DC], 2] == pytest.approx(0.25 * per_user * growth[2])
    # transfers: 10 TB (1000 GB + 9 TB) over 10 days in March, 2 TB in February
    transfers = {(src, dst): series for src, dst, series in demand.transfers}
    assert transfers[("GAT", DC)][2] == pytest.approx(10e12 * 8 / (10 * 86400))
    assert transfers[("CZT", DC)][1] == pytest.approx(2e12 * 8 / (10 * 86400))
    assert transfers[("GAT", DC)].sum() == pytest.approx(transfers[("GAT", DC)][2])
    # users: the tier default, 阳春市 (440981) by its override
    users = dict(zip(demand.sites, demand.users, strict=True))
    assert users["GD-CNTY-440981"] == 900 and users["GD-CNTY-440103"] == 600
    assert users["GD-CITY-440100"] == 3000 and users["GD-TOWN-440103001"] == 80


def test_booked_slots_override_the_plan(source: SourceOfTruth, backbone: Backbone, tmp_path: Path) -> None:
    """A granted request in the slot ledger (a real SQLite ledger, its own schema) moves its system to the
    slot's month and its data volume into the slot's week; a refused one changes nothing."""
    from sqlalchemy.orm import Session

    from slots.db import Request, make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = make_engine(url)
    upgrade(engine)
    now = datetime(2026, 11, 1)

    def request(rid: int, status: str, week: date, volume: str) -> Request:
        spec = {"department": "GAT", "systems": ["S1"], "earliest_week": "2027-W20",
                "latest_week": "2027-W30", "data_volume": volume}  # fmt: skip
        return Request(
            id=rid, department="GAT", status=status, spec=json.dumps(spec), earliest_week=week,
            latest_week=week, granted_week=week if status == "granted" else None, system_count=1,
            data_volume_gb=0, weight=1, created_at=now, updated_at=now,
        )  # fmt: skip

    with Session(engine) as session, session.begin():
        session.add(request(1, "granted", date(2027, 6, 7), "6 TB"))
        session.add(request(2, "refused", date(2027, 4, 5), "50 TB"))
    engine.dispose()
    params = load_traffic_params(DATA / "traffic.yaml")
    systems = [_system("S1", "GAT", 100, "2027-03", "0 GB", "1 TB", "0 TB")]
    small = source.model_copy(update={"systems": systems})
    demand = build_demand(small, backbone, params, load_booked(url, small))
    dc = demand.hubs.index(DC)
    assert demand.down[dc, 4] == 0 and demand.down[dc, 5] > 0  # June, not the planned March
    ((_, _, series),) = demand.transfers
    assert series[5] == pytest.approx(6e12 * 8 / (7 * 86400))  # 6 TB within the slot week
    assert series.sum() == pytest.approx(series[5])  # nothing left at the planned month


def _traffic_yaml(tmp_path: Path, old: str, new: str) -> Path:
    text = (DATA / "traffic.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "traffic.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _line(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def test_unknown_site_names_file_row_field(tmp_path: Path, divisions) -> None:  # type: ignore[no-untyped-def]
    path = _traffic_yaml(tmp_path, '"440981": {users: 900}', '"440999": {users: 900}')
    with pytest.raises(SourceError) as err:
        load_traffic_params(path, divisions)
    assert err.value.row == _line(path, "440999") and err.value.field == "sites.440999"
    assert "440999" in str(err.value) and "not in the division tree" in str(err.value)


def test_negative_demand_is_refused(tmp_path: Path, divisions) -> None:  # type: ignore[no-untyped-def]
    path = _traffic_yaml(tmp_path, "cloud: 20 kbit/s", "cloud: -20 kbit/s")
    with pytest.raises(SourceError) as err:
        load_traffic_params(path, divisions)
    assert err.value.field == "per_user.cloud" and err.value.row == _line(path, "-20 kbit/s")
    assert "negative" in str(err.value) and "-20 kbit/s" in str(err.value)
    path = _traffic_yaml(tmp_path, "town: 80", "town: -80")
    with pytest.raises(SourceError) as err:
        load_traffic_params(path, divisions)
    assert err.value.field == "users_per_site.town" and "-80" in str(err.value)


def test_capacity_without_unit_is_refused(tmp_path: Path, divisions) -> None:  # type: ignore[no-untyped-def]
    path = _traffic_yaml(tmp_path, "[100 Mbit/s, 1 Gbit/s,", "[100, 1 Gbit/s,")
    with pytest.raises(SourceError) as err:
        load_traffic_params(path, divisions)
    assert err.value.field == "circuit_tiers.0" and err.value.row == _line(path, "circuit_tiers:")
    assert "no unit" in str(err.value)


def test_srlg_naming_an_unknown_circuit(tmp_path: Path, backbone: Backbone) -> None:
    graph = RoutingGraph(backbone)
    good = load_srlgs(graph, DATA / "srlg.yaml")
    assert len(good) == 4 and all(f.circuits for f in good)
    text = (DATA / "srlg.yaml").read_text(encoding="utf-8")
    path = tmp_path / "srlg.yaml"
    path.write_text(
        text.replace("[GD-CORE-01, GD-CITY-445100]", "[GD-CORE-01, GD-CITY-449900]"), encoding="utf-8"
    )
    with pytest.raises(SourceError) as err:
        load_srlgs(graph, path)
    assert err.value.row == _line(path, "GD-CITY-449900")
    assert err.value.field == "srlgs.2.circuits.1"
    assert "GD-CITY-449900" in str(err.value) and str(path) in str(err.value)


def test_a_missing_or_foreign_ledger_is_an_error(source: SourceOfTruth, tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    with pytest.raises(SourceError, match="no slot ledger database"):
        load_booked(missing, source)
    assert not (tmp_path / "none.db").exists()  # not created by looking
    (tmp_path / "other.db").write_bytes(b"")
    with pytest.raises(SourceError, match=r"cannot read the slot ledger.*requests"):
        load_booked(f"sqlite:///{tmp_path / 'other.db'}", source)
