"""A stacked, optionally bidirectional recurrent layer built on the from-scratch steps.

Read :mod:`rnnlab.torch.cells` first (one step of each cell), then this file: the loop over
layers, directions and time that every cell shares, written once.
:class:`ScratchRecurrent` has exactly torch.nn.LSTM/GRU/RNN's parameters (names, shapes,
gate order, from the registry :mod:`rnnlab.cells`), inputs and outputs, and the NumPy
stack's semantics for padded batches. Per layer and direction it does:

* one (T·B, I_l)×(I_l, G·H) matmul for the input projection of every step at once;
* per step one (B, H)×(H, G·H) matmul inside the cell's step;
* with ``lengths``, padding steps keep the state (outputs there are zero) and the reverse
  direction starts at each sequence's own last step (:mod:`rnnlab.torch.padding`): torch's
  packed sequences, without packing.

The definition is :meth:`ScratchRecurrent.run_direction`'s loop over the step functions,
which autograd differentiates (``fused=False``, and always for the extra cells). By default
the built-in cells run the same equations through :mod:`rnnlab.torch.fast` instead — the
whole sequence as one autograd node whose backward is BPTT written by hand, several times
faster — which the tests prove equal to the loop.

Shared with :mod:`rnnlab.torch.native`: the checks of :mod:`rnnlab.torch.checks`, and
:func:`dropout` between layers (inverted dropout that draws from an explicit
``torch.Generator``, so an engine can save and restore it).
"""

import math

import torch
from torch import nn

from rnnlab.cells import parameter_name
from rnnlab.shapes import check_sizes
from rnnlab.torch.cells import Cell, State, get_cell, resolve_cell
from rnnlab.torch.checks import RecurrentChecks
from rnnlab.torch.fast import FUSED, fused_recurrence
from rnnlab.torch.masked import dropped_hh, locked
from rnnlab.torch.padding import Padding, padding, reverse_time

__all__ = ["ScratchRecurrent", "dropout", "resolve_cell"]
TORCH_NN_TENSORS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # per layer, direction


def dropout(
    x: torch.Tensor, p: float, training: bool, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Inverted dropout: keep each element with probability 1 - p, scaled by 1/(1 - p).

    ``generator`` None draws from torch's global generator.
    """
    if not training or p == 0.0:
        return x
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    keep = (u >= p).to(x.dtype)  # (...) 1 with probability 1 - p
    return x * keep * (1.0 / (1.0 - p))


class ScratchRecurrent(RecurrentChecks, nn.Module):
    """Multi-layer, optionally bidirectional recurrent layer from the step functions.

    Args:
        cell: "lstm", "gru", "rnn" (with ``nonlinearity``), "rnn_tanh", "rnn_relu",
            "peephole_lstm" or "layernorm_lstm" (any cell of :data:`rnnlab.torch.cells.STEPS`).
        input_size: I; hidden_size: H; num_layers: L; bidirectional: D = 2 directions.
        batch_first: x and y are (B, T, ·); states stay (L·D, B, H), as in torch.
        dropout: on the outputs of every layer but the last, in training mode only.
        nonlinearity: "tanh" or "relu", for ``cell="rnn"``.
        fused: run the built-in cells through :mod:`rnnlab.torch.fast` (hand-written BPTT);
            False loops over the step functions and lets autograd differentiate them.
        device, dtype: where and how the parameters are created (torch's factory kwargs).

    Parameters: ``weight_ih_l{k}{sfx}`` (G·H, I_k), ``weight_hh_l{k}{sfx}`` (G·H, H),
    ``bias_ih_l{k}{sfx}``, ``bias_hh_l{k}{sfx}`` (G·H) with sfx "" or "_reverse", initialised
    U(±1/√H) as torch.nn; an extra cell adds ``{key}_l{k}{sfx}`` with its own initial values.

    ``forward(x, state=None, lengths=None, masks=None) -> (y, state_n)``: x (T, B, I); state
    ``(h0, c0)`` for LSTM-like cells, else ``h0``, each (L·D, B, H); lengths (B,) ints in
    1..T; masks a batch's :class:`rnnlab.masks.Masks` as tensors (locked dropout between
    layers, weight-drop), used as given. y is (T, B, D·H). ``generator`` (attribute,
    default None = torch's global one) feeds dropout.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        batch_first: bool = False,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        *,
        fused: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        check_sizes(type(self).__name__, input_size, hidden_size, num_layers, dropout)
        self.cell: Cell = get_cell(resolve_cell(cell, nonlinearity))
        self.mode = self.cell.name
        self.nonlinearity = nonlinearity
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers = int(num_layers)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.fused = bool(fused)
        self.state_names = self.cell.kind.states
        self.generator: torch.Generator | None = None
        factory = {"device": device, "dtype": dtype}
        G, H = self.cell.gates * hidden_size, hidden_size
        self.extra_keys = tuple(self.cell.kind.extra_tensors)
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else H * self.num_directions
            shapes = dict(zip(TORCH_NN_TENSORS, [(G, width), (G, H), (G,), (G,)], strict=True))
            shapes |= {k: (n * H,) for k, n in self.cell.kind.extra_tensors.items()}
            for direction in range(self.num_directions):
                for key, shape in shapes.items():  # named {key}_l{layer}{sfx}, as torch.nn
                    tensor = nn.Parameter(torch.empty(shape, **factory))
                    self.register_parameter(parameter_name(key, layer, direction), tensor)
        self.reset_parameters()

    def param_names(self, layer: int, direction: int) -> tuple[str, str, str, str]:
        """torch.nn's four names: weight_ih, weight_hh, bias_ih, bias_hh of this direction."""
        return tuple(parameter_name(key, layer, direction) for key in TORCH_NN_TENSORS)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """torch.nn's U(±1/√H) for the four standard tensors; extras get the cell's values."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        extras = self.cell.extra_params(self.hidden_size)
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                for name in self.param_names(layer, direction):
                    getattr(self, name).uniform_(-bound, bound)
                for key, value in extras.items():
                    getattr(self, parameter_name(key, layer, direction)).copy_(value)

    def forward(self, x: torch.Tensor, state=None, lengths=None, masks=None):
        """x (T, B, I) or (B, T, I) → y (T, B, D·H) or (B, T, D·H), final state."""
        self.validate_input(x, self.weight_hh_l0.dtype)
        if self.batch_first:
            x = x.transpose(0, 1)  # (T, B, I)
        T, B, _ = x.shape
        states0 = self.validate_state(state, B, x)
        if lengths is not None:
            lengths = self.validate_lengths(lengths, T, B)
        pad = padding(lengths, T, x.device)  # None when no sequence is padded
        D = self.num_directions
        finals: list[State] = []  # index layer·D + direction, as h_n
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                xin = layer_input if direction == 0 else reverse_time(layer_input, pad)
                state0 = tuple(s[layer * D + direction] for s in states0)  # each (B, H)
                hs, state_n = self.run_direction(xin, state0, layer, direction, pad, masks)
                outputs.append(hs if direction == 0 else reverse_time(hs, pad))
                finals.append(state_n)
            out = outputs[0] if D == 1 else torch.cat(outputs, dim=-1)  # (T, B, D·H)
            if pad is not None and not self.uses_fused:  # the fused outputs are 0 there already
                out = torch.where(pad.real, out, 0.0)  # zero on padding, as packed sequences
            if layer < self.num_layers - 1:
                out = dropout(out, self.dropout, self.training, self.generator)
                if masks is not None and masks.between:
                    out = locked(out, masks.between[layer])  # (T, B, D·H)
            layer_input = out
        y = layer_input.transpose(0, 1) if self.batch_first else layer_input
        state_n = tuple(torch.stack([f[k] for f in finals]) for k in range(self.state_size))
        return y, self.public_state(state_n)  # each state (L·D, B, H)

    @property
    def uses_fused(self) -> bool:
        """Whether forward runs :mod:`rnnlab.torch.fast` (``fused`` and a built-in cell)."""
        return self.fused and self.cell.name in FUSED

    def run_direction(
        self, x, state0: State, layer: int, direction: int, pad: Padding | None, masks=None
    ):
        """One direction of one layer: x (T, B, I_l) → hs (T, B, H), final state."""
        names = self.param_names(layer, direction)
        weights = tuple(getattr(self, n) for n in names)
        weights = (weights[0], dropped_hh(weights[1], masks, names[1]), *weights[2:])
        if self.uses_fused:
            return fused_recurrence(self.cell.name, x, state0, weights, pad)
        w_ih, w_hh, b_ih, b_hh = weights
        extras = {k: getattr(self, parameter_name(k, layer, direction)) for k in self.extra_keys}
        T, B, width = x.shape
        xw = torch.addmm(b_ih, x.reshape(T * B, width), w_ih.T)  # (T·B, G·H): one matmul
        xw = xw.reshape(T, B, -1)  # (T, B, G·H)
        state, hs = state0, []
        for t in range(T):
            new = self.cell.step(xw[t], state, w_hh, b_hh, **extras)
            if pad is not None:  # padding steps carry the state through unchanged
                new = tuple(torch.where(pad.real[t], n, s) for n, s in zip(new, state, strict=True))
            state = new
            hs.append(state[0])
        return torch.stack(hs), state  # (T, B, H)

    def extra_repr(self) -> str:
        return (
            f"{self.mode}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bidirectional={self.bidirectional}, batch_first={self.batch_first}, "
            f"dropout={self.dropout}"
        )
