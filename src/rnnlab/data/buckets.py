"""Length-bucketed batching: batches of sequences of similar length, so less padding.

A batch of variable-length sequences is padded to its longest, and the padding steps are
computed and thrown away (the NumPy engine and torch's scratch backend run every step).
Sorting by length and batching neighbours removes most of them, but a fixed sorted order
would show the model the same batches in the same order every epoch. The compromise:

1. sort the sequences by length and cut that order into ``num_buckets`` buckets of
   (nearly) equal count, once;
2. every epoch, shuffle each bucket, cut it into batches of ``batch_size`` (its last batch
   may be smaller), and shuffle the order of all the batches.

Every batch then holds sequences of similar length, and which sequences meet in a batch,
and in what order the batches come, changes every epoch. With ``num_buckets = 1`` this is
plain random batching. The plan is a pure function of the lengths, the sizes and the
generator, so a task that seeds the generator by ``(seed, epoch)`` resumes bitwise; and the
number of batches, ``Σ_b ⌈n_b / batch_size⌉``, is the same every epoch.
"""

import numpy as np


def length_buckets(lengths: np.ndarray, num_buckets: int) -> list[np.ndarray]:
    """The buckets: int64 index arrays, shortest sequences first (ties in index order)."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be (N,), got shape {lengths.shape}")
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be a positive integer, got {num_buckets}")
    order = np.argsort(lengths, kind="stable").astype(np.int64)  # (N,)
    return [b for b in np.array_split(order, min(num_buckets, max(len(order), 1))) if len(b)]


def bucketed_batches(
    lengths: np.ndarray, batch_size: int, num_buckets: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """One epoch's batches (int64 index arrays), drawn within buckets, in a shuffled order."""
    _check_batch_size(batch_size)
    batches = []
    for bucket in length_buckets(lengths, num_buckets):
        shuffled = rng.permutation(bucket)  # (n_b,)
        batches += [shuffled[i : i + batch_size] for i in range(0, len(shuffled), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Batches of neighbours in length order, shortest first: for evaluation, where the
    order does not matter and the least padding is the fastest."""
    _check_batch_size(batch_size)
    order = np.argsort(np.asarray(lengths), kind="stable").astype(np.int64)  # (N,)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def count_batches(lengths: np.ndarray, batch_size: int, num_buckets: int) -> int:
    """How many batches :func:`bucketed_batches` gives (every epoch the same)."""
    _check_batch_size(batch_size)
    return sum(-(-len(b) // batch_size) for b in length_buckets(lengths, num_buckets))


def padding_fraction(lengths: np.ndarray, batches: list[np.ndarray]) -> float:
    """The fraction of computed steps that are padding: 1 - Σ n / Σ_batches B · max n."""
    lengths = np.asarray(lengths)
    computed = sum(len(b) * int(lengths[b].max()) for b in batches if len(b))
    return 1.0 - float(sum(int(lengths[b].sum()) for b in batches)) / max(computed, 1)


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
