"""Padding, masks and lengths of variable-length batches; minibatch order."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.batching import minibatch_indices, pad_batch, unpad_batch
from rnnlab.data.synthetic import deterministic_mask
from rnnlab.data.vocab import Vocab

FAST = settings(max_examples=80, deadline=None)
sequences = st.lists(st.lists(st.integers(1, 9), min_size=2, max_size=12), min_size=1, max_size=6)


def test_pad_batch_small_case_exactly():
    batch = pad_batch([np.array([1, 2, 3]), np.array([4, 5])], pad_id=0)
    np.testing.assert_array_equal(batch.inputs, [[1, 4], [2, 0]])
    np.testing.assert_array_equal(batch.targets, [[2, 5], [3, 0]])
    np.testing.assert_array_equal(batch.mask, [[True, True], [True, False]])
    np.testing.assert_array_equal(batch.lengths, [2, 1])
    np.testing.assert_array_equal(batch.eval_mask, batch.mask)
    assert batch.inputs.dtype == batch.targets.dtype == batch.lengths.dtype == np.int64


@FAST
@given(seqs=sequences, pad_id=st.integers(0, 3))
def test_pad_then_unpad_returns_the_sequences_and_masks_match_lengths(seqs, pad_id):
    batch = pad_batch([np.array(s) for s in seqs], pad_id=pad_id)
    T, B = max(len(s) for s in seqs) - 1, len(seqs)
    assert batch.inputs.shape == batch.targets.shape == batch.mask.shape == (T, B)
    assert [s.tolist() for s in unpad_batch(batch)] == seqs
    np.testing.assert_array_equal(batch.lengths, [len(s) - 1 for s in seqs])
    np.testing.assert_array_equal(batch.mask.sum(axis=0), batch.lengths)
    for b, s in enumerate(seqs):
        for t in range(T):
            real = t < len(s) - 1
            assert batch.mask[t, b] == real
            assert batch.inputs[t, b] == (s[t] if real else pad_id)
            assert batch.targets[t, b] == (s[t + 1] if real else pad_id)


@FAST
@given(data=st.data(), seqs=sequences)
def test_eval_mask_is_the_extra_masks_padded_with_false(data, seqs):
    extra = [
        data.draw(st.lists(st.booleans(), min_size=len(s) - 1, max_size=len(s) - 1)) for s in seqs
    ]
    batch = pad_batch([np.array(s) for s in seqs], extra=extra)
    assert batch.eval_mask.dtype == bool and batch.eval_mask.shape == batch.mask.shape
    assert not np.any(batch.eval_mask & ~batch.mask)
    for b, m in enumerate(extra):
        np.testing.assert_array_equal(batch.eval_mask[: len(m), b], m)
    assert batch.eval_mask.sum() == sum(map(sum, extra))


def test_eval_mask_from_deterministic_positions_of_anbn():
    seqs = [["a", "b", "<eos>"], ["a", "a", "b", "b", "<eos>"]]
    vocab = Vocab.build(seqs, "token")
    batch = pad_batch([vocab.encode(s) for s in seqs], extra=[deterministic_mask(s) for s in seqs])
    np.testing.assert_array_equal(
        batch.eval_mask, [[False, False], [True, False], [False, True], [False, True]]
    )


@pytest.mark.parametrize(
    ("seqs", "extra", "match"),
    [
        ([], None, "at least one"),
        ([np.array([1])], None, "length >= 2"),
        ([np.array([1.0, 2.0])], None, "integer"),
        ([np.array([1, 2, 3])], [np.array([True])], r"extra\[0\] must have shape \(2,\)"),
        ([np.array([1, 2])], [], "1 sequences"),
    ],
)
def test_pad_batch_rejects_bad_input(seqs, extra, match):
    with pytest.raises(ValueError, match=match):
        pad_batch(seqs, extra=extra)


@FAST
@given(n=st.integers(0, 100), batch_size=st.integers(1, 20), seed=st.none() | st.integers(0, 99))
def test_minibatch_indices_cover_range_n_once_in_full_batches_but_the_last(n, batch_size, seed):
    rng = None if seed is None else np.random.default_rng(seed)
    batches = minibatch_indices(n, batch_size, rng)
    assert len(batches) == -(-n // batch_size)
    assert all(len(b) == batch_size for b in batches[:-1])
    assert not batches or 1 <= len(batches[-1]) <= batch_size
    assert all(b.dtype == np.int64 for b in batches)
    order = np.concatenate([np.empty(0, dtype=np.int64), *batches])  # (n,)
    np.testing.assert_array_equal(np.sort(order), np.arange(n))
    if seed is None:
        np.testing.assert_array_equal(order, np.arange(n))
    else:
        again = minibatch_indices(n, batch_size, np.random.default_rng(seed))
        assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def test_minibatch_indices_shuffle():
    shuffled = np.concatenate(minibatch_indices(50, 8, np.random.default_rng(0)))
    assert not np.array_equal(shuffled, np.arange(50))
