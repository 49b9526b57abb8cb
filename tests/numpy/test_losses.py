"""Losses: values and gradients against finite differences, torch, known answers and extremes."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.numpy.losses import log_softmax, mse, softmax, softmax_cross_entropy
from tests.numpy.finite_differences import numerical_grad, rel_error


def random_problem(seed, T=3, B=4, V=5):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((T, B, V)) * 3  # (T, B, V)
    targets = rng.integers(0, V, size=(T, B))  # (T, B)
    mask = rng.random((T, B)) < 0.7  # (T, B)
    mask[0, 0] = True
    return logits, targets, mask


# --- softmax helpers ----------------------------------------------------------------------


def test_softmax_and_log_softmax_known_values_and_consistency():
    z = np.array([[0.0, math.log(3.0)], [5.0, 5.0]])
    np.testing.assert_allclose(softmax(z), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(log_softmax(z), np.log(softmax(z)), rtol=1e-14)


def test_softmax_helpers_stay_finite_for_huge_logits():
    z = np.array([1e4, 0.0, -1e4])
    np.testing.assert_allclose(log_softmax(z), [0.0, -1e4, -2e4], rtol=1e-15)
    np.testing.assert_allclose(softmax(z), [1.0, 0.0, 0.0], atol=1e-300)


def test_softmax_helpers_match_torch():
    torch = pytest.importorskip("torch")
    z = np.random.default_rng(0).standard_normal((3, 4, 7)) * 10
    zt = torch.tensor(z)
    np.testing.assert_allclose(log_softmax(z), torch.log_softmax(zt, -1).numpy(), atol=1e-13)
    np.testing.assert_allclose(softmax(z), torch.softmax(zt, -1).numpy(), atol=1e-15)


# --- softmax cross-entropy ----------------------------------------------------------------


def test_cross_entropy_of_uniform_logits_is_log_v():
    loss, dlogits = softmax_cross_entropy(np.zeros((2, 3, 8)), np.zeros((2, 3), dtype=int))
    assert loss == pytest.approx(math.log(8), rel=1e-15)
    np.testing.assert_allclose(dlogits[..., 0], (1 / 8 - 1) / 6)  # (p - 1) / N at the target
    np.testing.assert_allclose(dlogits[..., 1:], 1 / 8 / 6)  # p / N elsewhere


@pytest.mark.parametrize("use_mask", [False, True])
def test_cross_entropy_gradient_matches_finite_differences(use_mask):
    logits, targets, mask = random_problem(1)
    mask = mask if use_mask else None
    _, dlogits = softmax_cross_entropy(logits, targets, mask)
    numeric = numerical_grad(lambda: softmax_cross_entropy(logits, targets, mask)[0], logits)
    assert rel_error(dlogits, numeric) < 1e-7


def torch_cross_entropy(torch, logits, targets, mask):
    """torch's mean cross-entropy, masked positions turned into ignore_index, with its grad."""
    V = logits.shape[-1]
    lt = torch.tensor(logits, requires_grad=True)
    tt = torch.tensor(np.where(mask, targets, -100).reshape(-1))
    loss = torch.nn.functional.cross_entropy(lt.reshape(-1, V), tt, ignore_index=-100)
    loss.backward()
    return loss.item(), lt.grad.numpy()


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_cross_entropy_matches_torch(seed):
    torch = pytest.importorskip("torch")
    logits, targets, mask = random_problem(seed)
    for m in [mask, np.ones_like(mask)]:
        loss, dlogits = softmax_cross_entropy(logits, targets, m)
        ref_loss, ref_grad = torch_cross_entropy(torch, logits, targets, m)
        assert abs(loss - ref_loss) <= 1e-12
        np.testing.assert_allclose(dlogits, ref_grad, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    T=st.integers(1, 4),
    B=st.integers(1, 4),
    V=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    keep=st.floats(0.0, 1.0),
)
def test_cross_entropy_masks_match_torch_for_any_shape(T, B, V, seed, keep):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((T, B, V)) * 5
    targets = rng.integers(0, V, size=(T, B))
    mask = rng.random((T, B)) < keep
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    if not mask.any():  # torch gives NaN here; we give a defined zero
        assert loss == 0.0 and not dlogits.any()
        return
    ref_loss, ref_grad = torch_cross_entropy(torch, logits, targets, mask)
    assert abs(loss - ref_loss) <= 1e-12
    np.testing.assert_allclose(dlogits, ref_grad, rtol=0, atol=1e-12)


def test_masked_positions_do_not_matter_even_with_invalid_targets_or_nan_logits():
    logits, targets, mask = random_problem(5)
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    logits2, targets2 = logits.copy(), targets.copy()
    logits2[~mask] = np.nan
    targets2[~mask] = -1  # a padding id outside [0, V)
    loss2, dlogits2 = softmax_cross_entropy(logits2, targets2, mask)
    assert loss2 == loss
    np.testing.assert_array_equal(dlogits2, dlogits)
    np.testing.assert_array_equal(dlogits2[~mask], 0.0)


def test_all_false_mask_gives_zero_loss_and_gradient_without_warnings():
    logits, targets, _ = random_problem(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dlogits = softmax_cross_entropy(logits, targets, np.zeros((3, 4), dtype=bool))
    assert loss == 0.0
    assert dlogits.shape == logits.shape and not dlogits.any()


def test_cross_entropy_is_finite_and_exact_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]])  # (N, V)
    targets = np.array([1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dlogits = softmax_cross_entropy(logits, targets)
    assert loss == pytest.approx((1e4 + 0.0) / 2, rel=1e-15)  # -log p = 1e4 and ≈ 0
    np.testing.assert_allclose(dlogits, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-300)


def test_cross_entropy_huge_logits_match_torch():
    torch = pytest.importorskip("torch")
    logits = np.random.default_rng(7).standard_normal((6, 9)) * 1e4
    targets = np.random.default_rng(8).integers(0, 9, size=6)
    loss, dlogits = softmax_cross_entropy(logits, targets)
    lt = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(lt, torch.tensor(targets))
    ref.backward()
    assert np.isfinite(loss) and np.isfinite(dlogits).all()
    assert loss == pytest.approx(ref.item(), rel=1e-15)
    np.testing.assert_allclose(dlogits, lt.grad.numpy(), rtol=0, atol=1e-12)


def test_cross_entropy_keeps_float32():
    logits, targets, mask = random_problem(9)
    _, dlogits = softmax_cross_entropy(logits.astype(np.float32), targets, mask)
    assert dlogits.dtype == np.float32


def test_cross_entropy_bad_arguments_raise():
    logits = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"\[0, 4\).*from 0 to 4"):
        softmax_cross_entropy(logits, np.array([[0, 1, 2], [3, 4, 0]]))
    with pytest.raises(ValueError, match=r"logits \(2, 3, 4\) and targets \(3, 2\)"):
        softmax_cross_entropy(logits, np.zeros((3, 2), dtype=int))
    with pytest.raises(TypeError, match="integers"):
        softmax_cross_entropy(logits, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"mask should have shape \(2, 3\)"):
        softmax_cross_entropy(logits, np.zeros((2, 3), dtype=int), np.ones((3, 2), dtype=bool))
    with pytest.raises(TypeError, match="bool"):
        softmax_cross_entropy(logits, np.zeros((2, 3), dtype=int), np.ones((2, 3)))


# --- mean squared error -------------------------------------------------------------------


def test_mse_known_answer():
    loss, dpred = mse(np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0]))
    assert loss == pytest.approx((1 + 0 + 9) / 3, rel=1e-15)
    np.testing.assert_allclose(dpred, [2 / 3, 0.0, 2.0], rtol=1e-15)


@pytest.mark.parametrize("mask_dims", [None, 2, 3])
def test_mse_gradient_matches_finite_differences(mask_dims):
    rng = np.random.default_rng(10)
    pred, target = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    mask = None if mask_dims is None else rng.random((2, 3, 4)[:mask_dims]) < 0.6
    _, dpred = mse(pred, target, mask)
    numeric = numerical_grad(lambda: mse(pred, target, mask)[0], pred)
    assert rel_error(dpred, numeric) < 1e-7


def test_mse_matches_torch_with_and_without_mask():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    pred, target = rng.standard_normal((5, 3, 2)), rng.standard_normal((5, 3, 2))
    mask = rng.random((5, 3)) < 0.5  # (T, B) mask over (T, B, D) predictions
    for m in [None, mask]:
        loss, dpred = mse(pred, target, m)
        pt = torch.tensor(pred, requires_grad=True)
        keep = torch.ones(5, 3, dtype=torch.bool) if m is None else torch.tensor(m)
        ref = torch.nn.functional.mse_loss(pt[keep], torch.tensor(target)[keep])
        ref.backward()
        assert abs(loss - ref.item()) <= 1e-12
        np.testing.assert_allclose(dpred, pt.grad.numpy(), rtol=0, atol=1e-12)


def test_mse_all_false_mask_and_float32_and_shape_errors():
    pred = np.ones((2, 3), dtype=np.float32)
    loss, dpred = mse(pred, np.zeros((2, 3)), np.zeros(2, dtype=bool))
    assert loss == 0.0 and not dpred.any() and dpred.dtype == np.float32
    assert mse(pred, np.zeros((2, 3)))[1].dtype == np.float32
    with pytest.raises(ValueError, match="one shape"):
        mse(pred, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"mask should have shape \(2,\)"):
        mse(pred, np.zeros((2, 3)), np.zeros(3, dtype=bool))
