"""The fast path (rnnlab.torch.fast: one autograd Function per layer and direction, BPTT by
hand) equals the definition, the per-step autograd path of ScratchRecurrent, and torch.nn:
finite-difference gradchecks of the Function, and whole layers compared for every cell,
stack shape, padding, initial state, dropout, dtype and chunking."""

import pytest

torch = pytest.importorskip("torch")

from rnnlab.torch.cells import get_cell  # noqa: E402
from rnnlab.torch.fast import FUSED, FusedRecurrence  # noqa: E402
from rnnlab.torch.layers import ScratchRecurrent  # noqa: E402
from rnnlab.torch.native import native_recurrent  # noqa: E402
from rnnlab.torch.padding import padding  # noqa: E402

f64 = torch.float64
CELLS = list(FUSED)  # lstm, gru, rnn_tanh, rnn_relu


def state_size(cell: str) -> int:
    return get_cell(cell).state_size


# --------------------------------------------------------------------------- the Function
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("lengths", [None, [4, 1, 3]], ids=["full", "padded"])
def test_gradcheck_of_every_input(cell, lengths):
    """Finite differences of x, W_ih, W_hh, b_ih, b_hh, h0 (and c0) through y and state_n."""
    T, B, I, H = 4, 3, 2, 2
    G = get_cell(cell).gates * H
    g = torch.Generator().manual_seed(0)

    def leaf(*shape):
        return (torch.rand(*shape, generator=g, dtype=f64) * 1.6 - 0.8).requires_grad_()

    inputs = (leaf(T, B, I), leaf(G, I), leaf(G, H), leaf(G), leaf(G))
    inputs += tuple(leaf(B, H) for _ in range(state_size(cell)))
    if cell == "rnn_relu":  # keep pre-activations away from relu's kink at 0
        with torch.no_grad():
            inputs[3].add_(0.3 * torch.sign(inputs[3]))
    pad = padding(None if lengths is None else torch.tensor(lengths), T, "cpu")

    def fused(*args):
        return FusedRecurrence.apply(cell, pad, *args)

    assert torch.autograd.gradcheck(fused, inputs, eps=1e-6, atol=1e-7)


def test_bias_gradients_are_separate_tensors_so_clipping_scales_each_once():
    layer = ScratchRecurrent("lstm", 3, 4, dtype=f64)
    layer(torch.randn(5, 2, 3, dtype=f64))[0].sum().backward()
    assert layer.bias_ih_l0.grad.data_ptr() != layer.bias_hh_l0.grad.data_ptr()
    before = layer.bias_hh_l0.grad.clone()
    norm = torch.nn.utils.clip_grad_norm_(layer.parameters(), 1e-3)
    scale = 1e-3 / (norm + 1e-6)  # clip_grad_norm_'s coefficient
    torch.testing.assert_close(layer.bias_hh_l0.grad, before * scale, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- the layer
def twins(cell, **kw):
    """A fused ScratchRecurrent and the same weights on the per-step autograd path."""
    torch.manual_seed(0)
    fused = ScratchRecurrent(cell, 3, 4, **kw)
    with torch.no_grad():  # random non-zero biases everywhere, beyond the U(±1/√H) init
        for p in fused.parameters():
            p.uniform_(-0.6, 0.6)
    stepwise = ScratchRecurrent(cell, 3, 4, fused=False, **kw)
    stepwise.load_state_dict(fused.state_dict(), strict=True)
    assert fused.uses_fused and not stepwise.uses_fused
    return fused, stepwise


def run(module, x, state, lengths, w_y, w_s):
    """Output, final state and the gradients of Σ w_y ⊙ y + Σ w_s ⊙ state_n on every input."""
    x = x.clone().requires_grad_()
    state = None if state is None else tuple(s.clone().requires_grad_() for s in state)
    y, state_n = module(x, None if state is None else module.public_state(state), lengths)
    state_n = state_n if isinstance(state_n, tuple) else (state_n,)
    loss = (y * w_y).sum() + sum((s * w).sum() for s, w in zip(state_n, w_s, strict=True))
    leaves = [x, *(state or ()), *module.parameters()]
    return [y, *state_n, *torch.autograd.grad(loss, leaves)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tm", "bf"])
@pytest.mark.parametrize("give_state", [True, False], ids=["h0", "zero-h0"])
@pytest.mark.parametrize("lengths", [None, [5, 1, 3, 5]], ids=["full", "padded"])
def test_fused_layer_equals_the_per_step_autograd_layer(
    cell, num_layers, bidirectional, batch_first, give_state, lengths
):
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    fused, stepwise = twins(cell, dtype=f64, **kw)
    T, B, D = 5, 4, 2 if bidirectional else 1
    g = torch.Generator().manual_seed(num_layers)
    x = torch.randn((B, T, 3) if batch_first else (T, B, 3), generator=g, dtype=f64)
    shape = (num_layers * D, B, 4)
    state = None
    if give_state:
        state = tuple(torch.randn(shape, generator=g, dtype=f64) for _ in range(state_size(cell)))
    w_y = torch.randn((B, T, D * 4) if batch_first else (T, B, D * 4), generator=g, dtype=f64)
    w_s = [torch.randn(shape, generator=g, dtype=f64) for _ in range(state_size(cell))]
    got = run(fused, x, state, lengths, w_y, w_s)
    want = run(stepwise, x, state, lengths, w_y, w_s)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_fused_layer_equals_torch_nn_and_the_autograd_layer(cell):
    fused, stepwise = twins(cell, num_layers=2, bidirectional=True, dtype=torch.float32)
    native = native_recurrent(cell, 3, 4, num_layers=2, bidirectional=True)
    native.load_state_dict(fused.state_dict(), strict=True)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 5, 3, generator=g)
    w_y = torch.randn(30, 5, 8, generator=g)
    w_s = [torch.randn(4, 5, 4, generator=g) for _ in range(state_size(cell))]
    got = run(fused, x, None, [30, 7, 1, 30, 12], w_y, w_s)
    assert all(t.dtype == torch.float32 for t in got)
    for other in (stepwise, native):
        want = run(other, x, None, [30, 7, 1, 30, 12], w_y, w_s)
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_dropout_between_layers_draws_the_same_masks_on_both_paths(cell):
    fused, stepwise = twins(cell, num_layers=3, dropout=0.4, dtype=f64)
    x = torch.randn(6, 2, 3, dtype=f64)
    w_y, w_s = torch.randn(6, 2, 4, dtype=f64), [torch.zeros(3, 2, 4, dtype=f64)] * 2
    results = []
    for module in (fused, stepwise):
        module.generator = torch.Generator().manual_seed(5)
        results.append(run(module, x, None, None, w_y, w_s[: state_size(cell)]))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    fused.eval()
    assert not torch.allclose(fused(x)[0], results[0][0])  # the masks did change the output


@pytest.mark.parametrize("cell", CELLS)
def test_chunks_with_carried_state_equal_the_whole_sequence_gradients_included(cell):
    fused, _ = twins(cell, num_layers=2, dtype=f64)
    x = torch.randn(9, 2, 3, dtype=f64)
    w_y = torch.randn(9, 2, 4, dtype=f64)
    y, _ = fused(x)
    whole = torch.autograd.grad((y * w_y).sum(), list(fused.parameters()))
    state, chunks = None, []
    for a, b in [(0, 2), (2, 7), (7, 9)]:  # the state carries the gradient between chunks
        y_c, state = fused(x[a:b], state)
        chunks.append(y_c)
    torch.testing.assert_close(torch.cat(chunks), y, rtol=0, atol=1e-14)
    chunked = torch.autograd.grad((torch.cat(chunks) * w_y).sum(), list(fused.parameters()))
    for a, b in zip(chunked, whole, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


@pytest.mark.parametrize("cell", CELLS)
def test_a_single_step_and_a_single_sequence(cell):
    fused, stepwise = twins(cell, bidirectional=True, dtype=f64)
    x, w_y = torch.randn(1, 1, 3, dtype=f64), torch.randn(1, 1, 8, dtype=f64)
    w_s = [torch.randn(2, 1, 4, dtype=f64) for _ in range(state_size(cell))]
    got, want = run(fused, x, None, None, w_y, w_s), run(stepwise, x, None, None, w_y, w_s)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


def test_no_grad_forward_gives_the_training_forward():
    fused, _ = twins("lstm", num_layers=2, dtype=f64)
    x = torch.randn(5, 3, 3, dtype=f64)
    with torch.no_grad():
        y_eval, _ = fused(x, lengths=[5, 2, 4])
    torch.testing.assert_close(fused(x, lengths=[5, 2, 4])[0], y_eval, rtol=0, atol=0)


def test_extra_cells_keep_the_per_step_autograd_path():
    assert set(FUSED) == {"lstm", "gru", "rnn_tanh", "rnn_relu"}
    for cell in ("peephole_lstm", "layernorm_lstm"):
        assert not ScratchRecurrent(cell, 3, 4).uses_fused


def test_torch_compile_runs_the_fused_recurrence_unchanged():
    fused, _ = twins("gru", num_layers=2, dtype=f64)
    compiled = torch.compile(fused, backend="aot_eager")
    x, w_y = torch.randn(5, 3, 3, dtype=f64), torch.randn(5, 3, 4, dtype=f64)
    w_s = [torch.randn(2, 3, 4, dtype=f64)]
    got = run(compiled, x, None, [5, 2, 4], w_y, w_s)
    want = run(fused, x, None, [5, 2, 4], w_y, w_s)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("cell", CELLS)
def test_on_cuda_equals_on_cpu(cell):
    fused, _ = twins(cell, num_layers=2, bidirectional=True, dtype=f64)
    on_gpu = ScratchRecurrent(cell, 3, 4, num_layers=2, bidirectional=True, dtype=f64)
    on_gpu.load_state_dict(fused.state_dict())
    on_gpu.cuda()
    x, w_y = torch.randn(5, 3, 3, dtype=f64), torch.randn(5, 3, 8, dtype=f64)
    w_s = [torch.randn(4, 3, 4, dtype=f64) for _ in range(state_size(cell))]
    got = run(on_gpu, x.cuda(), None, [5, 2, 4], w_y.cuda(), [w.cuda() for w in w_s])
    want = run(fused, x, None, [5, 2, 4], w_y, w_s)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a.cpu(), b, rtol=0, atol=1e-12)
