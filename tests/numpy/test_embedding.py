"""Embedding: lookup equals a one-hot product; repeated ids accumulate in the gradient."""

import numpy as np
import pytest

from rnnlab.numpy.embedding import Embedding
from tests.numpy.finite_differences import numerical_grad, rel_error


def one_hot(ids, V):
    return (ids[..., None] == np.arange(V)).astype(np.float64)  # (..., V)


IDS = np.array([[1, 4, 1], [0, 1, 4]])  # (T, B), ids 1 and 4 repeat; 2 and 3 never appear


def test_forward_equals_one_hot_matrix_product():
    emb = Embedding(5, 3, dtype=np.float64, seed=0)
    y, _ = emb.forward(IDS)
    np.testing.assert_allclose(y, one_hot(IDS, 5) @ emb.params["weight"], rtol=1e-15)


def test_backward_accumulates_repeated_ids():
    emb = Embedding(5, 3, dtype=np.float64, seed=1)
    dy = np.random.default_rng(2).standard_normal((2, 3, 3))
    _, cache = emb.forward(IDS)
    dx, grads = emb.backward(dy, cache)
    assert dx is None
    expected = np.einsum("tbv,tbe->ve", one_hot(IDS, 5), dy)  # onehotᵀ dy
    np.testing.assert_allclose(grads["weight"], expected, rtol=1e-14)
    np.testing.assert_allclose(grads["weight"][1], dy[0, 0] + dy[0, 2] + dy[1, 1])  # id 1 x3
    np.testing.assert_array_equal(grads["weight"][[2, 3]], 0.0)  # unseen ids get nothing


def test_backward_matches_finite_differences():
    emb = Embedding(5, 3, dtype=np.float64, seed=3)
    R = np.random.default_rng(4).standard_normal((2, 3, 3))

    def loss():
        return float(np.sum(emb.forward(IDS)[0] * R))

    _, cache = emb.forward(IDS)
    _, grads = emb.backward(R, cache)
    assert rel_error(grads["weight"], numerical_grad(loss, emb.params["weight"])) < 1e-7


def test_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    emb = Embedding(7, 4, dtype=np.float64, seed=5)
    ids = np.random.default_rng(6).integers(0, 7, size=(6, 5))  # many repeats
    dy = np.random.default_rng(7).standard_normal((6, 5, 4))
    y, cache = emb.forward(ids)
    _, grads = emb.backward(dy, cache)
    Wt = torch.tensor(emb.params["weight"], requires_grad=True)
    yt = torch.nn.functional.embedding(torch.tensor(ids), Wt)
    yt.backward(torch.tensor(dy))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_allclose(grads["weight"], Wt.grad.numpy(), rtol=0, atol=1e-12)


def test_init_is_standard_normal_and_seeded():
    w = Embedding(1000, 100, seed=8).params["weight"]
    assert w.dtype == np.float32 and w.shape == (1000, 100)
    assert abs(w.mean()) < 0.01
    assert w.std() == pytest.approx(1.0, rel=0.01)
    np.testing.assert_array_equal(w, Embedding(1000, 100, seed=8).params["weight"])


def test_bad_ids_raise():
    emb = Embedding(5, 3, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 5\).*from 0 to 5"):
        emb.forward(np.array([0, 5]))
    with pytest.raises(ValueError, match="from -1"):
        emb.forward(np.array([-1, 2]))
    with pytest.raises(TypeError, match="integer ids"):
        emb.forward(np.array([0.0, 1.0]))
