"""The marker data: one marker per sequence among the first `window` steps, the class the
symbol right after it, the lengths in range, and refused sizes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.marker import marker_sequences, symbol_names


@settings(max_examples=40, deadline=None)
@given(
    symbols=st.integers(2, 6),
    min_len=st.integers(2, 10),
    extra=st.integers(0, 10),
    window=st.integers(1, 12),
    seed=st.integers(0, 100),
)
def test_the_class_is_the_symbol_after_the_only_marker(symbols, min_len, extra, window, seed):
    data = marker_sequences(
        30, symbols, min_len, min_len + extra, window, np.random.default_rng(seed)
    )
    for seq, label, p in zip(data.sequences, data.labels, data.positions, strict=True):
        assert min_len <= len(seq) <= min_len + extra and seq.dtype == np.int64
        assert np.flatnonzero(seq == symbols).tolist() == [p]  # the marker, once
        assert p < window and p <= len(seq) - 2
        assert seq[p + 1] == label and 0 <= label < symbols


def test_the_classes_are_spread_over_every_symbol():
    data = marker_sequences(4000, 4, 5, 9, 3, np.random.default_rng(0))
    counts = np.bincount(data.labels, minlength=4)
    assert counts.min() > 900  # uniform: 1000 each, within sampling noise
    assert symbol_names(4) == ["a", "b", "c", "d"]


def test_bad_sizes_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="2 <= symbols <= 26"):
        marker_sequences(3, 1, 4, 5, 1, rng)
    with pytest.raises(ValueError, match="2 <= min_len <= max_len"):
        marker_sequences(3, 3, 1, 5, 1, rng)
