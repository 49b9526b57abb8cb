"""The plain loop over time of the LSTM variants' fast paths, padding included, written once.

The plain LSTM's cell has a fused loop of its own (:class:`~rnnlab.numpy.lstm.LSTMCell`).
The peephole and LayerNorm LSTMs make theirs fast more modestly: the stack does the input
GEMM for all steps and turns the returned dz into the weight gradients in one GEMM each;
W_hh is transposed once; each step writes its activations in place into arrays the cell
allocated, with the reference steps' own σ and gate algebra. Their loops differ only in
that step, given to :func:`run_forward` and :func:`run_backward` as a function of ``t``;
what is left is here:

* forward, the state buffers ``h``, ``c`` (T+1, B, H) with ``h[0], c[0] = state0`` and
  ``h[t+1], c[t+1] = step(t, h[t], c[t])``;
* backward, ∂L/∂h_t = the output's gradient plus what step t+1 sent back;
* padding (``mask[t]`` 0 for a row): the state passes the step unchanged, and so does its
  gradient, which then enters no gate.
"""

from collections.abc import Callable

import numpy as np

Pair = tuple[np.ndarray, np.ndarray]  # (h, c) or (dh, dc), each (B, H)


def gate_views(a: np.ndarray) -> tuple[np.ndarray, ...]:
    """The i, f, g, o blocks of a (B, 4H) array as (B, H) views: ``np.split(a, 4, axis=1)``
    by slicing, which costs a tenth as much (it runs twice a step)."""
    H = a.shape[-1] // 4
    return a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]


def run_forward(step: Callable[[int, np.ndarray, np.ndarray], Pair], xw, state0, mask) -> Pair:
    """h, c (T+1, B, H): ``h[t+1], c[t+1] = step(t, h[t], c[t])`` = (h_t, c_t), or the
    previous state where ``mask[t]`` (B, 1) is 0; ``xw`` (T, B, 4H) gives T and the dtype."""
    T, dtype = len(xw), xw.dtype
    h0, c0 = state0
    h = np.empty((T + 1, *np.shape(h0)), dtype=dtype)  # h[t+1] is h_t; h[0] is h0
    c = np.empty((T + 1, *np.shape(c0)), dtype=dtype)
    h[0], c[0] = h0, c0
    for t in range(T):
        h_new, c_new = step(t, h[t], c[t])
        if mask is None:
            h[t + 1], c[t + 1] = h_new, c_new
        else:  # padding steps carry the previous state through unchanged
            h[t + 1] = np.where(mask[t] > 0, h_new, h[t])
            c[t + 1] = np.where(mask[t] > 0, c_new, c[t])
    return h, c


def run_backward(step: Callable[[int, np.ndarray, np.ndarray], Pair], dhs, dstate_n, mask):
    """(dh_0, dc_0) by BPTT: ``step(t, dh, dc)`` gets all of ∂L/∂h_t and ∂L/∂c_t (zero on
    padded rows) and returns ∂L/∂h_{t-1}, ∂L/∂c_{t-1} through the step's gates (a new array
    each); on padded rows the gradient skips the step. ``dhs`` (T, B, H) from above."""
    dh_next, dc_next = (d.copy() for d in dstate_n)
    for t in reversed(range(len(dhs))):
        dh = dhs[t] + dh_next  # (B, H) from the output and from step t+1
        dc = dc_next
        if mask is None:
            dh_next, dc_next = step(t, dh, dc)
        else:  # padding: the gradient skips the step untouched
            m = mask[t]  # (B, 1)
            dh_next, dc_next = step(t, dh * m, dc * m)
            dh_next += dh * (1.0 - m)
            dc_next += dc * (1.0 - m)
    return dh_next, dc_next
