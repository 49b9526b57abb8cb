"""The gradient checker itself, on functions whose gradients are known in closed form."""

import numpy as np
import pytest

from rnnlab.numpy.gradcheck import check_recurrent, numerical_gradient, relative_error
from tests.numpy.recurrent_cases import make_layer


def test_numerical_gradient_of_a_cubic():
    a = np.random.default_rng(0).normal(size=(3, 4))
    g = numerical_gradient(lambda: float(np.sum(a**3)), a)
    np.testing.assert_allclose(g, 3 * a**2, rtol=1e-8)


def test_relative_error_scale_and_zero_tensors():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0, 100.0]), np.array([1.1, 100.0])) == pytest.approx(0.001)


def test_check_recurrent_refuses_float32():
    from rnnlab.numpy.gru import GRU

    with pytest.raises(TypeError, match="float64"):
        check_recurrent(GRU(2, 3, dtype=np.float32))


def test_check_recurrent_reports_every_tensor():
    layer = make_layer("lstm", 2, 3, bidirectional=True)
    names = [r.name for r in check_recurrent(layer, batch_size=2, seq_len=3)]
    assert names == [*layer.params, "x", "h0", "c0"]


def test_numerical_gradient_refuses_an_array_it_could_only_perturb_a_copy_of():
    a = np.arange(6.0).reshape(2, 3).T  # a transposed view: reshape(-1) would copy it
    with pytest.raises(ValueError, match="C-contiguous"):
        numerical_gradient(lambda: float(np.sum(a**2)), a)
