"""What every real service the suite starts under gunicorn needs (Placement, Keystone, NetBox): wait until it
answers — or say why it never will, with its log — and stop it whatever state it is in."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path


def wait_until_serving(
    url: str,
    server: subprocess.Popen[bytes],
    log: Path,
    *,
    name: str,
    error: type[Exception],
    seconds: float = 120,
    ok: Collection[int] = (200,),
) -> None:
    """Poll ``url`` until it answers with a status in ``ok``; raise ``error`` with the log's tail if the
    server exits or ``seconds`` pass first (a test never waits unboundedly, nor skips silently)."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise error(f"{name} (gunicorn) exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=5).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise error(f"{name} did not answer on {url} within {seconds:g} s:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if gunicorn has not stopped within 20 s."""
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def venv_bin(name: str, error: type[Exception], install: str) -> str:
    """The console script ``name`` of this venv (else on PATH); ``error`` naming how to install it."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        raise error(f"{name} not found next to {sys.executable}; {install}")
    return found
