"""Vanilla (Elman) RNN: one readable step forward and backward, then the same made fast.

One step of one direction of one layer, for a batch of rows; φ = tanh or relu
(torch.nn.RNN's ``nonlinearity``)::

    z   = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh      # (B, H) pre-activation
    h_t = φ(z)

Backward, given dh_t = ∂L/∂h_t (all of it: from the layer above and from step t+1);
φ' through the output h_t: 1 - h_t² (tanh), [h_t > 0] (relu)::

    dz       = dh_t ⊙ φ'(z)
    dx_t     = dz W_ih,   dh_{t-1} = dz W_hh
    dW_ih    = dzᵀ x_t,   dW_hh = dzᵀ h_{t-1},   db_ih = db_hh = Σ_rows dz

The product of T such Jacobians diag(φ') W_hh is why gradients vanish or explode over long
delays: the copy task and ``rnnlab diagnose`` make that visible.

:func:`step_forward` and :func:`step_backward` are these lines, one for one (the last two
are :func:`~rnnlab.numpy.steps.affine_backward`, shared by every cell); the stack runs
:class:`RNNCell`, the same loop over time made fast (a test proves them equal to 1e-12).
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rnnlab.cells import CELLS, NONLINEARITIES
from rnnlab.numpy.activations import relu, relu_grad, tanh, tanh_grad
from rnnlab.numpy.stack import RecurrentStack
from rnnlab.numpy.steps import StepCache, StepGrads, affine_backward

KIND = CELLS["rnn"]  # one "gate" (h itself); state h
PHI = {"tanh": (tanh, tanh_grad), "relu": (relu, relu_grad)}  # φ and φ' of its output


@dataclass(frozen=True, kw_only=True)
class RNNStepCache(StepCache):
    """What :func:`step_backward` reads: :class:`StepCache` (x_t, h_{t-1}, W_ih, W_hh) and φ."""

    h_t: np.ndarray  # (B, H) φ(z), through which φ' is computed
    nonlinearity: str  # "tanh" or "relu"


def step_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, nonlinearity: str = "tanh"):
    """One RNN step: the module docstring's forward equations.

    Args:
        x_t: (B, I) the input at step t.
        h_prev: (B, H) the state h_{t-1}.
        W_ih (H, I), W_hh (H, H), b_ih (H,), b_hh (H,): torch.nn's tensors.
        nonlinearity: φ, "tanh" or "relu".

    Returns:
        h_t (B, H) and the :class:`RNNStepCache` for :func:`step_backward`.
    """
    phi, _ = PHI[nonlinearity]
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (B, H)
    h_t = phi(z)  # (B, H)
    cache = RNNStepCache(
        x_t=x_t, h_prev=h_prev, W_ih=W_ih, W_hh=W_hh, h_t=h_t, nonlinearity=nonlinearity
    )
    return h_t, cache


def step_backward(dh_t, cache: RNNStepCache) -> StepGrads:
    """One RNN step backward: the module docstring's backward equations.

    Args:
        dh_t: (B, H) ∂L/∂h_t, from the layer above and from step t+1 together.
        cache: what :func:`step_forward` returned.
    """
    _, phi_grad = PHI[cache.nonlinearity]
    dz = dh_t * phi_grad(cache.h_t)  # (B, H)
    return affine_backward(dz, dz, cache)  # dx_t, dh_{t-1}, dW_ih, dW_hh, db_ih, db_hh


class RNNCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step
    h_new: np.ndarray  # (T, B, H) φ(z_t) before masking
    mask: np.ndarray | None  # (T, B, 1)


class RNNCell:
    """One direction of one Elman RNN layer over a whole sequence; state is ``(h,)``.

    The math is in ``step_forward``/``step_backward`` above; this loop is the same
    computation made fast. The stack has done ``xw = x W_ihᵀ + b_ih`` for all steps in one
    GEMM and turns the returned dz into the weight and bias gradients in one GEMM each. The
    tricks:

    * **b_hh joins xw** for all steps at once, so a forward step is three calls: the GEMM,
      the add, φ, each writing into preallocated buffers (``out=``).
    * **φ' for all steps at once**: it does not depend on the incoming gradient, so the
      backward computes it (zeroed on padded steps) before the loop, leaving two calls and
      one GEMM a step.
    * **Padding** (``mask`` 0): the state is copied through, and with φ' zeroed there no
      gradient enters a padded step while dh passes it unchanged.
    """

    gates = KIND.num_gates
    state_names = KIND.states

    def __init__(self, nonlinearity: str = "tanh"):
        self.nonlinearity = nonlinearity

    def forward(self, xw, state0, W_hh, b_hh, mask=None):
        """xw (T, B, H) = x W_ihᵀ + b_ih; state0 ``(h0,)`` (B, H); W_hh (H, H); b_hh (H,).

        Returns hs (T, B, H), ``(h_T,)`` and an :class:`RNNCache`.
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
        """dhs (T, B, H) from above, ``(dh_T,)``; returns dxw = dhw = dz (T, B, H), ``(dh0,)``."""
        T, B, H = dhs.shape
        grad = tanh_grad if self.nonlinearity == "tanh" else relu_grad
        dz_per_dh = grad(cache.h_new)  # (T, B, H) φ'
        if cache.mask is not None:
            dz_per_dh *= cache.mask  # padded steps: no gradient into the step, all of it skips
        dz = np.empty((T, B, H), dtype=dhs.dtype)
        dh_next = np.array(dstate_n[0], dtype=dhs.dtype)  # (B, H) buffer, updated in place
        dh = np.empty((B, H), dtype=dhs.dtype)
        for t in reversed(range(T)):
            np.add(dhs[t], dh_next, out=dh)
            np.multiply(dh, dz_per_dh[t], out=dz[t])
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
