"""Start a real OpenStack Keystone (gunicorn, one worker, SQLite, fernet tokens) on 127.0.0.1, a free port.

The recipe of issue 16, as tests/placement/placement_server.py starts Placement:

- the port is picked BEFORE ``keystone-manage bootstrap``: bootstrap stores the endpoint URL in the catalog;
- gunicorn takes its settings from a gunicorn.conf.py in its working directory and gets NO command-line
  argument: Keystone parses the process's arguments as its own (oslo.config), rejects gunicorn's, and the
  worker exits in a loop while the port stays open;
- one worker and ``[cache]`` on the in-memory backend: a project creation then takes milliseconds;
- the SQLite file lives on /dev/shm when there is one (an fsync per commit tests nothing more).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from servicekit import stop, venv_bin, wait_until_serving

from slots.localpg import free_port

INSTALL = "install it with:  .venv/bin/pip install -e '.[test]'   (keystone is in the test extra)"
#: The admin password bootstrap gives the test Keystone's ``admin`` user (a throwaway, local only).
ADMIN_PASSWORD = "egov-test-admin"
REGION = "RegionOne"


class KeystoneUnavailable(RuntimeError):
    """Keystone could not be started; the message says why and how to fix it."""


@dataclass(frozen=True)
class Keystone:
    """A running test Keystone: its v3 URL and what openstacksdk needs to log in as its admin."""

    auth_url: str

    def auth(self) -> dict[str, str]:
        return {
            "auth_url": self.auth_url,
            "username": "admin",
            "password": ADMIN_PASSWORD,
            "project_name": "admin",
            "user_domain_id": "default",
            "project_domain_id": "default",
        }


def _bin(name: str) -> str:
    return venv_bin(name, KeystoneUnavailable, INSTALL)


def _manage(home: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [_bin("keystone-manage"), "--config-dir", str(home), *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise KeystoneUnavailable(f"keystone-manage {args[0]} failed:\n{done.stderr[-3000:]}")


@contextmanager
def running_keystone(home: Path) -> Iterator[Keystone]:
    """Run Keystone with its config, keys and log in ``home``; yields it; stops it on exit."""
    try:
        import keystone  # noqa: F401
    except ImportError:
        raise KeystoneUnavailable(f"keystone is not installed; {INSTALL}") from None
    shm = Path("/dev/shm")
    db_dir = Path(tempfile.mkdtemp(prefix="egov-keystone-", dir=shm if shm.is_dir() else home))
    port = free_port()  # before bootstrap: the endpoint URL goes into the catalog
    url = f"http://127.0.0.1:{port}"
    (home / "keystone.conf").write_text(
        "[DEFAULT]\ndebug = False\n"
        f"[database]\nconnection = sqlite:///{db_dir / 'keystone.sqlite'}\n"
        f"[fernet_tokens]\nkey_repository = {home / 'fernet-keys'}\n"
        f"[credential]\nkey_repository = {home / 'credential-keys'}\n"
        "[cache]\nenabled = true\nbackend = dogpile.cache.memory\n",
        encoding="utf-8",
    )
    (home / "gunicorn.conf.py").write_text(
        f'wsgi_app = "keystone.wsgi.api:application"\nbind = "127.0.0.1:{port}"\nworkers = 1\n'
        "timeout = 120\ncontrol_socket_disable = True\n",
        encoding="utf-8",
    )
    env = {**os.environ, "OS_KEYSTONE_CONFIG_DIR": str(home)}
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    try:
        _manage(home, env, "fernet_setup", "--keystone-user", user, "--keystone-group", group)
        _manage(home, env, "credential_setup", "--keystone-user", user, "--keystone-group", group)
        _manage(home, env, "db_sync")
        _manage(
            home,
            env,
            "bootstrap",
            "--bootstrap-password",
            ADMIN_PASSWORD,
            "--bootstrap-admin-url",
            f"{url}/v3",
            "--bootstrap-public-url",
            f"{url}/v3",
            "--bootstrap-internal-url",
            f"{url}/v3",
            "--bootstrap-region-id",
            REGION,
        )
        log_path = home / "gunicorn.log"
        with log_path.open("w") as log:
            # No argument at all: gunicorn reads ./gunicorn.conf.py (see the module docstring).
            server = subprocess.Popen(
                [_bin("gunicorn")], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                wait_until_serving(f"{url}/v3", server, log_path, name="Keystone", error=KeystoneUnavailable)
                yield Keystone(auth_url=f"{url}/v3")
            finally:
                stop(server)
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)


def connect(keystone: Keystone) -> object:
    """openstacksdk logged in as the test Keystone's admin (project admin, domain default)."""
    import openstack

    return openstack.connect(auth=keystone.auth(), region_name=REGION, identity_api_version="3")
