"""Gradient clipping by global norm (Pascanu et al. 2013), the usual cure for exploding BPTT.

All gradients are treated as one long vector g:
    ‖g‖ = √(Σ_tensors Σ_i g_i²)
    g ← g · min(1, max_norm / (‖g‖ + 10⁻⁶))
The direction of the update is kept; only its length is capped at (about) max_norm. The
10⁻⁶ and the clamp at 1 are torch.nn.utils.clip_grad_norm_'s rule, so both engines clip alike.

Non-finite gradients (a deliberate difference from torch): if ‖g‖ is inf or NaN the gradients
are left exactly as they are and the inf/NaN norm is returned. torch would multiply every
gradient by the clamped coefficient, which is NaN (for a NaN norm, poisoning every tensor) or
0 (for an inf norm, zeroing the finite ones and turning the infinite ones into NaN); either way
the evidence is destroyed and an update would silently corrupt the weights. Returning the norm
untouched lets the caller see it, skip the step and stop with a clear message.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-6  # torch's guard against dividing by a zero norm


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
    if not math.isfinite(total):
        return total
    coef = max_norm / (total + EPS)
    if coef < 1.0:
        for g in grads.values():
            g *= coef
    return total
