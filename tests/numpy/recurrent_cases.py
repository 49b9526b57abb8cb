"""Shared construction helpers for the recurrent-layer tests (not a test module)."""

import numpy as np

from rnnlab.numpy.gru import GRU
from rnnlab.numpy.lstm import LSTM
from rnnlab.numpy.rnn import RNN

# name -> (numpy class, constructor kwargs, torch.nn class name)
CELLS = {
    "lstm": (LSTM, {}, "LSTM"),
    "gru": (GRU, {}, "GRU"),
    "rnn_tanh": (RNN, {"nonlinearity": "tanh"}, "RNN"),
    "rnn_relu": (RNN, {"nonlinearity": "relu"}, "RNN"),
}


def make_layer(cell: str, input_size: int, hidden_size: int, seed: int = 0, **kw):
    """A float64 layer with random non-zero weights and biases in U(±0.6)."""
    cls, extra, _ = CELLS[cell]
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
