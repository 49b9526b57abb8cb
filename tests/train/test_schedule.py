"""Learning-rate schedules against their closed forms."""

import math

import pytest

from rnnlab.train.schedule import Schedule


def test_constant_with_linear_warmup():
    s = Schedule("constant", 0.1, total_steps=100, warmup_steps=4)
    assert [s.lr_at(k) for k in (1, 2, 4, 5, 100)] == pytest.approx([0.025, 0.05, 0.1, 0.1, 0.1])


def test_cosine_reaches_min_lr_at_the_end_and_is_half_way_in_the_middle():
    s = Schedule("cosine", 1.0, total_steps=110, warmup_steps=10, min_lr=0.1)
    assert s.lr_at(10) == pytest.approx(1.0)
    assert s.lr_at(60) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 0.5)))
    assert s.lr_at(110) == pytest.approx(0.1)


def test_plateau_drops_after_patience_and_round_trips():
    s = Schedule("plateau", 1.0, total_steps=10, factor=0.5, patience=2)
    for loss in (1.0, 0.9, 0.95, 0.95):
        s.observe(loss)
    assert s.lr_at(5) == 1.0  # two bad evaluations: still patient
    s.observe(0.97)
    assert s.lr_at(5) == 0.5
    twin = Schedule("plateau", 1.0, total_steps=10, factor=0.5, patience=2)
    twin.load_state_dict(s.state_dict())
    assert twin.lr_at(5) == 0.5 and twin.best == 0.9


def test_cosine_ignores_validation():
    s = Schedule("cosine", 1.0, total_steps=10)
    s.observe(5.0)
    assert s.lr_at(1) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.1)))
