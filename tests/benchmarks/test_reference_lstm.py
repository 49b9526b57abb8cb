"""The tutorial-style reference LSTM of ``benchmarks/`` does exactly the work of rnnlab's NumPy
engine — the same loss, gradients and Adam update, in float64 — so the speed factor that
``benchmarks/reference_speedup.py`` prints compares equal work.

``benchmarks/`` is not a package on the path; the module is loaded from its file.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from rnnlab.batch import Batch
from rnnlab.model import ModelSpec
from rnnlab.numpy.engine import NumpyEngine
from rnnlab.numpy.optim import Adam

REFERENCE_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "reference_lstm.py"
SHAPES = [(5, 3, 4, 6), (1, 1, 3, 2), (7, 2, 5, 3)]  # (T, B, I, H)
TOL = {"rtol": 1e-9, "atol": 1e-12}


def load_reference():
    spec = importlib.util.spec_from_file_location("reference_lstm", REFERENCE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load_reference()


def make_case(onehot: bool, T: int, B: int, I: int, H: int, seed: int = 0):
    """A float64 NumPy engine with non-zero biases and a random batch."""
    rng = np.random.default_rng(seed)
    spec = ModelSpec(input_size=I, output_size=I, hidden_size=H, dtype="float64",
                     input_kind="onehot" if onehot else "dense")  # fmt: skip
    engine = NumpyEngine(spec, seed=seed, optimizer="adam", lr=1e-2)
    state = engine.state_dict()
    for name in ("rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.bias"):
        state[name] = rng.normal(size=state[name].shape)  # b = bias_ih + bias_hh is exercised
    engine.load_state_dict(state)
    inputs = rng.integers(0, I, (T, B)) if onehot else rng.standard_normal((T, B, I))
    batch = Batch(inputs, rng.integers(0, I, (T, B)), np.ones((T, B), dtype=bool))
    return engine, batch


def gate_rows(k: int, H: int) -> slice:
    return slice(k * H, (k + 1) * H)


@pytest.mark.parametrize("onehot", [True, False], ids=["onehot", "dense"])
@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_loss_and_every_gradient_equal_the_engine(onehot, shape):
    engine, batch = make_case(onehot, *shape)
    H = shape[3]
    loss, grads, _, _ = engine.loss_and_grads(batch)
    params = ref.from_state_dict(engine.state_dict())
    ref_loss, ref_grads = ref.loss_and_grads(params, batch.inputs, batch.targets)

    np.testing.assert_allclose(ref_loss, loss, **TOL)
    for k, gate in enumerate(ref.GATES):
        rows = gate_rows(k, H)
        np.testing.assert_allclose(ref_grads[f"W_{gate}"], grads["rnn.weight_ih_l0"][rows], **TOL)
        np.testing.assert_allclose(ref_grads[f"U_{gate}"], grads["rnn.weight_hh_l0"][rows], **TOL)
        # both torch biases are added to the same pre-activation: each gets its gradient
        np.testing.assert_allclose(ref_grads[f"b_{gate}"], grads["rnn.bias_ih_l0"][rows], **TOL)
        np.testing.assert_allclose(ref_grads[f"b_{gate}"], grads["rnn.bias_hh_l0"][rows], **TOL)
    np.testing.assert_allclose(ref_grads["W_y"], grads["head.weight"], **TOL)
    np.testing.assert_allclose(ref_grads["b_y"], grads["head.bias"], **TOL)


def test_reference_adam_equals_rnnlab_adam_over_several_steps():
    rng = np.random.default_rng(1)
    ours = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    theirs = {name: p.copy() for name, p in ours.items()}
    ref_adam, adam = ref.Adam(ours, lr=0.05), Adam(theirs, lr=0.05)
    for _ in range(6):
        grads = {name: rng.normal(size=p.shape) for name, p in ours.items()}
        ref_adam.step(ours, grads)
        adam.step(grads)
        for name in ours:
            np.testing.assert_allclose(ours[name], theirs[name], **TOL)


@pytest.mark.parametrize("onehot", [True, False], ids=["onehot", "dense"])
def test_one_training_step_updates_like_the_engine(onehot):
    engine, batch = make_case(onehot, *SHAPES[0], seed=3)
    H = SHAPES[0][3]
    params = ref.from_state_dict(engine.state_dict())
    before = {name: p.copy() for name, p in params.items()}
    ref_loss = ref.train_step(params, ref.Adam(params, lr=1e-2), batch.inputs, batch.targets)
    result = engine.train_step(batch)
    after = engine.state_dict()

    np.testing.assert_allclose(ref_loss, result.loss, **TOL)
    for k, gate in enumerate(ref.GATES):
        rows = gate_rows(k, H)
        np.testing.assert_allclose(params[f"W_{gate}"], after["rnn.weight_ih_l0"][rows], **TOL)
        np.testing.assert_allclose(params[f"U_{gate}"], after["rnn.weight_hh_l0"][rows], **TOL)
        # The engine steps bias_ih and bias_hh apiece with the same gradient and fresh moments:
        # their sum moves twice as far as the reference's single bias.
        combined = after["rnn.bias_ih_l0"][rows] + after["rnn.bias_hh_l0"][rows]
        np.testing.assert_allclose(
            2 * (params[f"b_{gate}"] - before[f"b_{gate}"]), combined - before[f"b_{gate}"], **TOL
        )
    np.testing.assert_allclose(params["W_y"], after["head.weight"], **TOL)
    np.testing.assert_allclose(params["b_y"], after["head.bias"], **TOL)
