"""Deduplication and stratified folds: which copies stay, that every fold holds each class in
the data's proportions, that the folds partition the data, and that the split is fixed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.labelled import deduplicate, fold_split, stratified_folds

FAST = settings(max_examples=60, deadline=None)
label_lists = st.lists(st.integers(0, 4), min_size=1, max_size=200)


def test_agreeing_copies_keep_the_first_and_disagreeing_ones_all_go():
    keys = ["a", "b", "a", "c", "b", "a", "d"]
    labels = [0, 1, 0, 1, 0, 0, 1]  # "a" agrees three times, "b" disagrees
    result = deduplicate(keys, labels)
    np.testing.assert_array_equal(result.keep, [0, 3, 6])  # a (first), c, d; no b at all
    assert result.repeats == 3  # two more a's and the second b
    assert result.conflicts == 1


def test_deduplicate_needs_a_label_per_key():
    with pytest.raises(ValueError, match="one label per key, got 2 and 1"):
        deduplicate(["a", "b"], [0])


@FAST
@given(labels=label_lists, k=st.integers(1, 12))
def test_each_fold_holds_each_class_within_one_of_its_share(labels, k):
    labels = np.array(labels)
    folds = stratified_folds(labels, k)
    assert folds.shape == labels.shape and folds.min() >= 0 and folds.max() < k
    sizes = np.bincount(folds, minlength=k)
    assert sizes.max() - sizes.min() <= 1
    for c in np.unique(labels):
        per_fold = np.bincount(folds[labels == c], minlength=k)
        assert per_fold.max() - per_fold.min() <= 1, f"class {c} spread {per_fold}"


@FAST
@given(labels=st.lists(st.integers(0, 3), min_size=3, max_size=150), data=st.data())
def test_a_fold_split_partitions_the_examples(labels, data):
    k = data.draw(st.integers(3, 10))
    fold = data.draw(st.integers(0, k - 1))
    split = fold_split(np.array(labels), fold, k)
    every = np.concatenate(split)
    np.testing.assert_array_equal(np.sort(every), np.arange(len(labels)))
    folds = stratified_folds(np.array(labels), k)
    assert set(folds[split.test]) <= {fold} and set(folds[split.val]) <= {(fold + 1) % k}


def test_k_folds_test_every_example_exactly_once():
    labels = np.arange(103) % 3
    tests = np.concatenate([fold_split(labels, k, 5).test for k in range(5)])
    np.testing.assert_array_equal(np.sort(tests), np.arange(103))


def test_the_default_split_is_80_10_10_stratified_and_fixed():
    labels = np.array([0] * 700 + [1] * 300)
    split = fold_split(labels)
    assert [len(s) for s in split] == [800, 100, 100]
    assert [int(labels[s].sum()) for s in split] == [240, 30, 30]  # 30% ones everywhere
    again = fold_split(labels)
    for a, b in zip(split, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = fold_split(labels, seed=1)  # only another data seed changes it
    assert not np.array_equal(split.test, other.test)


def test_bad_fold_settings_are_refused():
    with pytest.raises(ValueError, match="num_folds >= 3"):
        fold_split(np.zeros(10, dtype=int), 0, 2)
    with pytest.raises(ValueError, match=r"fold must be in \[0, 4\), got 4"):
        fold_split(np.zeros(10, dtype=int), 4, 4)
    with pytest.raises(ValueError, match="labels must be"):
        stratified_folds(np.zeros(3), 3)
