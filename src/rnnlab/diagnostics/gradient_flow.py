"""Gradient flow through time: how large ‖∂L/∂h_t‖ is at every step t, and what it means.

A loss read at late steps reaches an early h_t only through the product of the recurrent
Jacobians ∂h_{k+1}/∂h_k for k = t..T-1. If their norms sit below 1 the product shrinks
geometrically as t moves back (vanishing: early inputs cannot be learned from); above 1 it
grows (exploding: updates blow up). A vanilla RNN multiplies by W_hh and tanh' at every
step; an LSTM's cell state is carried by c_t = f_t ⊙ c_{t-1} + ..., a product of forget gates
near 1, which is why its gradient survives long delays.

All functions here are pure: arrays in (from :class:`~rnnlab.diagnostics.probe.Probe`),
numbers and sentences out. Steps are numbered t = 1..T (array index t - 1).

Which norm: ``norms_over_time`` takes at each step the L2 (Frobenius) norm over the whole
(B, H) gradient, i.e. ‖∂L/∂H_t‖ for the batch's state matrix H_t, √(Σ_b ‖∂L/∂h_t^(b)‖²).
Not the norm of the gradient summed over the batch: sequences' gradients point in
different directions and would cancel. Not the mean of per-sequence norms either, though
for the picture it hardly matters: ratios between steps, the geometric rate and the shape
over t are the same up to how evenly the sequences share the gradient.
"""

import math

import numpy as np


def norms_over_time(hidden_grads: np.ndarray) -> np.ndarray:
    """(T, L, B, H) total ∂L/∂h_t → (T, L) their L2 norm over (B, H) per step and layer."""
    hidden_grads = np.asarray(hidden_grads)
    if hidden_grads.ndim != 4:
        raise ValueError(
            f"norms_over_time expected hidden_grads of shape (T, L, B, H), got {hidden_grads.shape}"
        )
    T, L = hidden_grads.shape[:2]
    return np.linalg.norm(hidden_grads.reshape(T, L, -1), axis=-1)  # (T, L)


def flow_summary(norms: np.ndarray) -> dict[int, dict[str, float]]:
    """Per layer: how the gradient norm changes from the last step back to the first.

    Args:
        norms: (T, L) from :func:`norms_over_time` (a (T,) array is one layer).

    Returns:
        layer -> ``first``, ``last`` (‖∂L/∂h_1‖, ‖∂L/∂h_T‖), ``ratio`` (first / last: ≪ 1
        vanishing, ≫ 1 exploding), ``decay_per_step`` (the factor each step back in time
        multiplies the norm by, exp(-slope) of a least-squares line through log ‖∂L/∂h_t‖:
        < 1 vanishing, > 1 exploding; NaN with fewer than two positive finite norms),
        ``min``, ``max`` and the steps ``min_t``, ``max_t`` where they occur (1-based).
    """
    norms = _as_2d(norms, "flow_summary")
    summary = {}
    for layer in range(norms.shape[1]):
        n = norms[:, layer]  # (T,)
        finite = np.isfinite(n)
        first, last = float(n[0]), float(n[-1])
        summary[layer] = {
            "first": first,
            "last": last,
            "ratio": _ratio(first, last),
            "decay_per_step": _geometric_rate(n),
            "min": float(np.min(n[finite])) if finite.any() else math.nan,
            "max": float(np.max(n[finite])) if finite.any() else math.nan,
            "min_t": int(np.argmin(np.where(finite, n, np.inf))) + 1,
            "max_t": int(np.argmax(np.where(finite, n, -np.inf))) + 1,
        }
    return summary


def flow_warnings(norms: np.ndarray, low: float = 1e-6, high: float = 1e3) -> list[str]:
    """One line per layer and problem: vanishing (< low), exploding (> high), not finite.

    E.g. ``layer 0: ‖∂L/∂h_t‖ falls below 1e-06 at t ≤ 12 (vanishing)``. The defaults are
    the usual rules of thumb: below 1e-6 a step learns next to nothing, above 1e3 an update
    is unstable. A norm of exactly 0 counts as vanishing (nothing reaches that step).
    """
    if not 0.0 <= low < high:
        raise ValueError(f"flow_warnings expected 0 <= low < high, got low={low}, high={high}")
    norms = _as_2d(norms, "flow_warnings")
    T = norms.shape[0]
    lines = []
    for layer in range(norms.shape[1]):
        n = norms[:, layer]
        finite = np.isfinite(n)
        for steps, what in [
            (~finite, "is NaN or infinite {where}"),
            (finite & (n < low), f"falls below {low:g} {{where}} (vanishing)"),
            (finite & (n > high), f"rises above {high:g} {{where}} (exploding)"),
        ]:
            if steps.any():
                where = _describe_steps(np.flatnonzero(steps) + 1, T)
                lines.append(f"layer {layer}: ‖∂L/∂h_t‖ {what.format(where=where)}")
    return lines


def _as_2d(norms, who: str) -> np.ndarray:
    norms = np.asarray(norms, dtype=np.float64)
    if norms.ndim == 1:
        norms = norms[:, None]  # (T, 1)
    if norms.ndim != 2 or norms.shape[0] == 0:
        raise ValueError(f"{who} expected norms of shape (T, L) or (T,), got {norms.shape}")
    return norms


def _ratio(first: float, last: float) -> float:
    if last > 0:
        return first / last
    return math.inf if first > 0 else math.nan


def _geometric_rate(n: np.ndarray) -> float:
    """exp(-slope) of log n against t, over the steps with a positive finite norm."""
    t = np.flatnonzero(np.isfinite(n) & (n > 0))
    if t.size < 2:
        return math.nan
    slope = np.polyfit(t.astype(np.float64), np.log(n[t]), 1)[0]
    return float(np.exp(-slope))


def _describe_steps(steps: np.ndarray, T: int) -> str:
    """1-based steps as words: 'at t ≤ 12', 'at t ≥ 40', 'at every step', 'at t = 3–5, 9'."""
    if steps.size == T:
        return "at every step"
    if steps[0] == 1 and steps[-1] == steps.size:
        return f"at t ≤ {steps[-1]}"
    if steps[-1] == T and steps[0] == T - steps.size + 1:
        return f"at t ≥ {steps[0]}"
    runs = np.split(steps, np.flatnonzero(np.diff(steps) != 1) + 1)  # consecutive steps
    shown = ", ".join(f"{r[0]}" if r.size == 1 else f"{r[0]}–{r[-1]}" for r in runs[:6])
    more = f", … ({len(runs) - 6} more runs)" if len(runs) > 6 else ""
    return f"at t = {shown}{more}"
