"""Classification scores from a confusion matrix, checked against counts worked by hand, and
against the definitions on random cases (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.tasks.scores import classification_scores, confusion_matrix


def test_a_small_case_worked_by_hand():
    target = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 0, 1, 2, 2])
    confusion = confusion_matrix(predicted, target, 3)
    np.testing.assert_array_equal(confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    s = classification_scores(confusion, ["a", "b", "c"], majority_class=0)
    assert s["accuracy"] == pytest.approx(4 / 6)
    # precision a 2/2, b 1/2, c 1/2; recall a 2/3, b 1/2, c 1/1
    assert (s["precision:a"], s["precision:b"], s["precision:c"]) == (1.0, 0.5, 0.5)
    assert (s["recall:a"], s["recall:b"], s["recall:c"]) == pytest.approx((2 / 3, 0.5, 1.0))
    f1 = [2 * 1 * (2 / 3) / (1 + 2 / 3), 0.5, 2 * 0.5 / 1.5]
    assert s["macro_f1"] == pytest.approx(np.mean(f1))
    assert s["majority_baseline"] == pytest.approx(3 / 6)  # always "a": right on the three a's


def test_a_class_never_predicted_scores_zero_and_an_absent_one_is_left_out_of_macro_f1():
    confusion = confusion_matrix(np.array([0, 0, 0]), np.array([0, 0, 1]), 3)  # c: nowhere
    s = classification_scores(confusion, ["a", "b", "c"], majority_class=1)
    assert s["precision:b"] == s["recall:b"] == 0.0
    assert s["macro_f1"] == pytest.approx((0.8 + 0.0) / 2)  # a: P 2/3 R 1; b: 0; c absent
    assert s["majority_baseline"] == pytest.approx(1 / 3)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), k=st.integers(2, 5))
def test_scores_follow_their_definitions(data, k):
    n = data.draw(st.integers(1, 60))
    target = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    predicted = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    confusion = confusion_matrix(predicted, target, k)
    assert confusion.sum() == n
    s = classification_scores(confusion, [str(c) for c in range(k)], majority_class=0)
    assert s["accuracy"] == pytest.approx(np.mean(predicted == target))
    for c in range(k):
        called, truth = predicted == c, target == c
        hit = int((called & truth).sum())
        assert s[f"precision:{c}"] == pytest.approx(hit / called.sum() if called.any() else 0)
        assert s[f"recall:{c}"] == pytest.approx(hit / truth.sum() if truth.any() else 0)
    assert 0.0 <= s["macro_f1"] <= 1.0


def test_shapes_that_do_not_match_are_refused():
    with pytest.raises(ValueError, match=r"one shape \(N,\), got \(2,\) and \(3,\)"):
        confusion_matrix(np.zeros(2, int), np.zeros(3, int), 2)
    with pytest.raises(ValueError, match=r"for 3 classes is \(3, 3\), got \(2, 2\)"):
        classification_scores(np.zeros((2, 2)), ["a", "b", "c"], 0)
