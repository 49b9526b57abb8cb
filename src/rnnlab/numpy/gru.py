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

from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh_grad
from rnnlab.numpy.stack import RecurrentStack


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

        Returns hs (T, B, H), ``(h_T,)`` and a :class:`GRUCache`.
        """
        T, B, G = xw.shape
        H = G // 3
        (h0,) = state0
        h = np.empty((T + 1, B, H), dtype=xw.dtype)
        gates = np.empty((T, B, G), dtype=xw.dtype)
        a = np.empty((T, B, H), dtype=xw.dtype)
        h[0] = h0
        W_hh_T = W_hh.T  # (H, 3H)
        for t in range(T):
            hw = h[t] @ W_hh_T  # (B, 3H)
            hw += b_hh
            rzn = gates[t]
            np.add(xw[t, :, : 2 * H], hw[:, : 2 * H], out=rzn[:, : 2 * H])
            sigmoid(rzn[:, : 2 * H], out=rzn[:, : 2 * H])  # r, z
            r, z = rzn[:, :H], rzn[:, H : 2 * H]
            a[t] = hw[:, 2 * H :]
            np.tanh(xw[t, :, 2 * H :] + r * a[t], out=rzn[:, 2 * H :])  # n
            n = rzn[:, 2 * H :]
            h_new = n + z * (h[t] - n)  # (1 - z) n + z h_{t-1}
            h[t + 1] = h_new if mask is None else np.where(mask[t] > 0, h_new, h[t])
        cache = GRUCache(h_prev=h[:-1], gates=gates, a=a, mask=mask)
        return h[1:], (h[T],), cache

    def backward(self, dhs, dstate_n, cache: GRUCache, W_hh):
        """dhs (T, B, H) from above, ``(dh_T,)``; returns dxw, dhw (T, B, 3H) and ``(dh0,)``."""
        T, B, H = dhs.shape
        dxw = np.empty((T, B, 3 * H), dtype=dhs.dtype)
        dhw = np.empty((T, B, 3 * H), dtype=dhs.dtype)
        (dh_next,) = dstate_n
        for t in reversed(range(T)):
            g3 = cache.gates[t]
            r, z, n = g3[:, :H], g3[:, H : 2 * H], g3[:, 2 * H :]
            h_prev = cache.h_prev[t]
            dh = dhs[t] + dh_next  # (B, H)
            if cache.mask is not None:
                dh_skip = dh * (1.0 - cache.mask[t])
                dh = dh * cache.mask[t]
            dn_hat = dh * (1.0 - z) * tanh_grad(n)  # (B, H)
            np.multiply(dn_hat * cache.a[t], sigmoid_grad(r), out=dxw[t, :, :H])  # dr̂
            np.multiply(dh * (h_prev - n), sigmoid_grad(z), out=dxw[t, :, H : 2 * H])  # dẑ
            dxw[t, :, 2 * H :] = dn_hat
            dhw[t, :, : 2 * H] = dxw[t, :, : 2 * H]
            np.multiply(dn_hat, r, out=dhw[t, :, 2 * H :])
            dh_next = dhw[t] @ W_hh + dh * z  # (B, H)
            if cache.mask is not None:
                dh_next += dh_skip
        return dxw, dhw, (dh_next,)


class GRU(RecurrentStack):
    """Multi-layer, optionally bidirectional GRU with torch.nn.GRU's parameters.

    ``state`` is ``h`` (num_layers·num_directions, B, H); parameters ``weight_ih_l{k}``
    (3H × I_k), ``weight_hh_l{k}`` (3H × H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H), with
    ``_reverse`` for the backward direction. See :class:`RecurrentStack`.
    """

    cell_class = GRUCell
