"""How every engine's training step ends: clip the gradients, then update — or, when the
loss or the gradients are not finite, skip the update and say so. Written once here; the
engines bring only their arithmetic (their gradient norm, scaling their gradients, their
optimizer's step).

Clipping by global norm (Pascanu et al. 2013) treats all gradients as one vector g:

    g ← g · min(1, max_norm / (‖g‖ + 10⁻⁶))

keeping the update's direction and capping its length at (about) max_norm; the 10⁻⁶ and the
clamp at 1 are torch.nn.utils.clip_grad_norm_'s rule. A non-finite ‖g‖ (inf or NaN) leaves the
gradients untouched: scaling by its coefficient would destroy the evidence, and the step is
skipped anyway.
"""

import math
from collections.abc import Callable

EPS = 1e-6  # torch's guard against dividing by a zero norm


def clip_coefficient(norm: float, max_norm: float | None) -> float:
    """The factor that brings a gradient of global norm ``norm`` within ``max_norm``:
    min(1, max_norm / (norm + 10⁻⁶)); 1.0 without clipping or for a non-finite norm."""
    if max_norm is None or not math.isfinite(norm):
        return 1.0
    if not max_norm > 0.0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    return min(1.0, max_norm / (norm + EPS))


def apply_update(
    loss: float,
    norm: float,
    grad_clip: float | None,
    scale_gradients: Callable[[float], None],
    step: Callable[[], None],
) -> bool:
    """Clip and step when ``loss`` and the gradient ``norm`` (before clipping) are finite.

    Returns whether the update was applied: a non-finite step would poison every weight, so
    it is skipped and the trainer reports it (StepResult.updated).
    """
    if not (math.isfinite(loss) and math.isfinite(norm)):
        return False
    coefficient = clip_coefficient(norm, grad_clip)
    if coefficient < 1.0:
        scale_gradients(coefficient)
    step()
    return True
