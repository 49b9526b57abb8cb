"""Locked (variational) dropout and embedding dropout as parts of a NumPy model.

Locked dropout multiplies every step of a sequence by the same mask (Gal & Ghahramani 2016):

    x̃_t = x_t ⊙ s,   s = m/(1-p) (B, I), m_bi ~ Bernoulli(1 - p), the same for all t
    ∂L/∂x_t = ∂L/∂x̃_t ⊙ s

Unlike per-step dropout, a unit dropped for a sequence stays dropped for all of it, so the
network cannot route around the noise from one step to the next. The masks come from
:mod:`rnnlab.masks` through ``flow.masks`` (None outside training: the identity); the same
scales between the layers of the stack and on ``W_hh`` (weight-drop) are applied inside
:mod:`rnnlab.numpy.stack`, and embedding dropout inside :mod:`rnnlab.numpy.embedding`.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.numpy.parts import Flow


def locked_forward(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """x (T, B, I), scale (B, I) → x̃ (T, B, I): one mask for every step."""
    return x * scale[None]  # (T, B, I)


def locked_backward(dy: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """∂L/∂x̃ (T, B, I) → ∂L/∂x (T, B, I)."""
    return dy * scale[None]  # (T, B, I)


class LockedCache(NamedTuple):
    scale: np.ndarray | None  # (B, I) the mask used, None when the part was the identity


class LockedDropoutPart:
    """Locked dropout where ``flow.masks`` has a mask named ``where`` ("input" or "output")."""

    def __init__(self, where: str) -> None:
        self.where, self.params = where, {}

    def forward(self, x, flow: Flow):
        scale = getattr(flow.masks, self.where) if flow.masks is not None else None
        if scale is None:
            return x, LockedCache(None)
        return locked_forward(x, scale), LockedCache(scale)

    def backward(self, dy, cache: LockedCache, flow: Flow):
        if cache.scale is None or dy is None:
            return dy, {}
        return locked_backward(dy, cache.scale), {}


class EmbeddingPart:
    """The embedding, with ``flow.masks.embedding`` (V,) scaling its rows when given."""

    def __init__(self, embedding) -> None:
        self.layer, self.params = embedding, embedding.params

    def forward(self, x, flow: Flow):
        row_scale = flow.masks.embedding if flow.masks is not None else None
        return self.layer.forward(x, train=flow.train, row_scale=row_scale)

    def backward(self, dy, cache, flow: Flow):
        return self.layer.backward(dy, cache)
