"""The real service: `egov slots serve` as a subprocess, killed with SIGKILL in the middle of writes (no
acknowledged booking is lost). The departments' web page in chromium: test_page_browser.py."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from slotkit import bearer, token, write_tiny

from egov.source import load_source
from slots.bandwidth import RoutedPaths
from slots.ledger import Ledger, Principal

OPERATOR = Principal("test", operator=True)


def hammer_then_kill(
    server: Any, headers: dict[str, str], acknowledged_before_kill: int = 40
) -> list[dict[str, Any]]:
    """Eight clients submit requests (each with its own idempotency key) until the server is SIGKILLed once
    ``acknowledged_before_kill`` answers came back; returns every acknowledged answer."""
    acknowledged: list[dict[str, Any]] = []
    guard = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            i = 0
            while not stop.is_set():
                i += 1
                key = f"c{n}-{i}"
                payload = {
                    "adhoc": [{"name": key, "az": "az-1", "vcpu": 0, "ram": "10 MB"}],
                    "earliest_week": "2027-W02",
                    "latest_week": "2028-W40",
                }
                try:
                    response = http.post("/api/requests", json=payload, headers={"Idempotency-Key": key})
                except httpx.HTTPError:
                    return  # the server is gone: whatever was not answered was not acknowledged
                if response.status_code == 201:
                    with guard:
                        acknowledged.append({"key": key, **response.json()})

    clients = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for c in clients:
        c.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < acknowledged_before_kill and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill9()  # while the clients are still writing
    stop.set()
    for c in clients:
        c.join(60)
    assert len(acknowledged) >= acknowledged_before_kill
    return acknowledged


def check_nothing_acknowledged_was_lost(url: str, data: Path, acknowledged: list[dict[str, Any]]) -> None:
    ledger = Ledger(url, load_source(data), paths=RoutedPaths(data))
    stored = {v.id: v for v in ledger.list_requests(OPERATOR)}
    for answer in acknowledged:
        row = stored.get(answer["id"])
        assert row is not None, f"acknowledged request #{answer['id']} lost"
        assert (row.status, row.granted_week, row.idempotency_key) == (
            answer["status"],
            answer["granted_week"],
            answer["key"],
        )
    # Every stored request has its audit entry: nothing half-written.
    audited = {e["request_id"] for e in ledger.audit(OPERATOR) if e["action"].startswith("request.")}
    assert set(stored) == audited
    ledger.close()


def crash_and_recover(db: str, data: Path, start_server: Any) -> None:
    secret = token(db, data, "--department", "AAA")
    server = start_server(db, data)
    acknowledged = hammer_then_kill(server, bearer(secret))
    check_nothing_acknowledged_was_lost(db, data, acknowledged)
    # The restarted server answers a retry of an acknowledged request with the same booking.
    again = start_server(db, data)
    first = acknowledged[0]
    payload = {
        "adhoc": [{"name": first["key"], "az": "az-1", "vcpu": 0, "ram": "10 MB"}],
        "earliest_week": "2027-W02",
        "latest_week": "2028-W40",
    }
    retry = httpx.post(
        again.url + "/api/requests", json=payload, headers={**bearer(secret), "Idempotency-Key": first["key"]}
    )
    assert retry.status_code == 200 and retry.json()["id"] == first["id"]


def test_kill9_loses_no_acknowledged_booking_sqlite(tmp_path: Path, start_server: Any) -> None:
    data = write_tiny(tmp_path / "data", weekly=1000)
    crash_and_recover(f"sqlite:///{tmp_path / 'crash.sqlite'}", data, start_server)


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_kill9_loses_no_acknowledged_booking_postgres(tmp_path: Path, pg_url: str, start_server: Any) -> None:
    data = write_tiny(tmp_path / "data", weekly=1000)
    crash_and_recover(pg_url, data, start_server)


def race_over_http(server: Any, secret: str, clients: int = 20) -> Counter[str]:
    """``clients`` requests at once for the last free capacity (70 vCPU each, 80 may be used)."""
    barrier = threading.Barrier(clients)
    answers: list[str] = []

    def one(n: int) -> None:
        payload = {"adhoc": [{"name": f"s{n}", "az": "az-1", "vcpu": 70}], "earliest_week": "2027-W02",
                   "latest_week": "2027-W02"}  # fmt: skip
        barrier.wait()
        response = httpx.post(
            server.url + "/api/requests",
            json=payload,
            headers={**bearer(secret), "Idempotency-Key": f"r{n}"},
            timeout=60,
        )
        answers.append(
            response.json()["status"] if response.status_code == 201 else str(response.status_code)
        )

    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return Counter(answers)


def test_race_through_two_server_processes_sqlite(tmp_path: Path, start_server: Any) -> None:
    data = write_tiny(tmp_path / "data")
    db = f"sqlite:///{tmp_path / 'race.sqlite'}"
    secret = token(db, data, "--department", "AAA")
    server = start_server(db, data, workers=2)
    assert race_over_http(server, secret) == Counter({"granted": 1, "refused": 19})


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_race_through_two_server_processes_postgres(tmp_path: Path, pg_url: str, start_server: Any) -> None:
    data = write_tiny(tmp_path / "data")
    secret = token(pg_url, data, "--department", "AAA")
    server = start_server(pg_url, data, workers=2)
    assert race_over_http(server, secret) == Counter({"granted": 1, "refused": 19})
