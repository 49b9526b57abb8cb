"""Peephole LSTM (Gers & Schmidhuber, 2000): gates that also read the cell state.

The plain LSTM's gates see only x_t and h_{t-1}, i.e. the cell state squashed by tanh and
filtered by the output gate; a closed output gate hides c entirely. Peephole connections let
the gates read c directly, through one diagonal (elementwise) weight vector per gate: i and
f read the old state c_{t-1} (they decide how to write it), o reads the new state c_t (it
decides how much of it to show). For one direction of one layer (gate order i, f, g, o)::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh           # (B, 4H) as in the plain LSTM
    i_t = σ(a_t[0:H]   + p_i ⊙ c_{t-1})      input gate
    f_t = σ(a_t[H:2H]  + p_f ⊙ c_{t-1})      forget gate
    g_t = tanh(a_t[2H:3H])                   candidate cell (no peephole)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(a_t[3H:4H] + p_o ⊙ c_t)          output gate, reading the *new* cell state
    h_t = o_t ⊙ tanh(c_t)

Extra parameters per layer and direction (each (H,), initialised to 0, so the cell starts
as a plain LSTM): ``weight_peephole_i``, ``weight_peephole_f``, ``weight_peephole_o``, named
``weight_peephole_i_l{k}{_reverse}`` etc. in ``params``.

Backward, for dh = ∂L/∂h_t and dc = ∂L/∂c_t (from above and from step t+1); dẑ denotes the
gradient of a gate's full pre-activation (a + p ⊙ c)::

    dẑ_o = dh ⊙ tanh(c_t) ⊙ o(1 - o)
    dc  += dh ⊙ o ⊙ (1 - tanh²(c_t)) + dẑ_o ⊙ p_o         (c_t reaches h twice)
    dẑ_i = dc ⊙ g ⊙ i(1 - i),   dẑ_f = dc ⊙ c_{t-1} ⊙ f(1 - f),   dẑ_g = dc ⊙ i ⊙ (1 - g²)
    dc_{t-1} = dc ⊙ f + dẑ_i ⊙ p_i + dẑ_f ⊙ p_f
    dp_i += Σ_b dẑ_i ⊙ c_{t-1},  dp_f += Σ_b dẑ_f ⊙ c_{t-1},  dp_o += Σ_b dẑ_o ⊙ c_t
    da   = [dẑ_i, dẑ_f, dẑ_g, dẑ_o],   dh_{t-1} = da W_hh

The peepholes add to the pre-activation after the recurrent term, so ∂L/∂(W_hh h + b_hh) and
∂L/∂(W_ih x + b_ih) are both ``da``, exactly as in the plain LSTM.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh_grad
from rnnlab.numpy.stack import RecurrentStack

PEEPHOLE_KEYS = ("weight_peephole_i", "weight_peephole_f", "weight_peephole_o")


class PeepholeLSTMCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step: what dW_hh needs
    c: np.ndarray  # (T+1, B, H) c_0 .. c_T (carried through padding)
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    c_new: np.ndarray  # (T, B, H) the *unmasked* new cell state c_t that o and h read
    tanh_c: np.ndarray  # (T, B, H) tanh(c_new)
    mask: np.ndarray | None  # (T, B, 1) 1.0 where the step is real, 0.0 on padding


class PeepholeLSTMCell:
    """One direction of one peephole-LSTM layer over a whole sequence; state is ``(h, c)``."""

    gates = 4
    state_names = ("h", "c")

    @staticmethod
    def extra_params(hidden_size: int) -> dict[str, np.ndarray]:
        """Initial peephole weights p_i, p_f, p_o: zeros (H,) each, i.e. a plain LSTM."""
        return {key: np.zeros(hidden_size) for key in PEEPHOLE_KEYS}

    def forward(
        self,
        xw,
        state0,
        W_hh,
        b_hh,
        mask=None,
        *,
        weight_peephole_i,
        weight_peephole_f,
        weight_peephole_o,
    ):
        """Run the recurrence.

        Args:
            xw: (T, B, 4H) ``x_t W_ihᵀ + b_ih`` for every step (the stack's input GEMM).
            state0: ``(h0, c0)``, each (B, H).
            W_hh: (4H, H); b_hh: (4H,).
            mask: (T, B, 1) or None. Where 0, the step is padding: state passes unchanged.
            weight_peephole_i, weight_peephole_f, weight_peephole_o: (H,) p_i, p_f, p_o.

        Returns:
            hs (T, B, H), ``(h_T, c_T)`` and a :class:`PeepholeLSTMCache`.
        """
        T, B, G = xw.shape
        H = G // 4
        p_i, p_f, p_o = weight_peephole_i, weight_peephole_f, weight_peephole_o
        h = np.empty((T + 1, B, H), dtype=xw.dtype)  # h[t+1] is h_t; h[0] is h0
        c = np.empty((T + 1, B, H), dtype=xw.dtype)
        gates = np.empty((T, B, G), dtype=xw.dtype)
        c_new = np.empty((T, B, H), dtype=xw.dtype)
        tanh_c = np.empty((T, B, H), dtype=xw.dtype)
        h[0], c[0] = state0
        W_hh_T = W_hh.T  # (H, 4H)
        for t in range(T):
            z = gates[t]  # (B, 4H), filled in place: pre-activation, then activation
            np.dot(h[t], W_hh_T, out=z)
            z += xw[t]
            z += b_hh
            z[:, :H] += p_i * c[t]  # i and f peek at the old cell state
            z[:, H : 2 * H] += p_f * c[t]
            sigmoid(z[:, : 2 * H], out=z[:, : 2 * H])  # i, f
            np.tanh(z[:, 2 * H : 3 * H], out=z[:, 2 * H : 3 * H])  # g
            i, f, g = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H]
            np.add(f * c[t], i * g, out=c_new[t])  # (B, H)
            z[:, 3 * H :] += p_o * c_new[t]  # o peeks at the new one
            sigmoid(z[:, 3 * H :], out=z[:, 3 * H :])  # o
            np.tanh(c_new[t], out=tanh_c[t])
            h_new = z[:, 3 * H :] * tanh_c[t]  # (B, H)
            if mask is None:
                c[t + 1], h[t + 1] = c_new[t], h_new
            else:  # padding steps carry the previous state through unchanged
                c[t + 1] = np.where(mask[t] > 0, c_new[t], c[t])
                h[t + 1] = np.where(mask[t] > 0, h_new, h[t])
        cache = PeepholeLSTMCache(h[:-1], c, gates, c_new, tanh_c, mask)
        return h[1:], (h[T], c[T]), cache

    def backward(
        self,
        dhs,
        dstate_n,
        cache: PeepholeLSTMCache,
        W_hh,
        *,
        weight_peephole_i,
        weight_peephole_f,
        weight_peephole_o,
    ):
        """Backpropagate through time.

        Args:
            dhs: (T, B, H) ∂L/∂h_t from above (outputs).
            dstate_n: ``(dh_T, dc_T)`` ∂L/∂ of the final state, each (B, H).
            cache: what :meth:`forward` returned; W_hh (4H, H) and the peepholes as there.

        Returns:
            ``dxw`` (T, B, 4H) ∂L/∂(x_t W_ihᵀ + b_ih), ``dhw`` ∂L/∂(h_{t-1} W_hhᵀ + b_hh)
            (the same array), ``(dh0, dc0)``, and ``{key: (H,)}`` for the three peepholes.
        """
        T, B, H = dhs.shape
        p_i, p_f, p_o = weight_peephole_i, weight_peephole_f, weight_peephole_o
        da = np.empty((T, B, 4 * H), dtype=dhs.dtype)
        dp_i, dp_f, dp_o = (np.zeros(H, dtype=dhs.dtype) for _ in range(3))
        dh_next, dc_next = (d.copy() for d in dstate_n)
        for t in reversed(range(T)):
            g4 = cache.gates[t]
            i, f, g, o = g4[:, :H], g4[:, H : 2 * H], g4[:, 2 * H : 3 * H], g4[:, 3 * H :]
            dh = dhs[t] + dh_next  # (B, H)
            dc = dc_next
            if cache.mask is not None:  # padding: the gradient skips the step untouched
                m = cache.mask[t]
                dh_skip, dc_skip = dh * (1.0 - m), dc * (1.0 - m)
                dh, dc = dh * m, dc * m
            c_prev, c_t, tc = cache.c[t], cache.c_new[t], cache.tanh_c[t]
            dat = da[t]
            dz_o = np.multiply(dh * tc, sigmoid_grad(o), out=dat[:, 3 * H :])  # (B, H)
            dc = dc + dh * o * tanh_grad(tc) + dz_o * p_o  # (B, H)
            dz_i = np.multiply(dc * g, sigmoid_grad(i), out=dat[:, :H])
            dz_f = np.multiply(dc * c_prev, sigmoid_grad(f), out=dat[:, H : 2 * H])
            np.multiply(dc * i, tanh_grad(g), out=dat[:, 2 * H : 3 * H])  # dz_g
            dp_i += (dz_i * c_prev).sum(axis=0)
            dp_f += (dz_f * c_prev).sum(axis=0)
            dp_o += (dz_o * c_t).sum(axis=0)
            dh_next = dat @ W_hh  # (B, H)
            dc_next = dc * f + dz_i * p_i + dz_f * p_f
            if cache.mask is not None:
                dh_next += dh_skip
                dc_next += dc_skip
        extra_grads = dict(zip(PEEPHOLE_KEYS, (dp_i, dp_f, dp_o), strict=True))
        return da, da, (dh_next, dc_next), extra_grads


class PeepholeLSTM(RecurrentStack):
    """Multi-layer, optionally bidirectional peephole LSTM.

    torch.nn.LSTM's four tensors per layer and direction (``weight_ih_l{k}{_reverse}``
    (4H × I_k), ``weight_hh_l{k}{_reverse}`` (4H × H), ``bias_ih_l{k}{_reverse}``,
    ``bias_hh_l{k}{_reverse}`` (4H)) plus three peephole vectors
    ``weight_peephole_{i,f,o}_l{k}{_reverse}`` (H), initialised to 0. ``state`` is
    ``(h, c)``. See :class:`RecurrentStack` for the arguments and the interface.
    """

    cell_class = PeepholeLSTMCell
