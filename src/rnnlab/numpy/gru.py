"""GRU: forward and backward through time, side by side.

Recurrence for one direction of one layer (gate order r, z, n, as torch.nn.GRU)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    a_t = W_hn h_{t-1} + b_hn                               (kept: the reset gate scales it)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ a_t)                 candidate
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Note that b_hn sits *inside* r_t ⊙ (·): this is why torch keeps two bias vectors and why the
gradient of the recurrent pre-activation differs from that of the input one in the n block.

Backward, for dh = ∂L/∂h_t::

    dn   = dh ⊙ (1 - z),         dz = dh ⊙ (h_{t-1} - n),       dh_{t-1} ⊙= dh ⊙ z
    dn̂   = dn ⊙ (1 - n²)                                        (n's pre-activation)
    dr̂   = dn̂ ⊙ a ⊙ r(1 - r),    dẑ = dz ⊙ z(1 - z)
    dxw  = [dr̂, dẑ, dn̂]          ∂L/∂(W_ih x + b_ih)
    dhw  = [dr̂, dẑ, dn̂ ⊙ r]      ∂L/∂(W_hh h + b_hh)
    dh_{t-1} = dhw W_hh + dh ⊙ z
"""

from typing import NamedTuple

import numpy as np

from rnnlab.numpy.activations import sigmoid_grad, tanh_grad
from rnnlab.numpy.stack import BACKWARD_BLOCK_ELEMENTS, RecurrentStack


class GRUCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step
    gates: np.ndarray  # (T, B, 3H) activated r, z, n
    a: np.ndarray  # (T, B, H) W_hn h_{t-1} + b_hn
    mask: np.ndarray | None  # (T, B, 1)


class GRUCell:
    """One direction of one GRU layer over a whole sequence; state is ``(h,)``."""

    gates = 3
    state_names = ("h",)

    def forward(self, xw, state0, W_hh, b_hh, mask=None):
        """xw (T, B, 3H) = x W_ihᵀ + b_ih; state0 ``(h0,)`` (B, H); W_hh (3H, H); b_hh (3H,).

        σ(z) = ½ tanh(z/2) + ½: the r, z columns of xw + b_hh and of W_hh are halved (exactly)
        once, so each step takes one tanh over (B, 2H) for both sigmoid gates.

        Returns hs (T, B, H), ``(h_T,)`` and a :class:`GRUCache`.
        """
        T, B, G = xw.shape
        H = G // 3
        dtype = xw.dtype
        (h0,) = state0
        h = np.empty((T + 1, B, H), dtype=dtype)
        a = np.empty((T, B, H), dtype=dtype)
        h[0] = h0
        scale = np.ones(G, dtype=dtype)
        scale[: 2 * H] = 0.5
        W_scaled = W_hh.T * scale  # (H, 3H): r, z columns halved, n's as they are
        gates = np.array(xw, dtype=dtype)  # (T, B, 3H), becomes the activated r, z, n
        gates[:, :, : 2 * H] += b_hh[: 2 * H]
        gates[:, :, : 2 * H] *= 0.5
        b_hn = b_hh[2 * H :]
        hw = np.empty((B, G), dtype=dtype)
        ra = np.empty((B, H), dtype=dtype)
        padding = None if mask is None else mask <= 0  # (T, B, 1)
        for t in range(T):
            np.dot(h[t], W_scaled, out=hw)
            rz = gates[t, :, : 2 * H]
            rz += hw[:, : 2 * H]
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5  # r, z = σ(·)
            r, z = rz[:, :H], rz[:, H:]
            np.add(hw[:, 2 * H :], b_hn, out=a[t])  # a = W_hn h_{t-1} + b_hn
            n = gates[t, :, 2 * H :]  # holds xw_n
            np.multiply(r, a[t], out=ra)
            n += ra
            np.tanh(n, out=n)  # n = tanh(xw_n + r ⊙ a)
            np.subtract(h[t], n, out=h[t + 1])
            h[t + 1] *= z
            h[t + 1] += n  # (1 - z) n + z h_{t-1}
            if padding is not None:  # padded steps carry the previous state through
                np.copyto(h[t + 1], h[t], where=padding[t])
        cache = GRUCache(h_prev=h[:-1], gates=gates, a=a, mask=mask)
        return h[1:], (h[T],), cache

    def backward(self, dhs, dstate_n, cache: GRUCache, W_hh):
        """dhs (T, B, H) from above, ``(dh_T,)``; returns dxw, dhw (T, B, 3H) and ``(dh0,)``.

        The factors of dẑ, dn̂ and dr̂ that do not depend on the incoming gradient are computed
        for blocks of steps at once (see the LSTM), leaving eight calls and one GEMM a step.
        """
        T, B, H = dhs.shape
        dtype = dhs.dtype
        gates3 = cache.gates.reshape(T, B, 3, H)
        r, z, n = (gates3[:, :, k] for k in range(3))  # each (T, B, H)
        dxw = np.empty((T, B, 3 * H), dtype=dtype)
        dhw = np.empty((T, B, 3 * H), dtype=dtype)
        dxw3 = dxw.reshape(T, B, 3, H)
        dh_next = np.array(dstate_n[0], dtype=dtype)  # (B, H) buffer, updated in place
        dh = np.empty((B, H), dtype=dtype)
        dh_z = np.empty((B, H), dtype=dtype)
        real = None if cache.mask is None else cache.mask > 0  # (T, B, 1)
        #   [dẑ, dn̂] = dh ⊙ [(h_{t-1} - n) σ'(z),  (1 - z) tanh'(n)]        → by_dh
        #   dr̂ = dn̂ ⊙ [a σ'(r)]                                              → by_dn
        #   dh_{t-1} = [dr̂, dẑ, dn̂ ⊙ r] W_hh + dh ⊙ z
        block = max(1, BACKWARD_BLOCK_ELEMENTS // (B * H))
        for stop in range(T, 0, -block):
            steps = slice(max(0, stop - block), stop)
            z_k = z[steps]
            by_dh = np.stack(
                [
                    (cache.h_prev[steps] - n[steps]) * sigmoid_grad(z_k),
                    (1.0 - z_k) * tanh_grad(n[steps]),
                ],
                axis=2,
            )  # (K, B, 2, H)
            by_dn = cache.a[steps] * sigmoid_grad(r[steps])  # (K, B, H)
            keep = z_k  # how much of dh_t passes straight to h_{t-1}
            if real is not None:  # padded steps: no gate gradient, dh passes through whole
                by_dh *= real[steps, :, :, None]
                keep = np.where(real[steps], z_k, 1.0)
            for k in reversed(range(stop - steps.start)):
                t = steps.start + k
                np.add(dhs[t], dh_next, out=dh)
                np.multiply(dh[:, None, :], by_dh[k], out=dxw3[t, :, 1:])  # dẑ, dn̂
                dn_hat = dxw3[t, :, 2]
                np.multiply(dn_hat, by_dn[k], out=dxw3[t, :, 0])  # dr̂
                dhw[t, :, : 2 * H] = dxw[t, :, : 2 * H]
                np.multiply(dn_hat, r[t], out=dhw[t, :, 2 * H :])
                np.dot(dhw[t], W_hh, out=dh_next)
                np.multiply(dh, keep[k], out=dh_z)
                dh_next += dh_z
        return dxw, dhw, (dh_next,)


class GRU(RecurrentStack):
    """Multi-layer, optionally bidirectional GRU with torch.nn.GRU's parameters.

    ``state`` is ``h`` (num_layers·num_directions, B, H); parameters ``weight_ih_l{k}``
    (3H × I_k), ``weight_hh_l{k}`` (3H × H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H), with
    ``_reverse`` for the backward direction. See :class:`RecurrentStack`.
    """

    cell_class = GRUCell
