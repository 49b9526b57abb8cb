"""The from-scratch steps equal torch.nn's cells (values and every gradient, float64); the
teaching LSTMCell equals the fused step; the registry finds built-in and extra cells."""

import sys

import pytest

torch = pytest.importorskip("torch")

from rnnlab.torch import cells  # noqa: E402
from rnnlab.torch.cells import GATES, STATE_SIZE, STEPS, LSTMCell, get_cell  # noqa: E402

B, I, H = 3, 4, 5


def reference_cell(name: str):
    """torch.nn's own one-step module for a cell name, float64."""
    kw = {"dtype": torch.float64}
    if name == "lstm":
        return torch.nn.LSTMCell(I, H, **kw)
    if name == "gru":
        return torch.nn.GRUCell(I, H, **kw)
    return torch.nn.RNNCell(I, H, nonlinearity=name.removeprefix("rnn_"), **kw)


@pytest.mark.parametrize("name", list(STEPS))
def test_step_equals_torch_nn_cell_forward_and_every_gradient(name):
    torch.manual_seed(0)
    ref = reference_cell(name)
    with torch.no_grad():  # non-zero biases everywhere, so a misplaced bias shows
        for p in ref.parameters():
            p.uniform_(-0.8, 0.8)
    x = torch.randn(B, I, dtype=torch.float64)
    state = tuple(torch.randn(B, H, dtype=torch.float64) for _ in range(STATE_SIZE[name]))
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
    assert len(new) == STATE_SIZE[name] and xw.shape[1] == GATES[name] * H
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


def test_teaching_lstm_cell_equals_the_fused_step():
    torch.manual_seed(1)
    ref = torch.nn.LSTM(I, H, dtype=torch.float64)
    teach = LSTMCell(I, H, dtype=torch.float64)
    teach.load_fused(ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0)
    xs = torch.randn(6, B, I, dtype=torch.float64, requires_grad=True)
    state_a = state_b = (torch.zeros(B, H, dtype=torch.float64),) * 2
    hs_a, hs_b = [], []
    for x_t in xs:
        state_a = teach(x_t, state_a)
        xw = x_t @ ref.weight_ih_l0.T + ref.bias_ih_l0
        state_b = cells.lstm_step(xw, state_b, ref.weight_hh_l0, ref.bias_hh_l0)
        hs_a.append(state_a[0])
        hs_b.append(state_b[0])
    hs_a, hs_b = torch.stack(hs_a), torch.stack(hs_b)
    torch.testing.assert_close(hs_a, hs_b, rtol=0, atol=1e-14)
    torch.testing.assert_close(state_a[1], state_b[1], rtol=0, atol=1e-14)
    (grad_a,) = torch.autograd.grad(hs_a.sum(), xs)
    (grad_b,) = torch.autograd.grad(hs_b.sum(), xs)
    torch.testing.assert_close(grad_a, grad_b, rtol=0, atol=1e-13)
    torch.testing.assert_close(hs_b, ref(xs)[0], rtol=0, atol=1e-14)  # and torch.nn.LSTM


# --------------------------------------------------------------------------- registry
def test_registry_tables_describe_the_same_cells():
    assert set(STEPS) == set(GATES) == set(STATE_SIZE) == {"lstm", "gru", "rnn_tanh", "rnn_relu"}
    for name in STEPS:
        cell = get_cell(name)
        assert (cell.step, cell.gates, cell.state_size) == (
            STEPS[name],
            GATES[name],
            STATE_SIZE[name],
        )
        assert cell.extra_params is None


def test_get_cell_finds_the_extra_cells_module():
    pytest.importorskip("rnnlab.torch.extra_cells")
    cell = get_cell("peephole_lstm")
    assert cell.gates == 4 and cell.state_size == 2
    assert set(cell.extra_params(3)) == {
        "weight_peephole_i",
        "weight_peephole_f",
        "weight_peephole_o",
    }


def test_get_cell_reads_whatever_extra_cells_registers(monkeypatch):
    fake = type(sys)("rnnlab.torch.extra_cells")
    fake.EXTRA_STEPS = {"toy": cells.rnn_tanh_step}
    fake.EXTRA_GATES = {"toy": 1}
    fake.EXTRA_STATE_SIZE = {"toy": 1}
    fake.extra_params = lambda name, hidden_size: {"gain": torch.ones(hidden_size)}
    monkeypatch.setitem(sys.modules, "rnnlab.torch.extra_cells", fake)
    cell = get_cell("toy")
    assert cell.step is cells.rnn_tanh_step
    assert torch.equal(cell.extra_params(2)["gain"], torch.ones(2))
    with pytest.raises(ValueError, match=r"unknown cell 'nope'; choose one of lstm, .*, toy"):
        get_cell("nope")


def test_missing_extra_cells_module_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "rnnlab.torch.extra_cells", None)  # import fails
    assert get_cell("gru").gates == 3  # built-in cells never need the module
    with pytest.raises(ValueError, match=r"extra_cells\.py is missing"):
        get_cell("peephole_lstm")
