"""A stacked, optionally bidirectional recurrent layer built on the from-scratch steps.

:class:`ScratchRecurrent` has exactly torch.nn.LSTM/GRU/RNN's parameters (names, shapes,
gate order), inputs and outputs, and the NumPy stack's semantics for padded batches; only
the cell knows which cell runs. Per layer and direction it does:

* one (T·B, I_l)×(I_l, G·H) matmul for the input projection of every step at once;
* per step one (B, H)×(H, G·H) matmul, whose result is split into the gates;
* with ``lengths``, padding steps keep the state (outputs there are zero) and the reverse
  direction starts at each sequence's own last step: torch's packed sequences, without
  packing.

Two paths run a direction, with the same results (proven in the tests): the built-in cells
run :mod:`rnnlab.torch.fused` by default — the whole sequence as one autograd node whose
backward is BPTT written by hand, several times faster — and ``fused=False`` (and the
extra cells) loop over the step functions of :mod:`rnnlab.torch.cells`, which autograd
differentiates: the readable definition.

Shared with :mod:`rnnlab.torch.native`: input, state and length checks, and the dropout
between layers (inverted dropout that draws from an explicit ``torch.Generator``, so an
engine can save and restore it).
"""

import math

import numpy as np
import torch
from torch import nn

from rnnlab.numpy.stack import check_sizes
from rnnlab.torch.cells import Cell, State, get_cell
from rnnlab.torch.fused import FUSED, Padding, fused_recurrence, padding

NONLINEARITIES = ("tanh", "relu")


def resolve_cell(cell: str, nonlinearity: str) -> str:
    """The step's name: ``"rnn"`` becomes ``"rnn_tanh"`` / ``"rnn_relu"``; others stay."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    return f"rnn_{nonlinearity}" if cell == "rnn" else cell


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


class RecurrentChecks:
    """Input, state and length checks shared by the scratch and the native layer.

    Expects ``input_size``, ``hidden_size``, ``num_layers``, ``num_directions``,
    ``batch_first`` and ``state_size`` on the instance.
    """

    def validate_input(self, x: torch.Tensor, dtype: torch.dtype) -> None:
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} expected input as a torch.Tensor, got {type(x).__name__}")
        layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
        if x.dim() != 3:
            raise ValueError(
                f"{name} expected 3-D input {layout}, got shape {tuple(x.shape)}; "
                "a single sequence needs a batch axis of size 1"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name} expected input of width {self.input_size} (input_size), "
                f"got {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{name} expected a non-empty input {layout}, got {tuple(x.shape)}")
        if x.dtype != dtype:
            raise TypeError(
                f"{name} has dtype {dtype}, got input of dtype {x.dtype}; "
                f"convert with x.to({dtype})"
            )

    def validate_state(self, state, batch_size: int, like: torch.Tensor) -> State:
        """The initial state as a tuple of (L·D, B, H) tensors (zeros when None)."""
        name = type(self).__name__
        shape = (self.num_layers * self.num_directions, batch_size, self.hidden_size)
        if state is None:
            return tuple(like.new_zeros(shape) for _ in range(self.state_size))
        if self.state_size > 1:
            if not isinstance(state, (tuple, list)) or len(state) != self.state_size:
                raise TypeError(
                    f"{name} expected state as a tuple (h, c), got {type(state).__name__}"
                )
            parts = tuple(state)
        else:
            parts = (state,)
        for label, s in zip(("h", "c"), parts, strict=False):
            if not isinstance(s, torch.Tensor) or tuple(s.shape) != shape:
                got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(f"{name} expected {label}0 of shape {shape}, got {got}")
            if s.dtype != like.dtype:
                raise TypeError(f"{name} has dtype {like.dtype}, got {label}0 of dtype {s.dtype}")
        return parts

    def validate_lengths(self, lengths, T: int, B: int) -> torch.Tensor:
        """``lengths`` (B,) as a CPU int64 tensor with values in 1..T."""
        name = type(self).__name__
        lengths = torch.as_tensor(np.asarray(lengths) if isinstance(lengths, list) else lengths)
        if tuple(lengths.shape) != (B,) or lengths.is_floating_point() or lengths.is_complex():
            raise ValueError(
                f"{name} expected lengths as {B} integers (one per sequence), "
                f"got {lengths.dtype} tensor of shape {tuple(lengths.shape)}"
            )
        lengths = lengths.to("cpu", torch.int64)
        low, high = int(lengths.min()), int(lengths.max())
        if low < 1 or high > T:
            raise ValueError(
                f"{name} expected lengths in 1..{T} (the padded length), "
                f"got values from {low} to {high}"
            )
        return lengths

    def public_state(self, parts: State):
        """(h, c) for the LSTM-like cells, h alone for RNN and GRU, as torch.nn."""
        return parts if self.state_size > 1 else parts[0]


def reverse_time(a: torch.Tensor, reverse_index: torch.Tensor | None) -> torch.Tensor:
    """Reverse time (axis 0) of a (T, B, ·) tensor, per sequence when lengths are known.

    Per sequence, step t reads time lengths[b]-1-t and padding stays where it is; the map is
    its own inverse, so the same call turns the outputs back.
    """
    if reverse_index is None:
        return a.flip(0)
    batch = torch.arange(a.shape[1], device=a.device)  # (B,)
    return a[reverse_index, batch[None, :]]  # (T, B, ·)


class ScratchRecurrent(RecurrentChecks, nn.Module):
    """Multi-layer, optionally bidirectional RNN / LSTM / GRU from the step functions.

    Args:
        cell: "lstm", "gru", "rnn" (with ``nonlinearity``), "rnn_tanh", "rnn_relu", or an
            extra cell of ``rnnlab/torch/extra_cells.py`` ("peephole_lstm", ...).
        input_size: I; hidden_size: H; num_layers: L; bidirectional: D = 2 directions.
        batch_first: x and y are (B, T, ·); states stay (L·D, B, H), as in torch.
        dropout: on the outputs of every layer but the last, in training mode only.
        nonlinearity: "tanh" or "relu", for ``cell="rnn"``.
        fused: run the built-in cells through :mod:`rnnlab.torch.fused` (hand-written BPTT);
            False loops over the step functions and lets autograd differentiate them.
        device, dtype: where and how the parameters are created (torch's factory kwargs).

    Parameters: ``weight_ih_l{k}{sfx}`` (G·H, I_k), ``weight_hh_l{k}{sfx}`` (G·H, H),
    ``bias_ih_l{k}{sfx}``, ``bias_hh_l{k}{sfx}`` (G·H) with sfx "" or "_reverse", initialised
    U(±1/√H) as torch.nn; an extra cell adds ``{key}_l{k}{sfx}`` with its own initial values.

    ``forward(x, state=None, lengths=None) -> (y, state_n)``: x (T, B, I); state ``(h0, c0)``
    for LSTM-like cells, else ``h0``, each (L·D, B, H); lengths (B,) ints in 1..T. y is
    (T, B, D·H). ``generator`` (attribute, default None = torch's global one) feeds dropout.
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
        self.state_size = self.cell.state_size
        self.generator: torch.Generator | None = None
        factory = {"device": device, "dtype": dtype}
        G, H = self.cell.gates * hidden_size, hidden_size
        extras = self.cell.extra_params(H) if self.cell.extra_params else {}
        self.extra_keys = tuple(extras)
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else H * self.num_directions
            for direction in range(self.num_directions):
                w_ih, w_hh, b_ih, b_hh = self.param_names(layer, direction)
                self.register_parameter(w_ih, nn.Parameter(torch.empty(G, width, **factory)))
                self.register_parameter(w_hh, nn.Parameter(torch.empty(G, H, **factory)))
                self.register_parameter(b_ih, nn.Parameter(torch.empty(G, **factory)))
                self.register_parameter(b_hh, nn.Parameter(torch.empty(G, **factory)))
                for key, value in extras.items():  # named {key}_l{layer}{sfx}
                    name = self.extra_name(key, layer, direction)
                    self.register_parameter(name, nn.Parameter(torch.empty(value.shape, **factory)))
        self.reset_parameters()

    def param_names(self, layer: int, direction: int) -> tuple[str, str, str, str]:
        sfx = "_reverse" if direction == 1 else ""
        return tuple(f"{p}_l{layer}{sfx}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def extra_name(self, key: str, layer: int, direction: int) -> str:
        return f"{key}_l{layer}{'_reverse' if direction == 1 else ''}"

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """torch.nn's U(±1/√H) for the four standard tensors; extras get the cell's values."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        extras = self.cell.extra_params(self.hidden_size) if self.extra_keys else {}
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                for name in self.param_names(layer, direction):
                    getattr(self, name).uniform_(-bound, bound)
                for key, value in extras.items():
                    getattr(self, self.extra_name(key, layer, direction)).copy_(value)

    def forward(self, x: torch.Tensor, state=None, lengths=None):
        """x (T, B, I) or (B, T, I) → y (T, B, D·H) or (B, T, D·H), final state."""
        self.validate_input(x, self.weight_hh_l0.dtype)
        if self.batch_first:
            x = x.transpose(0, 1)  # (T, B, I)
        T, B, _ = x.shape
        states0 = self.validate_state(state, B, x)
        if lengths is not None:
            lengths = self.validate_lengths(lengths, T, B)
        pad = padding(lengths, T, x.device)  # None when no sequence is padded
        reverse_index = None
        if pad is not None:
            t = torch.arange(T, device=x.device)[:, None]  # (T, 1)
            reverse_index = torch.where(pad.real[:, :, 0], pad.last[None, :] - t, t)  # (T, B)
        D = self.num_directions
        finals: list[State] = []  # index layer·D + direction, as h_n
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                xin = layer_input if direction == 0 else reverse_time(layer_input, reverse_index)
                state0 = tuple(s[layer * D + direction] for s in states0)  # each (B, H)
                hs, state_n = self.run_direction(xin, state0, layer, direction, pad)
                outputs.append(hs if direction == 0 else reverse_time(hs, reverse_index))
                finals.append(state_n)
            out = outputs[0] if D == 1 else torch.cat(outputs, dim=-1)  # (T, B, D·H)
            if pad is not None and not self.uses_fused:  # the fused outputs are 0 there already
                out = torch.where(pad.real, out, 0.0)  # zero on padding, as packed sequences
            if layer < self.num_layers - 1:
                out = dropout(out, self.dropout, self.training, self.generator)
            layer_input = out
        y = layer_input.transpose(0, 1) if self.batch_first else layer_input
        state_n = tuple(torch.stack([f[k] for f in finals]) for k in range(self.state_size))
        return y, self.public_state(state_n)  # each state (L·D, B, H)

    @property
    def uses_fused(self) -> bool:
        """Whether forward runs :mod:`rnnlab.torch.fused` (``fused`` and a built-in cell)."""
        return self.fused and self.cell.name in FUSED

    def run_direction(self, x, state0: State, layer: int, direction: int, pad: Padding | None):
        """One direction of one layer: x (T, B, I_l) → hs (T, B, H), final state."""
        weights = tuple(getattr(self, n) for n in self.param_names(layer, direction))
        if self.uses_fused:
            return fused_recurrence(self.cell.name, x, state0, weights, pad)
        w_ih, w_hh, b_ih, b_hh = weights
        extras = {k: getattr(self, self.extra_name(k, layer, direction)) for k in self.extra_keys}
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
