"""The peephole LSTM: a naive reference, finite differences, the plain LSTM it contains,
truncated BPTT, and its fast loop against the readable reference steps."""

import numpy as np
import pytest

from rnnlab.numpy import peephole_lstm
from rnnlab.numpy.lstm import LSTM
from rnnlab.numpy.peephole_lstm import PeepholeLSTM
from tests.numpy.recurrent_cases import (
    assert_chunks_equal_one_pass,
    assert_forward_equals_naive,
    make_layer,
)
from tests.numpy.reference_steps import (
    SEQUENCE_CASES,
    assert_fast_path_equals_reference_loop,
    assert_step_matches_finite_differences,
    cell_steps,
)

PEEPHOLE_GRADS = {
    "weight_peephole_i": "dp_i",
    "weight_peephole_f": "dp_f",
    "weight_peephole_o": "dp_o",
}
PEEPHOLE_STEPS = cell_steps(peephole_lstm, PEEPHOLE_GRADS)


def make_peephole(input_size, hidden_size, seed=0, **kw):
    return make_layer("peephole_lstm", input_size, hidden_size, seed=seed, **kw)


def naive_peephole_lstm(x, h0, c0, p):
    """x (T, I), h0/c0 (H,): the module docstring's equations, gate by gate, one sample."""
    H = h0.shape[0]
    W_ih, W_hh, b_ih, b_hh = p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]
    p_i, p_f, p_o = p["weight_peephole_i_l0"], p["weight_peephole_f_l0"], p["weight_peephole_o_l0"]

    def pre(k, x_t, h):
        rows = slice(k * H, (k + 1) * H)
        return W_ih[rows] @ x_t + b_ih[rows] + W_hh[rows] @ h + b_hh[rows]

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    h, c, hs = h0, c0, []
    for x_t in x:
        i = sig(pre(0, x_t, h) + p_i * c)
        f = sig(pre(1, x_t, h) + p_f * c)
        g = np.tanh(pre(2, x_t, h))
        c = f * c + i * g
        o = sig(pre(3, x_t, h) + p_o * c)
        h = o * np.tanh(c)
        hs.append(h)
    return np.array(hs), h, c


def test_forward_equals_naive_per_sample_loop():
    assert_forward_equals_naive(make_peephole(3, 4), naive_peephole_lstm, T=6, B=2, seed=0)


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]])
def test_zero_peepholes_is_the_plain_lstm(lengths):
    """Forward and every shared gradient equal to rounding (the plain LSTM's fused loop sums
    in another order); the peepholes still get gradients."""
    layer = make_peephole(3, 4, num_layers=2, bidirectional=True)
    lstm = LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    for name, p in layer.params.items():
        if "peephole" in name:
            p[...] = 0.0
        else:
            lstm.params[name][...] = p
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 3, 3))
    state = (rng.normal(size=(4, 3, 4)), rng.normal(size=(4, 3, 4)))
    lengths = None if lengths is None else np.array(lengths)
    y, (h_n, c_n), cache = layer.forward(x, state, lengths=lengths)
    y_ref, (h_ref, c_ref), cache_ref = lstm.forward(x, state, lengths=lengths)
    for got, want in [(y, y_ref), (h_n, h_ref), (c_n, c_ref)]:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)

    dy, dh_n, dc_n = (
        rng.normal(size=y.shape),
        rng.normal(size=h_n.shape),
        rng.normal(size=c_n.shape),
    )
    dx, (dh0, dc0), grads = layer.backward(dy, (dh_n, dc_n), cache)
    dx_ref, (dh0_ref, dc0_ref), grads_ref = lstm.backward(dy, (dh_n, dc_n), cache_ref)
    for got, want in [(dx, dx_ref), (dh0, dh0_ref), (dc0, dc0_ref)]:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    for name, g in grads_ref.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-12, atol=1e-14, err_msg=name)
    assert all(np.abs(grads[n]).max() > 0 for n in grads if "peephole" in n)


def test_peepholes_change_the_output():
    """Guards the test above: non-zero peepholes must make a difference."""
    layer = make_peephole(3, 4)
    x = np.random.default_rng(2).normal(size=(4, 2, 3))
    y, _, _ = layer.forward(x)
    layer.params["weight_peephole_o_l0"][...] = 0.0
    y0, _, _ = layer.forward(x)
    assert np.abs(y - y0).max() > 1e-3


def test_chunks_with_carried_state_equal_one_pass():
    assert_chunks_equal_one_pass(make_peephole(3, 4, num_layers=2))


def test_extra_parameters_are_named_per_layer_and_direction_and_start_at_zero():
    layer = PeepholeLSTM(3, 4, num_layers=2, bidirectional=True, seed=0)
    for key in ("weight_peephole_i", "weight_peephole_f", "weight_peephole_o"):
        for name in (f"{key}_l0", f"{key}_l1_reverse"):
            assert layer.params[name].shape == (4,) and layer.params[name].dtype == np.float32
            np.testing.assert_array_equal(layer.params[name], 0.0)
    assert (
        layer.num_parameters()
        == LSTM(3, 4, num_layers=2, bidirectional=True).num_parameters() + 4 * 3 * 4
    )


@pytest.mark.parametrize(("B", "T", "lengths"), SEQUENCE_CASES)
def test_fast_path_equals_a_loop_over_the_reference_steps(B, T, lengths):
    """Outputs, h_n, c_n and ∂L/∂ of x, h0, c0 and every tensor, peepholes included."""
    layer = make_peephole(3, 5, seed=B + T)
    assert_fast_path_equals_reference_loop(layer, PEEPHOLE_STEPS, B, T, lengths, seed=B * T)


@pytest.mark.parametrize("B", [1, 3])
def test_reference_step_matches_finite_differences(B):
    assert_step_matches_finite_differences(PEEPHOLE_STEPS, make_peephole(3, 4), B, seed=B)
