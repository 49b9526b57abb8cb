"""The Elman RNN cell against a naive reference, for tanh and relu, and its fast loop against
the readable reference steps."""

import numpy as np
import pytest

from rnnlab.numpy import rnn
from tests.numpy.recurrent_cases import make_layer
from tests.numpy.reference_steps import (
    SEQUENCE_CASES,
    Steps,
    assert_fast_path_equals_reference_loop,
    assert_step_matches_finite_differences,
)


def rnn_steps(nonlinearity: str) -> Steps:
    def forward(x_t, state, p):
        h_t, cache = rnn.step_forward(
            x_t, *state, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], nonlinearity
        )
        return (h_t,), cache

    def backward(dstate, cache):
        g = rnn.step_backward(*dstate, cache)
        grads = {"weight_ih": g.dW_ih, "weight_hh": g.dW_hh, "bias_ih": g.db_ih, "bias_hh": g.db_hh}
        return g.dx_t, (g.dh_prev,), grads

    return Steps(forward, backward)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
def test_forward_equals_naive_per_sample_loop(cell):
    layer = make_layer(cell, 3, 4)
    phi = np.tanh if cell == "rnn_tanh" else (lambda v: np.maximum(v, 0.0))
    p = layer.params
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 2, 3))
    h0 = rng.normal(size=(1, 2, 4))
    y, h_n, _ = layer.forward(x, h0)
    for b in range(2):
        h = h0[0, b]
        for t in range(6):
            h = phi(
                p["weight_ih_l0"] @ x[t, b]
                + p["bias_ih_l0"]
                + p["weight_hh_l0"] @ h
                + p["bias_hh_l0"]
            )
            np.testing.assert_allclose(y[t, b], h, rtol=0, atol=1e-14)
        np.testing.assert_allclose(h_n[0, b], h, rtol=0, atol=1e-14)


def test_gradient_vanishes_through_a_contracting_recurrence():
    """‖∂h_T/∂h_0‖ shrinks geometrically when W_hh is a contraction: the RNN's known weakness."""
    layer = make_layer("rnn_tanh", 1, 4)
    layer.params["weight_hh_l0"][...] = 0.5 * np.eye(4)
    layer.params["weight_ih_l0"][...] = 0.0
    for b in ("bias_ih_l0", "bias_hh_l0"):
        layer.params[b][...] = 0.0
    norms = []
    for T in (5, 10, 20):
        h0 = np.full((1, 1, 4), 1e-3)
        _, _, cache = layer.forward(np.zeros((T, 1, 1)), h0)
        _, dh0, _ = layer.backward(None, np.ones((1, 1, 4)), cache)
        norms.append(np.linalg.norm(dh0))
    # tanh' ≈ 1 near 0, so ‖dh0‖ ≈ 2 · 0.5^T
    np.testing.assert_allclose(norms, [2 * 0.5**5, 2 * 0.5**10, 2 * 0.5**20], rtol=1e-5)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize(("B", "T", "lengths"), SEQUENCE_CASES)
def test_fast_path_equals_a_loop_over_the_reference_steps(B, T, lengths, nonlinearity):
    """Outputs, h_n and ∂L/∂ of x, h0 and every tensor, to 1e-12."""
    layer = make_layer(f"rnn_{nonlinearity}", 3, 5, seed=B + T)
    steps = rnn_steps(nonlinearity)
    assert_fast_path_equals_reference_loop(layer, steps, B, T, lengths, seed=B * T)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("B", [1, 3])
def test_reference_step_matches_finite_differences(B, nonlinearity):
    layer = make_layer(f"rnn_{nonlinearity}", 3, 4)
    assert_step_matches_finite_differences(rnn_steps(nonlinearity), layer, B, seed=B)
