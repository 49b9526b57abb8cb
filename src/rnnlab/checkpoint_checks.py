"""What a loaded checkpoint must be before rnnlab uses it: state.json's keys, the weights,
the recorded hashes of config.json and vocab.json, and the optimizer state.

A run directory is untrusted input (see :mod:`rnnlab.run_files`). state.json itself is not
hashed: its format version (checked by :mod:`rnnlab.checkpoint`) and the types of the keys
rnnlab reads back (:data:`STATE_KEYS`) are checked; weights loaded into a model must be
floating-point and finite; both engines check the optimizer state they load with
:func:`check_optimizer_state` (names, shapes, dtypes, step, hyperparameters). Every refusal
is a one-line :class:`~rnnlab.errors.CheckpointError`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.errors import CheckpointError
from rnnlab.run_files import (
    CONFIG_FILE,
    MODEL_FILE,
    STATE_FILE,
    STATE_TENSORS_FILE,
    VOCAB_FILE,
    shown,
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


def check_state(state: dict, run_dir: Path) -> None:
    """state.json (parsed, of this format) holds a step, the tensor files' hashes, and every
    key of STATE_KEYS it holds is of its type."""
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
                f"{shown(json.dumps(state[key]))}; restore it or start a new run"
            )


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


def check_recorded_hash(run_dir: Path, name: str, data: bytes | None, hashes: dict) -> None:
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


def check_weights(
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
            f"{name} in '{run_dir}' has unexpected tensor {shown(repr(extra[0]))} with shape "
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
