"""LSTM: one readable step forward and backward, then the same computation made fast.

One step of one direction of one layer, for a batch of rows (gate order i, f, g, o, as
torch.nn.LSTM and ``rnnlab.cells.CELLS["lstm"].gates``)::

    z   = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh      # (B, 4H) pre-activations
    i   = σ(z_i)       input gate          z_i = z[:, 0:H]
    f   = σ(z_f)       forget gate         z_f = z[:, H:2H]
    g   = tanh(z_g)    candidate cell      z_g = z[:, 2H:3H]
    o   = σ(z_o)       output gate         z_o = z[:, 3H:4H]
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

Backward, given dh_t = ∂L/∂h_t (all of it: from the layer above and from step t+1) and
dc_t = ∂L/∂c_t through step t+1; σ' = a(1 - a) and tanh' = 1 - a² of the activation a::

    do       = dh_t ⊙ tanh(c_t)
    dc       = dc_t + dh_t ⊙ o ⊙ (1 - tanh²(c_t))     all of ∂L/∂c_t: c_t also reaches h_t
    di       = dc ⊙ g,   df = dc ⊙ c_{t-1},   dg = dc ⊙ i
    dc_{t-1} = dc ⊙ f
    dz       = [di ⊙ i(1-i),  df ⊙ f(1-f),  dg ⊙ (1-g²),  do ⊙ o(1-o)]      # (B, 4H)
    dx_t     = dz W_ih,   dh_{t-1} = dz W_hh
    dW_ih    = dzᵀ x_t,   dW_hh = dzᵀ h_{t-1},   db_ih = db_hh = Σ_rows dz

:func:`step_forward` and :func:`step_backward` are these lines, one for one: the gates'
lines (i … o, and di … dz) are :func:`activate` and :func:`gates_backward`, which the
peephole and LayerNorm LSTMs call too, and the last two lines are every cell's
:func:`~rnnlab.numpy.steps.affine_backward`. The stack runs :class:`LSTMCell` instead: the
loop over time, equal to calling the two steps T times (a test proves it to 1e-12), with
the GEMMs over x and the weight gradients taken out of the loop and done once for all steps.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rnnlab.cells import CELLS
from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from rnnlab.numpy.stack import BACKWARD_BLOCK_ELEMENTS, RecurrentStack
from rnnlab.numpy.steps import StepCache, StepGrads, affine_backward

KIND = CELLS["lstm"]  # gates i, f, g, o; states h, c


@dataclass(frozen=True, kw_only=True)
class LSTMStepCache(StepCache):
    """What :func:`step_backward` reads: :class:`StepCache` (x_t, h_{t-1}, W_ih, W_hh), the
    old cell state and the activations."""

    c_prev: np.ndarray  # (B, H) c_{t-1}
    i: np.ndarray  # (B, H) the four activated gates
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray  # (B, H) tanh(c_t)


@dataclass(frozen=True, kw_only=True)
class LSTMStepGrads(StepGrads):
    """:class:`StepGrads` (∂L/∂ of x_t, h_{t-1} and torch.nn's four tensors) and ∂L/∂c_{t-1}."""

    dc_prev: np.ndarray  # (B, H)


def activate(z):
    """The four gates from their pre-activations z (B, 4H): σ(z_i), σ(z_f), tanh(z_g), σ(z_o)."""
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)  # (B, H) each
    return sigmoid(z_i), sigmoid(z_f), tanh(z_g), sigmoid(z_o)


def gates_backward(dc, do, i, f, g, o, c_prev, out=None):
    """dz (B, 4H) and dc_{t-1} from dc = all of ∂L/∂c_t and do = ∂L/∂o (each (B, H)).

    The gate lines of the module docstring's backward, which the peephole and LayerNorm
    LSTMs share; ``out`` (B, 4H), if given, receives dz (the variants' loops pass theirs).
    """
    di, df, dg = dc * g, dc * c_prev, dc * i  # (B, H) each
    dz = [di * sigmoid_grad(i), df * sigmoid_grad(f), dg * tanh_grad(g), do * sigmoid_grad(o)]
    return np.concatenate(dz, axis=1, out=out), dc * f  # (B, 4H), (B, H) dc_{t-1}


def step_forward(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step: the module docstring's forward equations.

    Args:
        x_t: (B, I) the input at step t.
        h_prev, c_prev: (B, H) the state h_{t-1}, c_{t-1}.
        W_ih (4H, I), W_hh (4H, H), b_ih (4H,), b_hh (4H,): torch.nn's tensors.

    Returns:
        h_t, c_t, each (B, H), and the :class:`LSTMStepCache` for :func:`step_backward`.
    """
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (B, 4H)
    i, f, g, o = activate(z)  # (B, H) each
    c_t = f * c_prev + i * g  # (B, H)
    tanh_c = tanh(c_t)  # (B, H)
    h_t = o * tanh_c  # (B, H)
    cache = LSTMStepCache(
        x_t=x_t, h_prev=h_prev, W_ih=W_ih, W_hh=W_hh, c_prev=c_prev, i=i, f=f, g=g, o=o,
        tanh_c=tanh_c,
    )  # fmt: skip
    return h_t, c_t, cache


def step_backward(dh_t, dc_t, cache: LSTMStepCache) -> LSTMStepGrads:
    """One LSTM step backward: the module docstring's backward equations.

    Args:
        dh_t: (B, H) ∂L/∂h_t, from the layer above and from step t+1 together.
        dc_t: (B, H) ∂L/∂c_t through step t+1 (zero after the last step, or ∂L/∂c_T).
        cache: what :func:`step_forward` returned.
    """
    i, f, g, o, tanh_c = cache.i, cache.f, cache.g, cache.o, cache.tanh_c
    do = dh_t * tanh_c  # (B, H)
    dc = dc_t + dh_t * o * tanh_grad(tanh_c)  # (B, H) all of ∂L/∂c_t
    dz, dc_prev = gates_backward(dc, do, i, f, g, o, cache.c_prev)  # (B, 4H), (B, H)
    return affine_backward(dz, dz, cache, LSTMStepGrads, dc_prev=dc_prev)


class LSTMCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step: what dW_hh needs
    c: np.ndarray  # (T+1, B, H) c_0 .. c_T
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    tanh_c: np.ndarray  # (T, B, H) tanh of the *unmasked* new cell state
    mask: np.ndarray | None  # (T, B, 1) 1.0 where the step is real, 0.0 on padding


class LSTMCell:
    """One direction of one LSTM layer over a whole sequence; state is ``(h, c)``.

    The math is in ``step_forward``/``step_backward`` above; this loop is the same
    computation made fast. The stack has done ``xw = x W_ihᵀ + b_ih`` for all steps in one
    GEMM and turns the returned dz into dW_ih, dW_hh and the bias gradients in one GEMM each,
    so only the recurrence is left here. It runs T times, and at small batches each ufunc
    call costs more than its arithmetic, so:

    * **One exp for all four gates.** σ(z) = 1/(1 + e^-z) on i, f, o and
      tanh(z) = 2σ(2z) - 1 on g, so the step is e^(scale ⊙ z) with scale = -1 (i, f, o) or
      -2 (g). The scaling is exact in floating point and folded in once, before the loop:
      into a pre-scaled copy ``W_scaled`` = W_hhᵀ ⊙ scale and into (xw + b_hh) ⊙ scale.
      A step is then one GEMM, +, exp, +1, 1/·, and two operations turning σ(2z) into g.
      (NumPy's exp is about twice as fast as its tanh.) Equal to σ and tanh of
      :mod:`~rnnlab.numpy.activations` up to rounding.
    * **b_hh joins xw** for all steps at once.
    * **Per-step views** are made in one pass by iterating the arrays (slicing inside the
      loop costs, at small sizes, as much as the arithmetic); buffers are reused with ``out=``.
    * **Backward: the factors of dz that do not depend on the incoming gradient**
      (products of cached activations and their derivatives) are computed for a block of
      steps at once, few calls for many elements. Each is named for what it multiplies
      (· on the right is the factor on its left)::

          dc_per_dh     = o tanh'(c_t)                              dc += dh ⊙ ·
          dz_ifg_per_dc = [g σ'(i), c_{t-1} σ'(f), i tanh'(g)]      [dz_i, dz_f, dz_g] = dc ⊙ ·
          dz_o_per_dh   = tanh(c_t) σ'(o)                           dz_o = dh ⊙ ·

      leaving six ufunc calls and one GEMM per step. Blocks hold about
      ``BACKWARD_BLOCK_ELEMENTS`` numbers so they stay in cache (one step for large B·H,
      the whole sequence for tiny ones).
    * **Padding** (``mask`` 0): the state is copied through, and the three factors are zeroed
      there, so no gradient enters a padded step and dh, dc pass it unchanged.
    """

    gates = KIND.num_gates
    state_names = KIND.states

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
        scale = np.full(G, -1.0, dtype=dtype)  # one exp for all gates: see the class docstring
        scale[2 * H : 3 * H] = -2.0
        W_scaled = W_hh.T * scale  # (H, 4H)
        gates = np.add(xw, b_hh, dtype=dtype)  # (T, B, 4H), becomes the activated gates
        gates *= scale
        hw = np.empty((B, G), dtype=dtype)  # h_{t-1} W_hhᵀ, scaled
        ig = np.empty((B, H), dtype=dtype)  # i ⊙ g
        padding = None if mask is None else mask <= 0  # (T, B, 1) True where padded
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
            (both are dz: the same array), and ``(dh0, dc0)``.
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
        block = max(1, BACKWARD_BLOCK_ELEMENTS // (B * H))
        for stop in range(T, 0, -block):
            steps = slice(max(0, stop - block), stop)
            tc, c_prev = cache.tanh_c[steps], cache.c[:-1][steps]
            dc_per_dh = o[steps] * tanh_grad(tc)  # (K, B, H)
            dz_ifg_per_dc = np.stack(
                [
                    g[steps] * sigmoid_grad(i[steps]),
                    c_prev * sigmoid_grad(f[steps]),
                    i[steps] * tanh_grad(g[steps]),
                ],
                axis=2,
            )  # (K, B, 3, H)
            dz_o_per_dh = tc * sigmoid_grad(o[steps])  # (K, B, H)
            if real is not None:
                dc_per_dh *= real[steps]
                dz_ifg_per_dc *= real[steps, :, :, None]
                dz_o_per_dh *= real[steps]
            block_steps = zip(
                dhs[steps], dc_per_dh, dz_ifg_per_dc, dz_o_per_dh, dz4[steps, :, :3],
                dz4[steps, :, 3], dz[steps], f[steps], strict=True,
            )  # fmt: skip
            for k, per_step in reversed(list(enumerate(block_steps))):
                dhs_t, dc_per_dh_t, dz_ifg_per_dc_t, dz_o_per_dh_t, dz_ifg_t, dz_o_t, dz_t, f_t = (
                    per_step
                )
                np.add(dhs_t, dh_next, out=dh)
                np.multiply(dh, dc_per_dh_t, out=tmp)
                dc += tmp  # ∂L/∂c_t: from step t+1, plus through h_t
                np.multiply(dc_col, dz_ifg_per_dc_t, out=dz_ifg_t)  # dz_i, dz_f, dz_g
                np.multiply(dh, dz_o_per_dh_t, out=dz_o_t)  # dz_o
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
