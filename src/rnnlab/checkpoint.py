"""Checkpoints: safetensors for arrays, JSON for everything else, nothing pickled.

A run directory holds::

    config.json        {"format_version": 1, "model": {...}, "train": {...}, "task": {...}}
    vocab.json         the vocabulary, if any
    model.safetensors  weights ("rnn.weight_ih_l0", ...), float32 or float64
    state.safetensors  optimizer moments and other resumable arrays (may hold none)
    best.safetensors   optional: the best weights so far
    state.json         {"format_version": 1, "step": ..., "library_versions": {...},
                        "sha256": {"model.safetensors": ..., "state.safetensors": ...}}

Crash safety
------------
One checkpoint is several files that only make sense together: state.json records the
sha256 of each tensor file. Replacing them one at a time would leave a window in which a
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
there is one code path to trust. Saves and loads hold an advisory lock (``flock``) on the
run directory, so `rnnlab generate` on a run that is still training neither reads a
half-moved checkpoint nor deletes the trainer's ``.pending/``. Where ``flock`` does not
exist (Windows) or is refused (some network file systems), this lock is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
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
PENDING_DIR = ".pending"
COMMIT_FILE = "COMMIT"
TEMP_PREFIX = ".rnnlab-tmp-"  # every temporary file rnnlab writes starts with this

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
    """Hold an exclusive advisory lock on the run directory (released when the fd closes)."""
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


def _read_json(path: Path, run_dir: Path) -> Any:
    """The parsed JSON in ``path``, or None if the file does not exist."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "not UTF-8"
        raise CheckpointError(
            f"cannot read {path.name} in '{run_dir}' ({why}); restore it or start a new run"
        ) from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"{path.name} in '{run_dir}' is not valid JSON (line {e.lineno}: {e.msg}); "
            "restore it or start a new run"
        ) from e


def _require_dir(run_dir: Path) -> None:
    if not run_dir.exists():
        raise CheckpointError(f"run directory '{run_dir}' does not exist; check the path")
    if not run_dir.is_dir():
        raise CheckpointError(f"'{run_dir}' is not a directory; give the path of a run directory")


def _check_format_version(obj: dict, name: str, run_dir: Path) -> None:
    found = obj.get("format_version")
    if type(found) is not int or found != FORMAT_VERSION:
        raise CheckpointError(
            f"run '{run_dir}' was written by checkpoint format {found} ({name}), this rnnlab "
            f"reads format {FORMAT_VERSION}; use the rnnlab version that wrote it"
        )


# --- config and vocabulary ---------------------------------------------------------------


def write_config(run_dir: str | os.PathLike, config: dict) -> None:
    """Write config.json atomically with ``format_version`` as its first key."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    if config.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        raise ValueError(
            f"config has format_version {config['format_version']}, expected {FORMAT_VERSION}"
        )
    rest = {k: v for k, v in config.items() if k != "format_version"}
    atomic_write_json(Path(run_dir) / CONFIG_FILE, {"format_version": FORMAT_VERSION, **rest})


def read_config(run_dir: str | os.PathLike) -> dict:
    """config.json as a dict (``format_version`` included, and checked)."""
    run_dir = Path(run_dir)
    _require_dir(run_dir)
    config = _read_json(run_dir / CONFIG_FILE, run_dir)
    if config is None:
        raise CheckpointError(
            f"'{run_dir}' has no {CONFIG_FILE}, so it is not an rnnlab run directory; "
            "check the path"
        )
    if not isinstance(config, dict):
        raise CheckpointError(f"{CONFIG_FILE} in '{run_dir}' is not a JSON object; restore it")
    _check_format_version(config, CONFIG_FILE, run_dir)
    return config


def write_vocab(run_dir: str | os.PathLike, vocab: dict) -> None:
    """Write vocab.json atomically."""
    if not isinstance(vocab, dict):
        raise TypeError(f"vocab must be a dict, got {type(vocab).__name__}")
    atomic_write_json(Path(run_dir) / VOCAB_FILE, vocab)


def read_vocab(run_dir: str | os.PathLike) -> dict | None:
    """vocab.json as a dict, or None if the run has no vocabulary."""
    run_dir = Path(run_dir)
    vocab = _read_json(run_dir / VOCAB_FILE, run_dir)
    if vocab is not None and not isinstance(vocab, dict):
        raise CheckpointError(f"{VOCAB_FILE} in '{run_dir}' is not a JSON object; restore it")
    return vocab


# --- save ----------------------------------------------------------------------------------


def save_checkpoint(
    run_dir: str | os.PathLike,
    *,
    model: Mapping[str, np.ndarray],
    state_tensors: Mapping[str, np.ndarray],
    state: dict,
    best: Mapping[str, np.ndarray] | None = None,
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
    """
    run_dir = Path(run_dir)
    _require_dir(run_dir)
    step = state.get("step") if isinstance(state, dict) else None
    if not isinstance(step, int) or isinstance(step, bool):
        raise ValueError(f"state must be a dict with an integer 'step', got {state!r:.80}")
    files = {MODEL_FILE: _encode_tensors("model", model)}
    files[STATE_TENSORS_FILE] = _encode_tensors("state_tensors", state_tensors)
    if best is not None:
        files[BEST_FILE] = _encode_tensors("best", best)
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    with _locked(run_dir):
        _recover(run_dir)
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
        hashes = json.loads((run_dir / STATE_FILE).read_bytes())["sha256"]
        kept = hashes[BEST_FILE]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return kept if isinstance(kept, str) and (run_dir / BEST_FILE).is_file() else None


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
    """Finish a committed save (roll forward) or discard an uncommitted one. Idempotent."""
    pending = run_dir / PENDING_DIR
    if not pending.is_dir():
        return
    commit = pending / COMMIT_FILE
    if commit.exists():
        journal = _read_json(commit, run_dir)
        if not isinstance(journal, dict) or not isinstance(journal.get("files"), list):
            raise CheckpointError(
                f"the save journal {PENDING_DIR}/{COMMIT_FILE} in '{run_dir}' is damaged; "
                f"delete '{pending}' and check the run loads"
            )
        for name in journal["files"]:
            if (pending / name).exists():  # a missing file was moved before a crash
                os.replace(pending / name, run_dir / name)
        _fsync_dir(pending)
        _fsync_dir(run_dir)
        os.unlink(commit)  # COMMIT first: what remains is uncommitted debris
    shutil.rmtree(pending)
    _fsync_dir(run_dir)


# --- load ----------------------------------------------------------------------------------


def load_checkpoint(
    run_dir: str | os.PathLike,
    *,
    expected_shapes: Mapping[str, tuple[int, ...]] | None = None,
    dtype: Any = None,
) -> Checkpoint:
    """Load and verify a run's checkpoint (versions, sha256, and shapes if given).

    Args:
        expected_shapes: if given, the weights (and best weights) must hold exactly these
            names with these shapes.
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
        config = read_config(run_dir)
        vocab = read_vocab(run_dir)
        state = _read_state(run_dir)
        hashes = state["sha256"]
        model = _load_tensors(run_dir, MODEL_FILE, hashes[MODEL_FILE])
        state_tensors = _load_tensors(run_dir, STATE_TENSORS_FILE, hashes[STATE_TENSORS_FILE])
        best = _load_tensors(run_dir, BEST_FILE, hashes[BEST_FILE]) if BEST_FILE in hashes else None
    for name, weights in ((MODEL_FILE, model), (BEST_FILE, best)):
        if weights is not None and expected_shapes is not None:
            _check_shapes(weights, expected_shapes, name, run_dir)
        if weights is not None and dtype is not None:
            for key, value in weights.items():
                weights[key] = value.astype(dtype, copy=False)
    return Checkpoint(model, state_tensors, state, best, config, vocab)


def _read_state(run_dir: Path) -> dict:
    state = _read_json(run_dir / STATE_FILE, run_dir)
    if state is None:
        raise CheckpointError(
            f"run '{run_dir}' has no {STATE_FILE}: no checkpoint was saved yet or it was "
            "deleted; start a new run (--out) or restore the file"
        )
    if not isinstance(state, dict):
        raise CheckpointError(f"{STATE_FILE} in '{run_dir}' is not a JSON object; restore it")
    _check_format_version(state, STATE_FILE, run_dir)
    hashes = state.get("sha256")
    required = (MODEL_FILE, STATE_TENSORS_FILE)
    step = state.get("step")
    if (
        not isinstance(step, int)
        or isinstance(step, bool)
        or not isinstance(hashes, dict)
        or not all(isinstance(hashes.get(name), str) for name in required)
    ):
        raise CheckpointError(
            f"{STATE_FILE} in '{run_dir}' lacks an integer 'step' or the sha256 of "
            f"{' and '.join(required)}; restore it or start a new run"
        )
    return state


def _load_tensors(run_dir: Path, name: str, expected_sha256: str) -> dict[str, np.ndarray]:
    # Hash and parse the same bytes, so the file cannot change in between.
    try:
        data = (run_dir / name).read_bytes()
    except OSError as e:
        raise CheckpointError(
            f"cannot read {name} in '{run_dir}' ({e.strerror}), which {STATE_FILE} records; "
            "restore it or start a new run"
        ) from e
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        raise CheckpointError(
            f"{name} in '{run_dir}' is corrupted (sha256 mismatch): it changed after it was "
            "saved; restore it from a backup or start a new run"
        )
    try:
        return safetensors.numpy.load(data)
    except safetensors.SafetensorError as e:
        why = " ".join(str(e).split())
        raise CheckpointError(
            f"{name} in '{run_dir}' is not a readable safetensors file ({why}); "
            "restore it from a backup or start a new run"
        ) from e


def _check_shapes(
    weights: dict[str, np.ndarray],
    expected: Mapping[str, tuple[int, ...]],
    name: str,
    run_dir: Path,
) -> None:
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
            f"{name} in '{run_dir}' has unexpected tensor '{extra[0]}' with shape "
            f"{weights[extra[0]].shape}; {fix}"
        )
