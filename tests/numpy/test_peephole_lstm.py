"""The peephole LSTM: a naive reference, finite differences, the plain LSTM it contains,
truncated BPTT, and its fast loop against the readable reference steps."""

import numpy as np
import pytest

from rnnlab.model import ModelSpec
from rnnlab.numpy import peephole_lstm
from rnnlab.numpy.gradcheck import check_recurrent
from rnnlab.numpy.lstm import LSTM
from rnnlab.numpy.model import build_recurrent
from rnnlab.numpy.peephole_lstm import PeepholeLSTM
from tests.numpy.reference_steps import (
    SEQUENCE_CASES,
    Steps,
    assert_fast_path_equals_reference_loop,
    assert_step_matches_finite_differences,
)

PEEPHOLES = ("weight_peephole_i", "weight_peephole_f", "weight_peephole_o")


def _forward(x_t, state, p):
    h_t, c_t, cache = peephole_lstm.step_forward(
        x_t, *state, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
        *(p[key] for key in PEEPHOLES),
    )  # fmt: skip
    return (h_t, c_t), cache


def _backward(dstate, cache):
    g = peephole_lstm.step_backward(*dstate, cache)
    grads = {"weight_ih": g.dW_ih, "weight_hh": g.dW_hh, "bias_ih": g.db_ih, "bias_hh": g.db_hh}
    grads |= dict(zip(PEEPHOLES, (g.dp_i, g.dp_f, g.dp_o), strict=True))
    return g.dx_t, (g.dh_prev, g.dc_prev), grads


PEEPHOLE_STEPS = Steps(_forward, _backward)


def make_peephole(input_size, hidden_size, seed=0, **kw):
    """A float64 layer with every tensor, peepholes included, random in U(±0.6)."""
    layer = PeepholeLSTM(input_size, hidden_size, dtype=np.float64, seed=seed, **kw)
    rng = np.random.default_rng(seed + 1000)
    for p in layer.params.values():
        p[...] = rng.uniform(-0.6, 0.6, p.shape)
    return layer


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
    layer = make_peephole(3, 4)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 2, 3))
    h0, c0 = rng.normal(size=(1, 2, 4)), rng.normal(size=(1, 2, 4))
    y, (h_n, c_n), _ = layer.forward(x, (h0, c0))
    for b in range(2):
        hs, h, c = naive_peephole_lstm(x[:, b], h0[0, b], c0[0, b], layer.params)
        np.testing.assert_allclose(y[:, b], hs, rtol=0, atol=1e-14)
        np.testing.assert_allclose(h_n[0, b], h, rtol=0, atol=1e-14)
        np.testing.assert_allclose(c_n[0, b], c, rtol=0, atol=1e-14)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck_every_parameter_input_and_state_with_lengths(num_layers, bidirectional):
    layer = make_peephole(2, 3, num_layers=num_layers, bidirectional=bidirectional)
    results = check_recurrent(layer, batch_size=2, seq_len=4, use_lengths=True, seed=num_layers)
    names = {r.name for r in results}
    assert names >= set(layer.params) | {"x", "h0", "c0"}
    assert any(n.startswith("weight_peephole_o") for n in names)
    bad = [(r.name, r.error) for r in results if not r.passed]
    assert not bad, f"relative errors above 1e-6: {bad}"


def test_gradcheck_full_length_batch_first():
    layer = make_peephole(2, 3, num_layers=2, bidirectional=True, batch_first=True)
    bad = [(r.name, r.error) for r in check_recurrent(layer, seq_len=3, seed=5) if not r.passed]
    assert not bad, f"relative errors above 1e-6: {bad}"


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
    layer = make_peephole(3, 4, num_layers=2)
    x = np.random.default_rng(3).normal(size=(9, 2, 3))
    y, (h_n, c_n), _ = layer.forward(x)
    state, chunks = None, []
    for start in range(0, 9, 3):
        out, state, _ = layer.forward(x[start : start + 3], state)
        chunks.append(out)
    np.testing.assert_allclose(np.concatenate(chunks), y, rtol=0, atol=1e-14)
    np.testing.assert_allclose(state[0], h_n, rtol=0, atol=1e-14)
    np.testing.assert_allclose(state[1], c_n, rtol=0, atol=1e-14)


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


def test_model_spec_builds_it_with_the_forget_bias():
    spec = ModelSpec(input_size=5, output_size=5, cell="peephole_lstm", hidden_size=3)
    rnn = build_recurrent(spec, seed=0)
    assert isinstance(rnn, PeepholeLSTM)
    b = rnn.params["bias_ih_l0"] + rnn.params["bias_hh_l0"]
    np.testing.assert_array_equal(b[3:6], np.full(3, spec.forget_bias, np.float32))


@pytest.mark.parametrize(("B", "T", "lengths"), SEQUENCE_CASES)
def test_fast_path_equals_a_loop_over_the_reference_steps(B, T, lengths):
    """Outputs, h_n, c_n and ∂L/∂ of x, h0, c0 and every tensor, peepholes included."""
    layer = make_peephole(3, 5, seed=B + T)
    assert_fast_path_equals_reference_loop(layer, PEEPHOLE_STEPS, B, T, lengths, seed=B * T)


@pytest.mark.parametrize("B", [1, 3])
def test_reference_step_matches_finite_differences(B):
    assert_step_matches_finite_differences(PEEPHOLE_STEPS, make_peephole(3, 4), B, seed=B)
