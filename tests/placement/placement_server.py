"""Start a real OpenStack Placement (gunicorn, one worker, SQLite, noauth2) on 127.0.0.1 on a free port.

Shared by the test fixture (tests/placement/conftest.py) and the benchmark (bench/bench_fit.py). The SQLite
file lives on /dev/shm when there is one: Placement commits every write, and an fsync to disk would make
the suite slow without testing anything more.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from servicekit import stop, venv_bin, wait_until_serving

from slots.localpg import free_port

INSTALL = "install it with:  .venv/bin/pip install -e '.[test]'   (openstack-placement is in the test extra)"


class PlacementUnavailable(RuntimeError):
    """Placement could not be started; the message says why and how to fix it."""


def _bin(name: str) -> str:
    return venv_bin(name, PlacementUnavailable, INSTALL)


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
        port = free_port()
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
