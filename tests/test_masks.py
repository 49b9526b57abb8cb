"""The masks of the masked dropouts (rnnlab.masks): what they hold, how they are drawn and
resumed, and the ModelSpec fields that switch them on."""

import json

import numpy as np
import pytest

from rnnlab.errors import InputError
from rnnlab.masks import MaskSource, draw_masks, keep_scale
from rnnlab.model import ModelSpec

ALL = {"embedding_dropout": 0.2, "input_dropout": 0.3, "locked_dropout": 0.4, "weight_drop": 0.5}


def spec(**kw):
    base = dict(input_size=11, output_size=11, hidden_size=6, num_layers=3, bidirectional=True,
                input_kind="embedding", embedding_dim=5)  # fmt: skip
    return ModelSpec(**{**base, **kw})


def test_a_scale_is_zero_or_the_inverse_keep_probability_with_the_right_frequency():
    s = keep_scale(np.random.default_rng(0), (1000, 1000), 0.3, np.float32)
    assert s.dtype == np.float32
    np.testing.assert_allclose(np.unique(s), [0.0, 1 / 0.7], rtol=1e-7)
    assert (s == 0).mean() == pytest.approx(0.3, abs=0.002)  # 1e6 Bernoulli draws
    assert s.mean() == pytest.approx(1.0, abs=0.004)  # E[s] = 1: nothing to rescale later


def test_every_mask_has_its_documented_shape_and_only_the_switched_on_ones_are_drawn():
    masks = draw_masks(spec(**ALL), 4, np.random.default_rng(1))
    assert masks.embedding.shape == (11,)  # one per vocabulary row
    assert masks.input.shape == (4, 5)  # (B, E): one per sequence, not per step
    assert [m.shape for m in masks.between] == [(4, 12), (4, 12)]  # L - 1 = 2, (B, D·H)
    assert masks.output.shape == (4, 12)
    assert sorted(masks.weight_hh) == sorted(
        f"weight_hh_l{k}{s}" for k in range(3) for s in ("", "_reverse")
    )
    assert all(m.shape == (24, 6) for m in masks.weight_hh.values())  # (4H, H)
    only = draw_masks(spec(weight_drop=0.5), 4, np.random.default_rng(1))
    assert only.embedding is None and only.input is None and only.output is None
    assert only.between == () and len(only.weight_hh) == 6
    assert draw_masks(spec(dropout=0.5), 4, np.random.default_rng(1)) is None  # not masked


def test_a_source_repeats_its_masks_by_seed_and_after_its_state_is_restored():
    a, b, c = MaskSource(spec(**ALL), 3), MaskSource(spec(**ALL), 3), MaskSource(spec(**ALL), 4)
    first = a.draw(2)
    np.testing.assert_array_equal(first.input, b.draw(2).input)
    assert not np.array_equal(first.input, c.draw(2).input)
    saved = json.loads(json.dumps(a.get_state()))  # it travels in state.json
    expected = [a.draw(2) for _ in range(3)]
    fresh = MaskSource(spec(**ALL), 999)
    fresh.set_state(saved)
    for want in expected:
        got = fresh.draw(2)
        np.testing.assert_array_equal(got.embedding, want.embedding)
        np.testing.assert_array_equal(got.weight_hh["weight_hh_l2_reverse"],
                                      want.weight_hh["weight_hh_l2_reverse"])  # fmt: skip


def test_map_applies_a_function_to_every_array_and_keeps_the_absent_ones_absent():
    masks = draw_masks(spec(locked_dropout=0.5), 2, np.random.default_rng(0))
    doubled = masks.map(lambda a: 2 * a)
    np.testing.assert_array_equal(doubled.output, 2 * masks.output)
    np.testing.assert_array_equal(doubled.between[1], 2 * masks.between[1])
    assert doubled.embedding is None and doubled.weight_hh == {}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"locked_dropout": 1.0}, r"model locked_dropout must be in \[0, 1\), got 1.0"),
        ({"weight_drop": -0.1}, r"model weight_drop must be in \[0, 1\)"),
        ({"embedding_dropout": 0.1, "input_kind": "onehot", "embedding_dim": None},
         "embedding_dropout needs input_kind 'embedding'"),
        ({"input_dropout": 0.1, "input_kind": "onehot", "embedding_dim": None},
         "input_dropout needs input_kind 'embedding' or 'dense'"),
    ],
)  # fmt: skip
def test_the_spec_refuses_what_it_cannot_mean(settings, message):
    with pytest.raises(InputError, match=message):
        spec(**settings)


def test_specs_saved_before_the_masked_dropouts_existed_load_with_them_off():
    stored = spec().to_dict()
    for name in ALL:
        del stored[name]
    loaded = ModelSpec.from_dict(stored)
    assert loaded == spec() and not loaded.masked
    assert "weight_drop" not in repr(loaded)  # defaults stay out of the repr
