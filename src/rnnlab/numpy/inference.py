"""Fast inference: one timestep of a :class:`~rnnlab.numpy.model.Model`, for generation.

``Model.forward`` is general: it validates its inputs and states, keeps the caches backward
needs, and loops over layers and time with arrays shaped for any (T, B). Writing text calls
it once per token with T = B = 1, where all of that is Python overhead around one
matrix-vector product per layer. A :class:`Stepper` does the same arithmetic for one step and
nothing else, for each layer::

    z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh           then the cell's own update (see below)
    logits = h_top W_headᵀ + b_head

* one-hot input: x W_ihᵀ is row ``id`` of W_ihᵀ, so the input projection is a row of a table
  (V, G) = W_ihᵀ + b_ih + b_hh built once: no one-hot vector, no GEMM;
* embedding and dense input, and layers above the first: x W_ihᵀ + (b_ih + b_hh), one GEMV;
* every σ is ½ tanh(z/2) + ½, so all gates of a step take **one** tanh: the ½ inside is folded
  into the sigmoid gates' rows of the table, W_ih, W_hh and the biases once (exact: halving
  is a power-of-two scaling), and ``z ⊙ scale + shift`` turns tanh into σ after it.

The recurrences, written with the folded weights (gate orders are torch.nn's)::

    LSTM  t = tanh(z);  i, f, o = ½t + ½;  g = t;  c' = f ⊙ c + i ⊙ g;  h' = o ⊙ tanh(c')
    GRU   r, z = ½ tanh(xw + hw) + ½ on the first 2H;  a = hw[2H:] + b_hn  (b_hn stays apart:
          r scales it);  n = tanh(xw[2H:] + r ⊙ a);  h' = n + z ⊙ (h - n)
    RNN   h' = φ(z), φ = tanh or relu

Results equal ``Model.forward`` up to rounding (the sums are grouped differently); the
tests hold them to 1e-12 in float64. Unidirectional LSTM, GRU and RNN of any depth and
input kind are supported; bidirectional models (a step cannot see the future) and the
peephole and LayerNorm LSTMs are not: :func:`unsupported_reason` says why, and generation
falls back to ``engine.forward``.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.model import ModelSpec
from rnnlab.numpy.model import Model

SUPPORTED_CELLS = ("lstm", "gru", "rnn")


def unsupported_reason(spec: ModelSpec) -> str | None:
    """Why a :class:`Stepper` cannot run ``spec``, or None when it can."""
    if spec.cell not in SUPPORTED_CELLS:
        return f"the stepper runs {', '.join(SUPPORTED_CELLS)} cells, not {spec.cell!r}"
    if spec.bidirectional:
        return "a bidirectional model reads the whole sequence; it cannot step token by token"
    if spec.readout != "per_step":
        return f"the {spec.readout!r} readout answers once per sequence, not at every step"
    return None


class StepLayer(NamedTuple):
    """One layer's weights, folded for a single step (G = gates·H)."""

    table: np.ndarray | None  # (V, G) W_ihᵀ + biases, one row per id (one-hot layer 0 only)
    W_ih_T: np.ndarray | None  # (I, G) where the input is a vector
    bias: np.ndarray  # (G,) added to x W_ihᵀ: b_ih + b_hh (GRU: b_hh on r, z only)
    W_hh_T: np.ndarray  # (H, G)
    b_hn: np.ndarray | None  # (H,) GRU only: the candidate's recurrent bias, scaled by r


class Stepper:
    """One timestep of ``model`` at a time: ``logits, state = stepper.step(inputs, state)``.

    The weights are copied (folded, see the module docstring) when the stepper is built:
    build a new one after they change. ``step`` keeps no state of its own and never writes
    into its arguments; the state it returns is new arrays, in ``Model.forward``'s format, so
    a state moves freely between ``Model.forward`` and ``step`` (read a prime in one forward
    call, then step from its final state).

    Args:
        model: a unidirectional LSTM, GRU or RNN model (:func:`unsupported_reason`).

    Raises:
        ValueError: the model is not supported.
    """

    def __init__(self, model: Model):
        spec = model.spec
        reason = unsupported_reason(spec)
        if reason is not None:
            raise ValueError(f"Stepper cannot run this model: {reason}")
        self.spec = spec
        self.dtype = model.dtype
        H, G = spec.hidden_size, spec.gates * spec.hidden_size
        # scale: ½ on the sigmoid gates (folded into the weights), 1 elsewhere; shift: ½ on
        # the sigmoid gates. After t = tanh(z_folded): σ = ½t + ½ = t ⊙ scale + shift.
        sigmoid_rows = {"lstm": np.r_[0 : 2 * H, 3 * H : 4 * H], "gru": np.r_[0 : 2 * H]}
        scale = np.ones(G, self.dtype)  # (G,)
        scale[sigmoid_rows.get(spec.cell, [])] = 0.5
        self.scale = scale
        self.shift = np.where(scale == 0.5, 0.5, 0.0).astype(self.dtype)  # (G,)
        self.nonlinearity = spec.nonlinearity
        self.embedding = None  # (V, E)
        if model.embedding is not None:
            self.embedding = model.embedding.params["weight"].copy()
        self.layers = [self._fold(model, layer) for layer in range(spec.num_layers)]
        self.head_W_T = model.head.params["weight"].T.copy()  # (H, O), C order
        self.head_b = model.head.params["bias"].copy()  # (O,)
        self._cell_step = {"lstm": self._lstm, "gru": self._gru, "rnn": self._rnn}[spec.cell]

    def _fold(self, model: Model, layer: int) -> StepLayer:
        p = model.rnn.params
        W_ih, W_hh = p[f"weight_ih_l{layer}"], p[f"weight_hh_l{layer}"]  # (G, I), (G, H)
        b_ih, b_hh = p[f"bias_ih_l{layer}"], p[f"bias_hh_l{layer}"]  # (G,)
        b_hn = None
        bias = b_ih + b_hh  # (G,)
        if self.spec.cell == "gru":  # b_hn is multiplied by r: it cannot join b_ih
            H = self.spec.hidden_size
            bias[2 * H :] = b_ih[2 * H :]
            b_hn = b_hh[2 * H :].copy()  # (H,)
        bias *= self.scale
        # C order, so that a row (one id's projection) is contiguous; a product keeps the order
        # of its input, which for a transpose is Fortran's.
        W_ih_T = np.ascontiguousarray(W_ih.T) * self.scale  # (I, G)
        W_hh_T = np.ascontiguousarray(W_hh.T) * self.scale  # (H, G)
        if layer == 0 and self.spec.input_kind == "onehot":
            return StepLayer(W_ih_T + bias, None, bias, W_hh_T, b_hn)  # table (V, G)
        return StepLayer(None, W_ih_T, bias, W_hh_T, b_hn)

    # ------------------------------------------------------------------ one step
    def step(self, inputs: np.ndarray, state=None):
        """Advance every layer by one timestep.

        Args:
            inputs: (B,) int token ids (one-hot and embedding input, each in [0, V)) or
                (B, I) features (dense input).
            state: as ``Model.forward`` takes and returns it: ``h`` or ``(h, c)`` (LSTM),
                each (L, B, H) of the model's dtype; None = zeros.

        Returns:
            logits (B, O) and the new state (new arrays, same format).

        Only the shape of ``inputs`` and the range of ids are checked; this is the inner loop
        of generation, so the state is trusted to be one a forward or a step returned.
        """
        x = self._check(inputs)  # (B,) ids or (B, I)
        B = x.shape[0]
        L, H = self.spec.num_layers, self.spec.hidden_size
        states = self._parts(state, B)  # ((L, B, H),) or (h, c)
        new = tuple([np.empty((L, B, H), self.dtype) for _ in states])
        if self.embedding is not None:
            x = self.embedding.take(x, axis=0)  # (B, E) rows; take is faster than [x]
        for k, layer in enumerate(self.layers):
            if layer.table is not None:
                xw = layer.table.take(x, axis=0)  # (B, G) the one-hot GEMM is a row lookup
            else:
                xw = x @ layer.W_ih_T  # (B, G)
                xw += layer.bias
            self._cell_step(layer, xw, [s[k] for s in states], [s[k] for s in new])
            x = new[0][k]  # (B, H) this layer's h' is the next one's input
        logits = x @ self.head_W_T  # (B, O)
        logits += self.head_b
        return logits, (new if len(new) > 1 else new[0])

    def _lstm(self, layer: StepLayer, xw, state, out) -> None:
        (h, c), (h_new, c_new) = state, out  # (B, H) each
        H = h.shape[-1]
        z = h @ layer.W_hh_T  # (B, 4H) folded pre-activation
        z += xw
        np.tanh(z, out=z)
        z *= self.scale  # σ on i, f, o; tanh on g
        z += self.shift
        i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        np.multiply(f, c, out=c_new)
        c_new += i * g  # c' = f ⊙ c + i ⊙ g
        np.tanh(c_new, out=h_new)
        h_new *= o  # h' = o ⊙ tanh(c')

    def _gru(self, layer: StepLayer, xw, state, out) -> None:
        ((h,), (h_new,)) = state, out  # (B, H) each
        H = h.shape[-1]
        hw = h @ layer.W_hh_T  # (B, 3H) folded r, z; unscaled n
        rz = xw[:, : 2 * H] + hw[:, : 2 * H]  # (B, 2H)
        np.tanh(rz, out=rz)
        rz *= self.scale[: 2 * H]
        rz += self.shift[: 2 * H]
        r, z = rz[:, :H], rz[:, H:]
        n = hw[:, 2 * H :]  # (B, H) a = h W_hnᵀ + b_hn, overwritten by n
        n += layer.b_hn
        n *= r
        n += xw[:, 2 * H :]
        np.tanh(n, out=n)  # n = tanh(xw_n + r ⊙ a)
        np.subtract(h, n, out=h_new)
        h_new *= z
        h_new += n  # h' = n + z ⊙ (h - n)

    def _rnn(self, layer: StepLayer, xw, state, out) -> None:
        ((h,), (h_new,)) = state, out
        np.dot(h, layer.W_hh_T, out=h_new)  # (B, H)
        h_new += xw
        if self.nonlinearity == "tanh":
            np.tanh(h_new, out=h_new)
        else:
            np.maximum(h_new, 0.0, out=h_new)

    # ------------------------------------------------------------------ checks
    def _check(self, inputs) -> np.ndarray:
        x = np.asarray(inputs)
        spec = self.spec
        if spec.input_kind == "dense":
            if x.ndim != 2 or x.shape[1] != spec.input_size:
                raise ValueError(
                    f"Stepper expected features of shape (B, {spec.input_size}), got {x.shape}"
                )
            return x.astype(self.dtype, copy=False)
        if x.ndim != 1 or x.dtype.kind not in "iu":
            raise ValueError(f"Stepper expected (B,) integer ids, got {x.dtype} {x.shape}")
        if x.min() < 0 or x.max() >= spec.input_size:
            raise ValueError(
                f"Stepper expected ids in [0, {spec.input_size}), got {x.min()} to {x.max()}"
            )
        return x

    def _parts(self, state, B: int) -> tuple:
        n = 2 if self.spec.cell == "lstm" else 1
        if state is None:
            shape = (self.spec.num_layers, B, self.spec.hidden_size)
            return tuple(np.zeros(shape, self.dtype) for _ in range(n))
        return tuple(state) if n == 2 else (state,)
