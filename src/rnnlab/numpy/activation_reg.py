"""Activation regularisation (AR) and temporal activation regularisation (TAR) as parts of a
NumPy model (Merity et al. 2018, AWD-LSTM): penalties on the recurrent stack's top-layer
output, added to the training loss.

With y (T, B, U) the stack's output (U = D·H), ỹ = y ⊙ s the same after the output locked
dropout (ỹ = y without it), r_{t,b} = 1 on the real steps (t < lengths[b]; every step
without lengths) and q_{t,b} = r_{t,b} r_{t-1,b} (t ≥ 1) on the real pairs of steps:

    AR  = α · Σ_{t,b} r_{t,b} Σ_u ỹ_{t,b,u}² / (N·U),              N = Σ r
    TAR = β · Σ_{t≥1,b} q_{t,b} Σ_u (d_{t,b,u})² / (M·U),          M = Σ q,  d_t = y_t − y_{t−1}

An empty sum counts as 0 (N = 0 or M = 0 gives a penalty of 0, not 0/0). Their gradients:

    ∂AR/∂ỹ_t  = 2α/(N·U) · r_t ỹ_t
    ∂TAR/∂y_t = 2β/(M·U) · (q_t d_t − q_{t+1} d_{t+1})        q_0 = q_T = 0

since y_t is the later end of the pair (t−1, t) and the earlier end of (t, t+1).

Why these two: AR keeps the activations the head reads small; TAR keeps the hidden state
from jumping between steps. Why AR reads ỹ and TAR y (as AWD-LSTM does): AR penalises
what the head actually sees, so units dropped for a sequence cost nothing; the locked mask
is the same at every step, so TAR on ỹ would only re-weight each unit's change by s² —
on y it penalises every unit's change alike. The model's plain ``dropout`` (a fresh mask
per element and step, after the locked one) is *not* part of ỹ: AR would then penalise
noise that is redrawn every step, which AWD-LSTM (having no such dropout there) never does.

Each part is the identity on its input: forward adds its penalty to ``flow.penalty`` (which
the engine adds to the loss), backward adds ∂penalty/∂y to ∂L/∂y. Outside training, or
with a coefficient of 0, it is the identity and adds nothing: evaluation reports the task
loss alone.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.numpy.parts import Flow
from rnnlab.numpy.readouts import real_steps


def ar_penalty(y: np.ndarray, real: np.ndarray, alpha: float) -> float:
    """AR of ỹ (T, B, U) with r = ``real`` (T, B, 1) bool."""
    count = int(real.sum()) * y.shape[-1]  # N·U
    return alpha * np.sum(real * y * y) / max(count, 1)  # count 0: the sum is 0 too


def ar_backward(y: np.ndarray, real: np.ndarray, alpha: float) -> np.ndarray:
    """∂AR/∂ỹ (T, B, U)."""
    count = int(real.sum()) * y.shape[-1]  # N·U
    return (2.0 * alpha / max(count, 1)) * (real * y)  # (T, B, U) in y's dtype


def tar_penalty(y: np.ndarray, real: np.ndarray, beta: float) -> float:
    """TAR of y (T, B, U) with r = ``real`` (T, B, 1) bool."""
    d = y[1:] - y[:-1]  # (T-1, B, U) d_t for t = 1 .. T-1
    q = real[1:] & real[:-1]  # (T-1, B, 1) both ends real
    count = int(q.sum()) * y.shape[-1]  # M·U
    return beta * np.sum(q * d * d) / max(count, 1)  # count 0: the sum is 0 too


def tar_backward(y: np.ndarray, real: np.ndarray, beta: float) -> np.ndarray:
    """∂TAR/∂y (T, B, U)."""
    d = y[1:] - y[:-1]  # (T-1, B, U)
    q = real[1:] & real[:-1]  # (T-1, B, 1)
    count = int(q.sum()) * y.shape[-1]  # M·U
    g = (2.0 * beta / max(count, 1)) * (q * d)  # (T-1, B, U) ∂TAR/∂d_t, in y's dtype
    dy = np.zeros_like(y)  # (T, B, U)
    dy[1:] += g  # y_t is the later end of pair t:    ∂d_t/∂y_t = +1
    dy[:-1] -= g  # y_{t-1} the earlier end of pair t: ∂d_t/∂y_{t-1} = −1
    return dy


PENALTIES = {"ar": (ar_penalty, ar_backward), "tar": (tar_penalty, tar_backward)}


class PenaltyCache(NamedTuple):
    y: np.ndarray | None  # (T, B, U) what the penalty read; None when it was the identity
    real: np.ndarray | None  # (T, B, 1) r, True on the real steps


class PenaltyPart:
    """AR (``kind`` "ar", coefficient α) or TAR ("tar", β) on the (T, B, U) activations
    that pass through it: the identity, with the penalty added to the loss in training."""

    def __init__(self, kind: str, coefficient: float) -> None:
        self.kind, self.coefficient, self.params = kind, coefficient, {}
        self.penalty, self.gradient = PENALTIES[kind]

    def forward(self, y, flow: Flow):
        if not flow.train or self.coefficient == 0.0:
            return y, PenaltyCache(None, None)
        T, B, _ = y.shape
        real = real_steps(flow.lengths, T, B)  # (T, B, 1)
        flow.penalty += self.penalty(y, real, self.coefficient)
        return y, PenaltyCache(y, real)

    def backward(self, dy, cache: PenaltyCache, flow: Flow):
        if cache.y is None:
            return dy, {}
        return dy + self.gradient(cache.y, cache.real, self.coefficient), {}
