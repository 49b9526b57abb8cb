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

from rnnlab.numpy.activations import sigmoid_grad, tanh_grad
from rnnlab.numpy.stack import BACKWARD_BLOCK_ELEMENTS, RecurrentStack


class LSTMCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step: what dW_hh needs
    c: np.ndarray  # (T+1, B, H) c_0 .. c_T
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    tanh_c: np.ndarray  # (T, B, H) tanh of the *unmasked* new cell state
    mask: np.ndarray | None  # (T, B, 1) 1.0 where the step is real, 0.0 on padding


class LSTMCell:
    """One direction of one LSTM layer over a whole sequence; state is ``(h, c)``.

    Speed (the loop runs T times, so every ufunc call in it counts, most of all for small
    batches where each call costs more than its arithmetic):

    * all four gates take **one** exp over (B, 4H): σ(z) = 1/(1 + e^-z) and
      tanh(z) = 2σ(2z) - 1, with the pre-activation's scaling by -1 or -2 (exact in floating
      point) folded into a scaled copy of W_hh and into xw once, before the loop;
    * b_hh is added to xw for all steps at once;
    * the backward pass precomputes, for blocks of steps at once, every factor that does not
      depend on the incoming gradient (σ' and tanh' products), leaving six ufunc calls and one
      GEMM per step; buffers are reused with ``out=``.
    """

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
        dtype = xw.dtype
        h0, c0 = state0
        h = np.empty((T + 1, B, H), dtype=dtype)  # h[t+1] is h_t; h[0] is h0
        c = np.empty((T + 1, B, H), dtype=dtype)
        tanh_c = np.empty((T, B, H), dtype=dtype)
        h[0], c[0] = h0, c0
        # σ(z) = 1 / (1 + e^-z) for i, f, o and tanh(z) = 2σ(2z) - 1 for g: one exp over all
        # four gates (NumPy's exp is about twice as fast as its tanh). The pre-activation is
        # multiplied by -1 (i, f, o) or -2 (g) — exact in floating point — once, in a scaled
        # copy of W_hh and in xw + b_hh, so a step only adds the two and exponentiates.
        scale = np.full(G, -1.0, dtype=dtype)
        scale[2 * H : 3 * H] = -2.0
        W_scaled = W_hh.T * scale  # (H, 4H)
        gates = np.add(xw, b_hh, dtype=dtype)  # (T, B, 4H), becomes the activated gates
        gates *= scale
        hw = np.empty((B, G), dtype=dtype)  # h_{t-1} W_hhᵀ, scaled
        ig = np.empty((B, H), dtype=dtype)  # i ⊙ g
        padding = None if mask is None else mask <= 0  # (T, B, 1) True where padded
        # Per-step views, made in one pass by iterating the arrays (cheaper than slicing
        # inside the loop, which at small sizes costs as much as the arithmetic).
        i_all, f_all, g_all, o_all = (gates[:, :, k * H : (k + 1) * H] for k in range(4))
        steps = zip(
            gates, i_all, f_all, g_all, o_all, h[:-1], h[1:], c[:-1], c[1:], tanh_c, strict=True
        )
        with np.errstate(over="ignore"):  # e^-z = inf gives σ = 0, as it should
            for t, (z, i, f, g, o, h_prev, h_t, c_prev, c_t, tanh_c_t) in enumerate(steps):
                # z (B, 4H): the scaled pre-activation, then the activations, in place
                np.dot(h_prev, W_scaled, out=hw)
                z += hw
                np.exp(z, out=z)
                z += 1.0
                np.reciprocal(z, out=z)  # σ on i, f, o; σ(2z) on g
                g *= 2.0
                g -= 1.0  # tanh(z) = 2σ(2z) - 1 on g
                np.multiply(f, c_prev, out=c_t)
                np.multiply(i, g, out=ig)
                c_t += ig  # c_t = f ⊙ c_{t-1} + i ⊙ g
                np.tanh(c_t, out=tanh_c_t)
                np.multiply(o, tanh_c_t, out=h_t)  # h_t = o ⊙ tanh(c_t)
                if padding is not None:  # padded steps carry the previous state through
                    np.copyto(c_t, c_prev, where=padding[t])
                    np.copyto(h_t, h_prev, where=padding[t])
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
        dtype = dhs.dtype
        gates4 = cache.gates.reshape(T, B, 4, H)
        i, f, g, o = (gates4[:, :, k] for k in range(4))  # each (T, B, H)
        dz = np.empty((T, B, 4 * H), dtype=dtype)
        dz4 = dz.reshape(T, B, 4, H)
        dh_next = np.array(dstate_n[0], dtype=dtype)  # (B, H) buffers, updated in place
        dc = np.array(dstate_n[1], dtype=dtype)  # ∂L/∂c_t, updated in place step by step
        dc_col = dc[:, None, :]  # (B, 1, H) view of it, to scale three gates in one product
        dh = np.empty((B, H), dtype=dtype)
        tmp = np.empty((B, H), dtype=dtype)
        real = padding = None
        if cache.mask is not None:  # padded steps: no gate gradient, the state passes through
            real, padding = cache.mask > 0, cache.mask <= 0  # (T, B, 1)
        # The factors of the gate gradients that do not depend on the incoming gradient are
        # computed for a block of steps at once (few calls), blocks small enough to stay in
        # cache (one step per block for large B·H, the whole sequence for tiny ones):
        #   dc  += dh ⊙ [o (1 - tanh²c)]                                      → by_dh_c
        #   dẑ_i = dc ⊙ [g σ'(i)],  dẑ_f = dc ⊙ [c_{t-1} σ'(f)],  dẑ_g = dc ⊙ [i tanh'(g)]
        #   dẑ_o = dh ⊙ [tanh(c) σ'(o)]                                        → by_dh_o
        block = max(1, BACKWARD_BLOCK_ELEMENTS // (B * H))
        for stop in range(T, 0, -block):
            steps = slice(max(0, stop - block), stop)
            tc, c_prev = cache.tanh_c[steps], cache.c[:-1][steps]
            by_dh_c = o[steps] * tanh_grad(tc)  # (K, B, H)
            by_dc = np.stack(
                [
                    g[steps] * sigmoid_grad(i[steps]),
                    c_prev * sigmoid_grad(f[steps]),
                    i[steps] * tanh_grad(g[steps]),
                ],
                axis=2,
            )  # (K, B, 3, H)
            by_dh_o = tc * sigmoid_grad(o[steps])  # (K, B, H)
            if real is not None:
                by_dh_c *= real[steps]
                by_dc *= real[steps, :, :, None]
                by_dh_o *= real[steps]
            block_steps = zip(
                dhs[steps], by_dh_c, by_dc, by_dh_o, dz4[steps, :, :3], dz4[steps, :, 3],
                dz[steps], f[steps], strict=True,
            )  # fmt: skip
            for k, per_step in reversed(list(enumerate(block_steps))):
                dhs_t, by_dh_c_t, by_dc_t, by_dh_o_t, dz_ifg_t, dz_o_t, dz_t, f_t = per_step
                np.add(dhs_t, dh_next, out=dh)
                np.multiply(dh, by_dh_c_t, out=tmp)
                dc += tmp  # ∂L/∂c_t: from step t+1, plus through h_t
                np.multiply(dc_col, by_dc_t, out=dz_ifg_t)  # dẑ_i, dẑ_f, dẑ_g
                np.multiply(dh, by_dh_o_t, out=dz_o_t)  # dẑ_o
                np.dot(dz_t, W_hh, out=dh_next)  # ∂L/∂h_{t-1}
                if padding is None:
                    dc *= f_t  # ∂L/∂c_{t-1}, in place
                else:
                    t = steps.start + k
                    np.copyto(dh_next, dh, where=padding[t])
                    np.multiply(dc, f_t, out=dc, where=real[t])
        return dz, dz, (dh_next, dc)


class LSTM(RecurrentStack):
    """Multi-layer, optionally bidirectional LSTM with torch.nn.LSTM's parameters.

    ``state`` is ``(h, c)``, each (num_layers·num_directions, B, H); parameters are named
    ``weight_ih_l{k}{_reverse}`` (4H × I_k), ``weight_hh_l{k}{_reverse}`` (4H × H),
    ``bias_ih_l{k}{_reverse}``, ``bias_hh_l{k}{_reverse}`` (4H). See :class:`RecurrentStack`
    for the arguments and the forward/backward interface.
    """

    cell_class = LSTMCell
