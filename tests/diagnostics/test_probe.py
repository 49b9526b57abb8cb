"""The probe's ∂L/∂h_t is the total gradient: NumPy (hand-written backward, chunk by chunk)
equals torch autograd, and both equal finite differences of the loss under a perturbation
of h_t; its forward quantities are the engines' own."""

from dataclasses import replace

import numpy as np
import pytest

from rnnlab.batch import Batch
from rnnlab.data.encode import one_hot
from rnnlab.diagnostics.probe import probe
from rnnlab.errors import InputError
from rnnlab.model import ModelSpec
from rnnlab.numpy.engine import NumpyEngine
from rnnlab.numpy.losses import mse, softmax_cross_entropy
from rnnlab.numpy.model import Model
from rnnlab.numpy.probe import probe_numpy
from rnnlab.tasks import build_task


def copy_batch(batch_size=3, delay=3):
    return build_task("copy", {"bits": 3, "delay": delay}, seed=1).batch("val", 0, batch_size)


def padded_batch():
    """a^n b^n sequences of different lengths: the batch carries ``lengths``."""
    batch = build_task("anbn", {}, seed=0).batch("val", 0, 4)
    assert batch.lengths is not None and len(set(batch.lengths.tolist())) > 1
    return batch


def sine_batch():
    return build_task("sine", {"window": 6}, seed=0).batch("val", 0, 3)


def spec_for(batch_kind: str, cell: str, num_layers: int, **kw) -> ModelSpec:
    io = {"copy": (4, 2, "onehot", "cross_entropy"), "anbn": (5, 5, "onehot", "cross_entropy"),
          "sine": (1, 1, "dense", "mse")}[batch_kind]  # fmt: skip
    settings = dict(input_kind=io[2], loss=io[3], cell=cell, hidden_size=4, dtype="float64")
    return ModelSpec(io[0], io[1], num_layers=num_layers, **{**settings, **kw})


def random_weights(spec: ModelSpec, seed=0) -> dict[str, np.ndarray]:
    """Non-zero weights and biases, larger than an initialisation, so nothing is trivial."""
    rng = np.random.default_rng(seed)
    weights = Model(spec, seed=seed).state_dict()
    return {k: rng.uniform(-0.8, 0.8, v.shape) for k, v in weights.items()}


BATCHES = {"copy": copy_batch, "anbn": padded_batch, "sine": sine_batch}


# --------------------------------------------------------------------------- NumPy = torch
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", ["copy", "anbn"])
def test_numpy_probe_equals_torch_autograd_probe(cell, num_layers, kind):
    pytest.importorskip("torch")
    from rnnlab.torch.probe import probe_torch

    spec = spec_for(kind, cell, num_layers)
    weights, batch = random_weights(spec), BATCHES[kind]()
    a, b = probe_numpy(spec, weights, batch), probe_torch(spec, weights, batch)
    assert np.abs(a.hidden_grads).max() > 1e-3  # a real gradient, not zeros on both sides
    np.testing.assert_allclose(a.hidden_grads, b.hidden_grads, rtol=0, atol=1e-10)
    assert a.loss == pytest.approx(b.loss, abs=1e-12)
    for layer in range(num_layers):
        np.testing.assert_allclose(a.hidden[layer], b.hidden[layer], rtol=0, atol=1e-12)
    assert a.cells.keys() == b.cells.keys() == (set(range(num_layers)) if cell == "lstm" else set())
    for layer in a.cells:
        np.testing.assert_allclose(a.cells[layer], b.cells[layer], rtol=0, atol=1e-12)
    # step-by-step caches (numpy probe) against one whole-sequence forward (torch probe's)
    assert a.gates.keys() == b.gates.keys()
    for layer in a.gates:
        np.testing.assert_allclose(a.gates[layer], b.gates[layer], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("cell", "kind", "extra"),
    [
        ("peephole_lstm", "copy", {}),
        ("layernorm_lstm", "anbn", {}),
        ("lstm", "copy", {"input_kind": "embedding", "embedding_dim": 3}),
        ("gru", "sine", {}),
        ("rnn", "copy", {"nonlinearity": "relu"}),
    ],
)
def test_numpy_and_torch_probes_agree_for_other_cells_inputs_and_losses(cell, kind, extra):
    pytest.importorskip("torch")
    from rnnlab.torch.probe import probe_torch

    spec = spec_for(kind, cell, 2, **extra)
    weights, batch = random_weights(spec, seed=3), BATCHES[kind]()
    a, b = probe_numpy(spec, weights, batch), probe_torch(spec, weights, batch)
    assert np.abs(a.hidden_grads).max() > 1e-4
    np.testing.assert_allclose(a.hidden_grads, b.hidden_grads, rtol=0, atol=1e-10)
    assert a.loss == pytest.approx(b.loss, abs=1e-12)


def test_probe_of_each_engine_uses_its_own_method_and_they_agree():
    pytest.importorskip("torch")
    from rnnlab.torch.engine import TorchEngine

    spec = spec_for("copy", "lstm", 2, init="torch")
    batch = copy_batch()
    numpy_engine, torch_engine = NumpyEngine(spec, seed=5), TorchEngine(spec, seed=5)
    a, b = probe(numpy_engine, batch), probe(torch_engine, batch)
    np.testing.assert_allclose(a.hidden_grads, b.hidden_grads, rtol=0, atol=1e-10)
    c = probe(numpy_engine, batch, method="torch")
    np.testing.assert_allclose(a.hidden_grads, c.hidden_grads, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="unknown probe method"):
        probe(numpy_engine, batch, method="jax")


# --------------------------------------------------------------------------- finite differences
def loss_with_h_perturbed(spec, weights, batch, point, eps):
    """The batch loss when ε is added to h_t[b, j] of one layer, in both its uses (the layer
    above or the head at step t, and the layer's own step t + 1). A plain loop over steps
    and layers with the cells' one-step forward: nothing of the probe is used."""
    t_hit, l_hit, b_hit, j_hit = point
    cell = Model(spec).rnn.cell
    x = one_hot(batch.inputs, spec.input_size, dtype=np.float64)  # (T, B, V)
    T, B = batch.mask.shape
    keep = np.ones((T, B, 1), bool)
    if batch.lengths is not None:
        keep = (np.arange(T)[:, None] < batch.lengths[None, :])[..., None]
    n_states = 2 if spec.cell == "lstm" else 1
    states = [tuple(np.zeros((B, spec.hidden_size)) for _ in range(n_states))] * spec.num_layers
    tops = []
    for t in range(T):
        inp = x[t]  # (B, I)
        for l in range(spec.num_layers):
            w_ih, w_hh, b_ih, b_hh = (
                weights[f"rnn.{p}_l{l}"] for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            )
            _, new, _ = cell.forward((inp @ w_ih.T + b_ih)[None], states[l], w_hh, b_hh)
            new = tuple(np.where(keep[t], n, s) for n, s in zip(new, states[l], strict=True))
            if (t, l) == (t_hit, l_hit):
                h = new[0].copy()
                h[b_hit, j_hit] += eps
                new = (h, *new[1:])
            states[l] = new
            inp = new[0] * keep[t]  # (B, H): outputs on padding are zero
        tops.append(inp)
    out = np.stack(tops) @ weights["head.weight"].T + weights["head.bias"]  # (T, B, O)
    if spec.loss == "cross_entropy":
        return softmax_cross_entropy(out, batch.targets, batch.mask)[0]
    return mse(out, batch.targets, batch.mask)[0]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("kind", ["copy", "anbn"])
def test_hidden_grads_equal_finite_differences_of_a_perturbed_h_t(cell, kind):
    spec = spec_for(kind, cell, 2)
    weights, batch = random_weights(spec, seed=1), BATCHES[kind]()
    grads = probe_numpy(spec, weights, batch).hidden_grads  # (T, L, B, H)
    T = grads.shape[0]
    points = [(0, 0, 1, 2), (1, 1, 0, 0), (T // 2, 0, 2, 1), (T - 2, 1, 0, 3), (T - 1, 1, 1, 0)]
    if kind == "anbn":  # a padding step of a short sequence: its state is carried on
        short = int(np.argmin(batch.lengths))
        points.append((int(batch.lengths[short]) + 1, 0, short, 1))
        points.append((int(batch.lengths[short]) - 1, 1, short, 0))  # its last real step
    eps = 1e-6
    for point in points:
        plus = loss_with_h_perturbed(spec, weights, batch, point, eps)
        minus = loss_with_h_perturbed(spec, weights, batch, point, -eps)
        numeric = (plus - minus) / (2 * eps)
        assert grads[point] == pytest.approx(numeric, rel=1e-5, abs=1e-9), point
    assert max(abs(grads[p]) for p in points) > 1e-3  # the points carry real gradient


def test_the_direct_and_the_future_terms_both_count():
    """At the last step only the head reads h_T; earlier, the future adds to it."""
    spec = spec_for("copy", "rnn", 1)
    weights, batch = random_weights(spec, seed=2), copy_batch()
    result = probe_numpy(spec, weights, batch)
    model = Model(spec)
    model.load_state_dict(weights)
    out, _, cache = model.forward(batch.inputs, train=False)
    _, d_out = softmax_cross_entropy(out, batch.targets, batch.mask)
    direct, _ = model.head.backward(d_out, cache["head"])  # (T, B, H): the head's term only
    np.testing.assert_allclose(result.hidden_grads[-1, 0], direct[-1], atol=1e-14)
    assert np.abs(result.hidden_grads[0, 0] - direct[0]).max() > 1e-4  # not the head's alone


# --------------------------------------------------------------------------- forward quantities
def test_loss_and_hidden_states_are_the_engines_own():
    spec = spec_for("anbn", "lstm", 2)
    engine = NumpyEngine(spec, seed=0)
    batch = padded_batch()
    result = probe(engine, batch)
    assert result.loss == pytest.approx(engine.evaluate(batch).loss, abs=1e-12)
    _, (h_n, c_n), cache = engine.model.rnn.forward(
        one_hot(batch.inputs, 5, dtype=np.float64), train=False, lengths=batch.lengths
    )
    for layer in range(2):  # the state after the last step carried through the padding
        np.testing.assert_allclose(result.hidden[layer][-1], h_n[layer], atol=1e-14)
        np.testing.assert_allclose(result.cells[layer][-1], c_n[layer], atol=1e-14)
        np.testing.assert_allclose(result.gates[layer], cache.layers[layer][0].cell.gates)
    np.testing.assert_array_equal(result.valid.sum(axis=0), batch.lengths)


def test_a_float32_run_is_probed_in_float64():
    spec = spec_for("copy", "gru", 1, dtype="float32")
    engine = NumpyEngine(spec, seed=0)
    batch = copy_batch()
    result = probe(engine, batch)
    reference = probe_numpy(replace(spec, dtype="float64"), engine.state_dict(), batch)
    assert result.hidden_grads.dtype == np.float64
    np.testing.assert_array_equal(result.hidden_grads, reference.hidden_grads)
    assert result.loss == pytest.approx(engine.evaluate(batch).loss, rel=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gates_cells_and_hidden_states_satisfy_the_cell_equations(cell):
    """Gates (from NumPy) and states (from torch) of the torch probe line up step by step."""
    pytest.importorskip("torch")
    from rnnlab.torch.probe import probe_torch

    spec = spec_for("copy", cell, 1)
    result = probe_torch(spec, random_weights(spec, seed=4), copy_batch())
    h = result.hidden[0]  # (T, B, H)
    h_prev = np.concatenate([np.zeros_like(h[:1]), h[:-1]])  # h_0 = 0
    if cell == "lstm":
        i, f, g, o = np.split(result.gates[0], 4, axis=-1)
        c = result.cells[0]
        c_prev = np.concatenate([np.zeros_like(c[:1]), c[:-1]])
        np.testing.assert_allclose(c, f * c_prev + i * g, atol=1e-12)
        np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-12)
    else:
        r, z, n = np.split(result.gates[0], 3, axis=-1)
        np.testing.assert_allclose(h, (1 - z) * n + z * h_prev, atol=1e-12)
        assert ((r > 0) & (r < 1)).all()


# --------------------------------------------------------------------------- bad input
def test_a_bidirectional_model_is_refused_with_a_reason():
    spec = spec_for("copy", "lstm", 1, bidirectional=True)
    with pytest.raises(InputError, match="bidirectional"):
        probe(NumpyEngine(spec, seed=0), copy_batch())


def test_a_batch_without_counted_positions_is_refused():
    batch = copy_batch()
    empty = Batch(batch.inputs, batch.targets, np.zeros_like(batch.mask))
    with pytest.raises(InputError, match="no position"):
        probe(NumpyEngine(spec_for("copy", "rnn", 1), seed=0), empty)
