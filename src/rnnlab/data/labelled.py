"""Labelled examples made fit to evaluate on: duplicates removed, stratified folds and splits.

Two rules keep a classifier's test score honest:

* **No example is both trained on and tested.** Duplicates are removed before splitting. Two
  examples are the same when their keys are (the tokens the model reads). Copies whose
  labels agree keep their first occurrence; copies whose labels disagree are all dropped,
  since the text cannot tell the model which label is right and either copy would be a
  wrong answer in the test split.
* **Every split holds each class in the data's proportions, whatever the run's seed.** The
  examples are dealt into ``K`` stratified folds: each class is shuffled on its own (by a
  fixed seed, never the run's ``--seed``, which changes only initialisation and batch
  order), the classes are laid end to end, and example ``j`` of that row goes to fold
  ``j mod K``. Each fold then holds every class within one example of ``1/K`` of it, and the
  folds' sizes differ by at most one.

Fold ``k`` of ``K`` gives a whole split: test = fold ``k``, validation = fold ``k + 1 mod K``,
train = the other ``K - 2``. The default 80/10/10 split is fold 0 of 10, and a K-fold run
(``--folds K``) trains once per ``k`` with every example tested exactly once.
"""

from collections.abc import Hashable, Sequence
from typing import NamedTuple

import numpy as np

SPLIT_SEED = 14  # fixed: the split belongs to the data, not to a run
DEFAULT_FOLDS = 10  # fold 0 of 10: train 80%, validation 10%, test 10%


class Deduplicated(NamedTuple):
    """What :func:`deduplicate` kept and why the rest went.

    keep: (N',) int64 indices of the examples kept, in their original order.
    repeats: copies beyond the first of each key (N - distinct keys).
    conflicts: distinct keys whose copies' labels disagree: none of their copies is kept.
    """

    keep: np.ndarray
    repeats: int
    conflicts: int


class Split(NamedTuple):
    """Sorted int64 example indices of each split."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def deduplicate(keys: Sequence[Hashable], labels: Sequence[Hashable]) -> Deduplicated:
    """Drop repeated examples: keep the first copy of a key whose copies agree on the label,
    none of a key whose copies disagree (see the module docstring)."""
    if len(keys) != len(labels):
        raise ValueError(f"deduplicate needs one label per key, got {len(keys)} and {len(labels)}")
    first: dict[Hashable, int] = {}
    label_sets: dict[Hashable, set] = {}
    for i, (key, label) in enumerate(zip(keys, labels, strict=True)):
        first.setdefault(key, i)
        label_sets.setdefault(key, set()).add(label)
    conflicting = {key for key, seen in label_sets.items() if len(seen) > 1}
    keep = np.array(
        sorted(i for key, i in first.items() if key not in conflicting), dtype=np.int64
    )  # (N',)
    return Deduplicated(keep, len(keys) - len(first), len(conflicting))


def stratified_folds(labels: np.ndarray, num_folds: int, seed: int = SPLIT_SEED) -> np.ndarray:
    """(N,) int64: the fold ``0 .. num_folds - 1`` of each example (see the module docstring).

    Args:
        labels: (N,) integer class of each example.
        num_folds: K >= 1.
        seed: shuffles each class; the default is the fixed data seed.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"labels must be (N,) integers, got {labels.dtype} {labels.shape}")
    if num_folds < 1:
        raise ValueError(f"num_folds must be a positive integer, got {num_folds}")
    rng = np.random.default_rng(seed)
    dealt = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    order = np.concatenate(dealt) if dealt else np.zeros(0, dtype=np.int64)  # (N,)
    folds = np.empty(len(labels), dtype=np.int64)  # (N,)
    folds[order] = np.arange(len(order)) % num_folds
    return folds


def fold_split(
    labels: np.ndarray, fold: int = 0, num_folds: int = DEFAULT_FOLDS, seed: int = SPLIT_SEED
) -> Split:
    """Fold ``fold`` of ``num_folds``: test = that fold, validation = the next one (mod K),
    train = the rest. K >= 3, so that every split has a fold of its own."""
    if num_folds < 3:
        raise ValueError(f"a split needs num_folds >= 3 (train, val, test), got {num_folds}")
    if not 0 <= fold < num_folds:
        raise ValueError(f"fold must be in [0, {num_folds}), got {fold}")
    folds = stratified_folds(labels, num_folds, seed)  # (N,)
    test, val = folds == fold, folds == (fold + 1) % num_folds  # (N,) bool each
    return Split(
        train=np.flatnonzero(~(test | val)), val=np.flatnonzero(val), test=np.flatnonzero(test)
    )
