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

Then, given dh_t = ∂L/∂h_t (all of it) and dc_t = ∂L/∂c_t through step t+1 (the lines
marked * are the normalisations'; the others are the plain LSTM's, with s for its z)::

  * do       = dh_t ⊙ tanh(n),   dn = dh_t ⊙ o ⊙ (1 - tanh²(n))
  * dγ_c, dβ_c, and dc = dc_t + (LN backward of dn to c_t)       all of ∂L/∂c_t
    di       = dc ⊙ g,   df = dc ⊙ c_{t-1},   dg = dc ⊙ i,   dc_{t-1} = dc ⊙ f
    dz       = [di ⊙ i(1-i),  df ⊙ f(1-f),  dg ⊙ (1-g²),  do ⊙ o(1-o)]    # (B, 4H)
  * dγ_g, dβ_g, and ds = (LN backward of dz to s)                          # (B, 4H)
    dx_t     = ds W_ih,   dh_{t-1} = ds W_hh
    dW_ih    = dsᵀ x_t,   dW_hh = dsᵀ h_{t-1},   db_ih = db_hh = Σ_rows ds

:func:`step_forward` and :func:`step_backward` are these lines, one for one; the plain
LSTM's are its :func:`~rnnlab.numpy.lstm.activate` and :func:`~rnnlab.numpy.lstm.
gates_backward`, and every cell's :func:`~rnnlab.numpy.steps.affine_backward`. The stack
runs :class:`LayerNormLSTMCell`, the same loop over time (a test proves them equal to
1e-12). This file also holds the layer norm's forward and backward, which the reference
step and the loop share.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rnnlab.cells import CELLS
from rnnlab.numpy.activations import sigmoid, tanh, tanh_grad
from rnnlab.numpy.lstm import LSTMStepGrads, activate, gates_backward
from rnnlab.numpy.lstm_loop import gate_views, run_backward, run_forward
from rnnlab.numpy.stack import RecurrentStack
from rnnlab.numpy.steps import StepCache, affine_backward

KIND = CELLS["layernorm_lstm"]  # gates i, f, g, o; states h, c; γ_g, β_g, γ_c, β_c
EPS = 1e-5  # added to the variance in both normalisations, as torch.nn.LayerNorm


def layer_norm(v, gamma, beta):
    """LN(v; γ, β) over the last axis of v (B, N), and what its backward reads: v̂, inv_std."""
    centred = v - v.mean(axis=-1, keepdims=True)  # (B, N)
    inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + EPS)  # (B, 1)
    v_hat = centred * inv_std  # (B, N)
    return gamma * v_hat + beta, v_hat, inv_std


def layer_norm_backward(dy, v_hat, inv_std, gamma):
    """dv (B, N), dγ, dβ (N,) for y = LN(v; γ, β): the module docstring's four lines."""
    dv_hat = dy * gamma  # (B, N)
    mean_d = dv_hat.mean(axis=-1, keepdims=True)  # (B, 1)
    mean_d_hat = (dv_hat * v_hat).mean(axis=-1, keepdims=True)  # (B, 1)
    dv = inv_std * (dv_hat - mean_d - v_hat * mean_d_hat)  # (B, N)
    return dv, (dy * v_hat).sum(axis=0), dy.sum(axis=0)


@dataclass(frozen=True, kw_only=True)
class LayerNormLSTMStepCache(StepCache):
    """What :func:`step_backward` reads: :class:`StepCache` (x_t, h_{t-1}, W_ih, W_hh), the
    old cell state, the activations and both normalisations."""

    c_prev: np.ndarray  # (B, H) c_{t-1}
    i: np.ndarray  # (B, H) the four activated gates
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    s_hat: np.ndarray  # (B, 4H) the normalised weighted sums ŝ
    s_inv_std: np.ndarray  # (B, 1)
    c_hat: np.ndarray  # (B, H) the normalised cell state ĉ_t
    c_inv_std: np.ndarray  # (B, 1)
    tanh_n: np.ndarray  # (B, H) tanh(n)
    gamma_g: np.ndarray  # (4H,)
    gamma_c: np.ndarray  # (H,)


@dataclass(frozen=True, kw_only=True)
class LayerNormLSTMStepGrads(LSTMStepGrads):
    """The plain LSTM's step gradients, and the gains' and shifts'."""

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
    z, s_hat, s_inv_std = layer_norm(s, gamma_g, beta_g)  # (B, 4H), (B, 4H), (B, 1)
    i, f, g, o = activate(z)  # (B, H) each
    c_t = f * c_prev + i * g  # (B, H)
    n, c_hat, c_inv_std = layer_norm(c_t, gamma_c, beta_c)  # (B, H), (B, H), (B, 1)
    tanh_n = tanh(n)  # (B, H)
    h_t = o * tanh_n  # (B, H)
    cache = LayerNormLSTMStepCache(
        x_t=x_t, h_prev=h_prev, W_ih=W_ih, W_hh=W_hh, c_prev=c_prev, i=i, f=f, g=g, o=o,
        s_hat=s_hat, s_inv_std=s_inv_std, c_hat=c_hat, c_inv_std=c_inv_std, tanh_n=tanh_n,
        gamma_g=gamma_g, gamma_c=gamma_c,
    )  # fmt: skip
    return h_t, c_t, cache


def step_backward(dh_t, dc_t, cache: LayerNormLSTMStepCache) -> LayerNormLSTMStepGrads:
    """One LayerNorm-LSTM step backward: the module docstring's backward equations.

    ``dh_t``, ``dc_t`` (B, H) are ∂L/∂h_t and ∂L/∂c_t as for the plain LSTM's
    :func:`~rnnlab.numpy.lstm.step_backward`; ``cache`` is what :func:`step_forward` returned.
    """
    i, f, g, o, tanh_n = cache.i, cache.f, cache.g, cache.o, cache.tanh_n
    do = dh_t * tanh_n  # (B, H)
    dn = dh_t * o * tanh_grad(tanh_n)  # (B, H)
    dc_norm, dgamma_c, dbeta_c = layer_norm_backward(
        dn, cache.c_hat, cache.c_inv_std, cache.gamma_c
    )
    dc = dc_t + dc_norm  # (B, H) all of ∂L/∂c_t
    dz, dc_prev = gates_backward(dc, do, i, f, g, o, cache.c_prev)  # (B, 4H), (B, H)
    ds, dgamma_g, dbeta_g = layer_norm_backward(dz, cache.s_hat, cache.s_inv_std, cache.gamma_g)
    return affine_backward(
        ds, ds, cache, LayerNormLSTMStepGrads, dc_prev=dc_prev,
        dgamma_g=dgamma_g, dbeta_g=dbeta_g, dgamma_c=dgamma_c, dbeta_c=dbeta_c,
    )  # fmt: skip


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

    The math is in ``step_forward``/``step_backward`` above; this is the same computation
    made fast, modestly, as :mod:`~rnnlab.numpy.lstm_loop` describes: the one step written
    here writes its normalised sums and then its activations in place into the cache's
    arrays, inside that module's loop over time. (The plain LSTM's single-exp and
    blocked-backward tricks are not applied: the normalisation sits between the GEMM and σ.)
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
        """Run the recurrence: the arguments and results of the plain LSTM's
        :meth:`~rnnlab.numpy.lstm.LSTMCell.forward` (xw (T, B, 4H), ``(h0, c0)``, W_hh, b_hh,
        mask), plus γ_g, β_g (4H,) and γ_c, β_c (H,) by key; the cache is a
        :class:`LayerNormLSTMCache`.
        """
        T, B, G = xw.shape
        H = G // 4
        gates, s_hat = (np.empty((T, B, G), dtype=xw.dtype) for _ in range(2))
        c_hat, tanh_n = (np.empty((T, B, H), dtype=xw.dtype) for _ in range(2))
        s_inv_std, c_inv_std = (np.empty((T, B, 1), dtype=xw.dtype) for _ in range(2))
        W_hh_T = W_hh.T  # (H, 4H)

        def step(t, h_prev, c_prev):
            s = h_prev @ W_hh_T + xw[t] + b_hh  # (B, 4H)
            gates[t], s_hat[t], s_inv_std[t] = layer_norm(s, ln_gates_weight, ln_gates_bias)
            i, f, g, o = gate_views(gates[t])  # (B, H) views: z, activated in place
            sigmoid(gates[t, :, : 2 * H], out=gates[t, :, : 2 * H])  # i, f
            np.tanh(g, out=g)
            sigmoid(o, out=o)
            c_new = f * c_prev + i * g  # (B, H)
            n, c_hat[t], c_inv_std[t] = layer_norm(c_new, ln_cell_weight, ln_cell_bias)
            np.tanh(n, out=tanh_n[t])  # (B, H)
            return o * tanh_n[t], c_new

        h, c = run_forward(step, xw, state0, mask)
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
        """Backpropagate through time: as the plain LSTM's
        :meth:`~rnnlab.numpy.lstm.LSTMCell.backward` (dxw and dhw are the same array, ds;
        then ``(dh0, dc0)``), plus the four LN tensors' gradients by key.
        """
        T, B, H = dhs.shape
        ds = np.empty((T, B, 4 * H), dtype=dhs.dtype)
        dz = np.empty((B, 4 * H), dtype=dhs.dtype)
        grads = {k: np.zeros_like(v, dtype=dhs.dtype) for k, v in self.extra_params(H).items()}

        def step(t, dh, dc):
            i, f, g, o = gate_views(cache.gates[t])  # (B, H) each
            tn = cache.tanh_n[t]
            dn = dh * o * tanh_grad(tn)  # (B, H) ∂L/∂n_t
            dc_norm, dgamma_c, dbeta_c = layer_norm_backward(
                dn, cache.c_hat[t], cache.c_inv_std[t], ln_cell_weight
            )
            _, dc_prev = gates_backward(dc + dc_norm, dh * tn, i, f, g, o, cache.c[t], out=dz)
            ds[t], dgamma_g, dbeta_g = layer_norm_backward(
                dz, cache.s_hat[t], cache.s_inv_std[t], ln_gates_weight
            )
            for key, grad in zip(grads, (dgamma_g, dbeta_g, dgamma_c, dbeta_c), strict=True):
                grads[key] += grad
            return ds[t] @ W_hh, dc_prev  # ∂L/∂h_{t-1}, ∂L/∂c_{t-1}

        dstate0 = run_backward(step, dhs, dstate_n, cache.mask)
        return ds, ds, dstate0, grads


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
