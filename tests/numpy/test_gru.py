"""The GRU cell against a naive reference written from torch.nn.GRU's documented equations,
and its fast loop against the readable reference steps."""

import numpy as np
import pytest

from rnnlab.numpy import gru
from tests.numpy.recurrent_cases import assert_forward_equals_naive, make_layer
from tests.numpy.reference_steps import (
    SEQUENCE_CASES,
    assert_fast_path_equals_reference_loop,
    assert_step_matches_finite_differences,
    cell_steps,
)

GRU_STEPS = cell_steps(gru)


def naive_gru(x, h0, p):
    H = h0.shape[0]
    W_ih, W_hh, b_ih, b_hh = p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]
    rows = [slice(k * H, (k + 1) * H) for k in range(3)]

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    h, hs = h0, []
    for x_t in x:
        r = sig(W_ih[rows[0]] @ x_t + b_ih[rows[0]] + W_hh[rows[0]] @ h + b_hh[rows[0]])
        z = sig(W_ih[rows[1]] @ x_t + b_ih[rows[1]] + W_hh[rows[1]] @ h + b_hh[rows[1]])
        n = np.tanh(W_ih[rows[2]] @ x_t + b_ih[rows[2]] + r * (W_hh[rows[2]] @ h + b_hh[rows[2]]))
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.array(hs), h


def test_forward_equals_naive_per_sample_loop():
    assert_forward_equals_naive(make_layer("gru", 4, 3), naive_gru, T=5, B=3, seed=1)


def test_b_hn_is_scaled_by_the_reset_gate():
    """With r ≈ 0 the recurrent n-term, b_hn included, vanishes: b_hn sits inside r ⊙ (·)."""
    layer = make_layer("gru", 2, 3)
    H = 3
    for name in layer.params:
        layer.params[name][...] = 0.0
    layer.params["bias_ih_l0"][:H] = -60.0  # r ≈ 0
    layer.params["bias_hh_l0"][2 * H :] = 5.0  # b_hn: must have no effect
    y, _, _ = layer.forward(np.zeros((1, 1, 2)), np.zeros((1, 1, 3)))
    # z = σ(0) = ½, n = tanh(0 + r·5) ≈ 0, h = ½·n + ½·0 ≈ 0
    np.testing.assert_allclose(y, 0.0, atol=1e-12)


@pytest.mark.parametrize(("B", "T", "lengths"), SEQUENCE_CASES)
def test_fast_path_equals_a_loop_over_the_reference_steps(B, T, lengths):
    """Outputs, h_n and ∂L/∂ of x, h0 and every tensor, to 1e-12."""
    layer = make_layer("gru", 3, 5, seed=B + T)
    assert_fast_path_equals_reference_loop(layer, GRU_STEPS, B, T, lengths, seed=B * T)


@pytest.mark.parametrize("B", [1, 3])
def test_reference_step_matches_finite_differences(B):
    """Includes dh_{t-1} = dhw W_hh + dh ⊙ z: the direct path is added, not multiplied."""
    assert_step_matches_finite_differences(GRU_STEPS, make_layer("gru", 3, 4), B, seed=B)
