"""The from-scratch steps: the built-in ones equal torch.nn's cells (values and every
gradient, float64); the peephole and LayerNorm LSTMs, looped and differentiated by autograd,
equal the NumPy engine's hand-derived layers; every cell's facts are the registry's."""

import numpy as np
import pytest

from rnnlab.cells import CELLS
from rnnlab.numpy.layernorm_lstm import LayerNormLSTM
from rnnlab.numpy.peephole_lstm import PeepholeLSTM

torch = pytest.importorskip("torch")

from rnnlab.cells import direction_suffix  # noqa: E402
from rnnlab.torch import cells  # noqa: E402
from rnnlab.torch.cells import STEPS, get_cell, layer_norm, peephole_lstm_step  # noqa: E402

B, I, H = 3, 4, 5
BUILT_IN = ["lstm", "gru", "rnn_tanh", "rnn_relu"]  # the cells torch.nn has
EXTRA = ["layernorm_lstm", "peephole_lstm"]
NUMPY_LAYERS = {"peephole_lstm": PeepholeLSTM, "layernorm_lstm": LayerNormLSTM}


def reference_cell(name: str):
    """torch.nn's own one-step module for a cell name, float64."""
    kw = {"dtype": torch.float64}
    if name == "lstm":
        return torch.nn.LSTMCell(I, H, **kw)
    if name == "gru":
        return torch.nn.GRUCell(I, H, **kw)
    return torch.nn.RNNCell(I, H, nonlinearity=name.removeprefix("rnn_"), **kw)


@pytest.mark.parametrize("name", BUILT_IN)
def test_step_equals_torch_nn_cell_forward_and_every_gradient(name):
    torch.manual_seed(0)
    ref = reference_cell(name)
    with torch.no_grad():  # non-zero biases everywhere, so a misplaced bias shows
        for p in ref.parameters():
            p.uniform_(-0.8, 0.8)
    cell = get_cell(name)
    x = torch.randn(B, I, dtype=torch.float64)
    state = tuple(torch.randn(B, H, dtype=torch.float64) for _ in range(cell.state_size))
    w = [torch.randn(B, H, dtype=torch.float64) for _ in state]

    x_ref = x.clone().requires_grad_()
    s_ref = tuple(s.clone().requires_grad_() for s in state)
    out = ref(x_ref, s_ref if name == "lstm" else s_ref[0])
    out = out if isinstance(out, tuple) else (out,)
    sum(((o * wi).sum() for o, wi in zip(out, w, strict=True)), torch.tensor(0.0)).backward()

    params = {n: p.detach().clone().requires_grad_() for n, p in ref.named_parameters()}
    x_s = x.clone().requires_grad_()
    s_s = tuple(s.clone().requires_grad_() for s in state)
    xw = x_s @ params["weight_ih"].T + params["bias_ih"]  # (B, G·H)
    new = STEPS[name](xw, s_s, params["weight_hh"], params["bias_hh"])
    assert len(new) == cell.state_size and xw.shape[1] == cell.gates * H
    sum(((o * wi).sum() for o, wi in zip(new, w, strict=True)), torch.tensor(0.0)).backward()

    for a, b in zip(new, out, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
    torch.testing.assert_close(x_s.grad, x_ref.grad, rtol=0, atol=1e-13)
    for a, b in zip(s_s, s_ref, strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-13)
    for n, p in ref.named_parameters():
        torch.testing.assert_close(params[n].grad, p.grad, rtol=0, atol=1e-13, msg=n)


def test_gru_reset_gate_multiplies_the_recurrent_bias():
    """b_hn inside r ⊙ (W_hn h + b_hn): with r ≈ 0 the recurrent n-bias must vanish."""
    xw = torch.zeros(1, 3, dtype=torch.float64)
    xw[0, 0] = -50.0  # r = σ(-50) ≈ 0
    b_hh = torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64)  # b_hn = 3
    w_hh = torch.zeros(3, 1, dtype=torch.float64)
    (h,) = cells.gru_step(xw, (torch.zeros(1, 1, dtype=torch.float64),), w_hh, b_hh)
    # z = σ(0) = ½, n = tanh(0 + r·3) ≈ 0 -> h ≈ 0; a b_hn outside r would give ½·tanh(3)
    assert abs(h.item()) < 1e-20


# --------------------------------------------------------------------------- extra cells
def make_numpy_layer(cell, input_size, hidden_size, **kw):
    """A float64 NumPy layer with every tensor, extras included, random in U(±0.6)."""
    layer = NUMPY_LAYERS[cell](input_size, hidden_size, dtype=np.float64, seed=0, **kw)
    rng = np.random.default_rng(11)
    for p in layer.params.values():
        p[...] = rng.uniform(-0.6, 0.6, p.shape)
    return layer


def torch_loop(step, params, x, h0, c0, num_layers, num_directions, lengths):
    """A plain Python loop over layers, directions and time calling ``step``.

    Padding (t >= lengths[b]) keeps the state and zeroes the output; the reverse direction
    reads each sequence from its own last step, as the NumPy stack does.
    """
    T, B, _ = x.shape
    t = torch.arange(T)[:, None]  # (T, 1)
    mask = (t < lengths[None, :])[:, :, None]  # (T, B, 1)
    rev = torch.where(t < lengths, lengths - 1 - t, t)  # (T, B)
    batch = torch.arange(B)[None, :]

    def reverse(a):
        return a[rev, batch]  # (T, B, ·)

    layer_input, h_n, c_n = x, [], []
    for layer in range(num_layers):
        outputs = []
        for direction in range(num_directions):
            ending = f"_l{layer}{direction_suffix(direction)}"
            p = {k[: -len(ending)]: v for k, v in params.items() if k.endswith(ending)}
            xin = reverse(layer_input) if direction else layer_input
            xw = xin @ p.pop("weight_ih").T + p.pop("bias_ih")  # (T, B, 4H)
            w_hh, b_hh = p.pop("weight_hh"), p.pop("bias_hh")
            index = layer * num_directions + direction
            h, c, hs = h0[index], c0[index], []
            for s in range(T):
                h_new, c_new = step(xw[s], (h, c), w_hh, b_hh, **p)  # p: the extras only
                h, c = torch.where(mask[s], h_new, h), torch.where(mask[s], c_new, c)
                hs.append(h)
            out = torch.stack(hs)  # (T, B, H)
            outputs.append(reverse(out) if direction else out)
            h_n.append(h)
            c_n.append(c)
        layer_input = torch.cat(outputs, dim=-1) * mask  # (T, B, D·H)
    return layer_input, torch.stack(h_n), torch.stack(c_n)


cases = [
    # (num_layers, bidirectional, B, T, I, H, lengths)
    (1, False, 3, 5, 4, 3, None),
    (2, False, 2, 4, 3, 4, [4, 2]),
    (1, True, 3, 6, 2, 3, [6, 1, 4]),
    (2, True, 3, 4, 3, 2, [3, 4, 2]),
    (2, True, 1, 1, 3, 3, None),  # B = 1, T = 1
]


@pytest.mark.parametrize("cell", EXTRA)
@pytest.mark.parametrize("case", cases, ids=lambda c: "L{}-bi{:d}-B{}-T{}".format(*c))
def test_step_loop_with_autograd_equals_the_numpy_layer(cell, case):
    num_layers, bidirectional, B, T, I, H, lengths = case
    layer = make_numpy_layer(cell, I, H, num_layers=num_layers, bidirectional=bidirectional)
    D = layer.num_directions
    rng = np.random.default_rng(3)
    x = rng.normal(size=(T, B, I))
    h0, c0 = rng.normal(size=(num_layers * D, B, H)), rng.normal(size=(num_layers * D, B, H))
    lengths = None if lengths is None else np.array(lengths)
    y, (h_n, c_n), cache = layer.forward(x, (h0, c0), lengths=lengths)
    dy, dh_n, dc_n = (rng.normal(size=a.shape) for a in (y, h_n, c_n))
    dx, (dh0, dc0), grads = layer.backward(dy, (dh_n, dc_n), cache)

    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in layer.params.items()}
    x_t, h0_t, c0_t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    lengths_t = torch.tensor(lengths if lengths is not None else [T] * B)
    y_t, h_t, c_t = torch_loop(STEPS[cell], leaves, x_t, h0_t, c0_t, num_layers, D, lengths_t)
    loss = sum((out * torch.tensor(d)).sum() for out, d in [(y_t, dy), (h_t, dh_n), (c_t, dc_n)])
    loss.backward()

    def close(got, want, what):
        err = float(np.abs(got - want).max())
        assert err <= 1e-10, f"{cell} {what}: max abs difference {err:.2e}"

    for what, got, want in [("y", y, y_t), ("h_n", h_n, h_t), ("c_n", c_n, c_t)]:
        close(got, want.detach().numpy(), what)
    for what, got, want in [("dx", dx, x_t), ("dh0", dh0, h0_t), ("dc0", dc0, c0_t)]:
        close(got, want.grad.numpy(), what)
    assert set(grads) == set(leaves)
    for name, leaf in leaves.items():
        close(grads[name], leaf.grad.numpy(), f"d{name}")


def test_zero_peephole_step_equals_torch_nn_lstm_cell():
    torch.manual_seed(0)
    ref = torch.nn.LSTMCell(3, 4, dtype=torch.float64)
    x, h, c = torch.randn(2, 3, dtype=torch.float64), *torch.randn(2, 2, 4, dtype=torch.float64)
    xw = x @ ref.weight_ih.T + ref.bias_ih  # (B, 4H)
    extras = get_cell("peephole_lstm").extra_params(4)
    got = peephole_lstm_step(xw, (h, c), ref.weight_hh, ref.bias_hh, **extras)
    want = ref(x, (h, c))
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=0, atol=1e-14)


def test_layer_norm_equals_torch_functional_layer_norm():
    a = torch.randn(5, 12, dtype=torch.float64) * 3.0
    weight, bias = torch.randn(12, dtype=torch.float64), torch.randn(12, dtype=torch.float64)
    want = torch.nn.functional.layer_norm(a, (12,), weight, bias, eps=LayerNormLSTM.cell_class.eps)
    torch.testing.assert_close(layer_norm(a, weight, bias), want, rtol=0, atol=1e-13)


@pytest.mark.parametrize("cell", EXTRA)
def test_extra_params_match_the_numpy_cell(cell):
    numpy_extras = NUMPY_LAYERS[cell].cell_class.extra_params(5)
    torch_extras = get_cell(cell).extra_params(5)
    assert list(torch_extras) == list(numpy_extras)
    for key, value in torch_extras.items():
        assert value.dtype == torch.float64
        np.testing.assert_array_equal(value.numpy(), numpy_extras[key], err_msg=key)
    assert get_cell(cell).gates == NUMPY_LAYERS[cell].cell_class.gates
    assert get_cell(cell).state_size == len(NUMPY_LAYERS[cell].cell_class.state_names)


# --------------------------------------------------------------------------- the registry
def test_there_is_a_step_for_every_cell_of_the_registry_and_no_other():
    registry_names = {"rnn" if n.startswith("rnn_") else n for n in STEPS}
    assert registry_names == set(CELLS)
    assert set(STEPS) == {*BUILT_IN, *EXTRA}


@pytest.mark.parametrize("name", [*BUILT_IN, *EXTRA])
def test_get_cell_reads_its_facts_from_the_registry(name):
    cell = get_cell(name)
    kind = CELLS["rnn" if name.startswith("rnn_") else name]
    assert cell.kind is kind and cell.step is STEPS[name] and cell.name == name
    assert (cell.gates, cell.state_size) == (kind.num_gates, len(kind.states))
    extras = cell.extra_params(3)
    assert {k: v.shape[0] for k, v in extras.items()} == {
        k: units * 3 for k, units in kind.extra_tensors.items()
    }
    if name in BUILT_IN:
        assert extras == {}  # torch.nn's four tensors and nothing else


def test_gates_and_states_of_the_lstm_gru_and_rnn():
    assert (get_cell("lstm").gates, get_cell("lstm").state_size) == (4, 2)
    assert (get_cell("gru").gates, get_cell("gru").state_size) == (3, 1)
    assert (get_cell("rnn_relu").gates, get_cell("rnn_relu").state_size) == (1, 1)
    assert (get_cell("peephole_lstm").gates, get_cell("peephole_lstm").state_size) == (4, 2)
    assert set(get_cell("peephole_lstm").extra_params(3)) == {
        "weight_peephole_i",
        "weight_peephole_f",
        "weight_peephole_o",
    }


def test_get_cell_names_every_valid_cell_for_an_unknown_one():
    with pytest.raises(ValueError, match=r"unknown cell 'nope'; choose one of lstm, gru, .*"):
        get_cell("nope")
    with pytest.raises(ValueError, match=r"unknown cell 'rnn'.*rnn_tanh, rnn_relu, .*peephole"):
        get_cell("rnn")  # the plain RNN's step is chosen by resolve_cell(cell, nonlinearity)


def test_resolve_cell_picks_the_plain_rnns_step_by_its_nonlinearity():
    assert cells.resolve_cell("rnn", "relu") == "rnn_relu"
    assert cells.resolve_cell("rnn", "tanh") == "rnn_tanh"
    assert cells.resolve_cell("gru", "relu") == "gru"
    with pytest.raises(ValueError, match="expected nonlinearity 'tanh' or 'relu', got 'elu'"):
        cells.resolve_cell("rnn", "elu")
