"""The attention parts and the bridge: each backward against central differences (float64)."""

import numpy as np
import pytest

from rnnlab.numpy.attention import (
    Attention,
    AttentionalLayer,
    masked_softmax,
    masked_softmax_backward,
)
from rnnlab.numpy.bridge import LinearBridge
from rnnlab.numpy.gradcheck import numerical_gradient, relative_error

S, B, H_D, W, A = 5, 3, 4, 6, 3
LENGTHS = np.array([5, 2, 3])


def memory(rng):
    real = np.arange(S)[:, None] < LENGTHS[None, :]  # (S, B)
    return rng.normal(size=(S, B, W)) * real[..., None], real


def test_masked_softmax_gives_padding_no_weight_and_sums_to_one():
    rng = np.random.default_rng(0)
    _, real = memory(rng)
    alpha = masked_softmax(rng.normal(size=(S, B)) * 50, real)  # large scores: stable
    assert np.all(alpha[~real] == 0.0)
    np.testing.assert_allclose(alpha.sum(axis=0), 1.0)


@pytest.mark.parametrize("kind", ["bahdanau", "dot", "general"])
def test_attention_backward_matches_finite_differences(kind):
    """c and α both feed the loss, so the softmax, context, score and keys are all checked."""
    rng = np.random.default_rng(1)
    h, real = memory(rng)
    query_size = W if kind == "dot" else H_D
    att = Attention(kind, query_size, W, A, np.float64, seed=0)
    s = rng.normal(size=(B, query_size))
    w_c, w_alpha = rng.normal(size=(B, W)), rng.normal(size=(S, B))

    def loss():
        c, alpha, _ = att.forward(s, att.prepare(h, real))
        return float((w_c * c).sum() + (w_alpha * alpha).sum())

    mem = att.prepare(h, real)
    _, alpha, cache = att.forward(s, mem)
    # ∂L/∂α enters as an extra ∂L/∂c-independent term: add it through the context's dα
    ds, dh, dk, grads = att.backward(w_c, cache, mem)
    de = masked_softmax_backward(w_alpha, alpha)
    ds2, dk2, grads2 = att.scorer.score_backward(de, cache.score)
    dh_total, key_grads = att.prepare_backward(dh, dk + dk2, mem)
    for name in grads2:
        grads[name] = grads.get(name, 0) + grads2[name]
    grads.update(key_grads)
    for name, p in att.params.items():
        assert relative_error(grads[name], numerical_gradient(loss, p)) < 1e-7, name
    assert relative_error(ds + ds2, numerical_gradient(loss, s)) < 1e-7
    assert relative_error(dh_total, numerical_gradient(loss, h)) < 1e-7
    assert np.all(dh_total[~real] == 0.0)  # padding positions learn nothing


def test_attentional_layer_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    layer = AttentionalLayer(H_D, W, np.float64, seed=0)
    c, s, w = rng.normal(size=(B, W)), rng.normal(size=(B, H_D)), rng.normal(size=(B, H_D))

    def loss():
        return float((w * layer.forward(c, s)[0]).sum())

    dc, ds, grads = layer.backward(w, layer.forward(c, s)[1])
    assert relative_error(dc, numerical_gradient(loss, c)) < 1e-7
    assert relative_error(ds, numerical_gradient(loss, s)) < 1e-7
    w_c = layer.params["combine.weight"]
    assert relative_error(grads["combine.weight"], numerical_gradient(loss, w_c)) < 1e-7


@pytest.mark.parametrize("directions", [1, 2])
def test_bridge_backward_matches_finite_differences(directions):
    rng = np.random.default_rng(3)
    L, H, L_d, H_d = 2, 3, 2, 4
    bridge = LinearBridge(("hidden", "cell"), L, directions, directions * H, L_d, H_d,
                          np.float64, seed=0)  # fmt: skip
    state = tuple(rng.normal(size=(L * directions, B, H)) for _ in range(2))
    w = tuple(rng.normal(size=(L_d, B, H_d)) for _ in range(2))

    def loss():
        out, _ = bridge.forward(state)
        return float(sum((wk * ok).sum() for wk, ok in zip(w, out, strict=True)))

    dstate, grads = bridge.backward(w, bridge.forward(state)[1])
    for name, p in bridge.params.items():
        assert relative_error(grads[name], numerical_gradient(loss, p)) < 1e-7, name
    for part, dpart in zip(state, dstate, strict=True):
        assert relative_error(dpart, numerical_gradient(loss, part)) < 1e-7
        assert np.all(dpart[: (L - 1) * directions] == 0.0)  # only the top layer is read
