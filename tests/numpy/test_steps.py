"""affine_backward: the backward of the affine maps every cell's reference step starts with,
against finite differences, for the RNN/LSTM case (dxw = dhw) and the GRU's (dxw ≠ dhw)."""

from dataclasses import dataclass

import numpy as np
import pytest

from rnnlab.numpy.gradcheck import numerical_gradient, relative_error
from rnnlab.numpy.steps import StepCache, StepGrads, affine_backward


@pytest.mark.parametrize("same", [True, False], ids=["dxw=dhw", "gru-like"])
def test_affine_backward_matches_finite_differences(same):
    """L = Σ Rx ⊙ (x W_ihᵀ + b_ih) + Σ Rh ⊙ (h W_hhᵀ + b_hh): ∂L/∂ of x, h and the four."""
    rng = np.random.default_rng(0)
    B, I, H, G = 3, 4, 2, 6
    x, h = rng.normal(size=(B, I)), rng.normal(size=(B, H))
    W_ih, W_hh = rng.normal(size=(G, I)), rng.normal(size=(G, H))
    b_ih, b_hh = rng.normal(size=G), rng.normal(size=G)
    Rx = rng.normal(size=(B, G))
    Rh = Rx if same else rng.normal(size=(B, G))

    def loss() -> float:
        return float(np.sum(Rx * (x @ W_ih.T + b_ih)) + np.sum(Rh * (h @ W_hh.T + b_hh)))

    g = affine_backward(Rx, Rh, StepCache(x_t=x, h_prev=h, W_ih=W_ih, W_hh=W_hh))
    for got, wrt in [
        (g.dx_t, x), (g.dh_prev, h), (g.dW_ih, W_ih), (g.dW_hh, W_hh), (g.db_ih, b_ih),
        (g.db_hh, b_hh),
    ]:  # fmt: skip
        assert relative_error(got, numerical_gradient(loss, wrt)) < 1e-7


def test_a_cells_own_gradients_ride_along_in_its_class():
    @dataclass(frozen=True, kw_only=True)
    class WithC(StepGrads):
        dc_prev: np.ndarray

    ones = np.ones((2, 3))
    cache = StepCache(x_t=ones, h_prev=ones, W_ih=np.ones((3, 3)), W_hh=np.ones((3, 3)))
    g = affine_backward(ones, ones, cache, WithC, dc_prev=np.zeros(2))
    assert isinstance(g, WithC) and np.array_equal(g.dc_prev, np.zeros(2))
    np.testing.assert_array_equal(g.db_ih, [2.0, 2.0, 2.0])
