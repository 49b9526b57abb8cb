"""Atomic, durable writes of one file: a reader or a crash sees the old file or the new one.

A checkpoint is several files that must change together; that is :mod:`rnnlab.journal`,
built on these.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from rnnlab.run_files import TEMP_PREFIX


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` by ``data`` so that a reader or a crash sees the old or the new file.

    The temporary file lives in the same directory (``os.replace`` is atomic only within one
    file system) and is removed if anything fails before the rename.
    """
    path = Path(path)
    tmp = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.urandom(6).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON with :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, json_bytes(obj))


def json_bytes(obj: Any) -> bytes:
    """``obj`` as rnnlab writes every JSON file: indented UTF-8, one final newline."""
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_synced(path: Path, data: bytes) -> None:
    """Write a new file and fsync it (not atomic: for files no reader looks at yet)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    """Make renames and new entries in ``path`` durable (POSIX only)."""
    if os.name != "posix":  # a directory cannot be opened on Windows; NTFS journals renames
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
