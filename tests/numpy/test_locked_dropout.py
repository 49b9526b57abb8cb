"""The masked dropouts in the NumPy engine: embedding dropout drops whole tokens, locked
dropout one mask for every step, weight-drop runs the cells on W_hh ⊙ S; each backward
proven by finite differences, alone and composed in a whole model (the gradcheck rows)."""

import numpy as np
import pytest

from rnnlab.masks import Masks, MaskSource, keep_scale
from rnnlab.model import ModelSpec
from rnnlab.numpy.embedding import Embedding
from rnnlab.numpy.gradcheck import gradcheck_configs, run_gradchecks
from rnnlab.numpy.locked_dropout import LockedDropoutPart
from rnnlab.numpy.lstm import LSTM
from rnnlab.numpy.model import Model
from rnnlab.numpy.parts import Flow
from tests.numpy.finite_differences import numerical_grad, rel_error

IDS = np.array([[1, 4, 1], [0, 1, 4], [4, 4, 0]])  # (T, B)


def test_embedding_dropout_zeroes_a_dropped_token_wherever_it_occurs():
    emb = Embedding(5, 3, dtype=np.float64, seed=0)
    row_scale = np.array([2.0, 0.0, 2.0, 2.0, 2.0])  # token 1 dropped, p = 0.5
    y, _ = emb.forward(IDS, row_scale=row_scale)
    np.testing.assert_array_equal(y[IDS == 1], 0.0)
    np.testing.assert_allclose(y[IDS != 1], 2.0 * emb.params["weight"][IDS[IDS != 1]])


def test_embedding_dropout_backward_matches_finite_differences():
    emb = Embedding(5, 3, dtype=np.float64, seed=1)
    row_scale = keep_scale(np.random.default_rng(2), (5,), 0.4, np.float64)
    R = np.random.default_rng(3).standard_normal((3, 3, 3))

    def loss():
        return float(np.sum(emb.forward(IDS, row_scale=row_scale)[0] * R))

    _, cache = emb.forward(IDS, row_scale=row_scale)
    _, grads = emb.backward(R, cache)
    assert rel_error(grads["weight"], numerical_grad(loss, emb.params["weight"])) < 1e-8
    np.testing.assert_array_equal(grads["weight"][row_scale == 0], 0.0)


def test_locked_dropout_uses_one_mask_for_every_step_and_its_backward_is_that_mask():
    x = np.random.default_rng(4).standard_normal((6, 3, 4))  # (T, B, I)
    scale = keep_scale(np.random.default_rng(5), (3, 4), 0.5, np.float64)
    part = LockedDropoutPart("input")
    y, cache = part.forward(x, Flow(masks=Masks(input=scale)))
    dropped = scale == 0
    assert 0 < dropped.sum() < dropped.size
    for t in range(6):  # the same units of the same sequences at every step
        np.testing.assert_array_equal(y[t][dropped], 0.0)
        np.testing.assert_allclose(y[t][~dropped], 2.0 * x[t][~dropped])
    R = np.random.default_rng(6).standard_normal(x.shape)

    def loss():
        return float(np.sum(part.forward(x, Flow(masks=Masks(input=scale)))[0] * R))

    dx, _ = part.backward(R, cache, Flow())
    assert rel_error(dx, numerical_grad(loss, x)) < 1e-8
    assert part.forward(x, Flow())[0] is x  # no masks (evaluation): the identity


def test_weight_drop_runs_the_cells_on_the_dropped_weight_and_masks_its_gradient():
    stack = LSTM(3, 4, num_layers=2, dtype=np.float64, seed=7)
    S = {n: keep_scale(np.random.default_rng(k), (16, 4), 0.5, np.float64)
         for k, n in enumerate(["weight_hh_l0", "weight_hh_l1"])}  # fmt: skip
    x = np.random.default_rng(8).standard_normal((5, 2, 3))
    dy = np.random.default_rng(9).standard_normal((5, 2, 4))
    y, _, cache = stack.forward(x, masks=Masks(weight_hh=S))
    _, _, grads = stack.backward(dy, None, cache)

    plain = LSTM(3, 4, num_layers=2, dtype=np.float64, seed=7)  # W_hh replaced by W_hh ⊙ S
    for name, s in S.items():
        plain.params[name] *= s
    y_plain, _, cache_plain = plain.forward(x)
    _, _, grads_plain = plain.backward(dy, None, cache_plain)
    np.testing.assert_allclose(y, y_plain, rtol=0, atol=1e-14)
    for name, s in S.items():  # ∂L/∂W_hh = S ⊙ ∂L/∂W̃_hh
        np.testing.assert_allclose(grads[name], s * grads_plain[name], rtol=0, atol=1e-14)
    np.testing.assert_allclose(grads["weight_ih_l1"], grads_plain["weight_ih_l1"], atol=1e-14)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_a_whole_model_under_every_mask_passes_the_gradcheck(cell):
    (config,) = [c for c in gradcheck_configs([cell]) if c.masked]
    (row,) = run_gradchecks([config], seq_len=4, batch_size=3)
    assert row.passed, (row.worst, row.error)
    assert row.cell == f"{cell}+masks" and any("embedding" in k for k in row.details)


def test_without_masks_a_model_computes_exactly_what_it_computed_before():
    spec = ModelSpec(input_size=5, output_size=5, hidden_size=4, num_layers=2,
                     input_kind="embedding", dtype="float64", weight_drop=0.5)  # fmt: skip
    plain = Model(ModelSpec(**{**spec.to_dict(), "weight_drop": 0.0}), seed=3)
    masked = Model(spec, seed=3)
    for train in (True, False):  # masks=None: the masked parts are the identity
        a, _, _ = plain.forward(IDS, train=train)
        b, _, _ = masked.forward(IDS, train=train)
        np.testing.assert_array_equal(a, b)
    drawn = MaskSource(spec, 0).draw(3)
    c, _, _ = masked.forward(IDS, train=False, masks=drawn)  # evaluation ignores masks
    np.testing.assert_array_equal(a, c)
    d, _, _ = masked.forward(IDS, train=True, masks=drawn)
    assert not np.allclose(a, d)
