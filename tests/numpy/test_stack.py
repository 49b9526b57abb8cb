"""The shared recurrent stack, proven for every cell: finite differences, torch.nn, lengths,
truncated BPTT, dropout and argument checking. One parametrized module serves the three cells
(and, for finite differences, the LSTM variants, which have no torch.nn twin)."""

import numpy as np
import pytest

from rnnlab.numpy.gradcheck import check_recurrent
from tests.numpy.recurrent_cases import (
    CELLS,
    EXTRA_CELLS,
    as_tuple,
    assert_gradcheck_passes,
    from_tuple,
    make_layer,
    random_state,
    torch_twin,
    torch_weighted_loss,
)

ALL_CELLS = sorted(CELLS)
VARIANTS = {"peephole_lstm": "weight_peephole_o", "layernorm_lstm": "ln_cell_bias"}  # its own
assert set(VARIANTS) == set(EXTRA_CELLS)


# --------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("cell", ALL_CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck_every_parameter_input_and_state(cell, num_layers, bidirectional):
    layer = make_layer(cell, 3, 4, num_layers=num_layers, bidirectional=bidirectional)
    assert_gradcheck_passes(layer, {"x", "h0"}, batch_size=2, seq_len=4, seed=num_layers)


@pytest.mark.parametrize("cell", ALL_CELLS)
def test_gradcheck_with_padding_lengths_and_batch_first(cell):
    layer = make_layer(cell, 2, 3, num_layers=2, bidirectional=True, batch_first=True)
    assert_gradcheck_passes(layer, batch_size=3, seq_len=4, use_lengths=True, seed=7)


@pytest.mark.parametrize("cell", sorted(VARIANTS))
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_variants_gradcheck_every_tensor_input_and_state_with_lengths(
    cell, num_layers, bidirectional
):
    layer = make_layer(cell, 2, 3, num_layers=num_layers, bidirectional=bidirectional)
    names = assert_gradcheck_passes(
        layer, {"x", "h0", "c0"}, batch_size=2, seq_len=4, use_lengths=True, seed=num_layers
    )
    assert any(n.startswith(VARIANTS[cell]) for n in names)


@pytest.mark.parametrize("cell", sorted(VARIANTS))
def test_variants_gradcheck_full_length_batch_first(cell):
    layer = make_layer(cell, 2, 3, num_layers=2, bidirectional=True, batch_first=True)
    assert_gradcheck_passes(layer, seq_len=3, seed=5)


@pytest.mark.parametrize("cell", sorted(VARIANTS))
def test_model_spec_builds_each_variant_with_the_forget_bias(cell):
    from rnnlab.model import ModelSpec
    from rnnlab.numpy.model import build_recurrent

    spec = ModelSpec(input_size=5, output_size=5, cell=cell, hidden_size=3)
    rnn = build_recurrent(spec, seed=0)
    assert isinstance(rnn, EXTRA_CELLS[cell])
    b = rnn.params["bias_ih_l0"] + rnn.params["bias_hh_l0"]
    np.testing.assert_array_equal(b[3:6], np.full(3, spec.forget_bias, np.float32))


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    """The checker itself must fail when backward is wrong (here: dW_hh scaled by 1.01)."""
    layer = make_layer("lstm", 2, 3)
    backward = type(layer).backward

    def broken(self, dy, dstate_n, cache):
        dx, ds, grads = backward(self, dy, dstate_n, cache)
        grads["weight_hh_l0"] = grads["weight_hh_l0"] * 1.01
        return dx, ds, grads

    monkeypatch.setattr(type(layer), "backward", broken)
    results = {r.name: r for r in check_recurrent(layer, batch_size=2, seq_len=3)}
    assert not results["weight_hh_l0"].passed
    assert results["weight_ih_l0"].passed


# --------------------------------------------------------------------------- torch.nn equality
torch_cases = [
    # (num_layers, bidirectional, batch_first, B, T, I, H, give_state)
    (1, False, False, 3, 5, 4, 6, True),
    (2, False, True, 2, 4, 5, 3, False),
    (3, False, False, 2, 3, 3, 4, True),
    (1, True, False, 2, 6, 3, 5, True),
    (2, True, True, 3, 4, 2, 3, True),
    (3, True, False, 2, 3, 4, 2, False),
    (2, True, False, 1, 5, 3, 4, True),  # B = 1
    (2, True, True, 4, 1, 3, 4, True),  # T = 1
]


@pytest.mark.parametrize("cell", ALL_CELLS)
@pytest.mark.parametrize("case", torch_cases, ids=lambda c: "L{}-bi{:d}-bf{:d}-B{}-T{}".format(*c))
def test_equals_torch_nn_forward_and_every_gradient(cell, case):
    torch = pytest.importorskip("torch")
    num_layers, bidirectional, batch_first, B, T, I, H, give_state = case
    layer = make_layer(
        cell, I, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    ref = _torch_twin(torch, layer, cell)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(B, T, I) if batch_first else (T, B, I))
    state = random_state(layer, B, rng) if give_state else None

    y, state_n, cache = layer.forward(x, state)
    x_t = torch.tensor(x, requires_grad=True)
    state_t = None
    if give_state:
        state_t = tuple(torch.tensor(s, requires_grad=True) for s in as_tuple(state))
    y_t, state_n_t = ref(x_t, None if state_t is None else from_tuple(layer, state_t))

    w_y = rng.normal(size=y.shape)
    w_s = [rng.normal(size=s.shape) for s in as_tuple(state_n)]
    torch_weighted_loss(y_t, state_n_t, w_y, w_s).backward()
    dx, dstate0, grads = layer.backward(w_y, from_tuple(layer, w_s), cache)

    tol = 1e-10
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=0, atol=tol, err_msg="output")
    for s, s_t in zip(as_tuple(state_n), as_tuple(state_n_t), strict=True):
        np.testing.assert_allclose(s, s_t.detach().numpy(), rtol=0, atol=tol, err_msg="final state")
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=0, atol=tol, err_msg="dx")
    if give_state:
        for ds, s_t in zip(as_tuple(dstate0), state_t, strict=True):
            np.testing.assert_allclose(ds, s_t.grad.numpy(), rtol=0, atol=tol, err_msg="dstate0")
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=0, atol=tol, err_msg=name)


@pytest.mark.parametrize("cell", ALL_CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_equal_torch_packed_sequences(cell, bidirectional):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    layer = make_layer(cell, 3, 4, num_layers=2, bidirectional=bidirectional)
    ref = _torch_twin(torch, layer, cell)
    rng = np.random.default_rng(5)
    T, B = 6, 4
    lengths = np.array([6, 2, 4, 1])
    x = rng.normal(size=(T, B, 3))
    state = random_state(layer, B, rng)
    y, state_n, cache = layer.forward(x, state, lengths=lengths)

    x_t = torch.tensor(x, requires_grad=True)
    state_t = tuple(torch.tensor(s, requires_grad=True) for s in as_tuple(state))
    packed = pack_padded_sequence(x_t, torch.tensor(lengths), enforce_sorted=False)
    out_p, state_n_t = ref(packed, from_tuple(layer, state_t))
    y_t, _ = pad_packed_sequence(out_p, total_length=T)

    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=0, atol=1e-12)
    for s, s_t in zip(as_tuple(state_n), as_tuple(state_n_t), strict=True):
        np.testing.assert_allclose(s, s_t.detach().numpy(), rtol=0, atol=1e-12)

    w_y = rng.normal(size=y.shape)
    w_s = [rng.normal(size=s.shape) for s in as_tuple(state_n)]
    torch_weighted_loss(y_t, state_n_t, w_y, w_s).backward()
    dx, dstate0, grads = layer.backward(w_y, from_tuple(layer, w_s), cache)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=0, atol=1e-12)
    for ds, s_t in zip(as_tuple(dstate0), state_t, strict=True):
        np.testing.assert_allclose(ds, s_t.grad.numpy(), rtol=0, atol=1e-12)
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=0, atol=1e-12, err_msg=name)


def _torch_twin(torch, layer, cell):
    """A float64 torch.nn module with the numpy layer's weights loaded strictly."""
    _, _, torch_name = CELLS[cell]
    kw = {"nonlinearity": layer.nonlinearity} if torch_name == "RNN" else {}
    return torch_twin(getattr(torch.nn, torch_name), layer, **kw)


# --------------------------------------------------------------------------- lengths, chunks
@pytest.mark.parametrize("cell", ALL_CELLS)
def test_padded_batch_equals_each_sequence_alone(cell):
    layer = make_layer(cell, 2, 3, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(11)
    lengths = np.array([5, 3, 1])
    x = rng.normal(size=(5, 3, 2))
    y, state_n, _ = layer.forward(x, lengths=lengths)
    for b, n in enumerate(lengths):
        y_b, state_b, _ = layer.forward(np.ascontiguousarray(x[:n, b : b + 1]))
        np.testing.assert_allclose(y[:n, b], y_b[:, 0], rtol=0, atol=1e-13)
        assert np.all(y[n:, b] == 0.0), "outputs on padding must be zero"
        for s, s_b in zip(as_tuple(state_n), as_tuple(state_b), strict=True):
            np.testing.assert_allclose(s[:, b], s_b[:, 0], rtol=0, atol=1e-13)


@pytest.mark.parametrize("cell", ALL_CELLS)
def test_truncated_bptt_chunks_with_carried_state_equal_one_pass(cell):
    """Forward in three chunks carrying the state = one pass; backward chunk by chunk,
    feeding each chunk's dstate0 into the previous chunk's dstate_n, = one full backward."""
    layer = make_layer(cell, 3, 4, num_layers=2)
    rng = np.random.default_rng(2)
    T, B = 9, 2
    x = rng.normal(size=(T, B, 3))
    w_y = rng.normal(size=(T, B, 4))
    y, _, cache = layer.forward(x)
    dx, _, grads = layer.backward(w_y, None, cache)

    bounds = [(0, 2), (2, 7), (7, 9)]
    state, ys, caches = None, [], []
    for a, b in bounds:
        y_c, state, c = layer.forward(np.ascontiguousarray(x[a:b]), state)
        ys.append(y_c)
        caches.append(c)
    np.testing.assert_allclose(np.concatenate(ys), y, rtol=0, atol=1e-13)

    dstate, dxs, total = None, [], {k: 0.0 for k in grads}
    for (a, b), c in zip(reversed(bounds), reversed(caches), strict=True):
        dx_c, dstate, g = layer.backward(w_y[a:b], dstate, c)
        dxs.insert(0, dx_c)
        total = {k: total[k] + g[k] for k in g}
    np.testing.assert_allclose(np.concatenate(dxs), dx, rtol=0, atol=1e-12)
    for k in grads:
        np.testing.assert_allclose(total[k], grads[k], rtol=0, atol=1e-12, err_msg=k)


# --------------------------------------------------------------------------- dtype, dropout
@pytest.mark.parametrize("cell", ALL_CELLS)
def test_float32_matches_float64_closely(cell):
    layer64 = make_layer(cell, 3, 5, num_layers=2, bidirectional=True)
    cls, extra, _ = CELLS[cell]
    layer32 = cls(3, 5, num_layers=2, bidirectional=True, dtype=np.float32, **extra)
    layer32.load_state_dict(layer64.params)
    x = np.random.default_rng(0).normal(size=(7, 2, 3))
    y64, _, c64 = layer64.forward(x)
    y32, _, c32 = layer32.forward(x.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, atol=1e-5)
    _, _, g64 = layer64.backward(np.ones_like(y64), None, c64)
    _, _, g32 = layer32.backward(np.ones_like(y32), None, c32)
    for k in g64:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(g32[k], g64[k], atol=1e-4, err_msg=k)


def test_dropout_between_layers_only_in_training_and_seeded():
    layer = make_layer("lstm", 3, 4, num_layers=3, dropout=0.5)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    y_eval_1, _, _ = layer.forward(x, train=False)
    y_eval_2, _, _ = layer.forward(x, train=False)
    np.testing.assert_array_equal(y_eval_1, y_eval_2)
    _, _, cache = layer.forward(x, train=True)
    assert len(cache.dropout) == 2, "dropout after every layer but the last"
    kept = np.concatenate([c.scale.ravel() for c in cache.dropout])
    assert set(np.unique(kept)) == {0.0, 2.0}, "inverted dropout scales kept units by 1/(1-p)"
    assert 0.35 < np.mean(kept == 0.0) < 0.65

    twin = make_layer("lstm", 3, 4, num_layers=3, dropout=0.5)
    a, _, _ = layer.forward(x, train=True)
    b, _, _ = twin.forward(x, train=True)
    c, _, _ = twin.forward(x, train=True)
    assert not np.array_equal(b, c), "successive masks differ"
    twin2 = make_layer("lstm", 3, 4, num_layers=3, dropout=0.5)
    np.testing.assert_array_equal(b, twin2.forward(x, train=True)[0])  # same seed, same masks
    del a


def test_gradients_through_dropout_match_finite_differences():
    from rnnlab.numpy.gradcheck import numerical_gradient, relative_error

    layer = make_layer("gru", 2, 3, num_layers=2, dropout=0.3)
    x = np.random.default_rng(1).normal(size=(4, 2, 2))
    rng_state = layer.dropout_layer.get_state()
    w = np.random.default_rng(2).normal(size=(4, 2, 3))

    def loss():  # every evaluation replays the same dropout mask
        layer.dropout_layer.set_state(rng_state)
        return float(np.sum(w * layer.forward(x, train=True)[0]))

    layer.dropout_layer.set_state(rng_state)
    _, _, cache = layer.forward(x, train=True)
    assert cache.dropout[0].scale is not None
    dx, _, grads = layer.backward(w, None, cache)
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6
    p = layer.params["weight_ih_l1"]
    assert relative_error(grads["weight_ih_l1"], numerical_gradient(loss, p)) < 1e-6


# --------------------------------------------------------------------------- state_dict
def test_load_state_dict_copies_in_place_and_rejects_mismatches():
    layer = make_layer("lstm", 3, 4, num_layers=2)
    other = make_layer("lstm", 3, 4, num_layers=2, seed=9)
    before = layer.params["weight_hh_l1"]
    layer.load_state_dict(other.params)
    assert layer.params["weight_hh_l1"] is before, "arrays are updated in place"
    np.testing.assert_array_equal(before, other.params["weight_hh_l1"])
    with pytest.raises(ValueError, match=r"missing \['bias_hh_l1'\]"):
        layer.load_state_dict({k: v for k, v in other.params.items() if k != "bias_hh_l1"})
    bad = dict(other.params, weight_ih_l0=np.zeros((16, 5)))
    with pytest.raises(ValueError, match=r"weight_ih_l0 of shape \(16, 3\), got \(16, 5\)"):
        layer.load_state_dict(bad)


def test_parameter_names_and_shapes_follow_torch():
    layer = make_layer("gru", 5, 7, num_layers=2, bidirectional=True)
    assert layer.params["weight_ih_l0"].shape == (21, 5)
    assert layer.params["weight_ih_l1_reverse"].shape == (21, 14)
    assert layer.params["weight_hh_l1_reverse"].shape == (21, 7)
    assert layer.params["bias_hh_l0_reverse"].shape == (21,)
    assert len(layer.params) == 16
    assert layer.num_parameters() == 2 * (21 * 5 + 21 * 7 + 42) + 2 * (21 * 14 + 21 * 7 + 42)


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"hidden_size": 0}, ValueError, "hidden_size to be a positive integer, got 0"),
        ({"num_layers": 1.5}, ValueError, "num_layers to be a positive integer, got 1.5"),
        ({"dropout": 1.0}, ValueError, r"dropout in \[0, 1\), got 1.0"),
        ({"dtype": np.int32}, TypeError, "dtype float32 or float64, got int32"),
        ({"init": "magic"}, ValueError, "magic"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, message):
    from rnnlab.numpy.lstm import LSTM

    args = {"input_size": 3, "hidden_size": 4, **kwargs}
    with pytest.raises(error, match=message):
        LSTM(**args)


def test_unknown_rnn_nonlinearity():
    from rnnlab.numpy.rnn import RNN

    with pytest.raises(ValueError, match="nonlinearity 'tanh' or 'relu', got 'sigmoid'"):
        RNN(3, 4, nonlinearity="sigmoid")


@pytest.mark.parametrize(
    ("make_input", "error", "message"),
    [
        (
            lambda: np.zeros((5, 2, 4)),
            ValueError,
            r"input of width 3 \(input_size\), got \(5, 2, 4\)",
        ),
        (lambda: np.zeros((5, 3)), ValueError, r"3-D input \(T, B, I\), got shape \(5, 3\)"),
        (
            lambda: np.zeros((5, 2, 3), np.float32),
            TypeError,
            "dtype float64, got input of dtype float32",
        ),
        (lambda: np.full((5, 2, 3), np.nan), ValueError, "NaN or infinity"),
        (lambda: [[[0.0] * 3]], TypeError, "numpy array, got list"),
    ],
)
def test_bad_inputs_name_the_expected_shape(make_input, error, message):
    layer = make_layer("lstm", 3, 4)
    with pytest.raises(error, match=message):
        layer.forward(make_input())


def test_bad_states_and_lengths():
    layer = make_layer("lstm", 3, 4, num_layers=2)
    x = np.zeros((5, 2, 3))
    h = np.zeros((2, 2, 4))
    with pytest.raises(TypeError, match=r"state as a tuple \(h, c\)"):
        layer.forward(x, h)
    with pytest.raises(ValueError, match=r"c0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        layer.forward(x, (h, np.zeros((1, 2, 4))))
    with pytest.raises(ValueError, match=r"lengths in 1..5"):
        layer.forward(x, lengths=np.array([6, 2]))
    with pytest.raises(ValueError, match="lengths as 2 integers"):
        layer.forward(x, lengths=np.array([1.0, 2.0]))
    gru = make_layer("gru", 3, 4)
    with pytest.raises(ValueError, match=r"h0 of shape \(1, 2, 4\), got \(2, 2, 4\)"):
        gru.forward(x, h)


# --------------------------------------------------------------------------- one-hot ids input
@pytest.mark.parametrize("cell", ALL_CELLS)
@pytest.mark.parametrize("use_lengths", [False, True])
def test_ids_equal_their_one_hot_rows(cell, use_lengths):
    """Integer ids take the gather path; it must equal feeding the one-hot vectors."""
    layer = make_layer(cell, 5, 3, num_layers=2, bidirectional=True, batch_first=True)
    rng = np.random.default_rng(11)
    ids = rng.integers(0, 5, size=(3, 4))  # (B, T)
    lengths = np.array([4, 2, 3]) if use_lengths else None
    state = random_state(layer, 3, rng)
    one_hot = np.eye(5)[ids]  # (B, T, 5)
    y_ids, s_ids, cache_ids = layer.forward(ids, state, lengths=lengths)
    y_oh, s_oh, cache_oh = layer.forward(one_hot, state, lengths=lengths)
    np.testing.assert_allclose(y_ids, y_oh, rtol=1e-13, atol=1e-14)
    for a, b in zip(as_tuple(s_ids), as_tuple(s_oh), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    dy = rng.normal(size=y_ids.shape)
    dstate = from_tuple(layer, tuple(rng.normal(size=s.shape) for s in as_tuple(s_ids)))
    dx_ids, d0_ids, g_ids = layer.backward(dy, dstate, cache_ids)
    dx_oh, d0_oh, g_oh = layer.backward(dy, dstate, cache_oh)
    assert dx_ids is None  # ids have no gradient
    assert dx_oh.shape == one_hot.shape
    for a, b in zip(as_tuple(d0_ids), as_tuple(d0_oh), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    for name in g_oh:
        np.testing.assert_allclose(g_ids[name], g_oh[name], rtol=1e-12, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("cell", ALL_CELLS)
def test_skipping_the_input_gradient_changes_nothing_else(cell):
    layer = make_layer(cell, 4, 3, num_layers=2)
    rng = np.random.default_rng(12)
    x = rng.normal(size=(5, 2, 4))
    state = random_state(layer, 2, rng)
    y, _, cache = layer.forward(x, state)
    dy = rng.normal(size=y.shape)
    dx, d0, grads = layer.backward(dy, None, cache)
    dx_none, d0_none, grads_none = layer.backward(dy, None, cache, input_grad=False)
    assert dx is not None and dx_none is None
    for a, b in zip(as_tuple(d0), as_tuple(d0_none), strict=True):
        np.testing.assert_array_equal(a, b)
    for name in grads:
        np.testing.assert_array_equal(grads[name], grads_none[name], err_msg=name)


def test_ids_out_of_range_are_rejected():
    layer = make_layer("lstm", 5, 3)
    with pytest.raises(ValueError, match=r"ids in \[0, 5\)"):
        layer.forward(np.array([[0, 5]]))
