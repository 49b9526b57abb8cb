"""Batches of examples of similar length, for the tasks whose examples vary in length
(the classifiers, the encoder–decoders): a mixin over :mod:`rnnlab.data.buckets`.

Training batches are drawn within ``options["buckets"]`` length buckets, shuffled by the
task's ``(seed, epoch)`` generator, so a resumed run sees the same batches; evaluation
batches go in length order (the least padding). The epoch's plan is kept until another
split, batch size or epoch is asked for.
"""

import numpy as np

from rnnlab.data.buckets import bucketed_batches, count_batches, sorted_batches

_SPLIT_ID = {"train": 0, "val": 1, "test": 2}


class LengthBuckets:
    """Mixin for a :class:`~rnnlab.tasks.base.Task`: ``batches`` and ``num_batches`` from
    :meth:`split_lengths`, which the task implements."""

    _plan: tuple[tuple, list[np.ndarray]] | None = None

    def split_lengths(self, split: str) -> np.ndarray:
        """(N,) int64: each example's length (the source's, for an encoder–decoder)."""
        raise NotImplementedError

    def batches(self, split: str, batch_size: int, epoch: int = 0) -> list[np.ndarray]:
        """The split's batches as example indices: training within length buckets,
        shuffled by (seed, epoch); evaluation in length order."""
        self.check_split(split)
        key = (split, batch_size, epoch if split == "train" else 0)
        if self._plan is None or self._plan[0] != key:
            lengths = self.split_lengths(split)
            if split == "train":
                rng = self.rng(_SPLIT_ID[split], epoch)
                plan = bucketed_batches(lengths, batch_size, self.options["buckets"], rng)
            else:
                plan = sorted_batches(lengths, batch_size)
            self._plan = (key, plan)
        return self._plan[1]

    def num_batches(self, split: str, batch_size: int) -> int:
        self.check_split(split)
        lengths = self.split_lengths(split)
        if split == "train":
            return count_batches(lengths, batch_size, self.options["buckets"])
        return -(-len(lengths) // batch_size)
