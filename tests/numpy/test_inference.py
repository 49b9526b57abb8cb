"""The Stepper: one step at a time equals ``Model.forward`` over the whole sequence, for every
cell, input kind and depth; states move between the two; unsupported models are refused."""

import numpy as np
import pytest

from rnnlab.model import ModelSpec
from rnnlab.numpy.engine import NumpyEngine
from rnnlab.numpy.inference import Stepper, unsupported_reason
from rnnlab.numpy.model import Model

V, O, I, E, H = 7, 5, 4, 6, 8  # vocabulary, outputs, dense features, embedding, hidden
T, B = 8, 3
CELLS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
KINDS = ["onehot", "embedding", "dense"]


def random_model(name="lstm", input_kind="onehot", num_layers=1, dtype="float64", **kw):
    """A model whose every tensor (biases, embedding, head included) is random and non-zero."""
    cell, _, nonlinearity = name.partition("_")
    settings = dict(
        input_size=I if input_kind == "dense" else V,
        output_size=O,
        cell=cell,
        nonlinearity=nonlinearity or "tanh",
        hidden_size=H,
        num_layers=num_layers,
        input_kind=input_kind,
        embedding_dim=E if input_kind == "embedding" else None,
        dtype=dtype,
    )
    spec = ModelSpec(**{**settings, **kw})
    model = Model(spec, seed=0)
    rng = np.random.default_rng(1)
    for p in model.params.values():
        p[...] = rng.uniform(-0.7, 0.7, p.shape)
    return model


def inputs_and_state(model, rng):
    """(T, B) ids or (T, B, I) features, and a random non-zero initial state."""
    spec, dtype = model.spec, model.dtype
    if spec.input_kind == "dense":
        x = rng.normal(size=(T, B, I)).astype(dtype)
    else:
        x = rng.integers(0, V, size=(T, B))
    shape = (spec.num_layers, B, H)
    parts = [rng.normal(scale=0.5, size=shape).astype(dtype) for _ in range(2)]
    return x, (tuple(parts) if spec.cell == "lstm" else parts[0])


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def stepped(model, x, state, split):
    """Logits (T, B, O) and the final state: ``forward`` over x[:split], then steps."""
    outs = []
    if split:
        logits, state, _ = model.forward(x[:split], state, train=False)
        outs.append(logits)
    stepper = Stepper(model)
    for t in range(split, len(x)):
        logits, state = stepper.step(x[t], state)  # (B, O)
        outs.append(logits[None])
    return np.concatenate(outs), state


@pytest.mark.parametrize("split", [0, 3], ids=["stepped", "forward-then-stepped"])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("input_kind", KINDS)
@pytest.mark.parametrize("cell", CELLS)
def test_steps_equal_forward_over_the_sequence_in_float64(cell, input_kind, num_layers, split):
    model = random_model(cell, input_kind, num_layers, dropout=0.3 if num_layers > 1 else 0.0)
    x, state0 = inputs_and_state(model, np.random.default_rng(2))
    expected, expected_state, _ = model.forward(x, state0, train=False)  # (T, B, O)
    logits, state = stepped(model, x, state0, split)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-12)
    for got, want in zip(as_tuple(state), as_tuple(expected_state), strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("input_kind", KINDS)
@pytest.mark.parametrize("cell", CELLS)
def test_steps_equal_forward_in_float32(cell, input_kind):
    model = random_model(cell, input_kind, num_layers=2, dtype="float32")
    x, state0 = inputs_and_state(model, np.random.default_rng(3))
    expected, expected_state, _ = model.forward(x, state0, train=False)
    logits, state = stepped(model, x, state0, split=0)
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    for got, want in zip(as_tuple(state), as_tuple(expected_state), strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_tied_weights_and_a_missing_state_start_from_zeros_like_forward():
    model = random_model("gru", "embedding", embedding_dim=H, output_size=V, tie_weights=True)
    ids = np.random.default_rng(4).integers(0, V, size=(5, 2))
    expected, _, _ = model.forward(ids, None, train=False)
    logits, _ = stepped(model, ids, None, split=0)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-12)


def test_step_writes_nothing_it_was_given_and_returns_new_arrays():
    model = random_model("lstm")
    _, state = inputs_and_state(model, np.random.default_rng(5))
    before = tuple(s.copy() for s in state)
    stepper = Stepper(model)
    ids = np.array([1, 2, 3])
    first, state1 = stepper.step(ids, state)
    second, state2 = stepper.step(ids, state)  # the same call again: the same answer
    for s, b in zip(state, before, strict=True):
        np.testing.assert_array_equal(s, b)
    np.testing.assert_array_equal(first, second)
    assert not any(np.shares_memory(a, b) for a in state1 for b in (*state2, second))


@pytest.mark.parametrize("input_kind", ["onehot", "embedding"])
def test_the_weights_are_copied_when_the_stepper_is_built(input_kind):
    model = random_model("lstm", input_kind)
    stepper = Stepper(model)
    ids = np.array([4, 0])
    before, _ = stepper.step(ids)
    for p in model.params.values():  # e.g. a training step after the stepper was built
        p *= 0.5
    np.testing.assert_array_equal(stepper.step(ids)[0], before)
    after, _, _ = model.forward(ids[None], None, train=False)  # (1, B, O)
    assert not np.allclose(after[0], before)
    np.testing.assert_allclose(Stepper(model).step(ids)[0], after[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "kw, reason",
    [
        ({"cell": "peephole_lstm"}, "not 'peephole_lstm'"),
        ({"cell": "layernorm_lstm"}, "not 'layernorm_lstm'"),
        ({"bidirectional": True}, "bidirectional"),
    ],
)
def test_models_a_step_cannot_run_are_refused_and_the_engine_offers_no_stepper(kw, reason):
    spec = ModelSpec(input_size=V, output_size=V, hidden_size=H, **kw)
    assert reason in unsupported_reason(spec)
    with pytest.raises(ValueError, match=reason):
        Stepper(Model(spec, seed=0))
    assert NumpyEngine(spec, seed=0).stepper() is None


def test_the_engine_offers_a_stepper_for_supported_models():
    spec = ModelSpec(input_size=V, output_size=V, hidden_size=H, cell="gru", num_layers=2)
    assert unsupported_reason(spec) is None
    assert isinstance(NumpyEngine(spec, seed=0).stepper(), Stepper)


@pytest.mark.parametrize(
    "input_kind, inputs, match",
    [
        ("onehot", np.array([0, V]), rf"ids in \[0, {V}\), got 0 to {V}"),
        ("embedding", np.array([-1]), rf"ids in \[0, {V}\), got -1 to -1"),
        ("onehot", np.array([[1]]), r"\(B,\) integer ids"),
        ("onehot", np.array([1.0]), r"\(B,\) integer ids"),
        ("dense", np.zeros((2, I + 1)), rf"features of shape \(B, {I}\), got \(2, {I + 1}\)"),
        ("dense", np.zeros(I), rf"features of shape \(B, {I}\), got \({I},\)"),
    ],
)
def test_bad_inputs_are_refused_with_the_expected_and_the_received(input_kind, inputs, match):
    stepper = Stepper(random_model("lstm", input_kind))
    with pytest.raises(ValueError, match=match):
        stepper.step(inputs)
