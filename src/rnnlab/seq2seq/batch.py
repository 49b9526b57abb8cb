"""Seq2SeqBatch: what an encoder–decoder trains on, whatever task produced it."""

from typing import NamedTuple

import numpy as np


class Seq2SeqBatch(NamedTuple):
    """One time-major batch of (source, target) pairs, padded on both sides.

    Attributes:
        source: (S, B) int64 source ids; padding positions hold any valid id (e.g. 0).
        source_lengths: (B,) int64 in 1..S, the real source lengths.
        target_inputs: (T, B) int64, the shifted target the decoder reads (teacher
            forcing): <bos>, y_1, ..., y_{T-1}.
        targets: (T, B) int64, what it should predict: y_1, ..., y_n, <eos>, then padding.
        mask: (T, B) bool, True on the real target tokens (<eos> included).
    """

    source: np.ndarray
    source_lengths: np.ndarray
    target_inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray

    @property
    def num_targets(self) -> int:
        """How many target tokens count in the loss."""
        return int(self.mask.sum())

    @property
    def lengths(self) -> np.ndarray:
        """(B,) the steps each pair makes the model run, encoder and decoder together (the
        trainer's tokens per second count them)."""
        return self.source_lengths + self.mask.sum(axis=0)


def make_batch(sources, targets, bos: int, eos: int, pad: int = 0) -> Seq2SeqBatch:
    """Pad lists of id sequences into a batch: each target gets <eos> appended, and the
    decoder reads <bos> followed by the target."""
    if len(sources) != len(targets) or not sources:
        raise ValueError(f"need as many sources as targets, at least one: {len(sources)}, "
                         f"{len(targets)}")  # fmt: skip
    B = len(sources)
    src_len = np.array([len(s) for s in sources], dtype=np.int64)  # (B,)
    if src_len.min() < 1:
        raise ValueError("every source needs at least one token")
    tgt_len = np.array([len(t) + 1 for t in targets], dtype=np.int64)  # (B,) with <eos>
    S, T = int(src_len.max()), int(tgt_len.max())
    source = np.full((S, B), pad, dtype=np.int64)  # (S, B)
    target_inputs = np.full((T, B), pad, dtype=np.int64)  # (T, B)
    target_out = np.full((T, B), pad, dtype=np.int64)  # (T, B)
    for b, (s, t) in enumerate(zip(sources, targets, strict=True)):
        source[: len(s), b] = s
        target_inputs[: len(t) + 1, b] = [bos, *t]
        target_out[: len(t) + 1, b] = [*t, eos]
    mask = np.arange(T)[:, None] < tgt_len[None, :]  # (T, B)
    return Seq2SeqBatch(source, src_len, target_inputs, target_out, mask)
