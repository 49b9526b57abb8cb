"""ScratchRecurrent (and the native layer) proven equal to the NumPy stack, for every cell,
stack shape, layout, initial state and padding: outputs, final states and every gradient."""

from functools import partial

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.overrides import TorchFunctionMode  # noqa: E402

from rnnlab.torch.layers import ScratchRecurrent  # noqa: E402
from rnnlab.torch.native import native_recurrent  # noqa: E402
from tests.numpy.recurrent_cases import (  # noqa: E402
    as_tuple,
    from_tuple,
    make_layer,
    random_state,
    torch_twin,
    torch_weighted_loss,
)

CELLS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
BACKENDS = {"scratch": ScratchRecurrent, "native": native_recurrent}
B, T, I, H = 3, 4, 3, 5
LENGTHS = np.array([4, 1, 3])  # a full sequence, a single step, one in between


# --------------------------------------------------------------------------- the proof
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tm", "bf"])
@pytest.mark.parametrize("give_state", [True, False], ids=["h0", "zero-h0"])
@pytest.mark.parametrize("use_lengths", [False, True], ids=["full", "lengths"])
def test_scratch_and_native_equal_numpy_forward_and_every_gradient(
    cell, num_layers, bidirectional, batch_first, give_state, use_lengths
):
    layer = make_layer(
        cell, I, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    rng = np.random.default_rng(num_layers)
    x = rng.normal(size=(B, T, I) if batch_first else (T, B, I))
    state = random_state(layer, B, rng) if give_state else None
    lengths = LENGTHS if use_lengths else None
    y, state_n, cache = layer.forward(x, state, lengths=lengths)
    w_y = rng.normal(size=y.shape)  # loss = Σ w_y ⊙ y + Σ w_s ⊙ state_n
    w_s = [rng.normal(size=s.shape) for s in as_tuple(state_n)]
    dx, dstate0, grads = layer.backward(w_y, from_tuple(layer, w_s), cache)

    tol = 1e-10
    for backend in BACKENDS:
        module = torch_twin(partial(BACKENDS[backend], cell), layer)
        x_t = torch.tensor(x, requires_grad=True)
        state_t = None
        if give_state:
            state_t = tuple(torch.tensor(s, requires_grad=True) for s in as_tuple(state))
        y_t, state_n_t = module(
            x_t, None if state_t is None else from_tuple(layer, state_t), lengths
        )
        torch_weighted_loss(y_t, state_n_t, w_y, w_s).backward()

        def close(a, b, what, backend=backend):
            np.testing.assert_allclose(a, b, rtol=0, atol=tol, err_msg=f"{backend}: {what}")

        close(y_t.detach().numpy(), y, "output")
        for s_t, s in zip(as_tuple(state_n_t), as_tuple(state_n), strict=True):
            close(s_t.detach().numpy(), s, "final state")
        close(x_t.grad.numpy(), dx, "dx")
        if give_state:
            for s_t, ds in zip(state_t, as_tuple(dstate0), strict=True):
                close(s_t.grad.numpy(), ds, "dstate0")
        assert [n for n, _ in module.named_parameters()] == list(grads)
        for name, p in module.named_parameters():
            close(p.grad.numpy(), grads[name], name)


# --------------------------------------------------------------------------- the layer's contract
@pytest.mark.parametrize("cell", CELLS)
def test_parameters_have_torch_nn_names_shapes_and_init_range(cell):
    module = ScratchRecurrent(cell, 3, 7, num_layers=2, bidirectional=True)
    ref = native_recurrent(cell, 3, 7, num_layers=2, bidirectional=True)
    assert isinstance(ref, torch.nn.RNNBase)
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert list(shapes) == list(ref.state_dict())  # the same order too
    bound = 1 / np.sqrt(7)
    for name, p in module.named_parameters():
        assert p.abs().max() <= bound, name  # torch's U(±1/√H) ...
    everything = torch.cat([p.detach().flatten() for p in module.parameters()])
    assert everything.std() > bound / 2  # ... spread like it: U(±b) has std b/√3 ≈ 0.58 b


class MatmulShapes(TorchFunctionMode):
    """Records the row count of every matrix product run inside the ``with`` block."""

    def __init__(self):
        super().__init__()
        self.rows: list[int] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("addmm", "addmm_", "mm", "matmul", "__matmul__", "linear", "bmm"):
            a = args[1] if name.startswith("addmm") else args[0]
            self.rows.append(a.shape[0])
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "stepwise"])
def test_one_input_matmul_per_direction_and_one_recurrent_matmul_per_step(cell, fused):
    L, D, T_, B_ = 2, 2, 5, 3
    module = ScratchRecurrent(cell, 4, 6, num_layers=L, bidirectional=True, fused=fused)
    x = torch.randn(T_, B_, 4)
    with MatmulShapes() as counter:
        module(x)
    assert sorted(counter.rows) == sorted([T_ * B_] * (L * D) + [B_] * (L * D * T_))


def test_extra_cell_tensors_are_named_per_layer_and_direction_and_match_numpy():
    layer = make_layer("peephole_lstm", 3, 4, num_layers=2, bidirectional=True)
    module = ScratchRecurrent("peephole_lstm", 3, 4, num_layers=2, bidirectional=True)
    assert "weight_peephole_o_l1_reverse" in dict(module.named_parameters())
    assert [n for n, _ in module.named_parameters()] == list(layer.params)
    module = torch_twin(partial(ScratchRecurrent, "peephole_lstm"), layer)  # loads strictly
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3, 3))
    y, (h, c), cache = layer.forward(x, lengths=np.array([5, 2, 4]))
    x_t = torch.tensor(x, requires_grad=True)
    y_t, (h_t, c_t) = module(x_t, lengths=[5, 2, 4])
    w = rng.normal(size=y.shape)
    (y_t * torch.tensor(w)).sum().backward()
    dx, _, grads = layer.backward(w, None, cache)
    np.testing.assert_allclose(y_t.detach().numpy(), y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_t.detach().numpy(), h, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c_t.detach().numpy(), c, rtol=0, atol=1e-12)
    np.testing.assert_allclose(x_t.grad.numpy(), dx, rtol=0, atol=1e-12)
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name], rtol=0, atol=1e-12, err_msg=name)


def test_extra_cell_parameters_start_at_the_cells_values():
    module = ScratchRecurrent("layernorm_lstm", 3, 4, dtype=torch.float32)
    assert module.ln_gates_weight_l0.dtype == torch.float32
    assert torch.equal(module.ln_gates_weight_l0, torch.ones(16))
    assert torch.equal(module.ln_cell_bias_l0, torch.zeros(4))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_truncated_bptt_chunks_with_carried_state_equal_one_pass(cell):
    torch.manual_seed(0)
    module = ScratchRecurrent(cell, 3, 4, num_layers=2, dtype=torch.float64)
    x = torch.randn(9, 2, 3, dtype=torch.float64)
    y, _ = module(x)
    state, chunks = None, []
    for a, b in [(0, 2), (2, 7), (7, 9)]:
        y_c, state = module(x[a:b], state)
        chunks.append(y_c)
    torch.testing.assert_close(torch.cat(chunks), y, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------- dropout
def test_dropout_between_layers_only_in_training_and_drawn_from_the_generator():
    module = ScratchRecurrent("lstm", 3, 4, num_layers=3, dropout=0.5, dtype=torch.float64)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    module.eval()
    y_eval, _ = module(x)
    torch.testing.assert_close(module(x)[0], y_eval, rtol=0, atol=0)
    module.train()
    module.generator = torch.Generator().manual_seed(3)
    y1, _ = module(x)
    y2, _ = module(x)
    assert not torch.equal(y1, y2), "successive masks differ"
    assert not torch.allclose(y1, y_eval)
    module.generator = torch.Generator().manual_seed(3)
    torch.testing.assert_close(module(x)[0], y1, rtol=0, atol=0)  # same seed, same masks
    with torch.no_grad():  # the last layer is not dropped: one layer sees no dropout at all
        single = ScratchRecurrent("lstm", 3, 4, num_layers=1, dropout=0.5)
        single.train()
        torch.testing.assert_close(single(x.float())[0], single.eval()(x.float())[0])


def test_dropout_keeps_with_probability_one_minus_p_and_scales_by_its_inverse():
    from rnnlab.torch.layers import dropout

    x = torch.ones(20000, dtype=torch.float64)
    y = dropout(x, 0.25, True, torch.Generator().manual_seed(0))
    assert set(y.unique().tolist()) == {0.0, 4 / 3}
    assert abs((y == 0).double().mean().item() - 0.25) < 0.015  # ~5 standard errors
    assert dropout(x, 0.25, False) is x


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cell": "lstmm"}, ValueError, "unknown cell 'lstmm'; choose one of lstm, gru"),
        ({"hidden_size": 0}, ValueError, "hidden_size to be a positive integer, got 0"),
        ({"dropout": 1.0}, ValueError, r"dropout in \[0, 1\), got 1.0"),
        ({"cell": "rnn", "nonlinearity": "sigmoid"}, ValueError, "'tanh' or 'relu'"),
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_constructor_arguments(backend, kwargs, error, message):
    args = {"cell": "lstm", "input_size": 3, "hidden_size": 4, **kwargs}
    if backend == "native" and args["cell"] == "lstmm":
        message = "cell 'lstmm' has no torch.nn module"
    with pytest.raises(error, match=message):
        BACKENDS[backend](**args)
