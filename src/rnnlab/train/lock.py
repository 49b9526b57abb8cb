"""One trainer per run: a lock held for a training session's whole life.

The save journal in :mod:`rnnlab.journal` keeps each *save* atomic, but two trainers on
one run directory would still take turns overwriting each other's checkpoints and append
interleaved records to ``metrics.jsonl``. ``train.lock`` prevents that:

* the trainer opens ``train.lock`` (a plain file, never a symlink) and takes an exclusive
  ``flock`` on it without waiting; a second trainer finds it held and is refused with the
  holder's pid, host and start time, before it has read or written anything;
* the kernel releases a ``flock`` when its process dies, however it dies (``kill -9``
  included), so a lock can never outlive its holder on a local file system. The file keeps
  a one-line JSON record ``{"pid", "host", "started"}`` while it is held and is emptied on a
  clean release: a record found by a new holder therefore belongs to a process that died
  while training, and the new holder says it took that stale lock over;
* where ``flock`` does not exist (Windows) or is refused (some network file systems), the
  record alone decides: a record naming a live process on this host is a held lock.

Readers (``evaluate``, ``generate``, ``inspect``, a dashboard) never take this lock, so they
never wait for a trainer, and a trainer never waits for them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import time
from pathlib import Path

from rnnlab.errors import CheckpointError
from rnnlab.run_files import LOCK_FILE

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

_MAX_RECORD = 4096  # a record is one short JSON line; more is not ours


class TrainingLock:
    """``with TrainingLock(run_dir) as lock:`` trains with the run to itself.

    ``lock.took_over`` is the record of a dead holder whose lock was taken over (or None);
    ``lock.message()`` says so in one line for the user.
    """

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self.fd: int | None = None
        self.took_over: dict | None = None
        self._flock_unsupported = False  # set when the file system refuses flock

    # ------------------------------------------------------------------ acquire / release
    def acquire(self) -> TrainingLock:
        fd = self._open()
        try:
            record = _read_record(fd)
            if not self._flock(fd):
                raise CheckpointError(self._held_message(record))
            if fcntl is None or self._flock_unsupported:
                if record and _alive_here(record):
                    raise CheckpointError(self._held_message(record))
            self.took_over = record or None
            _write_record(fd, {"pid": os.getpid(), "host": _host(), "started": _now()})
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def release(self) -> None:
        """Empty the record (a clean end), then let the lock go."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            with contextlib.suppress(OSError):  # a full disk must not hide the real outcome
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> TrainingLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def message(self) -> str | None:
        """One line about a stale lock that was taken over, or None."""
        r = self.took_over
        if not r:
            return None
        return (
            f"took over the lock of '{self.run_dir}' from process {r.get('pid', '?')} on "
            f"{r.get('host', '?')} (started {r.get('started', '?')}), which is no longer "
            "running; it stopped without saving what it did after its last checkpoint"
        )

    # ------------------------------------------------------------------ details
    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        flags |= getattr(os, "O_NONBLOCK", 0)  # a FIFO planted here must not hang us
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as e:
            if e.errno == errno.ELOOP:
                why = "is a symbolic link; a run directory holds plain files only"
            else:
                why = f"cannot be opened ({e.strerror})"
            raise CheckpointError(
                f"the lock file '{self.path}' {why}; remove it if no trainer is running"
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise CheckpointError(
                f"the lock file '{self.path}' is not a plain file; remove it if no trainer "
                "is running"
            )
        return fd

    def _flock(self, fd: int) -> bool:
        """Take the exclusive lock without waiting: False if another process holds it."""
        if fcntl is None:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            self._flock_unsupported = True  # ENOLCK, EOPNOTSUPP...: fall back to the record
        return True

    def _held_message(self, record: dict) -> str:
        who = (
            f"process {record.get('pid', '?')} on {record.get('host', '?')} "
            f"(since {record.get('started', '?')})"
            if record
            else "another process"
        )
        return (
            f"run '{self.run_dir}' is being trained by {who}; wait for it to finish or stop "
            "it, then try again (evaluate and generate work while it trains)"
        )


def _read_record(fd: int) -> dict:
    data = os.pread(fd, _MAX_RECORD + 1, 0)
    if not data.strip() or len(data) > _MAX_RECORD:
        return {}
    try:
        record = json.loads(data)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _write_record(fd: int, record: dict) -> None:
    data = (json.dumps(record) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _alive_here(record: dict) -> bool:
    """Whether the record names a process that still runs on this host."""
    pid = record.get("pid")
    if record.get("host") != _host() or not isinstance(pid, int):
        return False
    return process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (signal 0 asks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _host() -> str:
    return socket.gethostname()


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")
