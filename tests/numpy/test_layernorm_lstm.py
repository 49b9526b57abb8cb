"""The LayerNorm LSTM: a naive reference, finite differences, what normalisation promises
(normalised rows, invariance to the weights' scale), truncated BPTT, and its fast loop
against the readable reference steps."""

import numpy as np
import pytest

from rnnlab.numpy import layernorm_lstm
from rnnlab.numpy.layernorm_lstm import LayerNormLSTM, LayerNormLSTMCell
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

EPS = LayerNormLSTMCell.eps
LN_KEYS = ("ln_gates_weight", "ln_gates_bias", "ln_cell_weight", "ln_cell_bias")  # γ_g β_g γ_c β_c
LN_GRADS = ("dgamma_g", "dbeta_g", "dgamma_c", "dbeta_c")  # their fields in the step gradients
LAYERNORM_STEPS = cell_steps(layernorm_lstm, dict(zip(LN_KEYS, LN_GRADS, strict=True)))


def make_layernorm(input_size, hidden_size, seed=0, **kw):
    return make_layer("layernorm_lstm", input_size, hidden_size, seed=seed, **kw)


def naive_layernorm_lstm(x, h0, c0, p):
    """x (T, I), h0/c0 (H,): the module docstring's equations for one sample."""
    H = h0.shape[0]

    def ln(v, gain, shift):
        return gain * (v - v.mean()) / np.sqrt(v.var() + EPS) + shift

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    h, c, hs = h0, c0, []
    for x_t in x:
        s = p["weight_ih_l0"] @ x_t + p["bias_ih_l0"] + p["weight_hh_l0"] @ h + p["bias_hh_l0"]
        z = ln(s, p["ln_gates_weight_l0"], p["ln_gates_bias_l0"])
        i, f, g, o = sig(z[:H]), sig(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), sig(z[3 * H :])
        c = f * c + i * g
        h = o * np.tanh(ln(c, p["ln_cell_weight_l0"], p["ln_cell_bias_l0"]))
        hs.append(h)
    return np.array(hs), h, c


def test_forward_equals_naive_per_sample_loop():
    assert_forward_equals_naive(make_layernorm(3, 4), naive_layernorm_lstm, T=6, B=2, seed=0)


def test_gate_and_cell_pre_activations_are_normalised_per_row():
    """Undo the activations and the learned affine maps: what is left must have, in every
    row (sample and step), mean 0 and variance σ²/(σ² + ε), with σ² the variance of the raw
    row recomputed here from the weights, the input and the outputs."""
    layer = make_layernorm(3, 4)
    p, H = layer.params, 4
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 3, 3))
    h0, c0 = rng.normal(size=(1, 3, 4)), rng.normal(size=(1, 3, 4))
    y, _, cache = layer.forward(x, (h0, c0))
    cell_cache = cache.layers[0][0].cell
    gates = cell_cache.gates  # (T, B, 4H) activated i, f, g, o

    def logit(v):
        return np.log(v) - np.log1p(-v)

    i, f, g, o = (gates[..., k * H : (k + 1) * H] for k in range(4))
    z = np.concatenate([logit(i), logit(f), np.arctanh(g), logit(o)], axis=-1)  # (T, B, 4H)
    s_hat = (z - p["ln_gates_bias_l0"]) / p["ln_gates_weight_l0"]
    c_hat = (np.arctanh(y / o) - p["ln_cell_bias_l0"]) / p["ln_cell_weight_l0"]  # (T, B, H)

    h_prev = np.concatenate([h0, y[:-1]])  # (T, B, H)
    s = x @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h_prev @ p["weight_hh_l0"].T + p["bias_hh_l0"]
    c = cell_cache.c[1:]  # (T, B, H) the raw cell states
    for normed, raw in [(s_hat, s), (c_hat, c)]:
        np.testing.assert_allclose(normed.mean(axis=-1), 0.0, rtol=0, atol=1e-9)
        var = raw.var(axis=-1)
        np.testing.assert_allclose(normed.var(axis=-1), var / (var + EPS), rtol=1e-8)
    np.testing.assert_allclose(s_hat, cell_cache.s_hat, rtol=0, atol=1e-9)  # what it caches
    np.testing.assert_allclose(c_hat, cell_cache.c_hat, rtol=0, atol=1e-9)


def test_output_is_invariant_to_the_scale_of_the_lstm_weights():
    """Scaling W_ih, W_hh, b_ih, b_hh by k scales every row a_t by k, which LN removes."""
    layer = make_layernorm(3, 4)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 2, 3))
    state = (rng.normal(size=(1, 2, 4)), rng.normal(size=(1, 2, 4)))
    y, (h_n, c_n), _ = layer.forward(x, state)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        layer.params[name] *= 7.0
    y7, (h7, c7), _ = layer.forward(x, state)
    for got, want in [(y7, y), (h7, h_n), (c7, c_n)]:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    layer.params["ln_gates_weight_l0"] *= 7.0  # the gains are not normalised away
    y_gain, _, _ = layer.forward(x, state)
    assert np.abs(y_gain - y).max() > 1e-2


def test_chunks_with_carried_state_equal_one_pass():
    assert_chunks_equal_one_pass(make_layernorm(3, 4, num_layers=2))


def test_extra_parameters_are_named_per_layer_and_direction_with_unit_gains():
    layer = LayerNormLSTM(3, 4, num_layers=2, bidirectional=True, seed=0)
    expected = {"ln_gates_weight": (16, 1.0), "ln_gates_bias": (16, 0.0)}
    expected |= {"ln_cell_weight": (4, 1.0), "ln_cell_bias": (4, 0.0)}
    for key, (size, value) in expected.items():
        for name in (f"{key}_l0", f"{key}_l1_reverse"):
            assert layer.params[name].shape == (size,), name
            np.testing.assert_array_equal(layer.params[name], value)


def test_float32_layer_stays_float32():
    layer = LayerNormLSTM(3, 4, seed=0)
    x = np.random.default_rng(0).normal(size=(4, 2, 3)).astype(np.float32)
    y, (h_n, c_n), cache = layer.forward(x)
    _, _, grads = layer.backward(np.ones_like(y), None, cache)
    assert y.dtype == h_n.dtype == c_n.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize(("B", "T", "lengths"), SEQUENCE_CASES)
def test_fast_path_equals_a_loop_over_the_reference_steps(B, T, lengths):
    """Outputs, h_n, c_n and ∂L/∂ of x, h0, c0 and every tensor, γ and β included."""
    layer = make_layernorm(3, 5, seed=B + T)
    assert_fast_path_equals_reference_loop(layer, LAYERNORM_STEPS, B, T, lengths, seed=B * T)


@pytest.mark.parametrize("B", [1, 3])
def test_reference_step_matches_finite_differences(B):
    assert_step_matches_finite_differences(LAYERNORM_STEPS, make_layernorm(3, 4), B, seed=B)
