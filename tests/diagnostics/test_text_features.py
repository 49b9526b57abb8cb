"""The text features and correlations behind `rnnlab gates`, on texts worked out by hand."""

import numpy as np
import pytest

from rnnlab.diagnostics.text_features import (
    closing_characters,
    correlations,
    strongest_units,
    text_features,
)


def test_each_feature_of_a_small_text():
    f = text_features(list('a "b(c)"\nd'))
    #                        a  ␣  "  b  (  c  )  "  ⏎  d
    assert f["in_quotes"].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 0, 0]
    assert f["in_brackets"].tolist() == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    assert f["line_position"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 0]
    assert f["after_newline"].tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert f["in_word"].tolist() == [1, 0, 0, 1, 0, 1, 0, 0, 0, 1]


def test_correlations_are_pearsons_r_and_zero_for_a_constant_unit():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 3))
    values[:, 2] = 0.7  # a unit that never moves
    feature = rng.normal(size=50)
    r = correlations(values, {"x": feature})["x"]
    for u in range(2):
        assert r[u] == pytest.approx(np.corrcoef(values[:, u], feature)[0, 1], abs=1e-12)
    assert r[2] == 0.0


def test_strongest_units_by_absolute_correlation():
    found = strongest_units({"x": np.array([0.1, -0.9, 0.5, 0.0])}, top=2)
    assert found == {"x": [(1, -0.9), (2, 0.5)]}


def test_the_characters_where_the_forget_gates_close_come_first():
    tokens = list("abxabxab")
    forget = np.where(np.array(tokens)[:, None] == "x", 0.1, 0.9) * np.ones((8, 4))  # (T, H)
    rows = closing_characters(tokens, forget, top=2)
    assert rows[0] == ("x", pytest.approx(0.1), 2) and rows[1][1] == pytest.approx(0.9)


def test_correlations_want_a_matrix():
    with pytest.raises(ValueError, match=r"\(T, H\)"):
        correlations(np.zeros(5), {"x": np.zeros(5)})
