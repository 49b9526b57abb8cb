"""Batch: what every engine consumes, whatever task produced it."""

from typing import NamedTuple

import numpy as np


class Batch(NamedTuple):
    """One time-major batch.

    Attributes:
        inputs: (T, B) int64 token ids (onehot/embedding models) or (T, B, I) float features.
        targets: (T, B) int64 classes (cross-entropy) or (T, B, O) float values (mse).
        mask: (T, B) bool, True where a position counts in the loss.
        lengths: (B,) int64 true lengths of padded sequences, or None when every sequence
            fills all T steps (the recurrent state then runs through every step).
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray | None = None

    @property
    def num_targets(self) -> int:
        """How many positions count in the loss."""
        return int(self.mask.sum())
