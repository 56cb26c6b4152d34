"""The HTTP API in process (FastAPI TestClient): tokens, isolation between departments, errors that name the
field, and schemathesis against the OpenAPI spec (no 500s)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from slotkit import TINY_ACCESS, bearer

from egov.source import load_source
from slots.api import create_app
from slots.ledger import Ledger

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Api:
    def __init__(self, tmp: Path, data: Path) -> None:
        self.ledger = Ledger(
            f"sqlite:///{tmp / 'api.sqlite'}", load_source(data), bandwidth=lambda _c: TINY_ACCESS
        )
        self.app = create_app(self.ledger)
        self.client = TestClient(self.app)
        self.a = bearer(self.ledger.create_token("AAA"))
        self.b = bearer(self.ledger.create_token("BBB"))
        self.op = bearer(self.ledger.create_token(None, operator=True))


@pytest.fixture
def api(tmp_path: Path, tiny_dir: Path) -> Iterator[Api]:
    made = Api(tmp_path, tiny_dir)
    yield made
    made.ledger.close()


def body(**fields: Any) -> dict[str, Any]:
    return {"systems": ["BBB-1"], "earliest_week": "2027-W02", "latest_week": "2027-W03", **fields}


def test_tokens_are_required_and_stored_hashed(api: Api) -> None:
    assert api.client.get("/api/requests").status_code == 401
    assert api.client.get("/api/requests", headers=bearer("not-a-token")).status_code == 401
    assert api.client.get("/api/me", headers=api.a).json() == {"department": "AAA", "operator": False}
    raw = Path(api.ledger.url.removeprefix("sqlite:///")).read_bytes()
    token = api.a["Authorization"].removeprefix("Bearer ")
    assert token.encode() not in raw


def test_department_a_cannot_read_or_cancel_b(api: Api) -> None:
    created = api.client.post("/api/requests", json=body(), headers=api.b)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "granted" and created.json()["granted_week"] == "2027-W02"
    rid = created.json()["id"]
    assert api.client.get(f"/api/requests/{rid}", headers=api.a).status_code == 404
    assert api.client.post(f"/api/requests/{rid}/cancel", headers=api.a).status_code == 404
    assert api.client.get("/api/requests", headers=api.a).json() == []
    assert api.client.post("/api/requests", json=body(department="BBB"), headers=api.a).status_code == 403
    assert api.client.post(f"/api/requests/{rid}/approve", headers=api.b).status_code == 403
    assert api.client.get(f"/api/requests/{rid}", headers=api.b).json()["status"] == "granted"
    assert [r["id"] for r in api.client.get("/api/requests", headers=api.op).json()] == [rid]
    # B's slot shows in A's calendar as load only; in B's as its own.
    week_a = next(w for w in api.client.get("/api/calendar", headers=api.a).json() if w["week"] == "2027-W02")
    week_b = next(w for w in api.client.get("/api/calendar", headers=api.b).json() if w["week"] == "2027-W02")
    assert (week_a["booked_systems"], week_a["own_requests"]) == (1, [])
    assert week_b["own_requests"] == [rid]
    assert api.client.post(f"/api/requests/{rid}/approve", headers=api.op).json()["status"] == "approved"
    assert api.client.post(f"/api/requests/{rid}/cancel", headers=api.b).json()["status"] == "cancelled"


def test_idempotency_key_header(api: Api) -> None:
    headers = {**api.b, "Idempotency-Key": "retry-1"}
    first = api.client.post("/api/requests", json=body(), headers=headers)
    second = api.client.post("/api/requests", json=body(), headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert api.client.post("/api/requests", json=body(systems=["BBB-2"]), headers=headers).status_code == 409


def test_bad_payloads_name_the_field(api: Api) -> None:
    bad_unit = api.client.post("/api/requests", json=body(data_volume="40 XB"), headers=api.b)
    assert bad_unit.status_code == 422
    assert bad_unit.json()["detail"][0]["loc"] == ["body", "data_volume"]
    assert "unknown unit" in bad_unit.json()["detail"][0]["msg"]
    foreign = api.client.post("/api/requests", json=body(systems=["AAA-1"]), headers=api.b)
    assert foreign.status_code == 422
    assert foreign.json()["detail"] == [
        {"loc": ["body", "systems"], "msg": "system 'AAA-1' belongs to AAA, not BBB"}
    ]
    week = api.client.post("/api/requests", json=body(earliest_week="2027-W99"), headers=api.b)
    assert week.status_code == 422 and week.json()["detail"][0]["loc"] == ["body", "earliest_week"]


def test_openapi_spec_documents_the_api(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert {"/api/requests", "/api/requests/{request_id}/cancel", "/api/plan", "/api/calendar"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def fuzz(operation: Any, headers: dict[str, str]) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    return run  # type: ignore[no-any-return]


def test_no_server_errors(api: Api) -> None:
    """Every operation fuzzed from the OpenAPI spec (a bounded number of examples each): no 5xx answer."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        operator = operation.path == "/api/plan" or operation.method.upper() == "GET"
        fuzz(operation, api.op if operator else api.b)()


def test_operator_replans_over_http(api: Api) -> None:
    api.client.post("/api/requests", json=body(), headers=api.b)
    assert api.client.post("/api/plan", json={}, headers=api.b).status_code == 403
    plan = api.client.post("/api/plan", json={"apply": False}, headers=api.op)
    assert plan.status_code == 200, plan.text
    assert plan.json()["status"] == "OPTIMAL"
    assert plan.json()["gain"] == {"weighted_delay_weeks": 0, "admitted": 0}
    audit = api.client.get("/api/audit", headers=api.op).json()
    assert [e["action"] for e in audit][-1] == "request.granted"
    assert api.client.get("/api/audit", headers=api.b).status_code == 403
