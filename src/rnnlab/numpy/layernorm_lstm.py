"""LayerNorm LSTM (after Ba, Kiros & Hinton, 2016): normalised gates and cell output.

Layer normalisation rescales each row (sample) of a (B, N) array to zero mean and unit
variance over its N entries, then applies a learned gain γ and shift β::

    LN(v; γ, β) = γ ⊙ v̂ + β,   v̂ = (v - μ) / √(σ² + ε),   μ, σ² = mean, variance of the row

It makes the gates' inputs independent of the scale of the weights and of h, which steadies
training over long sequences. One step of one direction of one layer (gate order i, f, g, o,
as :mod:`rnnlab.numpy.lstm`)::

    s   = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh      # (B, 4H) the weighted sums
    z   = LN(s; γ_g, β_g)                               # (B, 4H) over all 4H entries of a row
    i   = σ(z_i),   f = σ(z_f),   g = tanh(z_g),   o = σ(z_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g                           # the carried state is not normalised
    n   = LN(c_t; γ_c, β_c)                             # (B, H) over its H entries
    h_t = o ⊙ tanh(n)

One normalisation over the whole 4H row (not one per gate) is Ba et al.'s choice, and it
keeps the torch.nn biases meaningful: b_ih and b_hh shift gates *relative to each other*
(a per-gate normalisation would subtract any per-gate constant away). The shift β_g is the
effective bias after normalisation.

Extra parameters per layer and direction, named ``{key}_l{k}{_reverse}`` in ``params``
(``rnnlab.cells.CELLS["layernorm_lstm"].extra_tensors``): ``ln_gates_weight`` γ_g (4H,
init 1), ``ln_gates_bias`` β_g (4H, init 0), ``ln_cell_weight`` γ_c (H, init 1),
``ln_cell_bias`` β_c (H, init 0); ε = ``EPS`` = 1e-5, as torch.nn.LayerNorm.

Backward of y = LN(v; γ, β), with inv_std = 1/√(σ² + ε) and means over the row (μ and σ²
depend on every entry of v; the two subtracted means are those paths)::

    dγ = Σ_rows dy ⊙ v̂,   dβ = Σ_rows dy,   dv̂ = dy ⊙ γ
    dv = inv_std ⊙ (dv̂ - mean(dv̂) - v̂ ⊙ mean(dv̂ ⊙ v̂))

Then, given dh_t = ∂L/∂h_t (all of it) and dc_t = ∂L/∂c_t through step t+1::

    do       = dh_t ⊙ tanh(n),   dn = dh_t ⊙ o ⊙ (1 - tanh²(n))
    dγ_c, dβ_c, and dc = dc_t + (LN backward of dn to c_t)       all of ∂L/∂c_t
    di       = dc ⊙ g,   df = dc ⊙ c_{t-1},   dg = dc ⊙ i,   dc_{t-1} = dc ⊙ f
    dz       = [di ⊙ i(1-i),  df ⊙ f(1-f),  dg ⊙ (1-g²),  do ⊙ o(1-o)]    # (B, 4H)
    dγ_g, dβ_g, and ds = (LN backward of dz to s)                          # (B, 4H)
    dx_t     = ds W_ih,   dh_{t-1} = ds W_hh
    dW_ih    = dsᵀ x_t,   dW_hh = dsᵀ h_{t-1},   db_ih = db_hh = Σ_rows ds

:func:`step_forward` and :func:`step_backward` are these lines, one for one; the stack runs
:class:`LayerNormLSTMCell`, the same loop over time (a test proves them equal to 1e-12).
This file is longer than the others (about 350 lines) because it holds the layer norm's
forward and backward too, shared by the reference step and the loop.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.cells import CELLS
from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from rnnlab.numpy.stack import RecurrentStack

KIND = CELLS["layernorm_lstm"]  # gates i, f, g, o; states h, c; γ_g, β_g, γ_c, β_c
EPS = 1e-5  # added to the variance in both normalisations, as torch.nn.LayerNorm


def layer_norm(v: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """v̂ = (v - μ)/√(σ² + ε) over the last axis of a (B, N) array, and inv_std (B, 1)."""
    centred = v - v.mean(axis=-1, keepdims=True)  # (B, N)
    inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)  # (B, 1)
    return centred * inv_std, inv_std


def layer_norm_backward(dv_hat: np.ndarray, v_hat: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """∂L/∂v from ∂L/∂v̂ for v̂ = layer_norm(v): inv_std·(dv̂ - mean(dv̂) - v̂·mean(dv̂ ⊙ v̂))."""
    mean_d = dv_hat.mean(axis=-1, keepdims=True)  # (B, 1)
    mean_d_hat = (dv_hat * v_hat).mean(axis=-1, keepdims=True)  # (B, 1)
    return inv_std * (dv_hat - mean_d - v_hat * mean_d_hat)  # (B, N)


class LayerNormLSTMStepCache(NamedTuple):
    """What :func:`step_backward` reads: one step's inputs, activations and weights."""

    x_t: np.ndarray  # (B, I)
    h_prev: np.ndarray  # (B, H) h_{t-1}
    c_prev: np.ndarray  # (B, H) c_{t-1}
    s_hat: np.ndarray  # (B, 4H) the normalised weighted sums ŝ
    s_inv_std: np.ndarray  # (B, 1)
    i: np.ndarray  # (B, H) the four activated gates
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c_hat: np.ndarray  # (B, H) the normalised cell state ĉ_t
    c_inv_std: np.ndarray  # (B, 1)
    tanh_n: np.ndarray  # (B, H) tanh(n)
    W_ih: np.ndarray  # (4H, I)
    W_hh: np.ndarray  # (4H, H)
    gamma_g: np.ndarray  # (4H,)
    gamma_c: np.ndarray  # (H,)


class LayerNormLSTMStepGrads(NamedTuple):
    """∂L/∂ of everything :func:`step_forward` read."""

    dx_t: np.ndarray  # (B, I)
    dh_prev: np.ndarray  # (B, H)
    dc_prev: np.ndarray  # (B, H)
    dW_ih: np.ndarray  # (4H, I)
    dW_hh: np.ndarray  # (4H, H)
    db_ih: np.ndarray  # (4H,)
    db_hh: np.ndarray  # (4H,)
    dgamma_g: np.ndarray  # (4H,)
    dbeta_g: np.ndarray  # (4H,)
    dgamma_c: np.ndarray  # (H,)
    dbeta_c: np.ndarray  # (H,)


def step_forward(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, gamma_g, beta_g, gamma_c, beta_c):
    """One LayerNorm-LSTM step: the module docstring's forward equations.

    Args:
        x_t: (B, I) the input at step t.
        h_prev, c_prev: (B, H) the state h_{t-1}, c_{t-1}.
        W_ih (4H, I), W_hh (4H, H), b_ih (4H,), b_hh (4H,): torch.nn's tensors.
        gamma_g, beta_g: (4H,) γ_g, β_g;  gamma_c, beta_c: (H,) γ_c, β_c.

    Returns:
        h_t, c_t, each (B, H), and the :class:`LayerNormLSTMStepCache`.
    """
    s = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (B, 4H)
    s_hat, s_inv_std = layer_norm(s, EPS)  # (B, 4H), (B, 1)
    z = gamma_g * s_hat + beta_g  # (B, 4H)
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)  # (B, H) each
    i, f, g, o = sigmoid(z_i), sigmoid(z_f), tanh(z_g), sigmoid(z_o)
    c_t = f * c_prev + i * g  # (B, H)
    c_hat, c_inv_std = layer_norm(c_t, EPS)  # (B, H), (B, 1)
    n = gamma_c * c_hat + beta_c  # (B, H)
    tanh_n = tanh(n)  # (B, H)
    h_t = o * tanh_n  # (B, H)
    cache = LayerNormLSTMStepCache(
        x_t, h_prev, c_prev, s_hat, s_inv_std, i, f, g, o, c_hat, c_inv_std, tanh_n,
        W_ih, W_hh, gamma_g, gamma_c,
    )  # fmt: skip
    return h_t, c_t, cache


def step_backward(dh_t, dc_t, cache: LayerNormLSTMStepCache) -> LayerNormLSTMStepGrads:
    """One LayerNorm-LSTM step backward: the module docstring's backward equations.

    Args:
        dh_t: (B, H) ∂L/∂h_t, from the layer above and from step t+1 together.
        dc_t: (B, H) ∂L/∂c_t through step t+1 (zero after the last step, or ∂L/∂c_T).
        cache: what :func:`step_forward` returned.
    """
    i, f, g, o, tanh_n = cache.i, cache.f, cache.g, cache.o, cache.tanh_n
    do = dh_t * tanh_n  # (B, H)
    dn = dh_t * o * tanh_grad(tanh_n)  # (B, H)
    dgamma_c, dbeta_c = (dn * cache.c_hat).sum(axis=0), dn.sum(axis=0)  # (H,) each
    dc = dc_t + layer_norm_backward(dn * cache.gamma_c, cache.c_hat, cache.c_inv_std)  # (B, H)
    di, df, dg = dc * g, dc * cache.c_prev, dc * i  # (B, H) each
    dc_prev = dc * f  # (B, H)
    dz = np.concatenate(
        [di * sigmoid_grad(i), df * sigmoid_grad(f), dg * tanh_grad(g), do * sigmoid_grad(o)],
        axis=1,
    )  # (B, 4H)
    dgamma_g, dbeta_g = (dz * cache.s_hat).sum(axis=0), dz.sum(axis=0)  # (4H,) each
    ds = layer_norm_backward(dz * cache.gamma_g, cache.s_hat, cache.s_inv_std)  # (B, 4H)
    return LayerNormLSTMStepGrads(
        dx_t=ds @ cache.W_ih,  # (B, I)
        dh_prev=ds @ cache.W_hh,  # (B, H)
        dc_prev=dc_prev,
        dW_ih=ds.T @ cache.x_t,  # (4H, I)
        dW_hh=ds.T @ cache.h_prev,  # (4H, H)
        db_ih=ds.sum(axis=0),  # (4H,)
        db_hh=ds.sum(axis=0),
        dgamma_g=dgamma_g,
        dbeta_g=dbeta_g,
        dgamma_c=dgamma_c,
        dbeta_c=dbeta_c,
    )


class LayerNormLSTMCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step: what dW_hh needs
    c: np.ndarray  # (T+1, B, H) c_0 .. c_T (carried through padding)
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    s_hat: np.ndarray  # (T, B, 4H) normalised weighted sums ŝ (before γ_g, β_g)
    s_inv_std: np.ndarray  # (T, B, 1) 1/√(σ² + ε) of each row of s_t
    c_hat: np.ndarray  # (T, B, H) normalised *unmasked* new cell state (before γ_c, β_c)
    c_inv_std: np.ndarray  # (T, B, 1)
    tanh_n: np.ndarray  # (T, B, H) tanh(n_t)
    mask: np.ndarray | None  # (T, B, 1) 1.0 where the step is real, 0.0 on padding


class LayerNormLSTMCell:
    """One direction of one LayerNorm-LSTM layer over a whole sequence; state is ``(h, c)``.

    The math is in ``step_forward``/``step_backward`` above; this loop is the same
    computation made fast — modestly: the stack has done ``xw = x W_ihᵀ + b_ih`` for all
    steps in one GEMM and turns the returned ds into the weight and bias gradients in one
    GEMM each; W_hh is transposed once; each step writes its normalised sums and then its
    activations in place into the cache's arrays; σ is the reference's own
    :func:`~rnnlab.numpy.activations.sigmoid`. (The plain LSTM's single-exp and blocked-
    backward tricks are not applied: the normalisation sits between the GEMM and σ.) On
    padded steps (``mask`` 0) the state is carried through and the gradient skips the step.
    """

    gates = KIND.num_gates
    state_names = KIND.states
    eps = EPS

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
        s_hat = np.empty((T, B, G), dtype=dtype)
        s_inv_std = np.empty((T, B, 1), dtype=dtype)
        c_hat = np.empty((T, B, H), dtype=dtype)
        c_inv_std = np.empty((T, B, 1), dtype=dtype)
        tanh_n = np.empty((T, B, H), dtype=dtype)
        h[0], c[0] = state0
        W_hh_T = W_hh.T  # (H, 4H)
        for t in range(T):
            s = h[t] @ W_hh_T + xw[t] + b_hh  # (B, 4H)
            s_hat[t], s_inv_std[t] = layer_norm(s, self.eps)
            z = gates[t]  # (B, 4H), filled in place: normalised pre-activation, then activation
            np.multiply(s_hat[t], ln_gates_weight, out=z)
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
            h[:-1], c, gates, s_hat, s_inv_std, c_hat, c_inv_std, tanh_n, mask
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
            (both are ds: the same array), ``(dh0, dc0)``, and the four LN tensors'
            gradients by key.
        """
        T, B, H = dhs.shape
        ds = np.empty((T, B, 4 * H), dtype=dhs.dtype)
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
            np.multiply(dc * g, sigmoid_grad(i), out=dz[:, :H])  # dz_i
            np.multiply(dc * cache.c[t], sigmoid_grad(f), out=dz[:, H : 2 * H])  # dz_f
            np.multiply(dc * i, tanh_grad(g), out=dz[:, 2 * H : 3 * H])  # dz_g
            np.multiply(dh * tn, sigmoid_grad(o), out=dz[:, 3 * H :])  # dz_o
            grads["ln_gates_weight"] += (dz * cache.s_hat[t]).sum(axis=0)
            grads["ln_gates_bias"] += dz.sum(axis=0)
            ds[t] = layer_norm_backward(dz * ln_gates_weight, cache.s_hat[t], cache.s_inv_std[t])
            dh_next = ds[t] @ W_hh  # (B, H)
            dc_next = dc * f
            if cache.mask is not None:
                dh_next += dh_skip
                dc_next += dc_skip
        return ds, ds, (dh_next, dc_next), grads


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
