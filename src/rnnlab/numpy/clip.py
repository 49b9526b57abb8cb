"""Gradient clipping by global norm in NumPy; the rule (and why a non-finite norm leaves the
gradients as they are) is :mod:`rnnlab.update`'s, shared with the torch engine.

Non-finite gradients (a deliberate difference from torch): if ‖g‖ is inf or NaN the gradients
are left exactly as they are and the inf/NaN norm is returned. torch would multiply every
gradient by the clamped coefficient, which is NaN (for a NaN norm, poisoning every tensor) or
0 (for an inf norm, zeroing the finite ones and turning the infinite ones into NaN).
"""

from __future__ import annotations

import math

import numpy as np

from rnnlab.update import clip_coefficient


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """‖g‖₂ of all arrays together, accumulated in float64 (inf or NaN if any entry is).

    float32 gradients cannot overflow the float64 sum of squares; float64 ones with a norm
    past ~1e154 do, and read as inf, which a trainer treats as the divergence it is.
    """
    total = 0.0
    with np.errstate(over="ignore"):
        for g in grads.values():
            # An elementwise square and sum, not np.dot: BLAS may spread a dot product over
            # threads, which costs more than the sum itself for these small vectors. The
            # square converts to float64 as it goes (no float64 copy of g first).
            total += float(np.square(g, dtype=np.float64).sum())
    return math.sqrt(total)


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale ``grads`` in place so their global norm is at most ``max_norm``.

    Returns the global norm before clipping. Gradients whose norm is not finite are left
    unchanged (see the module docstring); the returned inf/NaN tells the caller.
    """
    if not max_norm > 0.0:
        raise ValueError(f"clip_grad_norm: max_norm must be > 0, got {max_norm}")
    total = global_norm(grads)
    coef = clip_coefficient(total, max_norm)  # 1.0 for a non-finite norm
    if coef < 1.0:
        scale_grads(grads, coef)
    return total


def scale_grads(grads: dict[str, np.ndarray], factor: float) -> None:
    """g ← factor · g for every gradient, in place (in each array's own dtype)."""
    for g in grads.values():
        g *= factor
