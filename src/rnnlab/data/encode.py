"""One-hot encoding of integer ids, and its inverse.

A one-hot vector of id ``i`` over ``V`` classes is the ``i``-th row of the ``V x V`` identity:
a model that reads it multiplies ``W_ih`` by it, which selects column ``i`` — the same thing an
embedding lookup does, which is why both input kinds train identically.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def one_hot(ids: ArrayLike, num_classes: int, dtype: DTypeLike = np.float32) -> np.ndarray:
    """One-hot encode integer ids.

    Args:
        ids: integer ids of any shape ``S``, each in ``[0, num_classes)``.
        num_classes: ``V``, the number of classes (the vocabulary size).
        dtype: dtype of the result.

    Returns:
        ``x`` of shape ``S + (V,)`` with ``x[..., j] = 1`` where ``j == ids`` and 0 elsewhere.
    """
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot expected integer ids, got dtype {ids.dtype}")
    if num_classes < 1:
        raise ValueError(f"one_hot expected num_classes >= 1, got {num_classes}")
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(
            f"one_hot expected ids in [0, {num_classes}), got min {ids.min()} max {ids.max()}"
        )
    x = np.zeros((*ids.shape, num_classes), dtype=dtype)  # S + (V,)
    np.put_along_axis(x, ids[..., None], 1, axis=-1)
    return x


def from_one_hot(x: ArrayLike) -> np.ndarray:
    """Inverse of :func:`one_hot`: ids of shape ``S`` (int64) from ``x`` of shape ``S + (V,)``.

    Raises ``ValueError`` unless every vector along the last axis is exactly one-hot.
    """
    x = np.asarray(x)
    if x.ndim < 1 or not np.all((x == 0) | (x == 1)) or not np.all(x.sum(axis=-1) == 1):
        raise ValueError(
            f"from_one_hot expected one-hot vectors along the last axis, shape {x.shape}"
        )
    return np.argmax(x, axis=-1).astype(np.int64)  # S
