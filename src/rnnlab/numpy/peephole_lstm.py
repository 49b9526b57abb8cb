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
term is added to z_i inside σ, so ∂L/∂ of the whole argument of σ is ∂L/∂z_i = dz_i::

    do       = dh_t ⊙ tanh(c_t),   dz_o = do ⊙ o(1 - o)
    dc       = dc_t + dh_t ⊙ o ⊙ (1 - tanh²(c_t)) + dz_o ⊙ p_o     c_t reaches h_t twice
    di       = dc ⊙ g,   df = dc ⊙ c_{t-1},   dg = dc ⊙ i
    dz_i     = di ⊙ i(1 - i),   dz_f = df ⊙ f(1 - f),   dz_g = dg ⊙ (1 - g²)
    dc_{t-1} = dc ⊙ f + dz_i ⊙ p_i + dz_f ⊙ p_f
    dp_i     = Σ_rows dz_i ⊙ c_{t-1},   dp_f = Σ_rows dz_f ⊙ c_{t-1},   dp_o = Σ_rows dz_o ⊙ c_t
    dz       = [dz_i, dz_f, dz_g, dz_o]                                # (B, 4H)
    dx_t     = dz W_ih,   dh_{t-1} = dz W_hh
    dW_ih    = dzᵀ x_t,   dW_hh = dzᵀ h_{t-1},   db_ih = db_hh = Σ_rows dz

:func:`step_forward` and :func:`step_backward` are these lines, one for one; the stack runs
:class:`PeepholeLSTMCell`, the same loop over time (a test proves them equal to 1e-12).
"""

from typing import NamedTuple

import numpy as np

from rnnlab.cells import CELLS
from rnnlab.numpy.activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from rnnlab.numpy.stack import RecurrentStack

KIND = CELLS["peephole_lstm"]  # gates i, f, g, o; states h, c; three peephole vectors
PEEPHOLE_KEYS = ("weight_peephole_i", "weight_peephole_f", "weight_peephole_o")  # p_i, p_f, p_o
assert set(PEEPHOLE_KEYS) == set(KIND.extra_tensors), "the registry's peepholes changed"


class PeepholeLSTMStepCache(NamedTuple):
    """What :func:`step_backward` reads: one step's inputs, activations and weights."""

    x_t: np.ndarray  # (B, I)
    h_prev: np.ndarray  # (B, H) h_{t-1}
    c_prev: np.ndarray  # (B, H) c_{t-1}
    c_t: np.ndarray  # (B, H) the new cell state, which o reads
    i: np.ndarray  # (B, H) the four activated gates
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray  # (B, H) tanh(c_t)
    W_ih: np.ndarray  # (4H, I)
    W_hh: np.ndarray  # (4H, H)
    p_i: np.ndarray  # (H,) the peepholes
    p_f: np.ndarray
    p_o: np.ndarray


class PeepholeLSTMStepGrads(NamedTuple):
    """∂L/∂ of everything :func:`step_forward` read."""

    dx_t: np.ndarray  # (B, I)
    dh_prev: np.ndarray  # (B, H)
    dc_prev: np.ndarray  # (B, H)
    dW_ih: np.ndarray  # (4H, I)
    dW_hh: np.ndarray  # (4H, H)
    db_ih: np.ndarray  # (4H,)
    db_hh: np.ndarray  # (4H,)
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
        x_t, h_prev, c_prev, c_t, i, f, g, o, tanh_c, W_ih, W_hh, p_i, p_f, p_o
    )
    return h_t, c_t, cache


def step_backward(dh_t, dc_t, cache: PeepholeLSTMStepCache) -> PeepholeLSTMStepGrads:
    """One peephole-LSTM step backward: the module docstring's backward equations.

    Args:
        dh_t: (B, H) ∂L/∂h_t, from the layer above and from step t+1 together.
        dc_t: (B, H) ∂L/∂c_t through step t+1 (zero after the last step, or ∂L/∂c_T).
        cache: what :func:`step_forward` returned.
    """
    i, f, g, o, tanh_c, c_prev = cache.i, cache.f, cache.g, cache.o, cache.tanh_c, cache.c_prev
    do = dh_t * tanh_c  # (B, H)
    dz_o = do * sigmoid_grad(o)  # (B, H)
    dc = dc_t + dh_t * o * tanh_grad(tanh_c) + dz_o * cache.p_o  # (B, H) all of ∂L/∂c_t
    di, df, dg = dc * g, dc * c_prev, dc * i  # (B, H) each
    dz_i, dz_f, dz_g = di * sigmoid_grad(i), df * sigmoid_grad(f), dg * tanh_grad(g)
    dc_prev = dc * f + dz_i * cache.p_i + dz_f * cache.p_f  # (B, H)
    dz = np.concatenate([dz_i, dz_f, dz_g, dz_o], axis=1)  # (B, 4H)
    return PeepholeLSTMStepGrads(
        dx_t=dz @ cache.W_ih,  # (B, I)
        dh_prev=dz @ cache.W_hh,  # (B, H)
        dc_prev=dc_prev,
        dW_ih=dz.T @ cache.x_t,  # (4H, I)
        dW_hh=dz.T @ cache.h_prev,  # (4H, H)
        db_ih=dz.sum(axis=0),  # (4H,)
        db_hh=dz.sum(axis=0),
        dp_i=(dz_i * c_prev).sum(axis=0),  # (H,)
        dp_f=(dz_f * c_prev).sum(axis=0),
        dp_o=(dz_o * cache.c_t).sum(axis=0),
    )


class PeepholeLSTMCache(NamedTuple):
    h_prev: np.ndarray  # (T, B, H) h_{t-1} for every step: what dW_hh needs
    c: np.ndarray  # (T+1, B, H) c_0 .. c_T (carried through padding)
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    c_new: np.ndarray  # (T, B, H) the *unmasked* new cell state c_t that o and h read
    tanh_c: np.ndarray  # (T, B, H) tanh(c_new)
    mask: np.ndarray | None  # (T, B, 1) 1.0 where the step is real, 0.0 on padding


class PeepholeLSTMCell:
    """One direction of one peephole-LSTM layer over a whole sequence; state is ``(h, c)``.

    The math is in ``step_forward``/``step_backward`` above; this loop is the same
    computation made fast — modestly: the stack has done ``xw = x W_ihᵀ + b_ih`` for all
    steps in one GEMM and turns the returned dz into the weight and bias gradients in one
    GEMM each; W_hh is transposed once; each step writes its pre-activations and then its
    activations in place into the cached ``gates`` array; and σ is the reference's own
    :func:`~rnnlab.numpy.activations.sigmoid`. (The plain LSTM's single-exp and blocked-
    backward tricks are not applied here: o must wait for c_t.) On padded steps (``mask``
    0) the state is carried through and the gradient skips the step untouched.
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
            (both are dz: the same array), ``(dh0, dc0)``, and ``{key: (H,)}`` for the three
            peepholes.
        """
        T, B, H = dhs.shape
        p_i, p_f, p_o = weight_peephole_i, weight_peephole_f, weight_peephole_o
        dz = np.empty((T, B, 4 * H), dtype=dhs.dtype)
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
            dz_t = dz[t]  # (B, 4H), filled gate by gate
            dz_o = np.multiply(dh * tc, sigmoid_grad(o), out=dz_t[:, 3 * H :])  # (B, H)
            dc = dc + dh * o * tanh_grad(tc) + dz_o * p_o  # (B, H)
            dz_i = np.multiply(dc * g, sigmoid_grad(i), out=dz_t[:, :H])
            dz_f = np.multiply(dc * c_prev, sigmoid_grad(f), out=dz_t[:, H : 2 * H])
            np.multiply(dc * i, tanh_grad(g), out=dz_t[:, 2 * H : 3 * H])  # dz_g
            dp_i += (dz_i * c_prev).sum(axis=0)
            dp_f += (dz_f * c_prev).sum(axis=0)
            dp_o += (dz_o * c_t).sum(axis=0)
            dh_next = dz_t @ W_hh  # (B, H)
            dc_next = dc * f + dz_i * p_i + dz_f * p_f
            if cache.mask is not None:
                dh_next += dh_skip
                dc_next += dc_skip
        extra_grads = dict(zip(PEEPHOLE_KEYS, (dp_i, dp_f, dp_o), strict=True))
        return dz, dz, (dh_next, dc_next), extra_grads


class PeepholeLSTM(RecurrentStack):
    """Multi-layer, optionally bidirectional peephole LSTM.

    torch.nn.LSTM's four tensors per layer and direction (``weight_ih_l{k}{_reverse}``
    (4H × I_k), ``weight_hh_l{k}{_reverse}`` (4H × H), ``bias_ih_l{k}{_reverse}``,
    ``bias_hh_l{k}{_reverse}`` (4H)) plus three peephole vectors
    ``weight_peephole_{i,f,o}_l{k}{_reverse}`` (H), initialised to 0. ``state`` is
    ``(h, c)``. See :class:`RecurrentStack` for the arguments and the interface.
    """

    cell_class = PeepholeLSTMCell
