"""GRU: one readable step forward and backward, then the same computation made fast.

One step of one direction of one layer, for a batch of rows (gate order r, z, n, as
torch.nn.GRU and ``rnnlab.cells.CELLS["gru"].gates``)::

    xw  = x_t W_ihᵀ + b_ih          # (B, 3H) what the input adds,   blocks xw_r, xw_z, xw_n
    hw  = h_{t-1} W_hhᵀ + b_hh      # (B, 3H) what the state adds,   blocks hw_r, hw_z, hw_n
    z_r = xw_r + hw_r,        r = σ(z_r)          reset gate
    z_z = xw_z + hw_z,        z = σ(z_z)          update gate
    z_n = xw_n + r ⊙ hw_n,    n = tanh(z_n)       candidate
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

``z`` is torch's name for the update gate; as everywhere in this engine a ``z_`` with a
gate's name is that gate's pre-activation, so ``z_z`` is the update gate's. The reset gate
scales hw_n *with* b_hn inside it: this is why torch keeps two bias vectors, and why the
gradients of xw and hw differ in the n block.

Backward, given dh_t = ∂L/∂h_t (all of it: from the layer above and from step t+1);
σ' = a(1 - a) and tanh' = 1 - a² of the activation a::

    dn       = dh_t ⊙ (1 - z),     dz = dh_t ⊙ (h_{t-1} - n)
    dz_n     = dn ⊙ (1 - n²)
    dr       = dz_n ⊙ hw_n
    dz_r     = dr ⊙ r(1 - r),      dz_z = dz ⊙ z(1 - z)
    dxw      = [dz_r, dz_z, dz_n]                     # (B, 3H) ∂L/∂xw
    dhw      = [dz_r, dz_z, dz_n ⊙ r]                 # (B, 3H) ∂L/∂hw
    dx_t     = dxw W_ih
    dh_{t-1} = dhw W_hh + dh_t ⊙ z                    h_{t-1} also reaches h_t directly
    dW_ih    = dxwᵀ x_t,   dW_hh = dhwᵀ h_{t-1},   db_ih = Σ_rows dxw,   db_hh = Σ_rows dhw

:func:`step_forward` and :func:`step_backward` are these lines, one for one (the last three
are :func:`~rnnlab.numpy.steps.affine_backward`, plus dh_t ⊙ z); the stack runs
:class:`GRUCell`, the same loop over time made fast (a test proves them equal to 1e-12).
"""

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from rnnlab.cells import CELLS
from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from rnnlab.numpy.stack import BACKWARD_BLOCK_ELEMENTS, RecurrentStack
from rnnlab.numpy.steps import StepCache, StepGrads, affine_backward

KIND = CELLS["gru"]  # gates r, z, n; state h


@dataclass(frozen=True, kw_only=True)
class GRUStepCache(StepCache):
    """What :func:`step_backward` reads: :class:`StepCache` (x_t, h_{t-1}, W_ih, W_hh) and
    the gates."""

    r: np.ndarray  # (B, H) reset gate
    z: np.ndarray  # (B, H) update gate
    n: np.ndarray  # (B, H) candidate
    hw_n: np.ndarray  # (B, H) h_{t-1} W_hnᵀ + b_hn, which r scales


def step_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    """One GRU step: the module docstring's forward equations.

    Args:
        x_t: (B, I) the input at step t.
        h_prev: (B, H) the state h_{t-1}.
        W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,): torch.nn's tensors.

    Returns:
        h_t (B, H) and the :class:`GRUStepCache` for :func:`step_backward`.
    """
    xw = x_t @ W_ih.T + b_ih  # (B, 3H)
    hw = h_prev @ W_hh.T + b_hh  # (B, 3H)
    xw_r, xw_z, xw_n = np.split(xw, 3, axis=1)  # (B, H) each
    hw_r, hw_z, hw_n = np.split(hw, 3, axis=1)  # (B, H) each
    z_r = xw_r + hw_r  # (B, H)
    r = sigmoid(z_r)  # (B, H)
    z_z = xw_z + hw_z  # (B, H)
    z = sigmoid(z_z)  # (B, H)
    z_n = xw_n + r * hw_n  # (B, H)
    n = tanh(z_n)  # (B, H)
    h_t = (1.0 - z) * n + z * h_prev  # (B, H)
    cache = GRUStepCache(x_t=x_t, h_prev=h_prev, W_ih=W_ih, W_hh=W_hh, r=r, z=z, n=n, hw_n=hw_n)
    return h_t, cache


def step_backward(dh_t, cache: GRUStepCache) -> StepGrads:
    """One GRU step backward: the module docstring's backward equations.

    Args:
        dh_t: (B, H) ∂L/∂h_t, from the layer above and from step t+1 together.
        cache: what :func:`step_forward` returned.
    """
    r, z, n, h_prev = cache.r, cache.z, cache.n, cache.h_prev
    dn = dh_t * (1.0 - z)  # (B, H)
    dz = dh_t * (h_prev - n)  # (B, H)
    dz_n = dn * tanh_grad(n)  # (B, H)
    dr = dz_n * cache.hw_n  # (B, H)
    dz_r = dr * sigmoid_grad(r)  # (B, H)
    dz_z = dz * sigmoid_grad(z)  # (B, H)
    dxw = np.concatenate([dz_r, dz_z, dz_n], axis=1)  # (B, 3H)
    dhw = np.concatenate([dz_r, dz_z, dz_n * r], axis=1)  # (B, 3H)
    grads = affine_backward(dxw, dhw, cache)  # dx_t, dh_{t-1} = dhw W_hh, dW_ih, ...
    return replace(grads, dh_prev=grads.dh_prev + dh_t * z)  # h_{t-1} also reaches h_t


class GRUCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step
    gates: np.ndarray  # (T, B, 3H) activated r, z, n
    hw_n: np.ndarray  # (T, B, H) h_{t-1} W_hnᵀ + b_hn
    mask: np.ndarray | None  # (T, B, 1)


class GRUCell:
    """One direction of one GRU layer over a whole sequence; state is ``(h,)``.

    The math is in ``step_forward``/``step_backward`` above; this loop is the same
    computation made fast. The stack has done ``xw`` for all steps in one GEMM and turns the
    returned dxw, dhw into the weight and bias gradients in one GEMM each. The tricks:

    * **One tanh for both sigmoid gates.** σ(z) = ½ tanh(z/2) + ½ (the formula of
      :func:`~rnnlab.numpy.activations.sigmoid`): the r and z columns of W_hhᵀ and of
      xw + b_hh are halved once, before the loop (exact), so a step takes one tanh over
      (B, 2H) and two operations for r and z together.
    * **b_hr and b_hz join xw** for all steps at once; b_hn cannot (r multiplies it), so it
      is added to h_{t-1} W_hnᵀ each step, and that hw_n is cached for the backward.
    * **h_t = n + z ⊙ (h_{t-1} - n)**: (1 - z) ⊙ n + z ⊙ h_{t-1} up to rounding, in one
      operation fewer.
    * **Backward: the factors that do not depend on the incoming gradient** are computed
      for blocks of steps at once (as in the LSTM), each named for what it multiplies
      (· on the right is the factor on its left)::

          dz_zn_per_dh   = [(h_{t-1} - n) σ'(z), (1 - z) tanh'(n)]     [dz_z, dz_n] = dh ⊙ ·
          dz_r_per_dz_n  = hw_n σ'(r)                                   dz_r = dz_n ⊙ ·
          dh_prev_per_dh = z                                   dh_{t-1} = dhw W_hh + dh ⊙ ·

      leaving eight calls and one GEMM a step.
    * **Padding** (``mask`` 0): the state is copied through; dz_zn_per_dh is zeroed (so dz_r
      is too) and dh_prev_per_dh is 1, so dh passes a padded step unchanged.
    """

    gates = KIND.num_gates
    state_names = KIND.states

    def forward(self, xw, state0, W_hh, b_hh, mask=None):
        """xw (T, B, 3H) = x W_ihᵀ + b_ih; state0 ``(h0,)`` (B, H); W_hh (3H, H); b_hh (3H,).

        Returns hs (T, B, H), ``(h_T,)`` and a :class:`GRUCache`.
        """
        T, B, G = xw.shape
        H = G // 3
        dtype = xw.dtype
        (h0,) = state0
        h = np.empty((T + 1, B, H), dtype=dtype)
        hw_n = np.empty((T, B, H), dtype=dtype)
        h[0] = h0
        scale = np.ones(G, dtype=dtype)
        scale[: 2 * H] = 0.5
        W_scaled = W_hh.T * scale  # (H, 3H): r, z columns halved, n's as they are
        gates = np.array(xw, dtype=dtype)  # (T, B, 3H), becomes the activated r, z, n
        gates[:, :, : 2 * H] += b_hh[: 2 * H]
        gates[:, :, : 2 * H] *= 0.5
        b_hn = b_hh[2 * H :]
        hw = np.empty((B, G), dtype=dtype)  # h_{t-1} W_scaled, no bias
        r_hw_n = np.empty((B, H), dtype=dtype)
        padding = None if mask is None else mask <= 0  # (T, B, 1)
        for t in range(T):
            np.dot(h[t], W_scaled, out=hw)
            rz = gates[t, :, : 2 * H]
            rz += hw[:, : 2 * H]
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5  # r, z = σ(·)
            r, z = rz[:, :H], rz[:, H:]
            np.add(hw[:, 2 * H :], b_hn, out=hw_n[t])  # hw_n = h_{t-1} W_hnᵀ + b_hn
            n = gates[t, :, 2 * H :]  # holds xw_n
            np.multiply(r, hw_n[t], out=r_hw_n)
            n += r_hw_n
            np.tanh(n, out=n)  # n = tanh(xw_n + r ⊙ hw_n)
            np.subtract(h[t], n, out=h[t + 1])
            h[t + 1] *= z
            h[t + 1] += n  # n + z (h_{t-1} - n)
            if padding is not None:  # padded steps carry the previous state through
                np.copyto(h[t + 1], h[t], where=padding[t])
        cache = GRUCache(h_prev=h[:-1], gates=gates, hw_n=hw_n, mask=mask)
        return h[1:], (h[T],), cache

    def backward(self, dhs, dstate_n, cache: GRUCache, W_hh):
        """dhs (T, B, H) from above, ``(dh_T,)``; returns dxw, dhw (T, B, 3H) and ``(dh0,)``."""
        T, B, H = dhs.shape
        dtype = dhs.dtype
        gates3 = cache.gates.reshape(T, B, 3, H)
        r, z, n = (gates3[:, :, k] for k in range(3))  # each (T, B, H)
        dxw = np.empty((T, B, 3 * H), dtype=dtype)
        dhw = np.empty((T, B, 3 * H), dtype=dtype)
        dxw3 = dxw.reshape(T, B, 3, H)
        dh_next = np.array(dstate_n[0], dtype=dtype)  # (B, H) buffer, updated in place
        dh = np.empty((B, H), dtype=dtype)
        dh_direct = np.empty((B, H), dtype=dtype)  # dh ⊙ z: what passes straight to h_{t-1}
        real = None if cache.mask is None else cache.mask > 0  # (T, B, 1)
        block = max(1, BACKWARD_BLOCK_ELEMENTS // (B * H))
        for stop in range(T, 0, -block):
            steps = slice(max(0, stop - block), stop)
            z_k = z[steps]
            dz_zn_per_dh = np.stack(
                [
                    (cache.h_prev[steps] - n[steps]) * sigmoid_grad(z_k),
                    (1.0 - z_k) * tanh_grad(n[steps]),
                ],
                axis=2,
            )  # (K, B, 2, H)
            dz_r_per_dz_n = cache.hw_n[steps] * sigmoid_grad(r[steps])  # (K, B, H)
            dh_prev_per_dh = z_k
            if real is not None:  # padded steps: no gate gradient, dh passes through whole
                dz_zn_per_dh *= real[steps, :, :, None]
                dh_prev_per_dh = np.where(real[steps], z_k, 1.0)
            for k in reversed(range(stop - steps.start)):
                t = steps.start + k
                np.add(dhs[t], dh_next, out=dh)
                np.multiply(dh[:, None, :], dz_zn_per_dh[k], out=dxw3[t, :, 1:])  # dz_z, dz_n
                dz_n = dxw3[t, :, 2]
                np.multiply(dz_n, dz_r_per_dz_n[k], out=dxw3[t, :, 0])  # dz_r
                dhw[t, :, : 2 * H] = dxw[t, :, : 2 * H]
                np.multiply(dz_n, r[t], out=dhw[t, :, 2 * H :])
                np.dot(dhw[t], W_hh, out=dh_next)
                np.multiply(dh, dh_prev_per_dh[k], out=dh_direct)
                dh_next += dh_direct
        return dxw, dhw, (dh_next,)


class GRU(RecurrentStack):
    """Multi-layer, optionally bidirectional GRU with torch.nn.GRU's parameters.

    ``state`` is ``h`` (num_layers·num_directions, B, H); parameters ``weight_ih_l{k}``
    (3H × I_k), ``weight_hh_l{k}`` (3H × H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H), with
    ``_reverse`` for the backward direction. See :class:`RecurrentStack`.
    """

    cell_class = GRUCell
