"""Peephole LSTM (Gers & Schmidhuber, 2000): gates that also read the cell state.

The plain LSTM's gates see only x_t and h_{t-1}, i.e. the cell state squashed by tanh and
filtered by the output gate; a closed output gate hides c entirely. Peephole connections let
the gates read c directly, through one diagonal (elementwise) weight vector per gate: i and
f read the old state c_{t-1} (they decide how to write it), o reads the new state c_t (it
decides how much of it to show). One step of one direction of one layer (gate order
i, f, g, o, as :mod:`rnnlab.numpy.lstm`)::

    z   = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh      # (B, 4H) as in the plain LSTM
    i   = σ(z_i + p_i ⊙ c_{t-1})      input gate
    f   = σ(z_f + p_f ⊙ c_{t-1})      forget gate
    g   = tanh(z_g)                   candidate cell (no peephole)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    o   = σ(z_o + p_o ⊙ c_t)          output gate, reading the *new* cell state
    h_t = o ⊙ tanh(c_t)

Extra parameters per layer and direction (each (H,), initialised to 0, so the cell starts
as a plain LSTM): p_i, p_f, p_o, named ``weight_peephole_i_l{k}{_reverse}`` etc. in
``params`` (``rnnlab.cells.CELLS["peephole_lstm"].extra_tensors``).

Backward, given dh_t = ∂L/∂h_t (all of it) and dc_t = ∂L/∂c_t through step t+1. A peephole
term is added to z_i inside σ, so ∂L/∂ of the whole argument of σ is ∂L/∂z_i = dz_i. The
lines marked * are the peepholes' own; the others are the plain LSTM's::

    do       = dh_t ⊙ tanh(c_t),   dz_o = do ⊙ o(1 - o)
  * dc       = dc_t + dh_t ⊙ o ⊙ (1 - tanh²(c_t)) + dz_o ⊙ p_o     c_t reaches h_t twice
    di       = dc ⊙ g,   df = dc ⊙ c_{t-1},   dg = dc ⊙ i
    dz       = [di ⊙ i(1-i),  df ⊙ f(1-f),  dg ⊙ (1-g²),  dz_o]    # (B, 4H) [dz_i, .., dz_o]
  * dc_{t-1} = dc ⊙ f + dz_i ⊙ p_i + dz_f ⊙ p_f
  * dp_i     = Σ_rows dz_i ⊙ c_{t-1},   dp_f = Σ_rows dz_f ⊙ c_{t-1},   dp_o = Σ_rows dz_o ⊙ c_t
    dx_t     = dz W_ih,   dh_{t-1} = dz W_hh
    dW_ih    = dzᵀ x_t,   dW_hh = dzᵀ h_{t-1},   db_ih = db_hh = Σ_rows dz

:func:`step_forward` and :func:`step_backward` are these lines, one for one; the plain
LSTM's are its :func:`~rnnlab.numpy.lstm.gates_backward` (dz and dc ⊙ f) and every cell's
:func:`~rnnlab.numpy.steps.affine_backward`. The stack runs :class:`PeepholeLSTMCell`, the
same loop over time (a test proves them equal to 1e-12).
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rnnlab.cells import CELLS
from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from rnnlab.numpy.lstm import LSTMStepCache, LSTMStepGrads, gates_backward
from rnnlab.numpy.lstm_loop import gate_views, run_backward, run_forward
from rnnlab.numpy.stack import RecurrentStack
from rnnlab.numpy.steps import affine_backward

KIND = CELLS["peephole_lstm"]  # gates i, f, g, o; states h, c; three peephole vectors
PEEPHOLE_KEYS = ("weight_peephole_i", "weight_peephole_f", "weight_peephole_o")  # p_i, p_f, p_o
assert set(PEEPHOLE_KEYS) == set(KIND.extra_tensors), "the registry's peepholes changed"


@dataclass(frozen=True, kw_only=True)
class PeepholeLSTMStepCache(LSTMStepCache):
    """The plain LSTM's step cache, and what the peepholes read."""

    c_t: np.ndarray  # (B, H) the new cell state, which o reads
    p_i: np.ndarray  # (H,) the peepholes
    p_f: np.ndarray
    p_o: np.ndarray


@dataclass(frozen=True, kw_only=True)
class PeepholeLSTMStepGrads(LSTMStepGrads):
    """The plain LSTM's step gradients, and the peepholes'."""

    dp_i: np.ndarray  # (H,)
    dp_f: np.ndarray  # (H,)
    dp_o: np.ndarray  # (H,)


def step_forward(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, p_i, p_f, p_o):
    """One peephole-LSTM step: the module docstring's forward equations.

    Args:
        x_t: (B, I) the input at step t.
        h_prev, c_prev: (B, H) the state h_{t-1}, c_{t-1}.
        W_ih (4H, I), W_hh (4H, H), b_ih (4H,), b_hh (4H,): torch.nn's tensors.
        p_i, p_f, p_o: (H,) the peephole weights.

    Returns:
        h_t, c_t, each (B, H), and the :class:`PeepholeLSTMStepCache`.
    """
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (B, 4H)
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)  # (B, H) each
    i = sigmoid(z_i + p_i * c_prev)  # (B, H)
    f = sigmoid(z_f + p_f * c_prev)  # (B, H)
    g = tanh(z_g)  # (B, H)
    c_t = f * c_prev + i * g  # (B, H)
    o = sigmoid(z_o + p_o * c_t)  # (B, H)
    tanh_c = tanh(c_t)  # (B, H)
    h_t = o * tanh_c  # (B, H)
    cache = PeepholeLSTMStepCache(
        x_t=x_t, h_prev=h_prev, W_ih=W_ih, W_hh=W_hh, c_prev=c_prev, i=i, f=f, g=g, o=o,
        tanh_c=tanh_c, c_t=c_t, p_i=p_i, p_f=p_f, p_o=p_o,
    )  # fmt: skip
    return h_t, c_t, cache


def step_backward(dh_t, dc_t, cache: PeepholeLSTMStepCache) -> PeepholeLSTMStepGrads:
    """One peephole-LSTM step backward: the module docstring's backward equations.

    ``dh_t``, ``dc_t`` (B, H) are ∂L/∂h_t and ∂L/∂c_t as for the plain LSTM's
    :func:`~rnnlab.numpy.lstm.step_backward`; ``cache`` is what :func:`step_forward` returned.
    """
    i, f, g, o, tanh_c, c_prev = cache.i, cache.f, cache.g, cache.o, cache.tanh_c, cache.c_prev
    do = dh_t * tanh_c  # (B, H)
    dz_o = do * sigmoid_grad(o)  # (B, H)
    dc = dc_t + dh_t * o * tanh_grad(tanh_c) + dz_o * cache.p_o  # (B, H) all of ∂L/∂c_t
    dz, dc_f = gates_backward(dc, do, i, f, g, o, c_prev)  # (B, 4H), (B, H) dc ⊙ f
    dz_i, dz_f, _, _ = np.split(dz, 4, axis=1)  # (B, H) each
    dc_prev = dc_f + dz_i * cache.p_i + dz_f * cache.p_f  # (B, H)
    dp_i = (dz_i * c_prev).sum(axis=0)  # (H,)
    dp_f = (dz_f * c_prev).sum(axis=0)  # (H,)
    dp_o = (dz_o * cache.c_t).sum(axis=0)  # (H,)
    grads = {"dc_prev": dc_prev, "dp_i": dp_i, "dp_f": dp_f, "dp_o": dp_o}
    return affine_backward(dz, dz, cache, PeepholeLSTMStepGrads, **grads)


class PeepholeLSTMCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step: what dW_hh needs
    c: np.ndarray  # (T+1, B, H) c_0 .. c_T (carried through padding)
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    c_new: np.ndarray  # (T, B, H) the *unmasked* new cell state c_t that o and h read
    tanh_c: np.ndarray  # (T, B, H) tanh(c_new)
    mask: np.ndarray | None  # (T, B, 1) 1.0 where the step is real, 0.0 on padding


class PeepholeLSTMCell:
    """One direction of one peephole-LSTM layer over a whole sequence; state is ``(h, c)``.

    The math is in ``step_forward``/``step_backward`` above; this is the same computation
    made fast, modestly, as :mod:`~rnnlab.numpy.lstm_loop` describes: the one step written
    here fills the cached ``gates`` in place, pre-activations and then activations, inside
    that module's loop over time. (The plain LSTM's single-exp and blocked-backward tricks
    are not applied here: o must wait for c_t.)
    """

    gates = KIND.num_gates
    state_names = KIND.states

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
        """Run the recurrence: the arguments and results of the plain LSTM's
        :meth:`~rnnlab.numpy.lstm.LSTMCell.forward` (xw (T, B, 4H), ``(h0, c0)``, W_hh, b_hh,
        mask), plus the peepholes p_i, p_f, p_o (H,) by key; the cache is a
        :class:`PeepholeLSTMCache`.
        """
        T, B, G = xw.shape
        H = G // 4
        p_i, p_f, p_o = weight_peephole_i, weight_peephole_f, weight_peephole_o
        gates = np.empty((T, B, G), dtype=xw.dtype)
        c_new = np.empty((T, B, H), dtype=xw.dtype)
        tanh_c = np.empty((T, B, H), dtype=xw.dtype)
        W_hh_T = W_hh.T  # (H, 4H)

        def step(t, h_prev, c_prev):
            z = gates[t]  # (B, 4H), filled in place: pre-activation, then activation
            np.dot(h_prev, W_hh_T, out=z)
            z += xw[t]
            z += b_hh
            i, f, g, o = gate_views(z)  # (B, H) views of it
            i += p_i * c_prev  # i and f peek at the old cell state
            f += p_f * c_prev
            sigmoid(z[:, : 2 * H], out=z[:, : 2 * H])  # i, f
            np.tanh(g, out=g)
            np.add(f * c_prev, i * g, out=c_new[t])  # (B, H)
            o += p_o * c_new[t]  # o peeks at the new one
            sigmoid(o, out=o)
            np.tanh(c_new[t], out=tanh_c[t])
            return o * tanh_c[t], c_new[t]  # (B, H) each

        h, c = run_forward(step, xw, state0, mask)
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
        """Backpropagate through time: as the plain LSTM's
        :meth:`~rnnlab.numpy.lstm.LSTMCell.backward` (dxw and dhw are the same array, dz;
        then ``(dh0, dc0)``), plus the peepholes' gradients ``{key: (H,)}``.
        """
        T, B, H = dhs.shape
        p_i, p_f, p_o = weight_peephole_i, weight_peephole_f, weight_peephole_o
        dz = np.empty((T, B, 4 * H), dtype=dhs.dtype)
        dp = np.zeros((3, H), dtype=dhs.dtype)  # dp_i, dp_f, dp_o

        def step(t, dh, dc):
            i, f, g, o = gate_views(cache.gates[t])  # (B, H) each
            c_prev, c_t, tc = cache.c[t], cache.c_new[t], cache.tanh_c[t]
            do = dh * tc  # (B, H)
            dz_o = do * sigmoid_grad(o)  # (B, H)
            dc = dc + dh * o * tanh_grad(tc) + dz_o * p_o  # (B, H)
            _, dc_f = gates_backward(dc, do, i, f, g, o, c_prev, out=dz[t])
            dz_i, dz_f = dz[t, :, :H], dz[t, :, H : 2 * H]
            dp[0] += (dz_i * c_prev).sum(axis=0)
            dp[1] += (dz_f * c_prev).sum(axis=0)
            dp[2] += (dz_o * c_t).sum(axis=0)
            return dz[t] @ W_hh, dc_f + dz_i * p_i + dz_f * p_f  # ∂L/∂h_{t-1}, ∂L/∂c_{t-1}

        dstate0 = run_backward(step, dhs, dstate_n, cache.mask)
        return dz, dz, dstate0, dict(zip(PEEPHOLE_KEYS, dp, strict=True))


class PeepholeLSTM(RecurrentStack):
    """Multi-layer, optionally bidirectional peephole LSTM.

    torch.nn.LSTM's four tensors per layer and direction (``weight_ih_l{k}{_reverse}``
    (4H × I_k), ``weight_hh_l{k}{_reverse}`` (4H × H), ``bias_ih_l{k}{_reverse}``,
    ``bias_hh_l{k}{_reverse}`` (4H)) plus three peephole vectors
    ``weight_peephole_{i,f,o}_l{k}{_reverse}`` (H), initialised to 0. ``state`` is
    ``(h, c)``. See :class:`RecurrentStack` for the arguments and the interface.
    """

    cell_class = PeepholeLSTMCell
