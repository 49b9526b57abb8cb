"""The files of a run directory: which names it may hold, and the one safe way to read them.

People share run directories, so a run directory is read as untrusted input:

* every file a run holds is one of a declared set of names, :data:`RUN_FILES`; the save
  journal (:mod:`rnnlab.journal`) may name only the checkpoint's own files,
  :data:`CHECKPOINT_FILES`, so no crafted journal can make rnnlab move a file out of the
  run directory or over another one;
* every file is read by :func:`read_run_file`: opened without following a symbolic link
  (O_NOFOLLOW) and without waiting on a FIFO (O_NONBLOCK), it must be a regular file of a
  sane size (16 MiB for JSON; the caller gives the limit for tensors). Symbolic links (even
  to an identical file), symlink loops, FIFOs, devices and directories are refused;
  a JSON file is parsed by :func:`parse_run_json`, which accepts one JSON object only.

Every refusal is a :class:`~rnnlab.errors.CheckpointError` of one line: what is wrong, in
which file of which run, and what to do. Writing is :mod:`rnnlab.atomic_write`'s job.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from rnnlab.errors import CheckpointError

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.json"
MODEL_FILE = "model.safetensors"
STATE_TENSORS_FILE = "state.safetensors"
BEST_FILE = "best.safetensors"
STATE_FILE = "state.json"
METRICS_FILE = "metrics.jsonl"
PROBE_FILE = "probe.json"  # gates and a sample at each evaluation (rnnlab.train.probe_file)
# TensorBoard event files, one per session (--tensorboard, rnnlab.train.tensorboard_log);
# written by the tensorboard package, never read by rnnlab.
TENSORBOARD_FILES = "events.out.tfevents.*"
LOCK_FILE = "train.lock"
PENDING_DIR = ".pending"
TEMP_PREFIX = ".rnnlab-tmp-"  # every temporary file rnnlab writes starts with this

# The files of one checkpoint: the only names a save journal may hold, in the order a save
# moves them (state.json, which records the others' hashes, last).
CHECKPOINT_FILES = (CONFIG_FILE, VOCAB_FILE, MODEL_FILE, STATE_TENSORS_FILE, BEST_FILE, STATE_FILE)

# The declared set: every file a run directory holds is one of these names (fnmatch
# patterns; only the plots vary). rnnlab reads, writes, moves and removes nothing else
# there, apart from the journal folder PENDING_DIR and the TEMP_PREFIX files of atomic
# writes. A feature that adds a file (probe data, averaged weights) adds its name here,
# hashes it in state.json if it matters for results, and adds it to
# tests/test_run_dir_fuzz.py.
RUN_FILES = (*CHECKPOINT_FILES, METRICS_FILE, PROBE_FILE, LOCK_FILE, "*.png", TENSORBOARD_FILES)

# config.json, vocab.json and state.json are kilobytes (a word vocabulary a few MiB): a
# bigger one is not rnnlab's, and reading it whole could exhaust memory.
MAX_JSON_BYTES = 16 << 20


def is_run_file(name: str) -> bool:
    """Whether ``name`` is a plain file name in the declared set RUN_FILES."""
    plain = name not in ("", ".", "..") and "/" not in name and os.sep not in name
    return plain and any(fnmatch.fnmatchcase(name, pattern) for pattern in RUN_FILES)


def read_run_file(
    run_dir: str | os.PathLike, name: str, limit: int = MAX_JSON_BYTES
) -> bytes | None:
    """The bytes of the run's file ``name`` (one of RUN_FILES), or None if it has none.

    The one way to read a file of a run directory: no symbolic link is followed, a FIFO is
    not waited on, and anything but a regular file of at most ``limit`` bytes is refused
    with a one-line CheckpointError.
    """
    if not is_run_file(name):
        raise ValueError(f"{name!r} is not one of the files a run directory holds (RUN_FILES)")
    run_dir = Path(run_dir)
    try:
        return read_plain_file(run_dir / name, limit)
    except FileRefused as e:
        raise CheckpointError(f"{name} in '{run_dir}' {e}; {e.fix}, or start a new run") from e


def parse_run_json(data: bytes, name: str, run_dir: str | os.PathLike) -> dict:
    """The JSON object in ``data``, the bytes of the run's file ``name`` (as read by
    :func:`read_run_file`); anything else is a one-line CheckpointError."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise CheckpointError(
            f"cannot read {name} in '{run_dir}' (not UTF-8); restore it or start a new run"
        ) from e
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"{name} in '{run_dir}' is not valid JSON (line {e.lineno}: {e.msg}); "
            "restore it or start a new run"
        ) from e
    except (ValueError, RecursionError) as e:  # an integer of 5,000 digits, [[[[...]]]]
        raise CheckpointError(
            f"{name} in '{run_dir}' is not JSON that rnnlab writes ({e.__class__.__name__}: "
            f"{' '.join(str(e).split())[:80]}); restore it or start a new run"
        ) from e
    if not isinstance(obj, dict):
        raise CheckpointError(f"{name} in '{run_dir}' is not a JSON object; restore it")
    return obj


def require_run_dir(run_dir: Path) -> None:
    """CheckpointError unless ``run_dir`` is a directory (a symbolic link to one will do)."""
    try:
        mode = os.stat(run_dir).st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise CheckpointError(
                f"'{run_dir}' is a symbolic link loop; give the path of a run directory"
            ) from e
        if isinstance(e, (FileNotFoundError, NotADirectoryError)):
            raise CheckpointError(
                f"run directory '{run_dir}' does not exist; check the path"
            ) from e
        raise CheckpointError(f"cannot open '{run_dir}' ({e.strerror}); check the path") from e
    if not stat.S_ISDIR(mode):
        raise CheckpointError(f"'{run_dir}' is not a directory; give the path of a run directory")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks.

    For a file the user names (the training data): a symbolic link is followed. A run's own
    files are read with :func:`read_run_file` and hashed as those very bytes.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def shown(value: Any, width: int = 40) -> str:
    """A value from an untrusted file, cut short and on one line, for a message."""
    text = " ".join(str(value).split()).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= width else text[: width - 3] + "..."


# --- plain files only ----------------------------------------------------------------------

# O_NOFOLLOW: a symbolic link as the last component fails (ELOOP) instead of being
# followed out of the run directory. O_NONBLOCK: opening a FIFO returns at once, so fstat
# can refuse it, instead of waiting forever for a writer; it changes nothing for files.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)


class FileRefused(Exception):
    """A path that is not a plain, readable file of a sane size: why, and what to do."""

    def __init__(self, why: str, fix: str = "restore it") -> None:
        super().__init__(why)
        self.fix = fix


def read_plain_file(path: Path, limit: int) -> bytes | None:
    """The bytes of the regular file ``path`` (at most ``limit``), or None if there is none.

    Raises FileRefused for a symbolic link, a FIFO, a device, a directory, a file over
    ``limit`` bytes or an unreadable file.
    """
    if not hasattr(os, "O_NOFOLLOW") and os.path.islink(path):  # Windows: check, then open
        raise _symlink(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _unopenable(path, e) from e
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(f"is {kind_of(mode)}, not a file")
        chunks, size = [], 0
        while size <= limit and (block := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(block)
            size += len(block)
    except OSError as e:
        raise FileRefused(f"cannot be read ({e.strerror})") from e
    except MemoryError as e:
        raise FileRefused("is too large to read into this machine's memory") from e
    finally:
        os.close(fd)
    if size > limit:
        raise FileRefused(f"is larger than {_size(limit)}, more than rnnlab ever writes there")
    return b"".join(chunks)


def is_plain_file(path: Path) -> bool:
    """Whether ``path`` is a regular file (a symbolic link is not, whatever it points to)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def kind_of(mode: int) -> str:
    """What an ``st_mode`` is, for a message: "a file", "a FIFO (named pipe)", ..."""
    kinds = [
        (stat.S_ISREG, "a file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ]
    return next((what for test, what in kinds if test(mode)), "not a regular file")


def _unopenable(path: Path, error: OSError) -> FileRefused:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = stat.S_IFREG
    if stat.S_ISLNK(mode):
        return _symlink(path)
    if not stat.S_ISREG(mode):  # e.g. a socket, which open() refuses with ENXIO
        return FileRefused(f"is {kind_of(mode)}, not a file")
    return FileRefused(f"cannot be opened ({error.strerror})", "check its permissions")


def _symlink(path: Path) -> FileRefused:
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return FileRefused(
                "is a symbolic link loop; rnnlab run directories hold plain files only",
                "delete it and restore the file",
            )
    return FileRefused(
        "is a symbolic link; rnnlab run directories hold plain files only",
        "replace it by a copy of the file it points to",
    )


def _size(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MiB"
