"""LayerNorm LSTM (after Ba, Kiros & Hinton, 2016): normalised gates and cell output.

Layer normalisation rescales each sample's vector of pre-activations to zero mean and unit
variance, then applies a learned gain γ and shift β::

    LN(a; γ, β) = γ ⊙ (a - μ) / √(σ² + ε) + β,   μ, σ² = mean and variance of a's N entries

It makes the gates' inputs independent of the scale of the weights and of h, which steadies
training over long sequences. For one direction of one layer (gate order i, f, g, o)::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh       # (B, 4H) raw pre-activations
    z_t = LN(a_t; γ_g, β_g)                           # normalised over all 4H entries of a row
    i_t = σ(z_t[0:H]),  f_t = σ(z_t[H:2H]),  g_t = tanh(z_t[2H:3H]),  o_t = σ(z_t[3H:4H])
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                   # the carried cell state is not normalised
    n_t = LN(c_t; γ_c, β_c)                           # normalised over its H entries
    h_t = o_t ⊙ tanh(n_t)

One normalisation over the whole 4H row (not one per gate) is Ba et al.'s choice, and it
keeps the torch.nn biases meaningful: b_ih and b_hh shift gates *relative to each other*
(a per-gate normalisation would subtract any per-gate constant away). The shift β_g is the
effective bias after normalisation.

Extra parameters per layer and direction, named ``{key}_l{k}{_reverse}`` in ``params``:
``ln_gates_weight`` γ_g (4H, init 1), ``ln_gates_bias`` β_g (4H, init 0), ``ln_cell_weight``
γ_c (H, init 1), ``ln_cell_bias`` β_c (H, init 0); ε = ``LayerNormLSTMCell.eps`` = 1e-5.

Backward of y = LN(a; γ, β) with â = (a - μ)·s, s = 1/√(σ² + ε), means over the N entries::

    dγ = Σ_b dy ⊙ â,   dβ = Σ_b dy,   dâ = dy ⊙ γ
    da = s · (dâ - mean(dâ) - â ⊙ mean(dâ ⊙ â))

(μ and σ² depend on every entry; the two subtracted means are those paths.) Then, for
dh = ∂L/∂h_t and dc = ∂L/∂c_t (from above and from step t+1)::

    do  = dh ⊙ tanh(n_t),   dn = dh ⊙ o ⊙ (1 - tanh²(n_t))
    dc += LN-backward of dn through (γ_c, β_c)
    dz  = [dc ⊙ g ⊙ i(1-i),  dc ⊙ c_{t-1} ⊙ f(1-f),  dc ⊙ i ⊙ (1-g²),  do ⊙ o(1-o)]
    da  = LN-backward of dz through (γ_g, β_g),   dh_{t-1} = da W_hh,   dc_{t-1} = dc ⊙ f

``da`` is both ∂L/∂(W_ih x + b_ih) and ∂L/∂(W_hh h + b_hh): the stack turns it into the
weight gradients.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh_grad
from rnnlab.numpy.stack import RecurrentStack


def layer_norm(a: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(a - μ)/√(σ² + ε) over the last axis of a (B, N) array, and s = 1/√(σ² + ε) (B, 1)."""
    centred = a - a.mean(axis=-1, keepdims=True)  # (B, N)
    inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)  # (B, 1)
    return centred * inv_std, inv_std


def layer_norm_backward(d_hat: np.ndarray, a_hat: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """∂L/∂a from ∂L/∂â for â = layer_norm(a): s·(dâ - mean(dâ) - â·mean(dâ ⊙ â))."""
    mean_d = d_hat.mean(axis=-1, keepdims=True)  # (B, 1)
    mean_d_hat = (d_hat * a_hat).mean(axis=-1, keepdims=True)  # (B, 1)
    return inv_std * (d_hat - mean_d - a_hat * mean_d_hat)  # (B, N)


class LayerNormLSTMCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step: what dW_hh needs
    c: np.ndarray  # (T+1, B, H) c_0 .. c_T (carried through padding)
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    a_hat: np.ndarray  # (T, B, 4H) normalised pre-activations (before γ_g, β_g)
    a_inv_std: np.ndarray  # (T, B, 1) 1/√(σ² + ε) of each row of a_t
    c_hat: np.ndarray  # (T, B, H) normalised *unmasked* new cell state (before γ_c, β_c)
    c_inv_std: np.ndarray  # (T, B, 1)
    tanh_n: np.ndarray  # (T, B, H) tanh(n_t)
    mask: np.ndarray | None  # (T, B, 1) 1.0 where the step is real, 0.0 on padding


class LayerNormLSTMCell:
    """One direction of one LayerNorm-LSTM layer over a whole sequence; state is ``(h, c)``."""

    gates = 4
    state_names = ("h", "c")
    eps = 1e-5  # added to the variance in both normalisations, as torch.nn.LayerNorm

    @staticmethod
    def extra_params(hidden_size: int) -> dict[str, np.ndarray]:
        """Initial gains 1 and shifts 0: at the start each LN is a pure normalisation."""
        H = hidden_size
        return {
            "ln_gates_weight": np.ones(4 * H),
            "ln_gates_bias": np.zeros(4 * H),
            "ln_cell_weight": np.ones(H),
            "ln_cell_bias": np.zeros(H),
        }

    def forward(
        self,
        xw,
        state0,
        W_hh,
        b_hh,
        mask=None,
        *,
        ln_gates_weight,
        ln_gates_bias,
        ln_cell_weight,
        ln_cell_bias,
    ):
        """Run the recurrence.

        Args:
            xw: (T, B, 4H) ``x_t W_ihᵀ + b_ih`` for every step (the stack's input GEMM).
            state0: ``(h0, c0)``, each (B, H).
            W_hh: (4H, H); b_hh: (4H,).
            mask: (T, B, 1) or None. Where 0, the step is padding: state passes unchanged.
            ln_gates_weight, ln_gates_bias: (4H,) γ_g, β_g.
            ln_cell_weight, ln_cell_bias: (H,) γ_c, β_c.

        Returns:
            hs (T, B, H), ``(h_T, c_T)`` and a :class:`LayerNormLSTMCache`.
        """
        T, B, G = xw.shape
        H = G // 4
        dtype = xw.dtype
        h = np.empty((T + 1, B, H), dtype=dtype)  # h[t+1] is h_t; h[0] is h0
        c = np.empty((T + 1, B, H), dtype=dtype)
        gates = np.empty((T, B, G), dtype=dtype)
        a_hat = np.empty((T, B, G), dtype=dtype)
        a_inv_std = np.empty((T, B, 1), dtype=dtype)
        c_hat = np.empty((T, B, H), dtype=dtype)
        c_inv_std = np.empty((T, B, 1), dtype=dtype)
        tanh_n = np.empty((T, B, H), dtype=dtype)
        h[0], c[0] = state0
        W_hh_T = W_hh.T  # (H, 4H)
        for t in range(T):
            a = h[t] @ W_hh_T + xw[t] + b_hh  # (B, 4H)
            a_hat[t], a_inv_std[t] = layer_norm(a, self.eps)
            z = gates[t]  # (B, 4H), filled in place: normalised pre-activation, then activation
            np.multiply(a_hat[t], ln_gates_weight, out=z)
            z += ln_gates_bias
            sigmoid(z[:, : 2 * H], out=z[:, : 2 * H])  # i, f
            np.tanh(z[:, 2 * H : 3 * H], out=z[:, 2 * H : 3 * H])  # g
            sigmoid(z[:, 3 * H :], out=z[:, 3 * H :])  # o
            i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
            c_new = f * c[t] + i * g  # (B, H)
            c_hat[t], c_inv_std[t] = layer_norm(c_new, self.eps)
            np.tanh(c_hat[t] * ln_cell_weight + ln_cell_bias, out=tanh_n[t])  # (B, H)
            h_new = o * tanh_n[t]  # (B, H)
            if mask is None:
                c[t + 1], h[t + 1] = c_new, h_new
            else:  # padding steps carry the previous state through unchanged
                c[t + 1] = np.where(mask[t] > 0, c_new, c[t])
                h[t + 1] = np.where(mask[t] > 0, h_new, h[t])
        cache = LayerNormLSTMCache(
            h[:-1], c, gates, a_hat, a_inv_std, c_hat, c_inv_std, tanh_n, mask
        )
        return h[1:], (h[T], c[T]), cache

    def backward(
        self,
        dhs,
        dstate_n,
        cache: LayerNormLSTMCache,
        W_hh,
        *,
        ln_gates_weight,
        ln_gates_bias,
        ln_cell_weight,
        ln_cell_bias,
    ):
        """Backpropagate through time.

        Args:
            dhs: (T, B, H) ∂L/∂h_t from above (outputs).
            dstate_n: ``(dh_T, dc_T)`` ∂L/∂ of the final state, each (B, H).
            cache: what :meth:`forward` returned; W_hh and the LN tensors as there.

        Returns:
            ``dxw`` (T, B, 4H) ∂L/∂(x_t W_ihᵀ + b_ih), ``dhw`` ∂L/∂(h_{t-1} W_hhᵀ + b_hh)
            (the same array), ``(dh0, dc0)``, and the four LN tensors' gradients by key.
        """
        T, B, H = dhs.shape
        da = np.empty((T, B, 4 * H), dtype=dhs.dtype)
        dz = np.empty((B, 4 * H), dtype=dhs.dtype)
        grads = {k: np.zeros_like(v, dtype=dhs.dtype) for k, v in self.extra_params(H).items()}
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
            tn, c_hat = cache.tanh_n[t], cache.c_hat[t]
            dn = dh * o * tanh_grad(tn)  # (B, H) ∂L/∂n_t
            grads["ln_cell_weight"] += (dn * c_hat).sum(axis=0)
            grads["ln_cell_bias"] += dn.sum(axis=0)
            dc = dc + layer_norm_backward(dn * ln_cell_weight, c_hat, cache.c_inv_std[t])
            np.multiply(dc * g, sigmoid_grad(i), out=dz[:, :H])  # di
            np.multiply(dc * cache.c[t], sigmoid_grad(f), out=dz[:, H : 2 * H])  # df
            np.multiply(dc * i, tanh_grad(g), out=dz[:, 2 * H : 3 * H])  # dg
            np.multiply(dh * tn, sigmoid_grad(o), out=dz[:, 3 * H :])  # do
            grads["ln_gates_weight"] += (dz * cache.a_hat[t]).sum(axis=0)
            grads["ln_gates_bias"] += dz.sum(axis=0)
            da[t] = layer_norm_backward(dz * ln_gates_weight, cache.a_hat[t], cache.a_inv_std[t])
            dh_next = da[t] @ W_hh  # (B, H)
            dc_next = dc * f
            if cache.mask is not None:
                dh_next += dh_skip
                dc_next += dc_skip
        return da, da, (dh_next, dc_next), grads


class LayerNormLSTM(RecurrentStack):
    """Multi-layer, optionally bidirectional LayerNorm LSTM.

    torch.nn.LSTM's four tensors per layer and direction (``weight_ih_l{k}{_reverse}``
    (4H × I_k), ``weight_hh_l{k}{_reverse}`` (4H × H), ``bias_ih_l{k}{_reverse}``,
    ``bias_hh_l{k}{_reverse}`` (4H)) plus ``ln_gates_weight``/``ln_gates_bias`` (4H, init
    1/0) and ``ln_cell_weight``/``ln_cell_bias`` (H, init 1/0), each suffixed
    ``_l{k}{_reverse}``. ``state`` is ``(h, c)``. See :class:`RecurrentStack` for the
    arguments and the interface.
    """

    cell_class = LayerNormLSTMCell
