"""Exact match and token error rate against the closest of several references."""

from rnnlab.seq2seq.scores import edit_distance, score


def test_edit_distance_counts_insertions_deletions_and_substitutions():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == edit_distance("abc", "") == 3
    assert edit_distance("abc", "abc") == 0
    assert edit_distance(("R", "IH", "DH"), ("R", "IH", "DH", "AH", "M")) == 2


def test_a_hypothesis_is_scored_against_its_closest_reference():
    found = score(["abc", "xyz"], [["abd", "abc"], ["xy", "wxyz"]])
    assert found.exact == 1 and found.count == 2
    # "xyz" is 1 edit from "xy" (length 2) and 1 from "wxyz" (4): the shorter is taken
    assert (found.errors, found.reference_tokens) == (1, 3 + 2)
    assert found.exact_match == 0.5 and found.token_error_rate == 1 / 5
