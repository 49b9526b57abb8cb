"""Recurrent cells for the PyTorch engine, written from basic tensor ops: one step each.

A step maps the input projection of one time step and the previous state to the new state;
autograd derives the backward pass (the NumPy engine writes it by hand, and the tests prove
the two equal). These steps are the definition: :mod:`rnnlab.torch.fused`, the layers' fast
path, runs the same equations over a whole sequence with BPTT by hand, and is tested
against them. Gate order and parameter shapes are torch.nn's::

    xw_t = x_t W_ihᵀ + b_ih      (B, G·H), computed for all T steps at once by the layer
    a_t  = h_{t-1} W_hhᵀ + b_hh  (B, G·H), the one matmul each step needs

LSTM (G = 4, gates i, f, g, o; state (h, c))::

    i, f, o = σ(xw_i + a_i), σ(xw_f + a_f), σ(xw_o + a_o);   g = tanh(xw_g + a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g;                                h_t = o ⊙ tanh(c_t)

GRU (G = 3, gates r, z, n; state (h,)); b_hn sits inside the reset gate's product::

    r, z = σ(xw_r + a_r), σ(xw_z + a_z);   n = tanh(xw_n + r ⊙ a_n)
    h_t  = (1 - z) ⊙ n + z ⊙ h_{t-1}

Elman RNN (G = 1; state (h,)):  h_t = φ(xw_t + a_t), φ = tanh or relu.

Every step returns the new state as a tuple whose first entry ``h_t`` is the step's output.
``STEPS``, ``GATES`` and ``STATE_SIZE`` describe the built-in cells; :func:`get_cell` also
finds the extra cells of ``rnnlab/torch/extra_cells.py`` (peephole and LayerNorm LSTMs),
whose steps take their additional tensors as keyword arguments.
"""

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

State = tuple[torch.Tensor, ...]
StepFn = Callable[..., State]  # step(xw_t, state, w_hh, b_hh, **extras) -> new state


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


STEPS: dict[str, StepFn] = {
    "lstm": lstm_step,
    "gru": gru_step,
    "rnn_tanh": rnn_tanh_step,
    "rnn_relu": rnn_relu_step,
}
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
STATE_SIZE = {"lstm": 2, "gru": 1, "rnn_tanh": 1, "rnn_relu": 1}  # tensors in a state

EXTRA_CELLS_MODULE = "rnnlab.torch.extra_cells"


class Cell(NamedTuple):
    """Everything a layer needs to know about a cell."""

    name: str
    step: StepFn
    gates: int  # G: the projections are (G·H, ·)
    state_size: int  # 2 for (h, c), 1 for (h,)
    extra_params: Callable[[int], dict[str, torch.Tensor]] | None  # H -> initial extras


def get_cell(name: str) -> Cell:
    """The cell called ``name``: a built-in one, or one from ``rnnlab/torch/extra_cells.py``.

    Raises ``ValueError`` naming the valid cells when ``name`` is unknown.
    """
    if name in STEPS:
        return Cell(name, STEPS[name], GATES[name], STATE_SIZE[name], None)
    try:
        import importlib

        extra = importlib.import_module(EXTRA_CELLS_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != EXTRA_CELLS_MODULE:
            raise  # the file exists but one of its own imports is missing: show that
        raise ValueError(
            f"unknown cell {name!r}; built-in cells are {', '.join(STEPS)}, and the extra "
            f"cells cannot be looked up because rnnlab/torch/extra_cells.py is missing"
        ) from exc
    if name not in extra.EXTRA_STEPS:
        valid = [*STEPS, *extra.EXTRA_STEPS]
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(valid)}")
    return Cell(
        name,
        extra.EXTRA_STEPS[name],
        extra.EXTRA_GATES[name],
        extra.EXTRA_STATE_SIZE[name],
        lambda hidden_size: extra.extra_params(name, hidden_size),
    )


class LSTMCell(nn.Module):
    """The LSTM step written for reading: one ``nn.Linear`` per gate over ``[x_t, h_{t-1}]``.

    Each gate k ∈ {i, f, g, o} has its own weight (H, I + H) and bias (H,)::

        f_t = σ(W_f [x_t, h_{t-1}] + b_f)    ... and likewise i_t, o_t; g_t with tanh

    It computes exactly :func:`lstm_step` (proven in the tests): gate k's weight is rows
    kH..(k+1)H of ``W_ih`` and ``W_hh`` side by side, its bias ``b_ih + b_hh`` on those rows.
    :meth:`load_fused` copies torch.nn-layout weights in; the fused step is what layers run,
    because one (B, I+H)×(I+H, 4H) product is faster than four small ones.
    """

    gate_names = ("input_gate", "forget_gate", "candidate", "output_gate")  # i, f, g, o

    def __init__(self, input_size: int, hidden_size: int, **factory) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        width = input_size + hidden_size
        self.input_gate = nn.Linear(width, hidden_size, **factory)
        self.forget_gate = nn.Linear(width, hidden_size, **factory)
        self.candidate = nn.Linear(width, hidden_size, **factory)
        self.output_gate = nn.Linear(width, hidden_size, **factory)

    def forward(self, x_t: torch.Tensor, state: State) -> State:
        """x_t (B, I), state (h, c) each (B, H) -> (h_t, c_t)."""
        h, c = state
        xh = torch.cat([x_t, h], dim=1)  # (B, I + H)
        i = torch.sigmoid(self.input_gate(xh))  # (B, H) how much of g to write
        f = torch.sigmoid(self.forget_gate(xh))  # (B, H) how much of c to keep
        g = torch.tanh(self.candidate(xh))  # (B, H) what to write
        o = torch.sigmoid(self.output_gate(xh))  # (B, H) how much of c to show
        c_new = f * c + i * g
        h_new = o * torch.tanh(c_new)
        return h_new, c_new

    @torch.no_grad()
    def load_fused(
        self, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor
    ) -> None:
        """Copy torch.nn.LSTM-layout weights: w_ih (4H, I), w_hh (4H, H), b_ih, b_hh (4H,)."""
        H = self.hidden_size
        for k, gate_name in enumerate(self.gate_names):
            rows = slice(k * H, (k + 1) * H)
            gate = getattr(self, gate_name)
            gate.weight.copy_(torch.cat([w_ih[rows], w_hh[rows]], dim=1))  # (H, I + H)
            gate.bias.copy_(b_ih[rows] + b_hh[rows])  # (H,)
