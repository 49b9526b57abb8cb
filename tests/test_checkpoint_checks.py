"""What a loaded checkpoint must be: state.json's keys and their types, weights that fit
the model, and an optimizer state that fits the optimizer (both engines)."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
import safetensors.numpy

from rnnlab.checkpoint import load_checkpoint, save_checkpoint
from rnnlab.checkpoint_checks import require_state_keys
from rnnlab.errors import CheckpointError
from tests.checkpoint_cases import SHAPES, error_of, filled_weights, new_run, rehash

# --- state.json's structure ----------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value",
    [("step", -1), ("step", 2.0), ("step", True), ("epoch", -1), ("index", "3"),
     ("tokens", None), ("elapsed", "1.5"), ("elapsed", -1.0), ("elapsed", float("nan")),
     ("best_val", "inf"), ("last_val", [1]), ("has_carry", "yes"), ("optimizer", []),
     ("rng", "0"), ("schedule", {"scale": "1", "best": 0, "bad_evals": 0}),
     ("schedule", {"scale": 1.0}), ("stop_reason", 0), ("library_versions", 1),
     ("sha256", {"model.safetensors": "0", "state.safetensors": "1", "best.safetensors": 5})],
)  # fmt: skip
def test_a_state_json_value_of_the_wrong_type_is_named(tmp_path, key, value):
    run = new_run(tmp_path)
    state = json.loads((run / "state.json").read_text())
    state[key] = value
    (run / "state.json").write_text(json.dumps(state))

    message = error_of(load_checkpoint, run)

    assert message.startswith(f"state.json in '{run}'")
    assert f"'{key}' must be" in message or "lacks an integer 'step'" in message


def test_the_trainers_state_keys_are_accepted(tmp_path):
    run = new_run(tmp_path)
    state = {
        "step": 3, "epoch": 1, "index": 0, "tokens": 10, "elapsed": 0.5, "best_val": math.inf,
        "best_step": 2, "evals_since_best": 1, "last_val": None, "stop_reason": "",
        "has_carry": False, "optimizer": {"optimizer": "adam"}, "rng": {},
        "schedule": {"scale": 1.0, "best": math.inf, "bad_evals": 0},
    }  # fmt: skip
    save_checkpoint(run, model=filled_weights(3), state_tensors={}, state=state)

    assert load_checkpoint(run).state["best_val"] == math.inf


def test_require_state_keys_names_what_is_missing(tmp_path):
    run = new_run(tmp_path)
    state = load_checkpoint(run).state

    require_state_keys(state, ("step", "epoch"), run)
    message = error_of(require_state_keys, state, ("optimizer", "step", "rng"), run)

    assert message.startswith(f"state.json in '{run}' lacks 'optimizer', 'rng', which resuming")


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"step": ' + "9" * 5000 + "}", '\ufeff{"step": 1}'],
)
def test_json_that_python_cannot_parse_is_a_checkpoint_error(tmp_path, text):
    run = new_run(tmp_path)
    (run / "state.json").write_text(text, encoding="utf-8")

    assert "state.json" in error_of(load_checkpoint, run)


# --- weights loaded into a model -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int32, np.bool_, np.complex64, np.uint8])
@pytest.mark.parametrize("name", ["model.safetensors", "best.safetensors"])
def test_weights_that_are_not_floats_are_refused(tmp_path, dtype, name):
    run = new_run(tmp_path)
    weights = {**filled_weights(1), "head.bias": np.ones(5, dtype)}
    (run / name).write_bytes(safetensors.numpy.save(weights))
    rehash(run, name)

    message = error_of(load_checkpoint, run, expected_shapes=SHAPES)

    assert message.startswith(f"{name} in '{run}': tensor 'head.bias' holds {np.dtype(dtype)}")
    assert "not floating-point weights" in message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["model.safetensors", "best.safetensors"])
def test_non_finite_weights_are_refused(tmp_path, bad, name):
    run = new_run(tmp_path)
    weights = filled_weights(1)
    weights["rnn.weight_hh_l0"][1, 1] = bad
    (run / name).write_bytes(safetensors.numpy.save(weights))
    rehash(run, name)

    message = error_of(load_checkpoint, run, expected_shapes=SHAPES)

    assert message.startswith(f"{name} in '{run}' holds non-finite weights")
    assert "'rnn.weight_hh_l0'" in message


# --- what the engines take from a checkpoint's optimizer state ---------------------------


def _engines():
    """(name, make(optimizer) -> engine) for the NumPy engine, and torch's if installed."""
    from rnnlab.engine import build_engine
    from rnnlab.model import ModelSpec

    spec = ModelSpec(input_size=3, output_size=5, cell="lstm", hidden_size=2)
    kinds = ["numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])
    return [
        pytest.param(lambda opt, k=k: build_engine(spec, k, optimizer=opt), id=k) for k in kinds
    ]


def _trained_state(engine):
    from rnnlab.batch import Batch

    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, 3, size=(4, 2)), rng.integers(0, 5, size=(4, 2))
    batch = Batch(inputs=inputs, targets=targets, mask=np.ones((4, 2), bool), lengths=None)
    engine.train_step(batch)
    tensors, meta = engine.optimizer_state()
    return tensors, json.loads(json.dumps(meta))  # as state.json gives it back


_W = "exp_avg.rnn.weight_ih_l0"


@pytest.mark.parametrize("make", _engines())
@pytest.mark.parametrize(
    "change, says",
    [
        (lambda t, m: t.update({"exp_avg.nope": np.zeros(1)}), "unexpected tensor 'exp_avg.nope'"),
        (lambda t, m: t.update({"momentum_buffer.head.bias": np.zeros(5)}), "unexpected tensor"),
        (lambda t, m: t.update({_W: np.zeros((3, 8))}), "has shape (3, 8), parameter"),
        (lambda t, m: t.update({_W: np.zeros((8, 3), np.int64)}), "holds int64, not floating"),
        (lambda t, m: t.update({_W: np.zeros((8, 3), np.complex64)}), "holds complex64"),
        (lambda t, m: m.update(optimizer="sgd"), "cannot load a 'sgd' optimizer state into"),
        (lambda t, m: m.update(step="3"), "'step' must be a whole number >= 0, got '3'"),
        (lambda t, m: m.update(step=-1), "'step' must be a whole number >= 0"),
        (lambda t, m: m.pop("step"), "'step' must be a whole number >= 0, got None"),
        (lambda t, m: m.pop("betas"), "the hyperparameter 'betas' is missing"),
        (lambda t, m: m.update(betas=[0.9]), "'betas' must be two numbers in [0, 1)"),
        (lambda t, m: m.update(lr="0.1"), "'lr' must be a number >= 0"),
        (lambda t, m: m.update(eps=None), "'eps' must be a number >= 0"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_an_optimizer_state_that_does_not_fit_is_a_checkpoint_error(make, change, says):
    engine = make("adam")
    tensors, meta = _trained_state(engine)
    change(tensors, meta)

    with pytest.raises(CheckpointError) as info:
        engine.load_optimizer_state(tensors, meta)

    assert says in str(info.value) and "\n" not in str(info.value)
    assert "restore both files from a backup or start a new run" in str(info.value)


@pytest.mark.parametrize("make", _engines())
def test_an_sgd_state_checks_its_own_hyperparameters(make):
    engine = make("sgd")
    tensors, meta = _trained_state(engine)
    engine.load_optimizer_state(tensors, meta)  # as saved: fine

    with pytest.raises(CheckpointError, match="'nesterov' must be true or false"):
        engine.load_optimizer_state(tensors, {**meta, "nesterov": "no"})
    with pytest.raises(CheckpointError, match="expected a JSON object, got list"):
        engine.load_optimizer_state(tensors, ["sgd"])
