"""The LSTM cell against a naive reference (one sample, one timestep, one matrix per gate),
and its fast loop against the readable reference steps."""

import numpy as np
import pytest

from rnnlab.numpy import lstm
from tests.numpy.recurrent_cases import assert_forward_equals_naive, make_layer
from tests.numpy.reference_steps import (
    SEQUENCE_CASES,
    assert_fast_path_equals_reference_loop,
    assert_step_matches_finite_differences,
    cell_steps,
)

LSTM_STEPS = cell_steps(lstm)


def naive_lstm(x, h0, c0, p):
    """x (T, I), h0/c0 (H,): the equations of lstm.py, written out gate by gate."""
    H = h0.shape[0]
    W_ih, W_hh, b_ih, b_hh = p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]

    def gate(k):
        rows = slice(k * H, (k + 1) * H)
        return W_ih[rows], W_hh[rows], b_ih[rows] + b_hh[rows]

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    (Wi, Ui, bi), (Wf, Uf, bf), (Wg, Ug, bg), (Wo, Uo, bo) = (gate(k) for k in range(4))
    h, c, hs = h0, c0, []
    for x_t in x:
        i = sig(Wi @ x_t + Ui @ h + bi)
        f = sig(Wf @ x_t + Uf @ h + bf)
        g = np.tanh(Wg @ x_t + Ug @ h + bg)
        o = sig(Wo @ x_t + Uo @ h + bo)
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.array(hs), h, c


def test_forward_equals_naive_per_sample_loop():
    assert_forward_equals_naive(make_layer("lstm", 3, 5), naive_lstm, T=6, B=4, seed=0)


def test_forget_gate_saturation_keeps_the_cell_state():
    """With f ≈ 1 and i ≈ 0 (huge biases) the cell state is carried unchanged over time."""
    layer = make_layer("lstm", 2, 3)
    H = 3
    for name in ("weight_ih_l0", "weight_hh_l0"):
        layer.params[name][...] = 0.0
    b = layer.params["bias_ih_l0"]
    b[...] = 0.0
    b[:H], b[H : 2 * H] = -50.0, 50.0  # input gate shut, forget gate open
    layer.params["bias_hh_l0"][...] = 0.0
    c0 = np.array([[[0.3, -0.7, 1.5]]])
    _, (_, c_n), _ = layer.forward(np.zeros((40, 1, 2)), (np.zeros((1, 1, 3)), c0))
    np.testing.assert_allclose(c_n, c0, rtol=0, atol=1e-12)


def test_forget_bias_option_sets_the_forget_slice():
    from rnnlab.numpy.lstm import LSTM

    layer = LSTM(3, 4, init="xavier", forget_bias=1.0, seed=0)
    b_ih, b_hh = layer.params["bias_ih_l0"], layer.params["bias_hh_l0"]
    np.testing.assert_array_equal(b_ih[4:8] + b_hh[4:8], np.ones(4, np.float32))


@pytest.mark.parametrize(("B", "T", "lengths"), SEQUENCE_CASES)
def test_fast_path_equals_a_loop_over_the_reference_steps(B, T, lengths):
    """Outputs, h_n, c_n and ∂L/∂ of x, h0, c0 and every tensor, to 1e-12."""
    layer = make_layer("lstm", 3, 5, seed=B + T)
    assert_fast_path_equals_reference_loop(layer, LSTM_STEPS, B, T, lengths, seed=B * T)


@pytest.mark.parametrize("B", [1, 3])
def test_reference_step_matches_finite_differences(B):
    assert_step_matches_finite_differences(LSTM_STEPS, make_layer("lstm", 3, 4), B, seed=B)
