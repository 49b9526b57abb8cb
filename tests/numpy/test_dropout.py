"""Dropout: inverted scaling keeps the mean, backward reuses the mask, the RNG state round-trips."""

import json

import numpy as np
import pytest

from rnnlab.numpy.dropout import Dropout
from tests.numpy.finite_differences import numerical_grad, rel_error


def test_eval_mode_and_p_zero_are_the_identity():
    x = np.random.default_rng(0).standard_normal((4, 5))
    for layer, train in [(Dropout(0.5, seed=0), False), (Dropout(0.0, seed=0), True)]:
        y, cache = layer.forward(x, train=train)
        assert y is x
        dy = np.ones_like(x)
        assert layer.backward(dy, cache) is dy


def test_kept_elements_are_scaled_so_the_mean_is_kept():
    p = 0.3
    x = np.ones((1000, 1000), dtype=np.float32)
    y, _ = Dropout(p, seed=1).forward(x)
    assert y.dtype == np.float32
    values = np.unique(y)
    np.testing.assert_allclose(values, [0.0, 1.0 / (1.0 - p)], rtol=1e-7)
    assert (y == 0).mean() == pytest.approx(p, abs=0.002)  # 1e6 Bernoulli draws
    assert y.mean() == pytest.approx(1.0, abs=0.004)  # E[y] = x


def test_backward_uses_the_forwards_mask():
    layer = Dropout(0.5, seed=2)
    x = np.random.default_rng(3).standard_normal((3, 4, 5))
    dy = np.random.default_rng(4).standard_normal((3, 4, 5))
    y, cache = layer.forward(x)
    dx = layer.backward(dy, cache)
    kept = y != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_array_equal(dx[~kept], 0.0)
    np.testing.assert_allclose(dx[kept], 2.0 * dy[kept], rtol=1e-15)


def test_backward_matches_finite_differences_under_a_fixed_mask():
    layer = Dropout(0.4, seed=5)
    state = layer.get_state()
    x = np.random.default_rng(6).standard_normal((4, 6))
    R = np.random.default_rng(7).standard_normal((4, 6))

    def loss():
        layer.set_state(state)  # the same mask on every call
        return float(np.sum(layer.forward(x)[0] * R))

    layer.set_state(state)
    _, cache = layer.forward(x)
    assert rel_error(layer.backward(R, cache), numerical_grad(loss, x)) < 1e-7


def test_masks_are_reproducible_by_seed_and_differ_between_calls():
    x = np.ones((50, 50))
    a, b, c = Dropout(0.5, seed=8), Dropout(0.5, seed=8), Dropout(0.5, seed=9)
    ya1, ya2 = a.forward(x)[0], a.forward(x)[0]
    np.testing.assert_array_equal(ya1, b.forward(x)[0])
    assert not np.array_equal(ya1, ya2)
    assert not np.array_equal(ya1, c.forward(x)[0])


def test_state_survives_json_and_replays_the_same_masks():
    layer = Dropout(0.5, seed=10)
    x = np.ones((20, 20))
    layer.forward(x)
    saved = json.loads(json.dumps(layer.get_state()))
    first = [layer.forward(x)[0] for _ in range(3)]
    fresh = Dropout(0.5, seed=999)
    fresh.set_state(saved)
    for y in first:
        np.testing.assert_array_equal(fresh.forward(x)[0], y)


def test_get_state_is_a_copy():
    layer = Dropout(0.5, seed=11)
    state = layer.get_state()
    state["state"]["state"] = 12345
    assert layer.get_state()["state"]["state"] != 12345


def test_p_one_drops_everything_and_bad_p_raises():
    y, _ = Dropout(1.0, seed=0).forward(np.ones((3, 3)))
    np.testing.assert_array_equal(y, 0.0)
    for p in [-0.1, 1.5]:
        with pytest.raises(ValueError, match=r"in \[0, 1\]"):
            Dropout(p)
