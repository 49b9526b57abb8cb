"""Batch: what every engine consumes, whatever task produced it."""

from typing import NamedTuple

import numpy as np


class Batch(NamedTuple):
    """One time-major batch.

    Attributes:
        inputs: (T, B) int64 token ids (onehot/embedding models) or (T, B, I) float features.
        targets: (T, B) int64 classes (cross-entropy) or (T, B, O) float values (mse);
            (1, B) / (1, B, O) for a model whose readout answers once per sequence.
        mask: (T, B) bool — (1, B) with one answer per sequence — True where a position
            counts in the loss.
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


def shard(batch: Batch, rank: int, world_size: int) -> Batch:
    """Rank ``rank``'s part of a global time-major batch: a contiguous slice along B.

    B need not divide evenly (the first B mod world shards get one sequence more), but every
    rank needs at least one sequence.
    """
    B = batch.mask.shape[1]
    if not 0 <= rank < world_size:
        raise ValueError(f"shard expected 0 <= rank < world_size, got {rank} and {world_size}")
    if B < world_size:
        raise ValueError(f"cannot split a batch of {B} sequences over {world_size} processes")
    bounds = np.linspace(0, B, world_size + 1).round().astype(int)  # roughly equal cuts
    part = slice(int(bounds[rank]), int(bounds[rank + 1]))
    return Batch(
        inputs=batch.inputs[:, part],
        targets=batch.targets[:, part],
        mask=batch.mask[:, part],
        lengths=None if batch.lengths is None else batch.lengths[part],
    )
