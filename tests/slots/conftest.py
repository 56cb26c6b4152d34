"""Fixtures of the slots tests: the tiny cloud in a temp dir, a real PostgreSQL server started by the suite
(initdb + pg_ctl on a temp dir and a free port on 127.0.0.1), and real `egov slots serve` subprocesses."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slotkit import Server, free_port, write_tiny

from egov.model import SourceOfTruth
from egov.source import load_source


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return write_tiny(tmp_path / "data")


@pytest.fixture
def tiny(tiny_dir: Path) -> SourceOfTruth:
    return load_source(tiny_dir)


# --- PostgreSQL started by the suite ------------------------------------------------------------------------
PG_INSTALL = "sudo apt-get install -y postgresql   (or: bash scripts/deps.d/40-slots.sh)"


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.fail(
            f"PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin); install: {PG_INSTALL}"
        )
    return Path(found[-1]).parent


def _as_pg_user(argv: list[str]) -> list[str]:
    """Run as 'postgres' when we are root: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("runuser") is None:
        pytest.fail("runuser not found; install: sudo apt-get install -y util-linux")
    return ["runuser", "-u", "postgres", "--", *argv]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster on a temp dir and a free port on 127.0.0.1; yields its base URL."""
    bindir = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="egov-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(
        _as_pg_user(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "egov", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on"
    subprocess.run(
        _as_pg_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://egov@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """A fresh, empty database on the suite's PostgreSQL."""
    import psycopg

    name = "slots_" + uuid.uuid4().hex[:12]
    plain = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


# --- the real server ----------------------------------------------------------------------------------------
@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(db: str, data_dir: Path | None = None) -> Server:
        server = Server(db, data_dir, tmp_path / f"server-{len(servers)}.log").start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
