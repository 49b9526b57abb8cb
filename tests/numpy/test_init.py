"""Initialisers: bounds, statistics, orthogonality per gate block, Haar signs, determinism."""

import math

import numpy as np
import pytest

from rnnlab.numpy.init import init_recurrent, make_rng, orthogonal, uniform, xavier_uniform


def recurrent_params(I, H, G, layers=2, bidirectional=True, dtype=np.float64, prefix=""):
    """A torch-named recurrent stack filled with NaN, so any tensor left unwritten shows."""
    params = {}
    for l in range(layers):
        in_width = I if l == 0 else H * (2 if bidirectional else 1)
        for sfx in ["", "_reverse"] if bidirectional else [""]:
            params[f"{prefix}weight_ih_l{l}{sfx}"] = np.full((G * H, in_width), np.nan, dtype)
            params[f"{prefix}weight_hh_l{l}{sfx}"] = np.full((G * H, H), np.nan, dtype)
            params[f"{prefix}bias_ih_l{l}{sfx}"] = np.full((G * H,), np.nan, dtype)
            params[f"{prefix}bias_hh_l{l}{sfx}"] = np.full((G * H,), np.nan, dtype)
    return params


def gate_blocks(w, H):
    return [w[k * H : (k + 1) * H] for k in range(w.shape[0] // H)]


# --- the building blocks ----------------------------------------------------------------


def test_make_rng_seed_is_deterministic_and_rng_is_passed_through():
    assert make_rng(seed=3).random() == make_rng(seed=3).random()
    rng = np.random.default_rng(0)
    assert make_rng(rng=rng) is rng
    with pytest.raises(ValueError, match="either seed or rng"):
        make_rng(seed=1, rng=rng)


def test_uniform_respects_bound_dtype_and_fills_the_interval():
    w = uniform((200, 300), 0.25, np.random.default_rng(0), np.float32)
    assert w.dtype == np.float32
    assert np.abs(w).max() <= 0.25
    assert np.abs(w).max() > 0.249  # 60 000 draws reach the edges
    assert abs(w.mean()) < 0.002
    assert w.var() == pytest.approx(0.25**2 / 3, rel=0.02)  # Var U(-a, a) = a²/3


def test_xavier_uniform_bound_and_variance_match_glorot():
    fan_out, fan_in = 400, 600
    w = xavier_uniform((fan_out, fan_in), np.random.default_rng(1), np.float64)
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound
    assert w.var() == pytest.approx(2.0 / (fan_in + fan_out), rel=0.02)
    w2 = xavier_uniform((fan_out, fan_in), np.random.default_rng(1), np.float64, gain=2.0)
    np.testing.assert_allclose(w2, 2.0 * w, rtol=1e-15)


@pytest.mark.parametrize("shape", [(6, 6), (9, 4), (4, 9), (1, 5)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape):
    w = orthogonal(shape, np.random.default_rng(2), np.float64, gain=1.0)
    assert w.shape == shape
    small = min(shape)
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T  # (small, small)
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-13)


def test_orthogonal_gain_scales_the_singular_values():
    w = orthogonal((5, 5), np.random.default_rng(3), np.float64, gain=0.5)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), 0.5, atol=1e-13)


def test_orthogonal_is_haar_distributed_thanks_to_the_sign_fix():
    # Under the Haar measure on O(3) every entry has mean 0 (std 1/√3) and det = ±1 equally
    # often. A raw QR factor has a sign-biased first column: Q[0, 0] keeps one sign, mean ±½.
    rng = np.random.default_rng(4)
    draws = np.stack([orthogonal((3, 3), rng, np.float64) for _ in range(3000)])  # (n, 3, 3)
    assert np.abs(draws.mean(axis=0)).max() < 0.05  # 4.5 standard errors
    assert abs(np.linalg.det(draws).mean()) < 0.08


# --- init_recurrent ---------------------------------------------------------------------


def test_torch_scheme_fills_every_tensor_in_place_within_one_over_sqrt_h():
    H = 50
    params = recurrent_params(I=7, H=H, G=4, dtype=np.float32)
    originals = {k: id(v) for k, v in params.items()}
    init_recurrent(params, hidden_size=H, gates=4, scheme="torch", rng=np.random.default_rng(0))
    bound = 1.0 / math.sqrt(H)
    for name, w in params.items():
        assert id(w) == originals[name], f"{name} was replaced instead of filled in place"
        assert w.dtype == np.float32
        assert np.isfinite(w).all(), f"{name} was not written"
        assert np.abs(w).max() <= bound, name
    every = np.concatenate([w.ravel() for w in params.values()])
    assert np.abs(every).max() > 0.99 * bound
    assert every.var() == pytest.approx(bound**2 / 3, rel=0.05)


def test_torch_scheme_has_the_same_bound_as_torch_nn_lstm():
    torch = pytest.importorskip("torch")
    H = 400
    lstm = torch.nn.LSTM(10, H)
    torch_max = max(p.detach().abs().max().item() for p in lstm.parameters())
    params = {k: v.detach().numpy().copy() for k, v in lstm.state_dict().items()}
    init_recurrent(params, hidden_size=H, gates=4, scheme="torch", rng=np.random.default_rng(5))
    ours_max = max(np.abs(w).max() for w in params.values())
    bound = 1.0 / math.sqrt(H)
    assert 0.999 * bound < torch_max <= bound * (1 + 1e-6)
    assert 0.999 * bound < ours_max <= bound


@pytest.mark.parametrize("G", [1, 3, 4])
def test_xavier_scheme_is_per_gate_block(G):
    I, H = 30, 40
    params = recurrent_params(I=I, H=H, G=G)
    init_recurrent(params, hidden_size=H, gates=G, scheme="xavier", rng=np.random.default_rng(6))
    block_bound = math.sqrt(6.0 / (I + H))
    for name, w in params.items():
        assert np.isfinite(w).all(), f"{name} was not written"
        if name.startswith("bias"):
            assert not w.any(), f"{name} should be zero"
        elif name.startswith("weight_hh"):
            for k, block in enumerate(gate_blocks(w, H)):
                np.testing.assert_allclose(
                    block.T @ block, np.eye(H), atol=1e-12, err_msg=f"{name} gate {k}"
                )
        elif name == "weight_ih_l0":
            for block in gate_blocks(w, H):
                assert np.abs(block).max() <= block_bound
                assert np.abs(block).max() > 0.95 * block_bound


def test_xavier_ih_bound_is_the_blocks_not_the_whole_matrixs():
    # Glorot over the whole (4H, I) matrix would give the smaller bound √(6/(4H + I)).
    I, H = 20, 100
    params = recurrent_params(I=I, H=H, G=4, layers=1, bidirectional=False)
    init_recurrent(params, hidden_size=H, gates=4, scheme="xavier", rng=np.random.default_rng(7))
    assert np.abs(params["weight_ih_l0"]).max() > 1.5 * math.sqrt(6.0 / (4 * H + I))


def test_same_seed_same_weights_regardless_of_dict_order():
    a = recurrent_params(I=5, H=6, G=3)
    b = dict(reversed(list(recurrent_params(I=5, H=6, G=3).items())))
    c = recurrent_params(I=5, H=6, G=3)
    for scheme in ["torch", "xavier"]:
        init_recurrent(a, 6, 3, scheme, np.random.default_rng(8))
        init_recurrent(b, 6, 3, scheme, np.random.default_rng(8))
        init_recurrent(c, 6, 3, scheme, np.random.default_rng(9))
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
        assert not np.array_equal(a["weight_hh_l0"], c["weight_hh_l0"])


@pytest.mark.parametrize("scheme", ["torch", "xavier"])
def test_forget_bias_sets_the_f_slice_and_leaves_the_others(scheme):
    H = 5
    params = recurrent_params(I=3, H=H, G=4)
    reference = recurrent_params(I=3, H=H, G=4)
    init_recurrent(params, H, 4, scheme, np.random.default_rng(10), forget_bias=1.0)
    init_recurrent(reference, H, 4, scheme, np.random.default_rng(10))
    for sfx in ["l0", "l1", "l0_reverse", "l1_reverse"]:
        b_ih, b_hh = params[f"bias_ih_{sfx}"], params[f"bias_hh_{sfx}"]
        np.testing.assert_array_equal(b_ih[H : 2 * H], 1.0)
        np.testing.assert_array_equal(b_hh[H : 2 * H], 0.0)
        for b, name in [(b_ih, f"bias_ih_{sfx}"), (b_hh, f"bias_hh_{sfx}")]:
            np.testing.assert_array_equal(b[:H], reference[name][:H])  # i unchanged
            np.testing.assert_array_equal(b[2 * H :], reference[name][2 * H :])  # g, o unchanged
    np.testing.assert_array_equal(params["weight_hh_l1"], reference["weight_hh_l1"])


def test_prefixed_names_are_recognised():
    params = recurrent_params(I=3, H=4, G=4, layers=1, prefix="rnn.")
    init_recurrent(params, 4, 4, "xavier", np.random.default_rng(11), forget_bias=2.0)
    np.testing.assert_array_equal(params["rnn.bias_ih_l0"][4:8], 2.0)
    assert not params["rnn.bias_hh_l0"].any()


def test_bad_arguments_raise_with_a_useful_message():
    rng = np.random.default_rng(0)
    params = recurrent_params(I=3, H=4, G=4, layers=1)
    with pytest.raises(ValueError, match="valid schemes: torch, xavier"):
        init_recurrent(params, 4, 4, "kaiming", rng)
    with pytest.raises(ValueError, match="gates=4"):
        init_recurrent(recurrent_params(3, 4, G=3), 4, 3, "torch", rng, forget_bias=1.0)
    with pytest.raises(ValueError, match=r"bias_hh_l0 should have shape \(20,\).*got \(16,\)"):
        init_recurrent(params, 5, 4, "xavier", rng)  # tensors made for H = 4, told H = 5
    extra = {**params, "weight_peephole": np.zeros(4)}
    with pytest.raises(ValueError, match="weight_peephole"):
        init_recurrent(extra, 4, 4, "xavier", rng)
