"""Start a real OpenStack Placement (gunicorn, one worker, SQLite, noauth2) on 127.0.0.1 on a free port.

Shared by the test fixture (tests/placement/conftest.py) and the benchmark (bench/bench_fit.py). The SQLite
file lives on /dev/shm when there is one: Placement commits every write, and an fsync to disk would make
the suite slow without testing anything more.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from servicekit import stop, wait_until_serving

INSTALL = "install it with:  .venv/bin/pip install -e '.[test]'   (openstack-placement is in the test extra)"


class PlacementUnavailable(RuntimeError):
    """Placement could not be started; the message says why and how to fix it."""


def _bin(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        raise PlacementUnavailable(f"{name} not found next to {sys.executable}; {INSTALL}")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_placement(home: Path) -> Iterator[str]:
    """Run Placement with its config and log in ``home``; yields the endpoint URL; stops it on exit."""
    try:
        import placement  # noqa: F401
    except ImportError:
        raise PlacementUnavailable(f"openstack-placement is not installed; {INSTALL}") from None
    shm = Path("/dev/shm")
    db_dir = Path(tempfile.mkdtemp(prefix="egov-placement-", dir=shm if shm.is_dir() else home))
    (home / "placement.conf").write_text(
        "[DEFAULT]\ndebug = False\n"
        "[api]\nauth_strategy = noauth2\n"
        f"[placement_database]\nconnection = sqlite:///{db_dir / 'placement.sqlite'}\n"
    )
    env = {**os.environ, "OS_PLACEMENT_CONFIG_DIR": str(home)}
    try:
        sync = subprocess.run(
            [_bin("placement-manage"), "--config-dir", str(home), "db", "sync"],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if sync.returncode != 0:
            raise PlacementUnavailable(f"placement-manage db sync failed:\n{sync.stderr[-2000:]}")
        port = _free_port()
        log_path = home / "gunicorn.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [
                    _bin("gunicorn"),
                    "--workers",
                    "1",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--no-control-socket",
                    "--timeout",
                    "120",
                    "placement.wsgi.api:application",
                ],
                env=env,
                cwd=home,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            endpoint = f"http://127.0.0.1:{port}"
            try:
                wait_until_serving(
                    endpoint + "/", server, log_path, name="Placement", error=PlacementUnavailable
                )
                yield endpoint
            finally:
                stop(server)
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)


def connect(endpoint: str) -> object:
    """openstacksdk connected to the test Placement with the noauth2 admin token."""
    import openstack

    return openstack.connect(auth_type="admin_token", auth={"token": "admin", "endpoint": endpoint})
