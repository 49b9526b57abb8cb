"""Batches of variable-length sequences: end padding, masks, lengths; minibatch order.

A sequence ``s`` of ``n`` ids gives ``n - 1`` next-token examples: inputs ``s[:-1]``,
targets ``s[1:]``. A batch stacks them time-major, ``(T, B)``, padded at the end to the
longest; ``mask`` marks the real targets so that padding never enters a loss or a metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class PaddedBatch:
    """A time-major, end-padded batch of next-token examples.

    ``T = max(lengths)``, ``B`` = number of sequences.

    inputs:    (T, B) int64; ``inputs[t, b] = seq_b[t]`` for ``t < lengths[b]``, else pad.
    targets:   (T, B) int64; ``targets[t, b] = seq_b[t + 1]`` for ``t < lengths[b]``, else pad.
    mask:      (T, B) bool; ``t < lengths[b]``: the real targets.
    lengths:   (B,) int64; ``len(seq_b) - 1``.
    eval_mask: (T, B) bool; the targets to score in evaluation: the caller's per-sequence
               ``extra`` masks (e.g. :func:`rnnlab.data.synthetic.deterministic_mask`), False on
               padding; equal to ``mask`` when no ``extra`` was given.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    eval_mask: np.ndarray


def pad_batch(
    seqs: Sequence[ArrayLike],
    pad_id: int = 0,
    extra: Sequence[ArrayLike] | None = None,
) -> PaddedBatch:
    """Stack sequences of ids into a :class:`PaddedBatch`.

    Args:
        seqs: ``B`` 1-D integer sequences, each of length >= 2 (at least one target).
        pad_id: id written into padded positions of ``inputs`` and ``targets``.
        extra: optional ``B`` boolean masks, ``extra[b]`` of length ``len(seqs[b]) - 1``
            (aligned with the targets), giving ``eval_mask``.
    """
    if len(seqs) == 0:
        raise ValueError("pad_batch needs at least one sequence")
    arrays = [np.asarray(s) for s in seqs]
    for b, s in enumerate(arrays):
        if s.ndim != 1 or len(s) < 2 or s.dtype.kind not in "iu":
            raise ValueError(
                f"sequence {b} must be 1-D integer ids of length >= 2, got {s.dtype} {s.shape}"
            )
    lengths = np.array([len(s) - 1 for s in arrays], dtype=np.int64)  # (B,)
    T, B = int(lengths.max()), len(arrays)
    inputs = np.full((T, B), pad_id, dtype=np.int64)  # (T, B)
    targets = np.full((T, B), pad_id, dtype=np.int64)  # (T, B)
    for b, s in enumerate(arrays):
        inputs[: len(s) - 1, b] = s[:-1]
        targets[: len(s) - 1, b] = s[1:]
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    eval_mask = mask.copy() if extra is None else _pad_masks(extra, lengths, T)
    return PaddedBatch(inputs, targets, mask, lengths, eval_mask)


def _pad_masks(extra: Sequence[ArrayLike], lengths: np.ndarray, T: int) -> np.ndarray:
    if len(extra) != len(lengths):
        raise ValueError(f"extra has {len(extra)} masks for {len(lengths)} sequences")
    out = np.zeros((T, len(lengths)), dtype=bool)  # (T, B)
    for b, (m, n) in enumerate(zip(extra, lengths, strict=True)):
        m = np.asarray(m, dtype=bool)
        if m.shape != (n,):
            raise ValueError(f"extra[{b}] must have shape ({n},) like the targets, got {m.shape}")
        out[:n, b] = m
    return out


def unpad_batch(batch: PaddedBatch) -> list[np.ndarray]:
    """Inverse of :func:`pad_batch`: the ``B`` original sequences, each (lengths[b] + 1,)."""
    return [
        np.concatenate([batch.inputs[:1, b], batch.targets[:n, b]])
        for b, n in enumerate(batch.lengths.tolist())
    ]


def minibatch_indices(
    n: int, batch_size: int, rng: np.random.Generator | None = None
) -> list[np.ndarray]:
    """Split ``range(n)`` into minibatches of ``batch_size`` int64 indices (the last may be
    smaller; it is kept). Shuffled by ``rng`` when given, else in order.
    """
    if n < 0 or batch_size < 1:
        raise ValueError(f"need n >= 0 and batch_size >= 1, got n={n}, batch_size={batch_size}")
    order = rng.permutation(n) if rng is not None else np.arange(n, dtype=np.int64)  # (n,)
    return [order[i : i + batch_size].astype(np.int64) for i in range(0, n, batch_size)]
