"""Linear: forward equals the sum it stands for; backward proven by finite differences and torch."""

import math

import numpy as np
import pytest

from rnnlab.numpy.linear import Linear
from tests.numpy.finite_differences import numerical_grad, rel_error


def test_forward_equals_the_explicit_sum():
    layer = Linear(4, 3, dtype=np.float64, seed=0)
    x = np.random.default_rng(1).standard_normal((2, 5, 4))  # (T, B, in)
    y, _ = layer.forward(x)
    W, b = layer.params["weight"], layer.params["bias"]
    expected = np.zeros((2, 5, 3))
    for t, n, o in np.ndindex(expected.shape):
        expected[t, n, o] = sum(W[o, i] * x[t, n, i] for i in range(4)) + b[o]
    np.testing.assert_allclose(y, expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
def test_backward_matches_finite_differences(bias):
    rng = np.random.default_rng(2)
    layer = Linear(4, 3, bias=bias, dtype=np.float64, seed=3)
    x = rng.standard_normal((3, 2, 4))  # (T, B, in): leading dims are summed over in dW
    R = rng.standard_normal((3, 2, 3))  # L = Σ y ⊙ R, so dL/dy = R

    def loss():
        return float(np.sum(layer.forward(x)[0] * R))

    _, cache = layer.forward(x)
    dx, grads = layer.backward(R, cache)
    assert grads.keys() == layer.params.keys()
    assert rel_error(dx, numerical_grad(loss, x)) < 1e-7
    for name, p in layer.params.items():
        assert rel_error(grads[name], numerical_grad(loss, p)) < 1e-7, name


def test_matches_torch_forward_and_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    layer = Linear(6, 5, dtype=np.float64, seed=5)
    x = rng.standard_normal((4, 3, 6))
    dy = rng.standard_normal((4, 3, 5))
    y, cache = layer.forward(x)
    dx, grads = layer.backward(dy, cache)

    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(layer.params["weight"], requires_grad=True)
    bt = torch.tensor(layer.params["bias"], requires_grad=True)
    yt = torch.nn.functional.linear(xt, Wt, bt)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads["weight"], Wt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads["bias"], bt.grad.numpy(), rtol=0, atol=1e-12)


def test_init_is_torch_nn_linears_uniform_one_over_sqrt_in():
    fan_in = 64
    layer = Linear(fan_in, 500, seed=6)
    bound = 1.0 / math.sqrt(fan_in)
    for name in ["weight", "bias"]:
        w = layer.params[name]
        assert np.abs(w).max() <= bound, name
        assert np.abs(w).max() > 0.98 * bound, name
    assert layer.params["weight"].var() == pytest.approx(bound**2 / 3, rel=0.03)


def test_torch_nn_linear_uses_the_same_bound():
    torch = pytest.importorskip("torch")
    fan_in = 64
    ref = torch.nn.Linear(fan_in, 500)
    bound = 1.0 / math.sqrt(fan_in)
    for p in [ref.weight, ref.bias]:
        assert 0.98 * bound < p.detach().abs().max().item() <= bound * (1 + 1e-6)


def test_seed_determinism_dtype_and_shapes():
    a, b = Linear(3, 2, seed=7), Linear(3, 2, seed=7)
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])
    assert not np.array_equal(a.params["weight"], Linear(3, 2, seed=8).params["weight"])
    assert a.params["weight"].shape == (2, 3) and a.params["bias"].shape == (2,)
    x = np.ones((5, 3), dtype=np.float32)
    y, cache = a.forward(x)
    dx, grads = a.backward(np.ones_like(y), cache)
    assert y.dtype == dx.dtype == grads["weight"].dtype == np.float32
    assert Linear(3, 2, bias=False, seed=0).params.keys() == {"weight"}


def test_params_are_read_at_call_time_so_in_place_updates_show():
    layer = Linear(2, 2, dtype=np.float64, seed=9)
    x = np.array([[1.0, 2.0]])
    before, _ = layer.forward(x)
    layer.params["weight"] -= 1.0  # what an optimizer does
    after, _ = layer.forward(x)
    np.testing.assert_allclose(after, before - 3.0)


def test_wrong_input_width_raises_with_shapes():
    layer = Linear(4, 3, seed=0)
    with pytest.raises(ValueError, match=r"width 4 \(in_features\), got \(2, 5\)"):
        layer.forward(np.zeros((2, 5)))
