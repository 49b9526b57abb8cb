"""Nucleus (top-p) sampling against exact small distributions, beside top-k and temperature."""

import numpy as np
import pytest

from rnnlab.errors import InputError
from rnnlab.generate import Sampler, sample_next

P = np.array([0.1, 0.5, 0.15, 0.25])  # ids sorted by probability: 1, 3, 2, 0
LOGITS = np.log(P)


@pytest.mark.parametrize(
    ("top_p", "expected"),
    [
        (0.4, [0, 1, 0, 0]),  # the most likely alone already holds 0.5 >= 0.4
        (0.5, [0, 1, 0, 0]),  # exactly reached: no more ids needed
        (0.6, [0, 2 / 3, 0, 1 / 3]),  # 0.5 + 0.25 = 0.75 >= 0.6
        (0.8, [0, 0.5 / 0.9, 0.15 / 0.9, 0.25 / 0.9]),  # 0.9 >= 0.8: three ids
        (0.95, P),  # needs all four
        (1.0, P),  # the whole distribution
    ],
)
def test_the_nucleus_is_the_fewest_most_likely_ids_reaching_top_p(top_p, expected):
    got = Sampler(4, top_p=top_p).probabilities(LOGITS)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_top_p_applies_after_temperature_and_top_k():
    # T = 0.5 squares the probabilities: [0.029, 0.725, 0.065, 0.181]; 0.725 + 0.181 >= 0.8
    squared = P**2 / np.sum(P**2)
    expected = np.zeros(4)
    expected[[1, 3]] = squared[[1, 3]] / squared[[1, 3]].sum()
    hot = Sampler(4, temperature=0.5, top_p=0.8).probabilities(LOGITS)
    np.testing.assert_allclose(hot, expected, rtol=1e-12)
    # top-k 2 keeps ids 1 and 3 (2/3, 1/3), then top-p 0.6 needs only id 1
    np.testing.assert_allclose(Sampler(4, top_k=2, top_p=0.6).probabilities(LOGITS), [0, 1, 0, 0])


def test_draws_follow_the_nucleus_and_equal_ties_keep_the_lower_id():
    rng = np.random.default_rng(0)
    draws = [sample_next(LOGITS, rng, top_p=0.6) for _ in range(6000)]
    counts = np.bincount(draws, minlength=4) / 6000
    np.testing.assert_allclose(counts, [0, 2 / 3, 0, 1 / 3], atol=0.02)
    tied = np.log(np.array([0.3, 0.3, 0.4]))  # 0.4, then one of the two 0.3s: the lower id
    np.testing.assert_allclose(Sampler(3, top_p=0.6).probabilities(tied), [3 / 7, 0, 4 / 7])


def test_without_top_p_the_same_seed_writes_the_same_ids_as_before():
    logits = np.random.default_rng(1).normal(size=50)
    a = [Sampler(50, 0.8, 10)(logits, rng) for rng in [np.random.default_rng(2)] * 20]
    b = [Sampler(50, 0.8, 10, top_p=1.0)(logits, rng) for rng in [np.random.default_rng(2)] * 20]
    assert a == b


@pytest.mark.parametrize("top_p", [0.0, -0.1, 1.5, True])
def test_a_top_p_outside_zero_to_one_is_refused_in_one_line(top_p):
    with pytest.raises(InputError, match=r"--top-p must be in \(0, 1\]"):
        Sampler(4, top_p=top_p)


def test_the_generate_command_takes_top_p(tmp_path, capsys):
    from rnnlab.cli import main
    from rnnlab.train.options import build_from_settings
    from rnnlab.train.session import start_run

    (tmp_path / "t.txt").write_text("abcabcabd " * 50)
    settings = {"data": str(tmp_path / "t.txt"), "hidden": 8, "steps": 3, "seq_len": 5}
    start_run(*build_from_settings("chars", settings), tmp_path / "run")
    argv = ["generate", str(tmp_path / "run"), "--length", "20", "--seed", "0"]
    assert main([*argv, "--top-p", "0.5"]) == 0
    assert len(capsys.readouterr().out) >= 20
    assert main([*argv, "--top-p", "1.5"]) == 2
    assert "--top-p must be in (0, 1]" in capsys.readouterr().err
