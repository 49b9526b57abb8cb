"""Vanilla (Elman) RNN: forward and backward through time, side by side.

Recurrence for one direction of one layer, φ = tanh or relu (torch.nn.RNN's nonlinearity)::

    h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

Backward, for dh = ∂L/∂h_t (from above plus from step t+1)::

    dẑ       = dh ⊙ φ'(h_t)            φ' through the output: 1 - h² (tanh), [h > 0] (relu)
    dh_{t-1} = dẑ W_hh

The product of T such Jacobians is why gradients vanish or explode over long delays: the
copy task and ``rnnlab diagnose`` make that visible.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.numpy.activations import relu_grad, tanh_grad
from rnnlab.numpy.stack import RecurrentStack

NONLINEARITIES = ("tanh", "relu")


class RNNCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step
    h_new: np.ndarray  # (T, B, H) φ(ẑ_t) before masking
    mask: np.ndarray | None  # (T, B, 1)


class RNNCell:
    """One direction of one Elman RNN layer over a whole sequence; state is ``(h,)``."""

    gates = 1
    state_names = ("h",)

    def __init__(self, nonlinearity: str = "tanh"):
        self.nonlinearity = nonlinearity

    def forward(self, xw, state0, W_hh, b_hh, mask=None):
        """xw (T, B, H) = x W_ihᵀ + b_ih; state0 ``(h0,)`` (B, H); W_hh (H, H); b_hh (H,).

        Three calls a step: the GEMM, the add, φ — b_hh is folded into xw for all steps first.
        """
        T, B, H = xw.shape
        (h0,) = state0
        h = np.empty((T + 1, B, H), dtype=xw.dtype)
        h_new = np.add(xw, b_hh, dtype=xw.dtype)  # (T, B, H): pre-activation, then φ of it
        h[0] = h0
        W_hh_T = W_hh.T
        hw = np.empty((B, H), dtype=xw.dtype)
        padding = None if mask is None else mask <= 0  # (T, B, 1)
        for t in range(T):
            z = h_new[t]
            np.dot(h[t], W_hh_T, out=hw)  # (B, H)
            z += hw
            if self.nonlinearity == "tanh":
                np.tanh(z, out=z)
            else:
                np.maximum(z, 0.0, out=z)
            h[t + 1] = z
            if padding is not None:  # padded steps carry the previous state through
                np.copyto(h[t + 1], h[t], where=padding[t])
        return h[1:], (h[T],), RNNCache(h_prev=h[:-1], h_new=h_new, mask=mask)

    def backward(self, dhs, dstate_n, cache: RNNCache, W_hh):
        """dhs (T, B, H) from above, ``(dh_T,)``; returns dxw = dhw (T, B, H) and ``(dh0,)``.

        φ'(h_t) does not depend on the incoming gradient: computed for all steps at once.
        """
        T, B, H = dhs.shape
        grad = tanh_grad if self.nonlinearity == "tanh" else relu_grad
        slope = grad(cache.h_new)  # (T, B, H) φ'
        if cache.mask is not None:
            slope *= cache.mask  # padded steps: no gradient into the step, all of it skips
        dz = np.empty((T, B, H), dtype=dhs.dtype)
        dh_next = np.array(dstate_n[0], dtype=dhs.dtype)  # (B, H) buffer, updated in place
        dh = np.empty((B, H), dtype=dhs.dtype)
        for t in reversed(range(T)):
            np.add(dhs[t], dh_next, out=dh)
            np.multiply(dh, slope[t], out=dz[t])
            np.dot(dz[t], W_hh, out=dh_next)  # (B, H)
            if cache.mask is not None:
                np.copyto(dh_next, dh, where=cache.mask[t] <= 0)
        return dz, dz, (dh_next,)


class RNN(RecurrentStack):
    """Multi-layer, optionally bidirectional Elman RNN with torch.nn.RNN's parameters.

    Args are those of :class:`RecurrentStack` plus ``nonlinearity``: "tanh" (default) or
    "relu". ``state`` is ``h`` (num_layers·num_directions, B, H).
    """

    cell_class = RNNCell

    def __init__(self, input_size: int, hidden_size: int, *args, nonlinearity: str = "tanh", **kw):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, *args, **kw)

    def make_cell(self):
        return RNNCell(self.nonlinearity)
