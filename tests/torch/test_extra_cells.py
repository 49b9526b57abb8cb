"""The torch step functions of the extra cells, differentiated by autograd, against the NumPy
engine's hand-derived layers: outputs, final states and every gradient, in float64."""

import numpy as np
import pytest

from rnnlab.numpy.layernorm_lstm import LayerNormLSTM
from rnnlab.numpy.peephole_lstm import PeepholeLSTM

torch = pytest.importorskip("torch")

from rnnlab.torch.extra_cells import (  # noqa: E402  (needs torch)
    EXTRA_GATES,
    EXTRA_STATE_SIZE,
    EXTRA_STEPS,
    extra_params,
    layer_norm,
    peephole_lstm_step,
)

NUMPY_LAYERS = {"peephole_lstm": PeepholeLSTM, "layernorm_lstm": LayerNormLSTM}


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
            sfx = "_reverse" if direction else ""
            p = {
                k[: -len(f"_l{layer}{sfx}")]: v
                for k, v in params.items()
                if k.endswith(f"_l{layer}{sfx}")
            }
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


@pytest.mark.parametrize("cell", sorted(EXTRA_STEPS))
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
    y_t, h_t, c_t = torch_loop(EXTRA_STEPS[cell], leaves, x_t, h0_t, c0_t, num_layers, D, lengths_t)
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
    extras = extra_params("peephole_lstm", 4)
    got = peephole_lstm_step(xw, (h, c), ref.weight_hh, ref.bias_hh, **extras)
    want = ref(x, (h, c))
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=0, atol=1e-14)


def test_layer_norm_equals_torch_functional_layer_norm():
    a = torch.randn(5, 12, dtype=torch.float64) * 3.0
    weight, bias = torch.randn(12, dtype=torch.float64), torch.randn(12, dtype=torch.float64)
    want = torch.nn.functional.layer_norm(a, (12,), weight, bias, eps=LayerNormLSTM.cell_class.eps)
    torch.testing.assert_close(layer_norm(a, weight, bias), want, rtol=0, atol=1e-13)


@pytest.mark.parametrize("cell", sorted(EXTRA_STEPS))
def test_extra_params_match_the_numpy_cell(cell):
    numpy_extras = NUMPY_LAYERS[cell].cell_class.extra_params(5)
    torch_extras = extra_params(cell, 5)
    assert list(torch_extras) == list(numpy_extras)
    for key, value in torch_extras.items():
        assert value.dtype == torch.float64
        np.testing.assert_array_equal(value.numpy(), numpy_extras[key], err_msg=key)
    assert EXTRA_GATES[cell] == NUMPY_LAYERS[cell].cell_class.gates
    assert EXTRA_STATE_SIZE[cell] == len(NUMPY_LAYERS[cell].cell_class.state_names)


def test_extra_params_rejects_an_unknown_cell():
    with pytest.raises(ValueError, match=r"unknown cell 'gru'.*peephole_lstm"):
        extra_params("gru", 4)
