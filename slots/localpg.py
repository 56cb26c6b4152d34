"""A throwaway PostgreSQL cluster for the test suite and the benchmark: initdb and pg_ctl on a temp dir and
a free port on 127.0.0.1, run as the 'postgres' user when we are root (PostgreSQL refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

INSTALL = "sudo apt-get install -y postgresql   (or: bash scripts/deps.d/40-slots.sh)"


class PostgresMissing(RuntimeError):
    """The server binaries (or runuser, as root) are not installed; the message says how to install them."""


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise PostgresMissing(
            f"PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; install: {INSTALL}"
        )
    return Path(found[-1]).parent


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    if shutil.which("runuser") is None:
        raise PostgresMissing("runuser not found; install: sudo apt-get install -y util-linux")
    return ["runuser", "-u", "postgres", "--", *argv]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalPostgres:
    """A running cluster; ``url`` is its base SQLAlchemy URL (append '/dbname')."""

    base: Path
    port: int
    bindir: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://egov@127.0.0.1:{self.port}"

    @classmethod
    def start(cls) -> LocalPostgres:
        bindir = _bindir()
        base = Path(tempfile.mkdtemp(prefix="egov-pg-"))
        sockets = base / "sock"
        sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(base, "postgres")
            shutil.chown(sockets, "postgres")
        port = free_port()
        initdb = [str(bindir / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "egov", "-E", "UTF8"]
        subprocess.run(_as_postgres([*initdb, "--no-sync"]), check=True, capture_output=True)
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=200"
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(base / "data"), "-o", options, "-l", str(base / "log")]
        subprocess.run(_as_postgres([*pg_ctl, "-w", "start"]), check=True, capture_output=True)
        return cls(base, port, bindir)

    def create_database(self) -> str:
        """A fresh empty database; returns its URL."""
        import psycopg

        name = "slots_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"postgresql://egov@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def stop(self) -> None:
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_postgres(pg_ctl), capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)
