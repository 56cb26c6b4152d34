"""Atomic output: write to a temporary place beside the target, then rename, so nothing is half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    """The process umask: mkstemp/mkdtemp create private 0600/0700 entries, outputs get the usual modes."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with UTF-8 ``text`` in one rename."""
    write_bytes(path, text.encode("utf-8"))


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory; on success it replaces ``target`` whole, on failure it is removed.

    Files already in ``target`` that the run does not produce are dropped: the result is exactly one run's
    output. A failed run leaves ``target`` as it was.
    """
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging.", dir=target.parent))
    os.chmod(stage, 0o777 & ~_umask())
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old.{os.getpid()}"
        os.replace(target, old)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
