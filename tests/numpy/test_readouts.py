"""The NumPy readouts: exact values on padded batches, and backward = finite differences."""

import numpy as np
import pytest

from rnnlab.numpy.gradcheck import numerical_gradient, relative_error
from rnnlab.numpy.readouts import NUMPY_READOUTS
from rnnlab.readouts import READOUTS

T, B, H = 5, 3, 2
LENGTHS = np.array([5, 2, 1])


def outputs(seed=0, directions=2):
    """(T, B, D·H) negative outputs, zero on padding as the stack gives them."""
    y = -np.random.default_rng(seed).uniform(0.1, 1.0, size=(T, B, directions * H))
    return y * (np.arange(T)[:, None] < LENGTHS[None, :])[..., None]


def build(name, directions=2):
    return NUMPY_READOUTS[name](directions * H, directions, np.float64, seed=0)


def test_every_registered_readout_has_a_numpy_part():
    assert set(NUMPY_READOUTS) == set(READOUTS)


def test_last_is_the_output_at_the_last_real_step():
    y = outputs()
    r, _ = build("last").forward(y, LENGTHS)
    np.testing.assert_array_equal(r[0], y[LENGTHS - 1, np.arange(B)])


def test_final_state_is_each_directions_final_state():
    y = outputs()
    r, _ = build("final_state").forward(y, LENGTHS)
    assert r.shape == (1, B, 2 * H)
    for b, n in enumerate(LENGTHS):
        np.testing.assert_array_equal(r[0, b, :H], y[n - 1, b, :H])  # forward: its last step
        np.testing.assert_array_equal(r[0, b, H:], y[0, b, H:])  # reverse: ends at t = 1
    r, _ = build("final_state", directions=1).forward(outputs(directions=1), None)
    np.testing.assert_array_equal(r[0], outputs(directions=1)[-1])


def test_mean_and_max_read_only_the_real_steps():
    y = outputs()
    mean, _ = build("mean").forward(y, LENGTHS)
    top, _ = build("max").forward(y, LENGTHS)
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(mean[0, b], y[:n, b].mean(axis=0), rtol=1e-15)
        # every real output is negative: a padding zero would win if it were read
        np.testing.assert_array_equal(top[0, b], y[:n, b].max(axis=0))
    assert (top < 0).all()


def test_per_step_is_the_identity():
    y = outputs()
    r, cache = build("per_step").forward(y, LENGTHS)
    assert r is y
    assert build("per_step").backward(y, cache)[0] is y


@pytest.mark.parametrize("name", sorted(NUMPY_READOUTS))
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
def test_backward_equals_finite_differences(name, lengths):
    readout = build(name)
    y = outputs(seed=1)
    if lengths is None:  # every step real: no zeros, so no ties for the max to break
        y = np.random.default_rng(1).normal(size=y.shape)
    r, _ = readout.forward(y, lengths)
    weights = np.random.default_rng(2).normal(size=r.shape)

    def loss():
        return float(np.sum(weights * readout.forward(y, lengths)[0]))

    _, cache = readout.forward(y, lengths)
    dy, grads = readout.backward(weights, cache)
    assert set(grads) == set(readout.params)
    assert relative_error(dy, numerical_gradient(loss, y)) < 1e-8
    for name, p in readout.params.items():
        assert relative_error(grads[name], numerical_gradient(loss, p)) < 1e-6, name


def test_attention_weights_are_a_softmax_over_the_real_steps():
    readout = build("attention")
    y = outputs(seed=3)
    r, cache = readout.forward(y, LENGTHS)
    np.testing.assert_allclose(cache.alpha.sum(axis=0), 1.0, rtol=1e-15)
    assert (cache.alpha[~(np.arange(T)[:, None] < LENGTHS[None, :])] == 0).all()
    np.testing.assert_allclose(r[0], (cache.alpha[..., None] * y).sum(axis=0), rtol=1e-15)
