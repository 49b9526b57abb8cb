"""Shared construction helpers and checks for the recurrent-layer tests (not a test module)."""

import numpy as np

from rnnlab.numpy.gradcheck import check_recurrent
from rnnlab.numpy.gru import GRU
from rnnlab.numpy.layernorm_lstm import LayerNormLSTM
from rnnlab.numpy.lstm import LSTM
from rnnlab.numpy.peephole_lstm import PeepholeLSTM
from rnnlab.numpy.rnn import RNN

# name -> (numpy class, constructor kwargs, torch.nn class name)
CELLS = {
    "lstm": (LSTM, {}, "LSTM"),
    "gru": (GRU, {}, "GRU"),
    "rnn_tanh": (RNN, {"nonlinearity": "tanh"}, "RNN"),
    "rnn_relu": (RNN, {"nonlinearity": "relu"}, "RNN"),
}
EXTRA_CELLS = {"peephole_lstm": PeepholeLSTM, "layernorm_lstm": LayerNormLSTM}  # no torch.nn twin


def make_layer(cell: str, input_size: int, hidden_size: int, seed: int = 0, **kw):
    """A float64 layer of a cell of CELLS or EXTRA_CELLS with every tensor (weights, biases,
    a variant's own tensors) random and non-zero, in U(±0.6)."""
    cls, extra = (CELLS[cell][0], CELLS[cell][1]) if cell in CELLS else (EXTRA_CELLS[cell], {})
    layer = cls(input_size, hidden_size, dtype=np.float64, seed=seed, **extra, **kw)
    rng = np.random.default_rng(seed + 1000)
    for p in layer.params.values():
        p[...] = rng.uniform(-0.6, 0.6, p.shape)
    return layer


def as_tuple(state):
    """States are (h, c) for the LSTM and h alone otherwise; tests handle both as tuples."""
    return state if isinstance(state, tuple) else (state,)


def from_tuple(layer, parts):
    return tuple(parts) if len(layer.cell.state_names) > 1 else parts[0]


def random_state(layer, batch_size: int, rng):
    parts = tuple(
        rng.normal(scale=0.5, size=s.shape) for s in as_tuple(layer.zero_state(batch_size))
    )
    return from_tuple(layer, parts)


def assert_forward_equals_naive(layer, naive, T: int, B: int, seed: int):
    """A one-layer, one-direction layer against ``naive(x_b, *state0_b, params)`` -> ``(hs,
    *final state)``, written for one sample: every output and final state, to 1e-14."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, layer.input_size))
    state0 = tuple(rng.normal(size=(1, B, layer.hidden_size)) for _ in layer.cell.state_names)
    y, state_n, _ = layer.forward(x, from_tuple(layer, state0))
    for b in range(B):
        hs, *final = naive(x[:, b], *(s[0, b] for s in state0), layer.params)
        np.testing.assert_allclose(y[:, b], hs, rtol=0, atol=1e-14)
        for s, want in zip(as_tuple(state_n), final, strict=True):
            np.testing.assert_allclose(s[0, b], want, rtol=0, atol=1e-14)


def assert_gradcheck_passes(layer, also=(), **kw) -> set[str]:
    """Finite differences (:func:`check_recurrent` with ``kw``) of every tensor of ``layer``
    and of ``also`` (e.g. x, h0, c0) all within 1e-6; returns the names checked."""
    results = check_recurrent(layer, **kw)
    names = {r.name for r in results}
    assert names >= set(layer.params) | set(also), f"not checked: {set(also) - names}"
    bad = [(r.name, r.error) for r in results if not r.passed]
    assert not bad, f"relative errors above 1e-6: {bad}"
    return names


def assert_chunks_equal_one_pass(layer, T: int = 9, chunk: int = 3, B: int = 2, seed: int = 3):
    """Forward in chunks of ``chunk`` steps carrying the state = one pass (outputs and final
    state, to 1e-14)."""
    x = np.random.default_rng(seed).normal(size=(T, B, layer.input_size))
    y, state_n, _ = layer.forward(x)
    state, chunks = None, []
    for start in range(0, T, chunk):
        out, state, _ = layer.forward(x[start : start + chunk], state)
        chunks.append(out)
    np.testing.assert_allclose(np.concatenate(chunks), y, rtol=0, atol=1e-14)
    for got, want in zip(as_tuple(state), as_tuple(state_n), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def torch_twin(make, layer, **kw):
    """A float64 torch module, ``make(input_size, hidden_size, num_layers=..., ...,
    dtype=torch.float64, **kw)``, holding the NumPy layer's weights (strict load)."""
    import torch

    module = make(
        layer.input_size,
        layer.hidden_size,
        num_layers=layer.num_layers,
        bidirectional=layer.bidirectional,
        batch_first=layer.batch_first,
        dtype=torch.float64,
        **kw,
    )
    module.load_state_dict({k: torch.tensor(v) for k, v in layer.params.items()}, strict=True)
    return module


def torch_weighted_loss(y_t, state_n_t, w_y, w_s):
    """Σ w_y ⊙ y + Σ_k w_s[k] ⊙ state_n[k] of torch outputs: the loss whose gradients the NumPy
    layer's ``backward(w_y, w_s, cache)`` gives."""
    import torch

    loss = (y_t * torch.tensor(w_y)).sum()
    for s_t, w in zip(as_tuple(state_n_t), w_s, strict=True):
        loss = loss + (s_t * torch.tensor(w)).sum()
    return loss
