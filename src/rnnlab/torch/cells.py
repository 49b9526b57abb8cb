"""Every recurrent cell of the PyTorch engine, as one step written from basic tensor ops.

Start reading the PyTorch engine here. A step maps the input projection of one time step
and the previous state to the new state; autograd derives the backward pass (the NumPy
engine writes it by hand, and the tests prove the two equal). These steps are the torch
engine's definition of each cell: :mod:`rnnlab.torch.layers` loops over them, and its fast
path :mod:`rnnlab.torch.fast` is proven equal to them. What a cell *is* — its gates, states,
extra tensors and their names — is in the engine-neutral registry :mod:`rnnlab.cells`; this
file holds only how each cell computes a step. Gate order and shapes are torch.nn's::

    xw_t = x_t W_ihᵀ + b_ih      (B, G·H), computed for all T steps at once by the layer
    a_t  = h_{t-1} W_hhᵀ + b_hh  (B, G·H), the one matmul each step needs

LSTM (G = 4, gates i, f, g, o; state (h, c))::

    i, f, o = σ(xw_i + a_i), σ(xw_f + a_f), σ(xw_o + a_o);   g = tanh(xw_g + a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g;                                h_t = o ⊙ tanh(c_t)

GRU (G = 3, gates r, z, n; state (h,)); b_hn sits inside the reset gate's product::

    r, z = σ(xw_r + a_r), σ(xw_z + a_z);   n = tanh(xw_n + r ⊙ a_n)
    h_t  = (1 - z) ⊙ n + z ⊙ h_{t-1}

Elman RNN (G = 1; state (h,)):  h_t = φ(xw_t + a_t), φ = tanh or relu.

Peephole LSTM (diagonal peepholes p_i, p_f read c_{t-1}; p_o reads c_t)::

    z = xw_t + a_t;   i = σ(z_i + p_i ⊙ c),  f = σ(z_f + p_f ⊙ c),  g = tanh(z_g)
    c' = f ⊙ c + i ⊙ g,    o = σ(z_o + p_o ⊙ c'),  h' = o ⊙ tanh(c')

LayerNorm LSTM (LN over the last axis: γ ⊙ (a - μ)/√(σ² + ε) + β, ε = 1e-5)::

    z = LN(xw_t + a_t; γ_g, β_g)        over all 4H entries of a row
    i, f, g, o = σ(z_i), σ(z_f), tanh(z_g), σ(z_o)
    c' = f ⊙ c + i ⊙ g,    h' = o ⊙ tanh(LN(c'; γ_c, β_c))

The extra tensors of the last two (p_i, p_f, p_o; γ_g, β_g, γ_c, β_c) are keyword arguments
of their steps, named as in the registry (``weight_peephole_i``, ``ln_gates_weight``, ...).
Every step returns the new state as a tuple whose first entry ``h_t`` is the step's output.
:func:`get_cell` gives a layer everything it needs: the step and the registry's facts.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rnnlab.cells import NONLINEARITIES, CellKind, cell_kind

State = tuple[torch.Tensor, ...]
StepFn = Callable[..., State]  # step(xw_t, state, w_hh, b_hh, **extras) -> new state
LAYER_NORM_EPS = 1e-5  # as rnnlab.numpy.layernorm_lstm.LayerNormLSTMCell.eps


def lstm_step(xw_t: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor) -> State:
    """One LSTM step: xw_t (B, 4H), state (h, c) each (B, H), w_hh (4H, H), b_hh (4H,)."""
    h, c = state
    z = xw_t + h @ w_hh.T + b_hh  # (B, 4H)
    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)  # each (B, H)
    i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)
    c_new = f * c + i * g  # (B, H)
    h_new = o * torch.tanh(c_new)  # (B, H)
    return h_new, c_new


def gru_step(xw_t: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor) -> State:
    """One GRU step: xw_t (B, 3H), state (h,) (B, H), w_hh (3H, H), b_hh (3H,)."""
    (h,) = state
    a = h @ w_hh.T + b_hh  # (B, 3H), kept apart from xw: the reset gate scales a_n only
    x_r, x_z, x_n = xw_t.chunk(3, dim=1)  # each (B, H)
    a_r, a_z, a_n = a.chunk(3, dim=1)
    r = torch.sigmoid(x_r + a_r)
    z = torch.sigmoid(x_z + a_z)
    n = torch.tanh(x_n + r * a_n)  # r ⊙ (W_hn h + b_hn), as torch.nn.GRU
    h_new = (1 - z) * n + z * h  # (B, H)
    return (h_new,)


def rnn_tanh_step(
    xw_t: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor
) -> State:
    """One Elman step with tanh: xw_t (B, H), state (h,) (B, H), w_hh (H, H), b_hh (H,)."""
    (h,) = state
    return (torch.tanh(xw_t + h @ w_hh.T + b_hh),)  # (B, H)


def rnn_relu_step(
    xw_t: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor
) -> State:
    """One Elman step with relu: xw_t (B, H), state (h,) (B, H), w_hh (H, H), b_hh (H,)."""
    (h,) = state
    return (torch.relu(xw_t + h @ w_hh.T + b_hh),)  # (B, H)


def peephole_lstm_step(
    xw_t: torch.Tensor,
    state: State,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    *,
    weight_peephole_i: torch.Tensor,
    weight_peephole_f: torch.Tensor,
    weight_peephole_o: torch.Tensor,
) -> State:
    """One peephole-LSTM step: xw_t (B, 4H), state (h, c) each (B, H), peepholes (H,)."""
    h, c = state
    z = xw_t + h @ w_hh.T + b_hh  # (B, 4H)
    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)  # each (B, H)
    i = torch.sigmoid(z_i + weight_peephole_i * c)
    f = torch.sigmoid(z_f + weight_peephole_f * c)
    g = torch.tanh(z_g)
    c_new = f * c + i * g  # (B, H)
    o = torch.sigmoid(z_o + weight_peephole_o * c_new)  # reads the new cell state
    h_new = o * torch.tanh(c_new)  # (B, H)
    return h_new, c_new


def layer_norm(a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """γ ⊙ (a - μ)/√(σ² + ε) + β over the last axis (σ² the biased variance, as torch's LN)."""
    centred = a - a.mean(dim=-1, keepdim=True)  # (B, N)
    variance = (centred * centred).mean(dim=-1, keepdim=True)  # (B, 1)
    return centred * torch.rsqrt(variance + LAYER_NORM_EPS) * weight + bias  # (B, N)


def layernorm_lstm_step(
    xw_t: torch.Tensor,
    state: State,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    *,
    ln_gates_weight: torch.Tensor,
    ln_gates_bias: torch.Tensor,
    ln_cell_weight: torch.Tensor,
    ln_cell_bias: torch.Tensor,
) -> State:
    """One LayerNorm-LSTM step: xw_t (B, 4H), state (h, c) each (B, H), γ_g, β_g (4H,)."""
    h, c = state
    z = layer_norm(xw_t + h @ w_hh.T + b_hh, ln_gates_weight, ln_gates_bias)  # (B, 4H)
    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)  # each (B, H)
    i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)
    c_new = f * c + i * g  # (B, H), carried un-normalised
    h_new = o * torch.tanh(layer_norm(c_new, ln_cell_weight, ln_cell_bias))  # (B, H)
    return h_new, c_new


# The step of every cell of the registry; the plain RNN has one per nonlinearity.
STEPS: dict[str, StepFn] = {
    "lstm": lstm_step,
    "gru": gru_step,
    "rnn_tanh": rnn_tanh_step,
    "rnn_relu": rnn_relu_step,
    "peephole_lstm": peephole_lstm_step,
    "layernorm_lstm": layernorm_lstm_step,
}


def resolve_cell(cell: str, nonlinearity: str) -> str:
    """The step's name: ``"rnn"`` becomes ``"rnn_tanh"`` / ``"rnn_relu"``; others stay."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    return f"rnn_{nonlinearity}" if cell == "rnn" else cell


@dataclass(frozen=True)
class Cell:
    """Everything a layer needs to know about a cell: its step and its registry entry."""

    name: str  # the step's name, a key of STEPS ("rnn_tanh", not "rnn")
    kind: CellKind  # the registry's facts: gates, states, extra tensors
    step: StepFn

    @property
    def gates(self) -> int:
        """G: the projections are (G·H, ·)."""
        return self.kind.num_gates

    @property
    def state_size(self) -> int:
        """2 for (h, c), 1 for (h,)."""
        return len(self.kind.states)

    def extra_params(self, hidden_size: int) -> dict[str, torch.Tensor]:
        """The initial values (float64) of the tensors the cell adds to torch.nn's four."""
        kind, f64 = self.kind, torch.float64
        return {
            key: torch.full((units * hidden_size,), kind.extra_initial_value(key), dtype=f64)
            for key, units in kind.extra_tensors.items()
        }  # each (units·H,)


def get_cell(name: str) -> Cell:
    """The cell whose step is called ``name`` (a key of :data:`STEPS`).

    Raises ``ValueError`` naming the valid cells when ``name`` is unknown.
    """
    if name not in STEPS:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(STEPS)}")
    return Cell(name, cell_kind("rnn" if name.startswith("rnn_") else name), STEPS[name])
