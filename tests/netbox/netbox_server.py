"""Start a real NetBox (PyPI ``netbox``, gunicorn) on 127.0.0.1 with its own Redis and the suite's PostgreSQL.

Shared by the test fixture (tests/netbox/conftest.py) and the benchmark (bench/bench_netbox.py).

- NetBox needs Python >= 3.12, so it runs from its own venv, ~/.cache/egov/netbox-<version>, made by
  scripts/deps.d/50-netbox.sh; egov talks to it over HTTP only.
- configuration.py is written to a temp dir per run, with a SECRET_KEY and an API token pepper generated
  at run time (never stored); NETBOX_CONFIGURATION points NetBox at it.
- ``migrate`` takes minutes, so the migrated empty database is dumped once (pg_dump, keyed by the NetBox
  and PostgreSQL versions, next to the venv) and restored on later runs (seconds).
- A superuser and a v2 API token (``nbt_<key>.<token>``) are made per run.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from servicekit import stop, wait_until_serving

from slots.localpg import LocalPostgres, free_port

VERSION = os.environ.get("EGOV_NETBOX_VERSION", "4.7.3")
VENV = Path(os.environ.get("EGOV_NETBOX_VENV", Path.home() / ".cache" / "egov" / f"netbox-{VERSION}"))
INSTALL = "install it with:  bash scripts/deps.d/50-netbox.sh   (as root; also run by make test)"
ADMIN = "egov-admin"


class NetBoxUnavailable(RuntimeError):
    """NetBox could not be started; the message says why and how to fix it."""


@dataclass
class RunningNetBox:
    url: str
    token: str  # a v2 API token of the superuser, "nbt_<key>.<token>"
    admin: str
    password: str
    home: Path
    pid: int  # gunicorn's master (its workers are its children): the benchmark reads their CPU time
    pg: LocalPostgres


def _netbox_dir() -> Path:
    """NetBox's instance-independent package directory inside its venv (checks the install)."""
    if not (VENV / "bin" / "netbox").exists() or not (VENV / ".egov-complete").exists():
        raise NetBoxUnavailable(f"NetBox {VERSION} is not installed in {VENV}; {INSTALL}")
    found = sorted(VENV.glob("lib/python3.*/site-packages/netbox/wsgi.py"))
    if not found:
        raise NetBoxUnavailable(f"no netbox/wsgi.py in {VENV}; {INSTALL}")
    return found[0].parent


def _configuration(home: Path, pg: LocalPostgres, database: str, redis_port: int) -> Path:
    module = home / "egov_netbox_configuration.py"
    module.write_text(
        "# Generated per run by tests/netbox/netbox_server.py; secrets are random and never stored.\n"
        "ALLOWED_HOSTS = ['127.0.0.1', 'localhost']\n"
        f"DATABASES = {{'default': {{'ENGINE': 'django.db.backends.postgresql', 'NAME': {database!r},\n"
        f"    'USER': 'egov', 'PASSWORD': '', 'HOST': '127.0.0.1', 'PORT': {pg.port}}}}}\n"
        f"REDIS = {{'tasks': {{'HOST': '127.0.0.1', 'PORT': {redis_port}, 'DATABASE': 0, 'SSL': False}},\n"
        f"    'caching': {{'HOST': '127.0.0.1', 'PORT': {redis_port}, 'DATABASE': 1, 'SSL': False}}}}\n"
        f"SECRET_KEY = {secrets.token_urlsafe(60)!r}\n"
        f"API_TOKEN_PEPPERS = {{1: {secrets.token_urlsafe(60)!r}}}\n"
        "DEBUG = False\n"
        "CHANGELOG_RETENTION = 0\n"
        "JOB_RETENTION = 0\n"
        "CENSUS_REPORTING_ENABLED = False\n"
        "RELEASE_CHECK_URL = None\n"
        "ISOLATED_DEPLOYMENT = True\n"
        "PLUGINS = []\n"
    )
    return module


def _manage(netbox_dir: Path, env: dict[str, str], *args: str, timeout: float = 900) -> str:
    run = subprocess.run(
        [str(VENV / "bin" / "netbox"), *args],
        cwd=env["NETBOX_ROOT"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if run.returncode != 0:
        raise NetBoxUnavailable(f"netbox {' '.join(args)} failed:\n{(run.stdout + run.stderr)[-3000:]}")
    return run.stdout


def _pg_version(pg: LocalPostgres) -> str:
    out = subprocess.run([str(pg.bindir / "postgres"), "--version"], capture_output=True, text=True)
    return out.stdout.split()[2] if out.returncode == 0 else "unknown"  # "postgres (PostgreSQL) 15.18 …"


def _psql(pg: LocalPostgres, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://egov@127.0.0.1:{pg.port}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _database(pg: LocalPostgres, netbox_dir: Path, env: dict[str, str], name: str) -> str:
    """Create ``name`` migrated: restored from the cached dump, or migrated and then dumped for next time."""
    dump = VENV / f"migrated-pg{_pg_version(pg)}.dump"
    _psql(pg, f'CREATE DATABASE "{name}"')
    if dump.exists():
        restore = subprocess.run(
            [str(pg.bindir / "pg_restore"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "egov", "-d", name,
             "--no-owner", "-j", "2", str(dump)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if restore.returncode == 0:
            return "restored"
        _psql(pg, f'DROP DATABASE "{name}"')
        _psql(pg, f'CREATE DATABASE "{name}"')
    _manage(netbox_dir, env, "migrate", "--no-input", timeout=3600)
    partial = dump.with_suffix(".partial")
    subprocess.run(
        [str(pg.bindir / "pg_dump"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "egov", "-Fc",
         "-f", str(partial), name],
        check=True,
        capture_output=True,
    )  # fmt: skip
    partial.replace(dump)
    return "migrated"


_BOOTSTRAP = """
from django.contrib.auth import get_user_model
from users.models import Token
User = get_user_model()
user = User.objects.create_superuser({admin!r}, 'admin@example.invalid', {password!r})
token = Token(user=user, version=2, write_enabled=True, description='egov tests')
token.save()
print('TOKEN', token.key, token.token)
"""


@contextmanager
def _redis(home: Path) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise NetBoxUnavailable(f"redis-server not found; {INSTALL}")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=20)


@contextmanager
def running_netbox(home: Path, pg: LocalPostgres | None = None, workers: int = 2) -> Iterator[RunningNetBox]:
    """Run NetBox with its config and logs in ``home``; yields URL and token; stops it on exit."""
    netbox_dir = _netbox_dir()
    own_pg = pg is None
    pg = pg or LocalPostgres.start()
    try:
        with _redis(home) as redis_port:
            name = "netbox_" + secrets.token_hex(6)
            config = _configuration(home, pg, name, redis_port)
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
                "PYTHONPATH": str(home),
                "NETBOX_CONFIGURATION": config.stem,
                "NETBOX_ROOT": str(home),
            }
            how = _database(pg, netbox_dir, env, name)
            password = secrets.token_urlsafe(16)
            out = _manage(
                netbox_dir,
                env,
                "shell",
                "--no-imports",
                "-c",
                _BOOTSTRAP.format(admin=ADMIN, password=password),
            )
            token_line = next((line for line in out.splitlines() if line.startswith("TOKEN ")), None)
            if token_line is None:
                raise NetBoxUnavailable(f"no API token from netbox shell:\n{out[-2000:]}")
            _, key, plaintext = token_line.split()
            port = free_port()
            log_path = home / "gunicorn.log"
            with log_path.open("w") as log:
                server = subprocess.Popen(
                    # one request per worker process at a time (no threads: they share one GIL), so the
                    # push's parallel bulk requests land on different workers and use both cores
                    [str(VENV / "bin" / "gunicorn"), "--workers", str(workers), "--threads", "1",
                     "--bind", f"127.0.0.1:{port}", "--timeout", "300", "--no-control-socket",
                     "--preload", "netbox.wsgi"],
                    cwd=home,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
                url = f"http://127.0.0.1:{port}"
                try:
                    wait_until_serving(
                        url + "/api/status/",
                        server,
                        log_path,
                        name="NetBox",
                        error=NetBoxUnavailable,
                        seconds=600,
                        ok=(200, 403),
                    )
                    (home / "database.txt").write_text(f"{name} ({how})\n")
                    yield RunningNetBox(url, f"nbt_{key}.{plaintext}", ADMIN, password, home, server.pid, pg)
                finally:
                    stop(server)
    finally:
        if own_pg:
            pg.stop()


def tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="egov-netbox-"))
