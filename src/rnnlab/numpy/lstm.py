"""LSTM: forward and backward through time, side by side.

Recurrence for one direction of one layer (gate order i, f, g, o, as torch.nn.LSTM)::

    z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          # (B, 4H) pre-activations
    i_t = σ(z_t[0:H])      input gate
    f_t = σ(z_t[H:2H])     forget gate
    g_t = tanh(z_t[2H:3H]) candidate cell
    o_t = σ(z_t[3H:4H])    output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

Backward, for dh = ∂L/∂h_t and dc = ∂L/∂c_t (both arriving from above and from step t+1)::

    do  = dh ⊙ tanh(c_t)
    dc += dh ⊙ o_t ⊙ (1 - tanh²(c_t))
    di  = dc ⊙ g_t,   dg = dc ⊙ i_t,   df = dc ⊙ c_{t-1},   dc_{t-1} = dc ⊙ f_t
    dz  = [di·i(1-i), df·f(1-f), dg·(1-g²), do·o(1-o)]
    dh_{t-1} = dz W_hh

``W_ih x_t + b_ih`` for all t is one GEMM done by the stack before the loop, and the weight
gradients ``dW_ih = Σ_t dzᵀ x_t``, ``dW_hh = Σ_t dzᵀ h_{t-1}`` are one GEMM each after it;
this file holds only what is LSTM-specific: the loop over time.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh_grad
from rnnlab.numpy.stack import RecurrentStack


class LSTMCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step: what dW_hh needs
    c: np.ndarray  # (T+1, B, H) c_0 .. c_T
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    tanh_c: np.ndarray  # (T, B, H) tanh of the *unmasked* new cell state
    mask: np.ndarray | None  # (T, B, 1) 1.0 where the step is real, 0.0 on padding


class LSTMCell:
    """One direction of one LSTM layer over a whole sequence; state is ``(h, c)``."""

    gates = 4
    state_names = ("h", "c")

    def forward(self, xw, state0, W_hh, b_hh, mask=None):
        """Run the recurrence.

        Args:
            xw: (T, B, 4H) ``x_t W_ihᵀ + b_ih`` for every step (the stack's input GEMM).
            state0: ``(h0, c0)``, each (B, H).
            W_hh: (4H, H); b_hh: (4H,).
            mask: (T, B, 1) or None. Where 0, the step is padding: state passes unchanged.

        Returns:
            hs (T, B, H) the hidden states, ``(h_T, c_T)``, and an :class:`LSTMCache`.
        """
        T, B, G = xw.shape
        H = G // 4
        h0, c0 = state0
        h = np.empty((T + 1, B, H), dtype=xw.dtype)  # h[t+1] is h_t; h[0] is h0
        c = np.empty((T + 1, B, H), dtype=xw.dtype)
        gates = np.empty((T, B, G), dtype=xw.dtype)
        tanh_c = np.empty((T, B, H), dtype=xw.dtype)
        h[0], c[0] = h0, c0
        W_hh_T = W_hh.T  # (H, 4H)
        for t in range(T):
            z = gates[t]  # (B, 4H), filled in place: pre-activation, then activation
            np.dot(h[t], W_hh_T, out=z)
            z += xw[t]
            z += b_hh
            sigmoid(z[:, : 2 * H], out=z[:, : 2 * H])  # i, f
            np.tanh(z[:, 2 * H : 3 * H], out=z[:, 2 * H : 3 * H])  # g
            sigmoid(z[:, 3 * H :], out=z[:, 3 * H :])  # o
            i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
            c_new = f * c[t] + i * g  # (B, H)
            np.tanh(c_new, out=tanh_c[t])
            h_new = o * tanh_c[t]  # (B, H)
            if mask is None:
                c[t + 1], h[t + 1] = c_new, h_new
            else:  # padding steps carry the previous state through unchanged
                c[t + 1] = np.where(mask[t] > 0, c_new, c[t])
                h[t + 1] = np.where(mask[t] > 0, h_new, h[t])
        cache = LSTMCache(h_prev=h[:-1], c=c, gates=gates, tanh_c=tanh_c, mask=mask)
        return h[1:], (h[T], c[T]), cache

    def backward(self, dhs, dstate_n, cache: LSTMCache, W_hh):
        """Backpropagate through time.

        Args:
            dhs: (T, B, H) ∂L/∂h_t from above (outputs).
            dstate_n: ``(dh_T, dc_T)`` ∂L/∂ of the final state, each (B, H).
            cache: what :meth:`forward` returned.

        Returns:
            ``dxw`` (T, B, 4H) ∂L/∂(x_t W_ihᵀ + b_ih), ``dhw`` ∂L/∂(h_{t-1} W_hhᵀ + b_hh)
            (the same array for the LSTM), and ``(dh0, dc0)``.
        """
        T, B, H = dhs.shape
        dz = np.empty((T, B, 4 * H), dtype=dhs.dtype)
        dh_next, dc_next = dstate_n
        dh_next, dc_next = dh_next.copy(), dc_next.copy()
        for t in reversed(range(T)):
            g4 = cache.gates[t]
            i, f, g, o = g4[:, :H], g4[:, H : 2 * H], g4[:, 2 * H : 3 * H], g4[:, 3 * H :]
            dh = dhs[t] + dh_next  # (B, H)
            dc = dc_next
            if cache.mask is not None:  # padding: the gradient skips the step untouched
                m = cache.mask[t]
                dh_skip, dc_skip = dh * (1.0 - m), dc * (1.0 - m)
                dh, dc = dh * m, dc * m
            tc = cache.tanh_c[t]
            dc = dc + dh * o * tanh_grad(tc)  # (B, H)
            dzt = dz[t]
            np.multiply(dc * g, sigmoid_grad(i), out=dzt[:, :H])  # di
            np.multiply(dc * cache.c[t], sigmoid_grad(f), out=dzt[:, H : 2 * H])  # df
            np.multiply(dc * i, tanh_grad(g), out=dzt[:, 2 * H : 3 * H])  # dg
            np.multiply(dh * tc, sigmoid_grad(o), out=dzt[:, 3 * H :])  # do
            dh_next = dzt @ W_hh  # (B, H)
            dc_next = dc * f
            if cache.mask is not None:
                dh_next += dh_skip
                dc_next += dc_skip
        return dz, dz, (dh_next, dc_next)


class LSTM(RecurrentStack):
    """Multi-layer, optionally bidirectional LSTM with torch.nn.LSTM's parameters.

    ``state`` is ``(h, c)``, each (num_layers·num_directions, B, H); parameters are named
    ``weight_ih_l{k}{_reverse}`` (4H × I_k), ``weight_hh_l{k}{_reverse}`` (4H × H),
    ``bias_ih_l{k}{_reverse}``, ``bias_hh_l{k}{_reverse}`` (4H). See :class:`RecurrentStack`
    for the arguments and the forward/backward interface.
    """

    cell_class = LSTMCell
