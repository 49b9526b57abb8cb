"""Length-bucketed batching: every example once per epoch, batches of similar length, a plan
fixed by the generator and different every epoch, less padding than random batches."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.buckets import (
    bucketed_batches,
    count_batches,
    length_buckets,
    padding_fraction,
    sorted_batches,
)

FAST = settings(max_examples=60, deadline=None)
length_lists = st.lists(st.integers(1, 60), min_size=1, max_size=120)


@FAST
@given(lengths=length_lists, batch_size=st.integers(1, 17), buckets=st.integers(1, 12))
def test_an_epoch_holds_every_example_once_in_the_counted_number_of_batches(
    lengths, batch_size, buckets
):
    lengths = np.array(lengths)
    plan = bucketed_batches(lengths, batch_size, buckets, np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(np.concatenate(plan)), np.arange(len(lengths)))
    assert len(plan) == count_batches(lengths, batch_size, buckets)
    assert all(1 <= len(b) <= batch_size for b in plan)


@FAST
@given(lengths=length_lists, buckets=st.integers(1, 12))
def test_each_batch_comes_from_one_bucket(lengths, buckets):
    lengths = np.array(lengths)
    bucket_of = np.empty(len(lengths), dtype=int)
    for k, bucket in enumerate(length_buckets(lengths, buckets)):
        bucket_of[bucket] = k
    for batch in bucketed_batches(lengths, 4, buckets, np.random.default_rng(1)):
        assert len(set(bucket_of[batch])) == 1


def test_buckets_cut_the_length_order_into_equal_counts():
    lengths = np.array([5, 1, 4, 2, 3, 6])
    buckets = length_buckets(lengths, 3)
    assert [lengths[b].tolist() for b in buckets] == [[1, 2], [3, 4], [5, 6]]
    assert len(length_buckets(lengths, 50)) == 6  # never an empty bucket


def test_the_plan_is_fixed_by_the_generator_and_changes_with_it():
    lengths = np.random.default_rng(0).integers(1, 50, size=300)
    plan = bucketed_batches(lengths, 16, 5, np.random.default_rng([7, 3]))
    again = bucketed_batches(lengths, 16, 5, np.random.default_rng([7, 3]))
    assert all(np.array_equal(a, b) for a, b in zip(plan, again, strict=True))
    other = bucketed_batches(lengths, 16, 5, np.random.default_rng([7, 4]))
    assert not all(np.array_equal(a, b) for a, b in zip(plan, other, strict=True))


def test_bucketing_pads_far_less_than_random_batches():
    lengths = np.random.default_rng(0).integers(1, 64, size=2000)
    rng = np.random.default_rng(1)
    bucketed = padding_fraction(lengths, bucketed_batches(lengths, 32, 10, rng))
    random = padding_fraction(lengths, bucketed_batches(lengths, 32, 1, rng))
    assert random > 0.4 and bucketed < 0.12, (random, bucketed)


def test_sorted_batches_go_in_length_order_and_padding_is_counted_exactly():
    lengths = np.array([3, 1, 2, 5])
    plan = sorted_batches(lengths, 3)
    assert [b.tolist() for b in plan] == [[1, 2, 0], [3]]
    # batch 1: 3 sequences padded to 3 steps (9 computed, 6 real); batch 2: 5 of 5
    assert padding_fraction(lengths, plan) == pytest.approx(1 - 11 / 14)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        bucketed_batches(np.array([1, 2]), 0, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="num_buckets must be a positive integer, got 0"):
        length_buckets(np.array([1, 2]), 0)
