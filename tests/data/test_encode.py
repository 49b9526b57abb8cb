"""one_hot / from_one_hot: exact values, any shape, range and type checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rnnlab.data.encode import from_one_hot, one_hot


def test_one_hot_small_case_exactly():
    x = one_hot(np.array([2, 0, 1]), 4)
    expected = [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    np.testing.assert_array_equal(x, expected)
    assert x.dtype == np.float32


def test_one_hot_rows_select_columns_of_a_weight_matrix_like_an_embedding():
    W = np.arange(12.0).reshape(3, 4)  # (H, V)
    ids = np.array([[3, 1], [0, 3]])  # (T, B)
    np.testing.assert_array_equal(one_hot(ids, 4, np.float64) @ W.T, W.T[ids])  # (T, B, H)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
    V=st.integers(1, 7),
)
def test_one_hot_matches_a_loop_and_inverts(data, shape, V):
    ids = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(0, V - 1)))
    x = one_hot(ids, V, dtype=np.float64)
    assert x.shape == (*shape, V)
    for index in np.ndindex(*shape):
        for j in range(V):
            assert x[(*index, j)] == (1.0 if ids[index] == j else 0.0)
    np.testing.assert_array_equal(from_one_hot(x), ids)


@pytest.mark.parametrize("ids", [[0, 5], [-1, 0]])
def test_one_hot_rejects_ids_out_of_range(ids):
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        one_hot(np.array(ids), 5)


def test_one_hot_rejects_float_ids():
    with pytest.raises(TypeError, match="integer"):
        one_hot(np.array([1.0]), 3)


@pytest.mark.parametrize("x", [[[0, 0, 0]], [[1, 1, 0]], [[0.5, 0.5, 0]], [[2, -1, 0]]])
def test_from_one_hot_rejects_vectors_that_are_not_one_hot(x):
    with pytest.raises(ValueError, match="one-hot"):
        from_one_hot(np.array(x))
