"""Checkpoints: safetensors for arrays, JSON for everything else, nothing pickled.

A run directory holds::

    config.json        {"format_version": 1, "model": {...}, "train": {...}, "task": {...}}
    vocab.json         the vocabulary, if any
    model.safetensors  weights ("rnn.weight_ih_l0", ...), float32 or float64
    state.safetensors  optimizer moments and other resumable arrays (may hold none)
    best.safetensors   optional: the best weights so far
    state.json         {"format_version": 1, "step": ..., "library_versions": {...},
                        "sha256": {"model.safetensors": ..., "config.json": ..., ...}}

This module is the format: what each file holds, how a checkpoint is saved and loaded.
Beneath it, :mod:`rnnlab.run_files` reads a run's files as untrusted input (plain files of
the declared names only), :mod:`rnnlab.journal` replaces a checkpoint's files as one so that
a crash at any instant leaves the old or the new checkpoint, and
:mod:`rnnlab.checkpoint_checks` checks what was read (state.json's keys, weights, hashes,
optimizer state).

state.json records the sha256 of every other checkpoint file, config.json and vocab.json
included, so an edited configuration or vocabulary is refused instead of silently giving
other numbers (a vocab.json added after the save, or deleted, too). Runs saved before
config.json and vocab.json were hashed record only the tensor files: they load unchecked and
their next save records both. A config.json or vocab.json given to the save travels in the
same commit, so a checkpoint's configuration and its state never disagree. Every refusal is
a :class:`~rnnlab.errors.CheckpointError` of one line: what is wrong, in which file of which
run, and what to do.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from rnnlab import __version__, journal
from rnnlab.atomic_write import atomic_write_bytes, json_bytes
from rnnlab.checkpoint_checks import check_recorded_hash, check_state, check_weights
from rnnlab.errors import CheckpointError
from rnnlab.run_files import (
    BEST_FILE,
    CONFIG_FILE,
    MAX_JSON_BYTES,
    MODEL_FILE,
    STATE_FILE,
    STATE_TENSORS_FILE,
    VOCAB_FILE,
    is_plain_file,
    parse_run_json,
    read_run_file,
    require_run_dir,
    shown,
)

FORMAT_VERSION = 1

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
    return json_bytes({"format_version": FORMAT_VERSION, **rest})


def vocab_bytes(vocab: dict) -> bytes:
    """vocab.json's bytes."""
    if not isinstance(vocab, dict):
        raise TypeError(f"vocab must be a dict, got {type(vocab).__name__}")
    return json_bytes(vocab)


def write_config(run_dir: str | os.PathLike, config: dict) -> None:
    """Write config.json atomically, for a run that has no checkpoint yet.

    Once a checkpoint exists its config.json is hashed in state.json: pass a new config to
    :func:`save_checkpoint` instead, which writes it in the same commit.
    """
    atomic_write_bytes(Path(run_dir) / CONFIG_FILE, config_bytes(config))


def write_vocab(run_dir: str | os.PathLike, vocab: dict) -> None:
    """Write vocab.json atomically, for a run that has no checkpoint yet (see write_config)."""
    atomic_write_bytes(Path(run_dir) / VOCAB_FILE, vocab_bytes(vocab))


def read_run_config(run_dir: str | os.PathLike) -> dict:
    """A run's config.json as a dict (``format_version`` included, and checked).

    Once the run has a checkpoint, config.json must also match the sha256 its state.json
    records; before the first checkpoint (``rnnlab inspect`` of a run just started) there is
    nothing to check it against.
    """
    run_dir = Path(run_dir)
    require_run_dir(run_dir)
    with journal.settled(run_dir):
        data, config = _read_config(run_dir)
        state = _read_state(run_dir, required=False)
        if state is not None:
            check_recorded_hash(run_dir, CONFIG_FILE, data, state["sha256"])
    return config


def read_vocab(run_dir: str | os.PathLike) -> dict | None:
    """vocab.json as a dict, or None if the run has no vocabulary (checked as read_run_config)."""
    run_dir = Path(run_dir)
    require_run_dir(run_dir)
    with journal.settled(run_dir):
        state = _read_state(run_dir, required=False)
        return _read_vocab(run_dir, None if state is None else state["sha256"])


def _read_config(run_dir: Path) -> tuple[bytes, dict]:
    """(bytes, parsed) of config.json; its hash is checked by the caller."""
    found = _read_versioned_json(run_dir, CONFIG_FILE)
    if found is None:
        raise CheckpointError(
            f"'{run_dir}' has no {CONFIG_FILE}, so it is not an rnnlab run directory; "
            "check the path"
        )
    return found


def _read_vocab(run_dir: Path, hashes: dict | None) -> dict | None:
    data = read_run_file(run_dir, VOCAB_FILE, MAX_JSON_BYTES)
    if hashes is not None:
        check_recorded_hash(run_dir, VOCAB_FILE, data, hashes)
    return None if data is None else parse_run_json(data, VOCAB_FILE, run_dir)


def _read_versioned_json(run_dir: Path, name: str) -> tuple[bytes, dict] | None:
    """(bytes, parsed) of config.json or state.json, a JSON object of this format, or None
    if the run has no such file."""
    data = read_run_file(run_dir, name, MAX_JSON_BYTES)
    if data is None:
        return None
    obj = parse_run_json(data, name, run_dir)
    # Before any hash: a file of another format is told apart from an edited one.
    found = obj.get("format_version")
    if type(found) is not int or found != FORMAT_VERSION:
        raise CheckpointError(
            f"run '{run_dir}' was written by checkpoint format {shown(found)} ({name}), "
            f"this rnnlab reads format {FORMAT_VERSION}; use the rnnlab version that wrote it"
        )
    return data, obj


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
    require_run_dir(run_dir)
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
    with journal.settled(run_dir):
        for name in (CONFIG_FILE, VOCAB_FILE):  # those not given: as they are on disk
            if name not in files and (data := read_run_file(run_dir, name)) is not None:
                hashes[name] = hashlib.sha256(data).hexdigest()
        if best is None and (kept := _current_best_hash(run_dir)) is not None:
            hashes[BEST_FILE] = kept
        record = {k: v for k, v in state.items() if k not in _BOOKKEEPING_KEYS}
        record = {"format_version": FORMAT_VERSION, **record}
        record.update(library_versions=_library_versions(), sha256=hashes)
        files[STATE_FILE] = json_bytes(record)  # last: it is moved into place last
        journal.commit(run_dir, files)


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
    return kept if kept is not None and is_plain_file(run_dir / BEST_FILE) else None


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
    require_run_dir(run_dir)
    with journal.settled(run_dir):
        config_data, config = _read_config(run_dir)
        state = _read_state(run_dir)
        hashes = state["sha256"]
        check_recorded_hash(run_dir, CONFIG_FILE, config_data, hashes)
        vocab = _read_vocab(run_dir, hashes)
        model = _load_tensors(run_dir, MODEL_FILE, hashes[MODEL_FILE])
        state_tensors = _load_tensors(run_dir, STATE_TENSORS_FILE, hashes[STATE_TENSORS_FILE])
        best = _load_tensors(run_dir, BEST_FILE, hashes[BEST_FILE]) if BEST_FILE in hashes else None
    for name, weights in ((MODEL_FILE, model), (BEST_FILE, best)):
        if weights is not None and expected_shapes is not None:
            check_weights(weights, expected_shapes, name, run_dir)
        if weights is not None and dtype is not None:
            for key, value in weights.items():
                weights[key] = value.astype(dtype, copy=False)
    return Checkpoint(model, state_tensors, state, best, config, vocab)


def _read_state(run_dir: Path, *, required: bool = True) -> dict | None:
    """state.json, checked: its format, the keys in STATE_KEYS and the tensor files' hashes.

    None if the run has no state.json and not ``required`` (no checkpoint saved yet).
    """
    found = _read_versioned_json(run_dir, STATE_FILE)
    if found is None:
        if not required:
            return None
        raise CheckpointError(
            f"run '{run_dir}' has no {STATE_FILE}: no checkpoint was saved yet or it was "
            "deleted; start a new run (--out) or restore the file"
        )
    _, state = found
    check_state(state, run_dir)
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
        raise CheckpointError(
            f"{name} in '{run_dir}' is not a readable safetensors file ({shown(why, 120)}); "
            "restore it from a backup or start a new run"
        ) from e


def _max_tensor_bytes() -> int:
    """The largest tensor file worth reading: this machine's physical memory.

    Loading reads the file whole and then parses it, so a bigger file can only end in a
    MemoryError or the OOM killer; a symlink to /dev/zero never gets this far (read_run_file
    refuses links).
    """
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: rely on MemoryError
        return sys.maxsize
