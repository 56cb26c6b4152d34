"""Fixtures of the slots tests: the tiny cloud in a temp dir, a real PostgreSQL server started by the suite
(initdb + pg_ctl on a temp dir and a free port on 127.0.0.1), and real `egov slots serve` subprocesses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slotkit import Server, write_tiny

from egov.model import SourceOfTruth
from egov.source import load_source
from slots.localpg import LocalPostgres, PostgresMissing


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return write_tiny(tmp_path / "data")


@pytest.fixture
def tiny(tiny_dir: Path) -> SourceOfTruth:
    return load_source(tiny_dir)


# --- PostgreSQL started by the suite ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A PostgreSQL cluster on a temp dir and a free port on 127.0.0.1 (fails with the install command when
    the server is not installed)."""
    try:
        server = LocalPostgres.start()
    except PostgresMissing as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres_server: LocalPostgres) -> str:
    """A fresh, empty database on the suite's PostgreSQL."""
    return postgres_server.create_database()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(db: str, data_dir: Path | None = None, workers: int = 0) -> Server:
        server = Server(db, data_dir, tmp_path / f"server-{len(servers)}.log").start(workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
