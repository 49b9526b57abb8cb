"""The Elman RNN cell against a naive reference, for tanh and relu, and its fast loop against
the readable reference steps."""

import numpy as np
import pytest

from rnnlab.numpy import rnn
from tests.numpy.recurrent_cases import assert_forward_equals_naive, make_layer
from tests.numpy.reference_steps import (
    SEQUENCE_CASES,
    assert_fast_path_equals_reference_loop,
    assert_step_matches_finite_differences,
    cell_steps,
)


def rnn_steps(nonlinearity: str):
    return cell_steps(rnn, nonlinearity=nonlinearity)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
def test_forward_equals_naive_per_sample_loop(cell):
    phi = np.tanh if cell == "rnn_tanh" else (lambda v: np.maximum(v, 0.0))

    def naive_rnn(x, h0, p):
        """x (T, I), h0 (H,): h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), one sample."""
        h, hs = h0, []
        for x_t in x:
            h = phi(
                p["weight_ih_l0"] @ x_t + p["bias_ih_l0"] + p["weight_hh_l0"] @ h + p["bias_hh_l0"]
            )
            hs.append(h)
        return np.array(hs), h

    assert_forward_equals_naive(make_layer(cell, 3, 4), naive_rnn, T=6, B=2, seed=2)


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
