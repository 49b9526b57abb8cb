"""Checkpoints: safetensors for arrays, JSON for everything else, nothing pickled.

A run directory holds::

    config.json        {"format_version": 1, "model": {...}, "train": {...}, "task": {...}}
    vocab.json         the vocabulary, if any
    model.safetensors  weights ("rnn.weight_ih_l0", ...), float32 or float64
    state.safetensors  optimizer moments and other resumable arrays (may hold none)
    best.safetensors   optional: the best weights so far
    state.json         {"format_version": 1, "step": ..., "library_versions": {...},
                        "sha256": {"model.safetensors": ..., "config.json": ..., ...}}

Untrusted input
---------------
People share run directories, so a run directory is read as untrusted input:

* every file a run holds is one of a declared set of names, :data:`RUN_FILES`; the save
  journal may name only the checkpoint's own files, :data:`CHECKPOINT_FILES`, so no crafted
  journal can make rnnlab move a file out of the run directory or over another one;
* every file is read by :func:`read_run_file`: opened without following a symbolic link
  (O_NOFOLLOW) and without waiting on a FIFO (O_NONBLOCK), it must be a regular file of a
  sane size (16 MiB for JSON, this machine's memory for tensors). Symbolic links (even to
  an identical file), symlink loops, FIFOs, devices and directories are refused, and so is
  a ``.pending`` that is not a plain folder;
* state.json records the sha256 of every other checkpoint file, config.json and vocab.json
  included, so an edited configuration or vocabulary is refused instead of silently giving
  other numbers (a vocab.json added after the save, or deleted, too). Runs saved before
  config.json and vocab.json were hashed record only the tensor files: they load unchecked
  and their next save records both. state.json itself is not hashed; its format version and
  the types of the keys rnnlab reads back (STATE_KEYS) are checked; weights loaded into a
  model must be floating-point and finite; both engines check the optimizer state they
  load with :func:`check_optimizer_state` (names, shapes, dtypes, step, hyperparameters).

Every refusal is a :class:`~rnnlab.errors.CheckpointError` of one line: what is wrong, in
which file of which run, and what to do.

Crash safety
------------
One checkpoint is several files that only make sense together: state.json records the
sha256 of each of them. Replacing them one at a time would leave a window in which a
killed process leaves new weights beside an old state.json. ``save_checkpoint`` therefore
keeps a journal in ``run_dir/.pending/``:

1. write every new file, state.json included, into ``.pending/`` and fsync it.
   A kill here leaves ``.pending/`` without ``COMMIT``: the old files were never touched,
   and the next load or save deletes ``.pending/``.
2. write ``.pending/COMMIT`` (the list of files to move) atomically. This rename is the
   commit point: before it the save did not happen, after it the save has happened.
3. ``os.replace`` each file from ``.pending/`` into the run directory, state.json last.
   A kill here leaves a mix on disk, but ``COMMIT`` exists, so the next load or save first
   rolls the move forward: it moves whatever is still in ``.pending/``. Rolling forward is
   idempotent, so a kill during the roll-forward leaves the same situation again.
4. remove ``COMMIT``, then ``.pending/``.

The save's own step 3 is the same roll-forward that a later load runs (``_recover``), so
there is one code path to trust. A config.json or vocab.json given to the save travels in
the same commit, so a checkpoint's configuration and its state never disagree. Saves and
loads hold an advisory lock (``flock``) on the run directory, so `rnnlab generate` on a run
that is still training neither reads a half-moved checkpoint nor deletes the trainer's
``.pending/``. Where ``flock`` does not exist (Windows) or is refused (some network file
systems), this lock is skipped.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import math
import os
import platform
import shutil
import stat
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from rnnlab import __version__
from rnnlab.errors import CheckpointError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

FORMAT_VERSION = 1

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.json"
MODEL_FILE = "model.safetensors"
STATE_TENSORS_FILE = "state.safetensors"
BEST_FILE = "best.safetensors"
STATE_FILE = "state.json"
METRICS_FILE = "metrics.jsonl"
LOCK_FILE = "train.lock"
PENDING_DIR = ".pending"
COMMIT_FILE = "COMMIT"
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
RUN_FILES = (*CHECKPOINT_FILES, METRICS_FILE, LOCK_FILE, "*.png")

# config.json, vocab.json and state.json are kilobytes (a word vocabulary a few MiB): a
# bigger one is not rnnlab's, and reading it whole could exhaust memory.
MAX_JSON_BYTES = 16 << 20

_BOOKKEEPING_KEYS = ("format_version", "library_versions", "sha256")


@dataclass(frozen=True)
class Checkpoint:
    """Everything one run directory holds, verified against the hashes in state.json."""

    model: dict[str, np.ndarray]
    state_tensors: dict[str, np.ndarray]
    state: dict[str, Any]  # state.json as written: the caller's keys plus the bookkeeping keys
    best: dict[str, np.ndarray] | None
    config: dict[str, Any]
    vocab: dict[str, Any] | None


# --- files ------------------------------------------------------------------------------


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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
    _fsync_dir(path.parent)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON with :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, _json_bytes(obj))


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _fsync_dir(path: Path) -> None:
    """Make renames and new entries in ``path`` durable (POSIX only)."""
    if os.name != "posix":  # a directory cannot be opened on Windows; NTFS journals renames
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on the run directory (released when the fd closes).

    Not reentrant: a second ``_locked`` on the same directory in one process would wait
    for itself, so the public functions take it once and call the unlocked helpers.
    """
    if fcntl is None:
        yield
        return
    fd = os.open(run_dir, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # e.g. ENOLCK on NFS: go on without the lock
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# --- reading untrusted files ----------------------------------------------------------------

# O_NOFOLLOW: a symbolic link as the last component fails (ELOOP) instead of being
# followed out of the run directory. O_NONBLOCK: opening a FIFO returns at once, so fstat
# can refuse it, instead of waiting forever for a writer; it changes nothing for files.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)


class _Refused(Exception):
    """A path that is not a plain, readable file of a sane size: why, and what to do."""

    def __init__(self, why: str, fix: str = "restore it") -> None:
        super().__init__(why)
        self.fix = fix


def _read_plain_file(path: Path, limit: int) -> bytes | None:
    """The bytes of the regular file ``path`` (at most ``limit``), or None if there is none.

    Raises _Refused for a symbolic link, a FIFO, a device, a directory, a file over
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
            raise _Refused(f"is {_kind(mode)}, not a file")
        chunks, size = [], 0
        while size <= limit and (block := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(block)
            size += len(block)
    except OSError as e:
        raise _Refused(f"cannot be read ({e.strerror})") from e
    except MemoryError as e:
        raise _Refused("is too large to read into this machine's memory") from e
    finally:
        os.close(fd)
    if size > limit:
        raise _Refused(f"is larger than {_size(limit)}, more than rnnlab ever writes there")
    return b"".join(chunks)


def _unopenable(path: Path, error: OSError) -> _Refused:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = stat.S_IFREG
    if stat.S_ISLNK(mode):
        return _symlink(path)
    if not stat.S_ISREG(mode):  # e.g. a socket, which open() refuses with ENXIO
        return _Refused(f"is {_kind(mode)}, not a file")
    return _Refused(f"cannot be opened ({error.strerror})", "check its permissions")


def _symlink(path: Path) -> _Refused:
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return _Refused(
                "is a symbolic link loop; rnnlab run directories hold plain files only",
                "delete it and restore the file",
            )
    return _Refused(
        "is a symbolic link; rnnlab run directories hold plain files only",
        "replace it by a copy of the file it points to",
    )


def _kind(mode: int) -> str:
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


def _size(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MiB"


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
        return _read_plain_file(run_dir / name, limit)
    except _Refused as e:
        raise CheckpointError(f"{name} in '{run_dir}' {e}; {e.fix}, or start a new run") from e


def is_run_file(name: str) -> bool:
    """Whether ``name`` is a plain file name in the declared set RUN_FILES."""
    plain = name not in ("", ".", "..") and "/" not in name and os.sep not in name
    return plain and any(fnmatch.fnmatchcase(name, pattern) for pattern in RUN_FILES)


def _is_plain_file(path: Path) -> bool:
    """Whether ``path`` is a regular file (a symbolic link is not, whatever it points to)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _max_tensor_bytes() -> int:
    """The largest tensor file worth reading: this machine's physical memory.

    Loading reads the file whole and then parses it, so a bigger file can only end in a
    MemoryError or the OOM killer; a symlink to /dev/zero never gets this far (see above).
    """
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: rely on MemoryError
        return sys.maxsize


def _parse_json(data: bytes, name: str, run_dir: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
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


def _require_dir(run_dir: Path) -> None:
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


def _check_format_version(obj: dict, name: str, run_dir: Path) -> None:
    found = obj.get("format_version")
    if type(found) is not int or found != FORMAT_VERSION:
        raise CheckpointError(
            f"run '{run_dir}' was written by checkpoint format {_shown(found)} ({name}), "
            f"this rnnlab reads format {FORMAT_VERSION}; use the rnnlab version that wrote it"
        )


def _shown(value: Any, width: int = 40) -> str:
    """A value from an untrusted file, cut short and on one line, for a message."""
    text = " ".join(str(value).split()).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= width else text[: width - 3] + "..."


# --- config and vocabulary ---------------------------------------------------------------


def config_bytes(config: dict) -> bytes:
    """config.json's bytes: ``format_version`` first. Saves hash these very bytes."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    if config.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        raise ValueError(
            f"config has format_version {config['format_version']}, expected {FORMAT_VERSION}"
        )
    rest = {k: v for k, v in config.items() if k != "format_version"}
    return _json_bytes({"format_version": FORMAT_VERSION, **rest})


def vocab_bytes(vocab: dict) -> bytes:
    """vocab.json's bytes."""
    if not isinstance(vocab, dict):
        raise TypeError(f"vocab must be a dict, got {type(vocab).__name__}")
    return _json_bytes(vocab)


def write_config(run_dir: str | os.PathLike, config: dict) -> None:
    """Write config.json atomically, for a run that has no checkpoint yet.

    Once a checkpoint exists its config.json is hashed in state.json: pass a new config to
    :func:`save_checkpoint` instead, which writes it in the same commit.
    """
    atomic_write_bytes(Path(run_dir) / CONFIG_FILE, config_bytes(config))


def write_vocab(run_dir: str | os.PathLike, vocab: dict) -> None:
    """Write vocab.json atomically, for a run that has no checkpoint yet (see write_config)."""
    atomic_write_bytes(Path(run_dir) / VOCAB_FILE, vocab_bytes(vocab))


def read_config(run_dir: str | os.PathLike) -> dict:
    """config.json as a dict (``format_version`` included, and checked).

    Once the run has a checkpoint, config.json must also match the sha256 its state.json
    records; before the first checkpoint (``rnnlab inspect`` of a run just started) there is
    nothing to check it against.
    """
    run_dir = Path(run_dir)
    _require_dir(run_dir)
    with _locked(run_dir):
        _recover(run_dir)
        data, config = _read_config(run_dir)
        state = _read_state(run_dir, required=False)
        if state is not None:
            _check_hash(run_dir, CONFIG_FILE, data, state["sha256"])
    return config


def read_vocab(run_dir: str | os.PathLike) -> dict | None:
    """vocab.json as a dict, or None if the run has no vocabulary (checked as read_config)."""
    run_dir = Path(run_dir)
    _require_dir(run_dir)
    with _locked(run_dir):
        _recover(run_dir)
        state = _read_state(run_dir, required=False)
        return _read_vocab(run_dir, None if state is None else state["sha256"])


def _read_config(run_dir: Path) -> tuple[bytes, dict]:
    """(bytes, parsed) of config.json; its hash is checked by the caller."""
    data = read_run_file(run_dir, CONFIG_FILE, MAX_JSON_BYTES)
    if data is None:
        raise CheckpointError(
            f"'{run_dir}' has no {CONFIG_FILE}, so it is not an rnnlab run directory; "
            "check the path"
        )
    config = _parse_json(data, CONFIG_FILE, run_dir)
    if not isinstance(config, dict):
        raise CheckpointError(f"{CONFIG_FILE} in '{run_dir}' is not a JSON object; restore it")
    # Before the hash: a config of another format is told apart from an edited one.
    _check_format_version(config, CONFIG_FILE, run_dir)
    return data, config


def _read_vocab(run_dir: Path, hashes: dict | None) -> dict | None:
    data = read_run_file(run_dir, VOCAB_FILE, MAX_JSON_BYTES)
    if hashes is not None:
        _check_hash(run_dir, VOCAB_FILE, data, hashes)
    if data is None:
        return None
    vocab = _parse_json(data, VOCAB_FILE, run_dir)
    if not isinstance(vocab, dict):
        raise CheckpointError(f"{VOCAB_FILE} in '{run_dir}' is not a JSON object; restore it")
    return vocab


def _check_hash(run_dir: Path, name: str, data: bytes | None, hashes: dict) -> None:
    """config.json or vocab.json (``data``, None if absent) against state.json's record."""
    recorded = hashes.get(name)
    if recorded is None:
        # Runs saved before these files were hashed record neither, and load unchecked. A
        # run that records config.json's hash would record vocab.json's too, had it one.
        if data is not None and name == VOCAB_FILE and CONFIG_FILE in hashes:
            raise CheckpointError(
                f"{VOCAB_FILE} in '{run_dir}' is not part of the checkpoint ({STATE_FILE} "
                "records no sha256 for it): it was added after the save; delete it or start "
                "a new run"
            )
        return
    if data is None:
        raise CheckpointError(
            f"{name} in '{run_dir}' is missing, but the checkpoint in {STATE_FILE} records "
            "it; restore it or start a new run"
        )
    if hashlib.sha256(data).hexdigest() != recorded:
        raise CheckpointError(
            f"{name} in '{run_dir}' does not match the checkpoint (sha256 mismatch): it was "
            "edited after the save; restore it or start a new run"
        )


# --- save ----------------------------------------------------------------------------------


def save_checkpoint(
    run_dir: str | os.PathLike,
    *,
    model: Mapping[str, np.ndarray],
    state_tensors: Mapping[str, np.ndarray],
    state: dict,
    best: Mapping[str, np.ndarray] | None = None,
    config: dict | None = None,
    vocab: dict | None = None,
) -> None:
    """Save one checkpoint so that a crash at any instant leaves the old or the new one.

    Args:
        model: weights by name ("rnn.weight_ih_l0", ...), numeric NumPy arrays.
        state_tensors: optimizer moments, RNG states, ... (may be empty).
        state: JSON-serialisable; must hold an integer ``"step"``. The keys
            ``format_version``, ``library_versions`` and ``sha256`` are filled in here
            (any values the caller passes for them are replaced).
        best: the best weights so far. None keeps the best weights of the previous
            checkpoint, if it has any, so a trainer passes them only when they change.
        config, vocab: if given, written as config.json / vocab.json in the same commit.
            Either way state.json records the sha256 of both files as they are on disk
            after the save (those given, or those already there).
    """
    run_dir = Path(run_dir)
    _require_dir(run_dir)
    step = state.get("step") if isinstance(state, dict) else None
    if not isinstance(step, int) or isinstance(step, bool):
        raise ValueError(f"state must be a dict with an integer 'step', got {state!r:.80}")
    files = {}
    if config is not None:
        files[CONFIG_FILE] = config_bytes(config)
    if vocab is not None:
        files[VOCAB_FILE] = vocab_bytes(vocab)
    files[MODEL_FILE] = _encode_tensors("model", model)
    files[STATE_TENSORS_FILE] = _encode_tensors("state_tensors", state_tensors)
    if best is not None:
        files[BEST_FILE] = _encode_tensors("best", best)
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    with _locked(run_dir):
        _recover(run_dir)
        for name in (CONFIG_FILE, VOCAB_FILE):  # those not given: as they are on disk
            if name not in files and (data := read_run_file(run_dir, name)) is not None:
                hashes[name] = hashlib.sha256(data).hexdigest()
        if best is None and (kept := _current_best_hash(run_dir)) is not None:
            hashes[BEST_FILE] = kept
        record = {k: v for k, v in state.items() if k not in _BOOKKEEPING_KEYS}
        record = {"format_version": FORMAT_VERSION, **record}
        record.update(library_versions=_library_versions(), sha256=hashes)
        files[STATE_FILE] = _json_bytes(record)  # last: it is moved into place last
        _commit(run_dir, files)


def _encode_tensors(what: str, tensors: Mapping[str, np.ndarray]) -> bytes:
    if not isinstance(tensors, Mapping):
        raise TypeError(f"{what} must be a dict of name -> array, got {type(tensors).__name__}")
    arrays = {}
    for name, value in tensors.items():
        if isinstance(value, np.generic):
            value = np.asarray(value)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{what} names must be non-empty strings, got {name!r}")
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufc":
            raise TypeError(f"{what}[{name!r}] must be a numeric NumPy array, got {value!r:.60}")
        # safetensors copies raw memory: a strided view (e.g. W.T) would be saved scrambled.
        arrays[name] = value if value.flags.c_contiguous else np.array(value, order="C")
    # One key only: safetensors writes metadata in hash-map order, so two keys would make
    # the bytes, and so the sha256, of the same tensors differ from one save to the next.
    metadata = {"rnnlab_format_version": str(FORMAT_VERSION)}
    return safetensors.numpy.save(arrays, metadata=metadata)


def _current_best_hash(run_dir: Path) -> str | None:
    """The recorded hash of best.safetensors in the committed checkpoint, if it has one."""
    try:
        state = _read_state(run_dir, required=False)
    except CheckpointError:  # a damaged state.json keeps no best weights
        return None
    kept = None if state is None else state["sha256"].get(BEST_FILE)
    return kept if kept is not None and _is_plain_file(run_dir / BEST_FILE) else None


def _library_versions() -> dict[str, str]:
    versions = {
        "rnnlab": __version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
    }
    torch = sys.modules.get("torch")  # recorded if in use, never imported here
    if torch is not None:
        versions["torch"] = torch.__version__
    return versions


def _commit(run_dir: Path, files: dict[str, bytes]) -> None:
    """Journal steps 1-4 of the module docstring; the caller holds the lock."""
    assert set(files) <= set(CHECKPOINT_FILES), sorted(files)
    pending = run_dir / PENDING_DIR
    pending.mkdir()
    _fsync_dir(run_dir)
    try:
        for name, data in files.items():
            _write_synced(pending / name, data)
        _fsync_dir(pending)
        atomic_write_json(pending / COMMIT_FILE, {"files": list(files)})
    except BaseException:
        if not (pending / COMMIT_FILE).exists():  # not committed: the old files stand
            shutil.rmtree(pending, ignore_errors=True)
        raise
    _recover(run_dir)


def _recover(run_dir: Path) -> None:
    """Finish a committed save (roll forward) or discard an uncommitted one. Idempotent.

    The journal is untrusted like every file of the run: it may name only
    CHECKPOINT_FILES, each a plain file, or nothing is moved at all.
    """
    pending = run_dir / PENDING_DIR
    try:
        mode = os.lstat(pending).st_mode
    except FileNotFoundError:
        return
    where = f"the save journal '{PENDING_DIR}' in '{run_dir}'"
    fix = f"delete '{pending}' and check the run loads"
    if stat.S_ISLNK(mode):
        raise CheckpointError(
            f"{where} is a symbolic link; rnnlab run directories hold plain files only: {fix}"
        )
    if not stat.S_ISDIR(mode):
        raise CheckpointError(f"{where} is {_kind(mode)}, not a folder: {fix}")
    names = _journal(run_dir)
    try:
        if names is not None:
            for name in names:
                if _is_plain_file(pending / name):  # a missing file was moved before a crash
                    os.replace(pending / name, run_dir / name)
            _fsync_dir(pending)
            _fsync_dir(run_dir)
            os.unlink(pending / COMMIT_FILE)  # COMMIT first: what remains is uncommitted debris
        shutil.rmtree(pending)
        _fsync_dir(run_dir)
    except OSError as e:  # a read-only run directory, say: the journal stays for next time
        raise CheckpointError(
            f"cannot finish {where} ({e.strerror}: '{e.filename or pending}'); make the run "
            "directory writable and load the run again"
        ) from e


def _journal(run_dir: Path) -> list[str] | None:
    """The files a committed journal moves (checked), or None if it holds no COMMIT."""
    pending = run_dir / PENDING_DIR

    def damaged(why: str) -> CheckpointError:
        return CheckpointError(
            f"the save journal '{PENDING_DIR}/{COMMIT_FILE}' in '{run_dir}' is damaged ({why}); "
            f"delete the folder '{pending}' and check the run loads"
        )

    try:
        data = _read_plain_file(pending / COMMIT_FILE, MAX_JSON_BYTES)
    except _Refused as e:
        raise damaged(f"it {e}") from e
    if data is None:
        return None
    try:
        journal = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError too
        raise damaged("it is not valid JSON") from e
    names = journal.get("files") if isinstance(journal, dict) else None
    if not isinstance(names, list):
        raise damaged("it holds no list of files")
    for name in names:
        if not isinstance(name, str):
            raise damaged(f"it names {_shown(repr(name))}, not a file name")
        if name not in CHECKPOINT_FILES:
            raise damaged(f"it names {_shown(repr(name))}, not a checkpoint file")
    for name in names:  # all checked before anything moves
        source, target = pending / name, run_dir / name
        if os.path.lexists(source) and not _is_plain_file(source):
            raise damaged(f"'{PENDING_DIR}/{name}', which it names, is not a plain file")
        if os.path.lexists(source) and os.path.isdir(target) and not os.path.islink(target):
            raise CheckpointError(
                f"cannot finish the save journal '{PENDING_DIR}' in '{run_dir}': {name} there "
                "is a directory, not a file; remove that directory and load the run again"
            )
    return names


# --- load ----------------------------------------------------------------------------------


def load_checkpoint(
    run_dir: str | os.PathLike,
    *,
    expected_shapes: Mapping[str, tuple[int, ...]] | None = None,
    dtype: Any = None,
) -> Checkpoint:
    """Load and verify a run's checkpoint (versions, sha256, and shapes if given).

    Args:
        expected_shapes: if given, the checkpoint is loaded into a model of these weights:
            the weights (and best weights) must hold exactly these names with these
            shapes, in a floating dtype, with finite values.
        dtype: if given, a floating dtype the weights (and best weights) are cast to;
            state tensors are returned as stored.

    Raises:
        CheckpointError: with one line that says what is wrong, in which file, what to do.
    """
    run_dir = Path(run_dir)
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a floating dtype, got {np.dtype(dtype)}")
    _require_dir(run_dir)
    with _locked(run_dir):
        _recover(run_dir)
        config_data, config = _read_config(run_dir)
        state = _read_state(run_dir)
        hashes = state["sha256"]
        _check_hash(run_dir, CONFIG_FILE, config_data, hashes)
        vocab = _read_vocab(run_dir, hashes)
        model = _load_tensors(run_dir, MODEL_FILE, hashes[MODEL_FILE])
        state_tensors = _load_tensors(run_dir, STATE_TENSORS_FILE, hashes[STATE_TENSORS_FILE])
        best = _load_tensors(run_dir, BEST_FILE, hashes[BEST_FILE]) if BEST_FILE in hashes else None
    for name, weights in ((MODEL_FILE, model), (BEST_FILE, best)):
        if weights is not None and expected_shapes is not None:
            _check_weights(weights, expected_shapes, name, run_dir)
        if weights is not None and dtype is not None:
            for key, value in weights.items():
                weights[key] = value.astype(dtype, copy=False)
    return Checkpoint(model, state_tensors, state, best, config, vocab)


def require_state_keys(state: Mapping[str, Any], keys: tuple[str, ...], run_dir) -> None:
    """CheckpointError unless state.json (``state``) holds every one of ``keys``.

    load_checkpoint checks the types of the keys it knows when they are present; a caller
    that needs some of them (a resume needs "optimizer", "rng", "schedule") says so here.
    """
    missing = [key for key in keys if key not in state]
    if missing:
        raise CheckpointError(
            f"{STATE_FILE} in '{run_dir}' lacks {', '.join(repr(k) for k in missing)}, which "
            "resuming needs (an edited file, or a run saved by other software); evaluate and "
            "generate still work: restore it, or start a new run"
        )


def _is_count(v: Any) -> bool:
    return type(v) is int and v >= 0


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


def _is_hashes(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(h, str) for h in v.values())


_COUNT = (_is_count, "a whole number >= 0")
_DICT = (lambda v: isinstance(v, dict), "a JSON object")

# The keys of state.json that rnnlab reads back, and what each holds when present: the
# checkpoint's bookkeeping and the trainer's Progress, schedule, optimizer and RNG states
# (the engines check the contents of the last two themselves).
STATE_KEYS = {
    "step": _COUNT,
    "epoch": _COUNT,
    "index": _COUNT,
    "tokens": _COUNT,
    "best_step": _COUNT,
    "evals_since_best": _COUNT,
    "elapsed": (lambda v: _is_number(v) and 0 <= v < math.inf, "a finite number >= 0"),
    "best_val": (_is_number, "a number"),
    "last_val": (lambda v: v is None or _is_number(v), "a number or null"),
    "stop_reason": (lambda v: isinstance(v, str), "a string"),
    "has_carry": (lambda v: isinstance(v, bool), "true or false"),
    "optimizer": _DICT,
    "rng": _DICT,
    "schedule": (
        lambda v: (
            isinstance(v, dict)
            and {"scale", "best", "bad_evals"} <= set(v)
            and _is_number(v["scale"])
            and _is_number(v["best"])
            and _is_count(v["bad_evals"])
        ),
        'a JSON object {"scale": number, "best": number, "bad_evals": whole number}',
    ),
    "library_versions": _DICT,
    "sha256": (_is_hashes, "a JSON object of file name -> sha256"),
}


def _read_state(run_dir: Path, *, required: bool = True) -> dict | None:
    """state.json, checked: its format, the keys in STATE_KEYS and the tensor files' hashes.

    None if the run has no state.json and not ``required`` (no checkpoint saved yet).
    """
    data = read_run_file(run_dir, STATE_FILE, MAX_JSON_BYTES)
    if data is None:
        if not required:
            return None
        raise CheckpointError(
            f"run '{run_dir}' has no {STATE_FILE}: no checkpoint was saved yet or it was "
            "deleted; start a new run (--out) or restore the file"
        )
    state = _parse_json(data, STATE_FILE, run_dir)
    if not isinstance(state, dict):
        raise CheckpointError(f"{STATE_FILE} in '{run_dir}' is not a JSON object; restore it")
    _check_format_version(state, STATE_FILE, run_dir)
    hashes = state.get("sha256")
    tensor_files = (MODEL_FILE, STATE_TENSORS_FILE)
    if not _is_count(state.get("step")) or not (
        isinstance(hashes, dict) and all(isinstance(hashes.get(n), str) for n in tensor_files)
    ):
        raise CheckpointError(
            f"{STATE_FILE} in '{run_dir}' lacks an integer 'step' or the sha256 of "
            f"{' and '.join(tensor_files)}; restore it or start a new run"
        )
    for key, (valid, what) in STATE_KEYS.items():
        if key in state and not valid(state[key]):
            raise CheckpointError(
                f"{STATE_FILE} in '{run_dir}': '{key}' must be {what}, got "
                f"{_shown(json.dumps(state[key]))}; restore it or start a new run"
            )
    return state


def _load_tensors(run_dir: Path, name: str, expected_sha256: str) -> dict[str, np.ndarray]:
    # Hash and parse the same bytes, so the file cannot change in between.
    data = read_run_file(run_dir, name, _max_tensor_bytes())
    if data is None:
        raise CheckpointError(
            f"cannot read {name} in '{run_dir}' (No such file or directory), which "
            f"{STATE_FILE} records; restore it or start a new run"
        )
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        raise CheckpointError(
            f"{name} in '{run_dir}' is corrupted (sha256 mismatch): it changed after it was "
            "saved; restore it from a backup or start a new run"
        )
    try:
        return safetensors.numpy.load(data)
    except (safetensors.SafetensorError, KeyError, ValueError, TypeError) as e:
        # KeyError: a dtype NumPy lacks (BF16, F8_*); ValueError/TypeError: bad shapes.
        why = e if isinstance(e, safetensors.SafetensorError) else f"{type(e).__name__}: {e}"
        why = _shown(why, 120)
        raise CheckpointError(
            f"{name} in '{run_dir}' is not a readable safetensors file ({why}); "
            "restore it from a backup or start a new run"
        ) from e


def _check_weights(
    weights: dict[str, np.ndarray],
    expected: Mapping[str, tuple[int, ...]],
    name: str,
    run_dir: Path,
) -> None:
    """The weights of ``name`` are exactly the model's: names, shapes, floats, finite."""
    fix = "the run was trained with a different model (check --cell/--hidden/--layers)"
    for key, shape in expected.items():
        if key not in weights:
            raise CheckpointError(
                f"{name} in '{run_dir}' has no tensor '{key}' (expected shape "
                f"{tuple(shape)}); {fix}"
            )
        if weights[key].shape != tuple(shape):
            raise CheckpointError(
                f"{name} in '{run_dir}': tensor '{key}' has shape {weights[key].shape}, "
                f"expected {tuple(shape)}; {fix}"
            )
    extra = sorted(set(weights) - set(expected))
    if extra:
        raise CheckpointError(
            f"{name} in '{run_dir}' has unexpected tensor {_shown(repr(extra[0]))} with shape "
            f"{weights[extra[0]].shape}; {fix}"
        )
    for key, value in weights.items():
        if value.dtype.kind != "f":
            raise CheckpointError(
                f"{name} in '{run_dir}': tensor '{key}' holds {value.dtype} values, not "
                "floating-point weights; restore it from a backup or start a new run"
            )
        if not np.isfinite(value).all():
            raise CheckpointError(
                f"{name} in '{run_dir}' holds non-finite weights (NaN or inf in '{key}'); "
                "restore it from a backup or start a new run"
            )


# --- what the engines read back ---------------------------------------------------------


def _is_finite(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


# What each saved optimizer hyperparameter must be: (test, description).
_OPTIMIZER_HYPER = {
    "lr": (lambda v: _is_finite(v) and v >= 0, "a number >= 0"),
    "betas": (
        lambda v: (
            isinstance(v, (list, tuple))
            and len(v) == 2
            and all(_is_finite(b) and 0 <= b < 1 for b in v)
        ),
        "two numbers in [0, 1)",
    ),
    "eps": (lambda v: _is_finite(v) and v >= 0, "a number >= 0"),
    "weight_decay": (lambda v: _is_finite(v) and v >= 0, "a number >= 0"),
    "momentum": (lambda v: _is_finite(v) and v >= 0, "a number >= 0"),
    "dampening": (_is_finite, "a number"),
    "nesterov": (lambda v: isinstance(v, bool), "true or false"),
}


def check_optimizer_state(
    name: str,
    buffer_names: tuple[str, ...],
    hyper_names: tuple[str, ...],
    shapes: dict[str, tuple[int, ...]],
    tensors: dict[str, np.ndarray],
    meta: Any,
) -> None:
    """Check an optimizer state read from a checkpoint before an engine loads it.

    Both engines store the same format (rnnlab.numpy.optim's ``state_dict()``: tensors
    ``"<buffer>.<parameter>"`` and meta ``{"optimizer", "step", "lr", ...}``), so both check
    it here: ``name`` is the optimizer loading it, ``shapes`` its parameters' shapes.

    Raises:
        CheckpointError: for another optimizer's state, an unknown tensor, a tensor of the
            wrong shape or of a non-floating dtype, a missing or mistyped step count or
            hyperparameter.
    """

    def refuse(problem: str) -> CheckpointError:
        return CheckpointError(
            f"the optimizer state of the checkpoint (state.json 'optimizer', "
            f"state.safetensors 'optim.*'): {problem}; restore both files from a backup or "
            "start a new run"
        )

    if not isinstance(meta, dict):
        raise refuse(f"expected a JSON object, got {type(meta).__name__}")
    if meta.get("optimizer") != name:
        raise refuse(f"cannot load a {meta.get('optimizer')!r:.40} optimizer state into {name!r}")
    for key, value in tensors.items():
        kind, _, param = key.partition(".")
        if kind not in buffer_names or param not in shapes:
            raise refuse(f"{name} state has an unexpected tensor {key!r:.80}")
        value = np.asarray(value)
        if value.shape != tuple(shapes[param]):
            raise refuse(
                f"{name} state tensor {key!r} has shape {value.shape}, "
                f"parameter {param!r} has {tuple(shapes[param])}"
            )
        if value.dtype.kind != "f":
            raise refuse(f"{name} state tensor {key!r} holds {value.dtype}, not floating-point")
    step = meta.get("step")
    if type(step) is not int or step < 0:
        raise refuse(f"'step' must be a whole number >= 0, got {step!r:.40}")
    for key in ("lr", *hyper_names):
        valid, what = _OPTIMIZER_HYPER[key]
        if key not in meta:
            raise refuse(f"the hyperparameter {key!r} is missing")
        if not valid(meta[key]):
            raise refuse(f"{key!r} must be {what}, got {meta[key]!r:.40}")
