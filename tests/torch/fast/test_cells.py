"""The whole-sequence cells of rnnlab.torch.fast.cells, with hand-written BPTT, equal a Python
loop over the autograd step functions of rnnlab.torch.cells (the definition): states, and
the gradients on xw, W_hh, b_hh and the initial state, with and without padding, float64."""

import pytest

torch = pytest.importorskip("torch")

from rnnlab.torch.cells import STEPS, get_cell  # noqa: E402
from rnnlab.torch.fast import FUSED  # noqa: E402
from rnnlab.torch.fast import cells as fast_cells  # noqa: E402
from rnnlab.torch.padding import padding  # noqa: E402

f64 = torch.float64
T, B, H = 6, 4, 3
LENGTHS = torch.tensor([6, 2, 5, 1])  # full, short, in between, a single step


def step_loop(cell, xw, state0, w_hh, b_hh, lengths):
    """The definition: the step function once per time step; padding keeps the state."""
    state, hs = state0, []
    for t in range(xw.shape[0]):
        new = STEPS[cell](xw[t], state, w_hh, b_hh)
        keep = (t < lengths)[:, None]  # (B, 1)
        state = tuple(torch.where(keep, n, s) for n, s in zip(new, state, strict=True))
        hs.append(state[0])
    return torch.stack(hs), state


def random_case(cell, seed):
    g = torch.Generator().manual_seed(seed)
    G = get_cell(cell).gates * H
    xw = torch.randn(T, B, G, generator=g, dtype=f64)
    state0 = tuple(
        torch.randn(B, H, generator=g, dtype=f64) for _ in range(get_cell(cell).state_size)
    )
    w_hh = torch.rand(G, H, generator=g, dtype=f64) * 1.2 - 0.6
    b_hh = torch.rand(G, generator=g, dtype=f64) * 1.2 - 0.6
    return xw, state0, w_hh, b_hh


@pytest.mark.parametrize("cell", list(FUSED))
@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
def test_sequence_forward_and_backward_equal_the_autograd_step_loop(cell, padded):
    xw, state0, w_hh, b_hh = random_case(cell, seed=len(cell))
    lengths = LENGTHS if padded else torch.full((B,), T)
    pad = padding(lengths, T, "cpu")
    assert (pad is None) == (not padded)
    g = torch.Generator().manual_seed(1)
    real = (torch.arange(T)[:, None] < lengths)[:, :, None]  # (T, B, 1)
    dhs = torch.randn(T, B, H, generator=g, dtype=f64) * real  # zero on padding
    dstate_n = [torch.randn(B, H, generator=g, dtype=f64) for _ in state0]

    leaves = [a.clone().requires_grad_() for a in (xw, *state0, w_hh, b_hh)]
    xw_l, *state_l, w_l, b_l = leaves
    hs_ref, state_ref = step_loop(cell, xw_l, tuple(state_l), w_l, b_l, lengths)
    loss = (hs_ref * dhs).sum()
    loss = loss + sum((s * d).sum() for s, d in zip(state_ref, dstate_n, strict=True))
    d_xw, *d_state0, d_w_hh, d_b_hh = torch.autograd.grad(loss, leaves)

    forward, backward = FUSED[cell]
    hs, state_n, cache = forward(xw.clone(), state0, w_hh, b_hh, pad)
    torch.testing.assert_close(hs, hs_ref, rtol=0, atol=1e-14)
    for got, want in zip(state_n, state_ref, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-14)

    last = lengths - 1  # the final state's gradient lands on each sequence's last step
    dhs_all = dhs.clone()
    dhs_all[last, torch.arange(B)] += dstate_n[0]
    dc_last = {}
    if cell == "lstm":
        dc_last = {t: dstate_n[1] * (last == t)[:, None] for t in last.unique().tolist()}
    dxw, da, dstate0 = backward(dhs_all, dc_last, cache, w_hh)
    h_prev = torch.cat([state0[0][None], hs[:-1]])  # (T, B, H) h_{t-1}
    torch.testing.assert_close(dxw, d_xw, rtol=0, atol=1e-13, msg="dxw")
    torch.testing.assert_close(da.sum((0, 1)), d_b_hh, rtol=0, atol=1e-13, msg="db_hh")
    torch.testing.assert_close(
        torch.einsum("tbg,tbh->gh", da, h_prev), d_w_hh, rtol=0, atol=1e-13, msg="dW_hh"
    )
    for got, want in zip(dstate0, d_state0, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-13, msg="dstate0")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tanh_through_sigmoid_is_tanh(dtype):
    x = torch.cat([torch.linspace(-30, 30, 2001), torch.tensor([0.0, 1e-8, -1e-30, 88.0])])
    x = x.to(dtype)
    one, two = fast_cells.constants(x)
    got = fast_cells.tanh(x, torch.empty_like(x), one, two)
    atol = 1e-15 if dtype == torch.float64 else 3e-7  # absolute: 2σ - 1 cancels near 0
    torch.testing.assert_close(got, torch.tanh(x), rtol=0, atol=atol)
    assert got.abs().max() <= 1.0


def test_gru_reset_gate_multiplies_the_recurrent_bias():
    """b_hn inside r ⊙ (W_hn h + b_hn): with r ≈ 0 the recurrent n-bias must vanish."""
    xw = torch.zeros(1, 1, 3, dtype=f64)
    xw[0, 0, 0] = -50.0  # r = σ(-50) ≈ 0
    b_hh = torch.tensor([0.0, 0.0, 3.0], dtype=f64)  # b_hn = 3
    w_hh = torch.zeros(3, 1, dtype=f64)
    hs, _, _ = fast_cells.gru_forward(xw, (torch.zeros(1, 1, dtype=f64),), w_hh, b_hh, None)
    # z = σ(0) = ½, n = tanh(0 + r·3) ≈ 0 -> h ≈ 0; a b_hn outside r would give ½·tanh(3)
    assert abs(hs.item()) < 1e-20


def test_relu_rnn_passes_no_gradient_through_a_dead_unit():
    xw = torch.tensor([[[-1.0, 2.0]]], dtype=f64)  # (T=1, B=1, H=2): unit 0 is dead
    w_hh, b_hh = torch.zeros(2, 2, dtype=f64), torch.zeros(2, dtype=f64)
    forward, backward = FUSED["rnn_relu"]
    hs, _, cache = forward(xw.clone(), (torch.zeros(1, 2, dtype=f64),), w_hh, b_hh, None)
    assert hs.tolist() == [[[0.0, 2.0]]]
    dxw, _, _ = backward(torch.ones(1, 1, 2, dtype=f64), {}, cache, w_hh)
    assert dxw.tolist() == [[[0.0, 1.0]]]


@pytest.mark.parametrize("cell", list(FUSED))
def test_padding_steps_keep_the_state_of_the_last_real_step(cell):
    xw, state0, w_hh, b_hh = random_case(cell, seed=3)
    pad = padding(LENGTHS, T, "cpu")
    hs, state_n, _ = FUSED[cell][0](xw, state0, w_hh, b_hh, pad)
    for b, length in enumerate(LENGTHS.tolist()):
        for t in range(length, T):
            torch.testing.assert_close(hs[t, b], hs[length - 1, b], rtol=0, atol=0)
        torch.testing.assert_close(state_n[0][b], hs[length - 1, b], rtol=0, atol=0)
