"""Inverted dropout, forward and backward.

In training every element is kept with probability 1 - p and scaled by 1/(1 - p):
    m_i ~ Bernoulli(1 - p),   y = x ⊙ m / (1 - p)
so E[y] = x and the network needs no rescaling at evaluation time, where y = x.
With the scaled mask s = m / (1 - p) the layer is linear in x, hence
    ∂L/∂x = ∂L/∂y ⊙ s.

Masks come from the layer's own ``np.random.Generator``; ``get_state`` / ``set_state``
save and restore it, so a resumed run draws the same masks it would have drawn.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import numpy as np

from rnnlab.numpy.init import make_rng


class DropoutCache(NamedTuple):
    """What backward needs from forward."""

    scale: np.ndarray | None  # (...) m/(1-p) in x's shape; None when the layer was the identity


class Dropout:
    """Inverted dropout with drop probability ``p``; the identity for ``train=False`` or p == 0."""

    def __init__(
        self, p: float, seed: int | None = None, rng: np.random.Generator | None = None
    ) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability p must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = make_rng(seed, rng)

    def forward(self, x: np.ndarray, train: bool = True) -> tuple[np.ndarray, DropoutCache]:
        """x (...) -> y (...) of the same shape and dtype."""
        if not train or self.p == 0.0:
            return x, DropoutCache(scale=None)
        keep = self.rng.random(x.shape) >= self.p  # (...) bool, True with probability 1 - p
        if self.p == 1.0:
            scale = np.zeros(x.shape, dtype=x.dtype)  # (...) everything dropped; no 1/0
        else:
            scale = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))  # (...)
        return x * scale, DropoutCache(scale=scale)

    def backward(self, dy: np.ndarray, cache: DropoutCache) -> np.ndarray:
        """dy (...) -> dx (...)."""
        if cache.scale is None:
            return dy
        return dy * cache.scale

    def get_state(self) -> dict[str, Any]:
        """The generator's state as plain (JSON-serialisable) Python data."""
        return copy.deepcopy(self.rng.bit_generator.state)

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state from ``get_state``; the following masks repeat those drawn after it."""
        self.rng.bit_generator.state = copy.deepcopy(state)
