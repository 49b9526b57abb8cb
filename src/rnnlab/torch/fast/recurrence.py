"""One ``torch.autograd.Function`` per layer and direction: a whole sequence, BPTT by hand.

Differentiating the step functions of :mod:`rnnlab.torch.cells` with autograd records
~10-20 small operations per time step and replays them backward one node at a time; at the
sizes rnnlab trains that bookkeeping, not arithmetic, is most of a training step.
:class:`FusedRecurrence` instead runs a whole sequence as one autograd node::

    forward:   xw = x W_ihᵀ + b_ih                  one (T·B, I)×(I, G·H) matmul
               for t: state_t = cell(xw_t, state_{t-1})   (rnnlab.torch.fast.cells)
    backward:  for t = T-1..0: the cell's hand-derived BPTT step
               dx = dxw W_ih,  dW_ih = dxwᵀ x,  db_ih = Σ dxw        one matmul each
               dW_hh = daᵀ h_{t-1},  db_hh = Σ da

where ``da`` is the gradient on ``a_t = h_{t-1} W_hhᵀ + b_hh``. The built-in cells (LSTM, GRU,
tanh and relu RNNs) have a fused version in :data:`FUSED`; the tests prove it equal to the
autograd-derived steps and to torch.nn in float64. The extra cells (peephole, LayerNorm
LSTMs) keep the per-step autograd path.

Padded batches (:mod:`rnnlab.torch.padding`): the forward keeps the state on padding, so
``state_n`` is each sequence's state at its last real step, and the outputs there are zero;
the backward therefore lands the final state's gradient on each sequence's last real step,
and nothing flows through the padding.
"""

from functools import partial

import torch
from torch.autograd.function import once_differentiable

from rnnlab.torch.cells import State
from rnnlab.torch.fast import cells
from rnnlab.torch.padding import Padding

FUSED = {  # step name -> (forward, backward), see rnnlab.torch.fast.cells
    "lstm": (cells.lstm_forward, cells.lstm_backward),
    "gru": (cells.gru_forward, cells.gru_backward),
    "rnn_tanh": (partial(cells.rnn_forward, nonlinearity="tanh"), cells.rnn_backward),
    "rnn_relu": (partial(cells.rnn_forward, nonlinearity="relu"), cells.rnn_backward),
}


def at_last_steps(d_final: torch.Tensor, pad: Padding | None, T: int) -> dict[int, torch.Tensor]:
    """{t: the part of a final state's gradient (B, H) that lands on step t}."""
    if pad is None:
        return {T - 1: d_final}
    return {
        t: d_final * (pad.last == t)[:, None].to(d_final.dtype)  # (B, H)
        for t in pad.last.unique().tolist()
    }


class FusedRecurrence(torch.autograd.Function):
    """``apply(cell, pad, x, w_ih, w_hh, b_ih, b_hh, *state0) -> (y, *state_n)``.

    x (T, B, I); weights and biases torch.nn's (G·H, I), (G·H, H), (G·H,); state0 (h0,) or
    (h0, c0), each (B, H); pad from :func:`rnnlab.torch.padding.padding`. y (T, B, H) is h_t
    on real steps and 0 on padding; state_n is the state at each sequence's last real step.
    """

    @staticmethod
    def forward(ctx, cell: str, pad, x, w_ih, w_hh, b_ih, b_hh, *state0):
        T, B, I = x.shape
        xw = torch.addmm(b_ih, x.reshape(T * B, I), w_ih.T).view(T, B, -1)  # (T, B, G·H)
        cell_forward, _ = FUSED[cell]
        hs, state_n, cache = cell_forward(xw, state0, w_hh, b_hh, pad)  # hs (T, B, H)
        ctx.cell, ctx.pad, ctx.cache_type = cell, pad, type(cache)
        ctx.save_for_backward(x, w_ih, w_hh, state0[0], hs, *cache)
        y = hs if pad is None else hs * pad.real  # (T, B, H)
        return (y, *(s.clone() for s in state_n))

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, *dstate_n):
        x, w_ih, w_hh, h0, hs, *cache = ctx.saved_tensors
        pad = ctx.pad
        T, B, I = x.shape
        dhs = dy.clone(memory_format=torch.contiguous_format) if pad is None else dy * pad.real
        for t, dh in at_last_steps(dstate_n[0], pad, T).items():
            dhs[t] += dh  # (B, H): the final h is h_t of the sequences that end at t
        dc_last = at_last_steps(dstate_n[1], pad, T) if len(dstate_n) > 1 else {}
        _, cell_backward = FUSED[ctx.cell]
        dxw, da, dstate0 = cell_backward(dhs, dc_last, ctx.cache_type(*cache), w_hh)
        G = dxw.shape[-1]
        dxw, da = dxw.reshape(T * B, G), da.reshape(T, B, G)  # (T·B, G·H), (T, B, G·H)
        dx = (dxw @ w_ih).view(T, B, I) if ctx.needs_input_grad[2] else None
        dw_ih = dxw.T @ x.reshape(T * B, I)  # (G·H, I)
        db_ih = dxw.sum(0)  # (G·H,)
        h_prev = hs[:-1].reshape((T - 1) * B, hs.shape[-1])  # (T·B - B, H) h_0 .. h_{T-2}
        dw_hh = torch.addmm(da[0].T @ h0, da[1:].reshape((T - 1) * B, G).T, h_prev)  # (G·H, H)
        db_hh = da.sum((0, 1))  # (G·H,), a new tensor even where da is dxw: grads are not shared
        return None, None, dx, dw_ih, dw_hh, db_ih, db_hh, *dstate0


@torch.compiler.disable  # under torch.compile the recurrence runs as written; the rest compiles
def fused_recurrence(
    cell: str, x: torch.Tensor, state0: State, weights, pad: Padding | None
) -> tuple[torch.Tensor, State]:
    """One direction of one layer: x (T, B, I) → y (T, B, H), final state (each (B, H)).

    ``weights`` are (w_ih, w_hh, b_ih, b_hh) in torch.nn's layout.
    """
    y, *state_n = FusedRecurrence.apply(cell, pad, x, *weights, *state0)
    return y, tuple(state_n)
