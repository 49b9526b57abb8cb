"""Gradient clipping: torch's rule over many steps, direction kept, non-finite norms reported."""

import math
import warnings

import numpy as np
import pytest

from rnnlab.numpy.clip import clip_grad_norm, global_norm


def make_grads(seed, scale=1.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    shapes = {"weight_ih_l0": (8, 3), "weight_hh_l0": (8, 2), "bias": (8,)}
    return {k: (scale * rng.standard_normal(s)).astype(dtype) for k, s in shapes.items()}


def test_global_norm_is_the_norm_of_everything_concatenated():
    grads = make_grads(0)
    flat = np.concatenate([g.ravel() for g in grads.values()])
    assert global_norm(grads) == pytest.approx(math.sqrt(np.sum(flat**2)), rel=1e-14)
    assert global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}) == 5.0
    assert global_norm({}) == 0.0


def test_clipping_caps_the_norm_and_keeps_the_direction():
    grads = make_grads(1, scale=10.0)
    before = {k: v.copy() for k, v in grads.items()}
    arrays = dict(grads)
    total = clip_grad_norm(grads, max_norm=2.0)
    assert total == pytest.approx(global_norm(before), rel=1e-15)  # the norm before clipping
    assert global_norm(grads) == pytest.approx(2.0 * total / (total + 1e-6), rel=1e-14)
    for k in grads:
        assert grads[k] is arrays[k]  # in place
        np.testing.assert_allclose(grads[k], before[k] * (2.0 / (total + 1e-6)), rtol=1e-15)


def test_gradients_below_the_threshold_are_untouched():
    grads = make_grads(2, scale=0.01)
    before = {k: v.copy() for k, v in grads.items()}
    clip_grad_norm(grads, max_norm=1.0)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])


def test_twenty_steps_match_torch_clip_grad_norm():
    torch = pytest.importorskip("torch")
    for step in range(20):
        scale = 10.0 ** ((step % 5) - 2)  # norms from ~0.05 to ~500: some clip, some not
        grads = make_grads(100 + step, scale=scale)
        tensors = []
        for g in grads.values():
            t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
            t.grad = torch.tensor(g)
            tensors.append(t)
        ref_total = torch.nn.utils.clip_grad_norm_(tensors, max_norm=1.5).item()
        total = clip_grad_norm(grads, max_norm=1.5)
        assert total == pytest.approx(ref_total, rel=1e-14), step
        for g, t in zip(grads.values(), tensors, strict=True):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=0, atol=1e-12, err_msg=str(step))


def test_float32_gradients_are_accumulated_without_overflow():
    # Each square (1e60) overflows float32, but not the float64 accumulator.
    grads = {"w": np.full((10, 10), 1e30, dtype=np.float32)}
    assert global_norm(grads) == pytest.approx(1e31, rel=1e-6)
    clip_grad_norm(grads, max_norm=1.0)
    assert grads["w"].dtype == np.float32
    assert global_norm(grads) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize(
    ("bad", "expect"), [(np.inf, math.inf), (-np.inf, math.inf), (np.nan, None)]
)
def test_non_finite_gradients_are_reported_and_left_unchanged(bad, expect):
    grads = make_grads(3)
    grads["bias"][2] = bad
    before = {k: v.copy() for k, v in grads.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = clip_grad_norm(grads, max_norm=1.0)
    if expect is None:
        assert math.isnan(total)
    else:
        assert total == expect
    for k in grads:  # not scaled by NaN or 0: the evidence is kept for the caller
        np.testing.assert_array_equal(grads[k], before[k])


def test_float64_overflow_of_the_norm_is_reported_as_inf():
    grads = {"w": np.array([1e200, 1.0])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clip_grad_norm(grads, max_norm=1.0) == math.inf
    np.testing.assert_array_equal(grads["w"], [1e200, 1.0])


@pytest.mark.parametrize("max_norm", [0.0, -1.0, math.nan])
def test_bad_max_norm_raises(max_norm):
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        clip_grad_norm(make_grads(4), max_norm)
