"""The run directory around a checkpoint: its name, its creation, and metrics.jsonl.

The checkpoint files themselves belong to :mod:`rnnlab.checkpoint`, the crash-safe way
they are replaced to :mod:`rnnlab.journal`, and the declared set of names to
:mod:`rnnlab.run_files`; this module only decides where a run lives, refuses to clobber
one by accident, and keeps the metrics log in step with the last checkpoint on resume.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from rnnlab.atomic_write import atomic_write_bytes
from rnnlab.errors import CheckpointError, os_error_advice
from rnnlab.run_files import (
    CONFIG_FILE,
    LOCK_FILE,
    METRICS_FILE,
    PENDING_DIR,
    RUN_FILES,
    STATE_FILE,
    TEMP_PREFIX,
    read_run_file,
)

MAX_METRICS_BYTES = 1 << 30  # a year of records at one a second is ~100 MB

# Files rnnlab writes into a run directory, and so may remove on --overwrite.
_OWN_FILE_PATTERNS = (
    *RUN_FILES,  # the declared set of every file a run holds (rnnlab.run_files)
    f"{TEMP_PREFIX}*",  # left behind by a process killed during an atomic write
)


def default_run_name(task: str, now: datetime | None = None) -> str:
    """``"<task>-YYYYmmdd-HHMMSS"``, the default ``--out`` under ``runs/``."""
    if not task or "/" in task or os.sep in task:
        raise ValueError(f"task must be a plain name, got {task!r}")
    now = datetime.now() if now is None else now
    return f"{task}-{now:%Y%m%d-%H%M%S}"


def is_run_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory holding a config.json (a run, trained or not yet)."""
    path = Path(path)
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def create_run_dir(
    path: str | os.PathLike, *, overwrite: bool = False, check_only: bool = False
) -> Path:
    """Create the run directory ``path`` (and its parents) and return it.

    An existing empty directory (or one holding only its lock file) is used as it is. A
    non-empty one is refused unless ``overwrite``; then rnnlab's own files are removed, and
    only if it holds nothing else: ``--overwrite`` must never delete a tree the user pointed
    at by mistake. ``check_only`` makes those checks and creates the directory but removes
    nothing yet (the caller removes under the training lock, see
    :func:`rnnlab.train.session.open_new_run`). The lock file itself is never removed here.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise CheckpointError(f"'{path}' exists and is not a directory; choose another --out")
    if path.is_dir() and any(e.name != LOCK_FILE for e in path.iterdir()):
        if not (overwrite or check_only):
            raise CheckpointError(
                f"run directory '{path}' already exists; pass --resume {path} to continue it, "
                "--overwrite to replace it, or choose another --out"
            )
        _remove_own_files(path, dry_run=check_only)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        advice = os_error_advice(e) or "choose another --out"
        raise CheckpointError(
            f"cannot create run directory '{path}' ({e.strerror}); {advice}"
        ) from e
    return path


def _remove_own_files(path: Path, dry_run: bool = False) -> None:
    """Remove rnnlab's files from ``path``, after checking it holds nothing else."""
    own, foreign = [], []
    for entry in sorted(path.iterdir()):
        (own if _is_own(entry) else foreign).append(entry)
    if foreign:
        names = ", ".join(f"'{e.name}'" for e in foreign[:3]) + (", ..." if foreign[3:] else "")
        raise CheckpointError(
            f"refusing to --overwrite '{path}': it holds files rnnlab did not write ({names}); "
            "move them away or choose another --out"
        )
    if dry_run:
        return
    # state.json first, so an interrupted removal never looks like a complete checkpoint.
    for entry in sorted(own, key=lambda e: e.name != STATE_FILE):
        if entry.name == LOCK_FILE:  # held by this process: the run stays locked
            continue
        if entry.name == PENDING_DIR:
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _is_own(entry: Path) -> bool:
    if entry.name == PENDING_DIR:  # the save journal: a directory of plain files
        return (
            entry.is_dir()
            and not entry.is_symlink()
            and not any(p.is_dir() and not p.is_symlink() for p in entry.iterdir())
        )
    is_file = entry.is_symlink() or entry.is_file()
    return is_file and any(fnmatch.fnmatchcase(entry.name, p) for p in _OWN_FILE_PATTERNS)


class MetricsLog:
    """metrics.jsonl: one JSON object per logged step, each with an integer ``"step"``.

    Every ``append`` opens, writes one line and closes the file, so a killed run keeps all
    it logged and nothing stays open across ``truncate_after``'s atomic replace. A torn last
    line (a kill in mid-write) is dropped by ``read`` and ``truncate_after`` and cut off by
    the next ``append``; an invalid line before a valid one is an error.
    """

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.path = Path(run_dir) / METRICS_FILE

    def append(self, record: dict[str, Any]) -> None:
        if not isinstance(record, dict) or not _is_step(record.get("step")):
            raise ValueError(
                f"a metrics record must be a dict with an integer 'step', got {record!r:.80}"
            )
        line = json.dumps(record).encode("utf-8") + b"\n"
        self._lines()  # refuses a link, a FIFO or a device before anything is written
        # O_NOFOLLOW: a symlink planted as metrics.jsonl must not make us write elsewhere.
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as e:
            raise CheckpointError(
                f"{METRICS_FILE} in '{self.path.parent}' cannot be opened for appending "
                f"({e.strerror}); it must be a plain file: remove or restore it"
            ) from e
        with os.fdopen(fd, "rb+") as f:  # appends go to the end whatever the position
            size = f.seek(0, os.SEEK_END)
            if size:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    self._repair_tail(f)
            f.write(line)
            f.flush()

    def read(self) -> list[dict[str, Any]]:
        """All complete records, in order."""
        return [record for record, _ in self._lines()]

    def truncate_after(self, step: int) -> None:
        """Keep only the records with ``record["step"] <= step`` (atomic rewrite).

        A resumed run calls this with the checkpoint's step, so the steps it logged after
        that checkpoint, which it is about to run again, are not logged twice.
        """
        if not self.path.exists():
            return
        kept = [line for record, line in self._lines() if record["step"] <= step]
        atomic_write_bytes(self.path, b"".join(kept))

    def _lines(self) -> list[tuple[dict[str, Any], bytes]]:
        """(record, line with its newline) for each complete record."""
        data = read_run_file(self.path.parent, METRICS_FILE, limit=MAX_METRICS_BYTES)
        if data is None:
            return []
        records, _ = _parse(data, self.path)
        return records

    def _repair_tail(self, f) -> None:
        """Make the file end in a newline: cut a torn last line, or end a whole one."""
        f.seek(0)
        data = f.read()
        _, good_end = _parse(data, self.path)
        f.truncate(good_end)
        if good_end and not data[:good_end].endswith(b"\n"):
            f.write(b"\n")


def _is_step(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse(data: bytes, path: Path) -> tuple[list[tuple[dict[str, Any], bytes]], int]:
    """The records of a metrics log and the byte offset where its valid part ends."""
    records, good_end, offset, first_bad = [], 0, 0, None
    for lineno, line in enumerate(data.splitlines(keepends=True), start=1):
        offset += len(line)
        if not line.strip():
            continue
        record = _parse_line(line)
        if record is None:
            first_bad = first_bad or lineno
            continue
        if first_bad is not None:
            raise CheckpointError(
                f"line {first_bad} of '{path}' is not a JSON object with an integer 'step'; "
                "fix or delete that line"
            )
        records.append((record, line if line.endswith(b"\n") else line + b"\n"))
        good_end = offset
    return records, good_end


def _parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None
    return record if isinstance(record, dict) and _is_step(record.get("step")) else None
