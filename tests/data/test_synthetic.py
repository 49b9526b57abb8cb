"""Synthetic data: generators, and exact reference losses against brute-force enumeration."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.synthetic import (
    COPY_BLANK,
    COPY_DELIM,
    anbn_sequences,
    bayes_optimal_loss,
    copy_chance_loss,
    copy_sequences,
    deterministic_mask,
    expected_optimal_loss,
    noisy_sine,
    optimal_token_losses,
    sine_noise_floor,
    split_indices,
)

RANGES = [(1, 5, "ab"), (1, 5, "aba"), (3, 7, "ab"), (2, 4, "aba"), (2, 2, "ab"), (1, 1, "aba")]


def make(n, pattern):
    """The sequence for a given n, spelled out independently of the library."""
    text = "a" * n + "b" * n + ("a" * n if pattern == "aba" else "")
    return [*text, "<eos>"]


def brute_force_token_losses(seq, n_min, n_max, pattern):
    """Bayes-optimal losses by enumerating every sequence the generator can emit.

    P(next | prefix) = P(sequences that start with prefix + next) / P(sequences with prefix).
    """
    support = [make(n, pattern) for n in range(n_min, n_max + 1)]  # equally likely
    losses = []
    for t in range(len(seq) - 1):
        consistent = [s for s in support if s[: t + 1] == seq[: t + 1]]
        continuing = [s for s in consistent if len(s) > t + 1 and s[t + 1] == seq[t + 1]]
        losses.append(-math.log(len(continuing) / len(consistent)))
    return np.array(losses)


# ---------------------------------------------------------------- a^n b^n (a^n)


@pytest.mark.parametrize("pattern", ["ab", "aba"])
def test_anbn_sequences_have_the_pattern_and_uniform_n(pattern):
    seqs = anbn_sequences(6000, 2, 5, np.random.default_rng(0), pattern)
    ns = [seq.count("b") for seq in seqs]
    for seq, n in zip(seqs, ns, strict=True):
        assert seq == make(n, pattern)
    counts = np.bincount(ns, minlength=6)[2:]
    assert counts.sum() == 6000 and np.all(np.abs(counts - 1500) < 150)  # ~4 sigma
    assert anbn_sequences(20, 2, 5, np.random.default_rng(7), pattern) == anbn_sequences(
        20, 2, 5, np.random.default_rng(7), pattern
    )


def test_deterministic_mask_marks_targets_after_the_first_b_was_read():
    # inputs a a b b -> targets a b b <eos>: only the first two are guesses
    np.testing.assert_array_equal(deterministic_mask(make(2, "ab")), [0, 0, 1, 1])
    np.testing.assert_array_equal(deterministic_mask(make(2, "aba")), [0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(deterministic_mask(make(1, "ab")), [0, 1])


@pytest.mark.parametrize(("n_min", "n_max", "pattern"), RANGES)
def test_optimal_token_losses_match_brute_force_enumeration(n_min, n_max, pattern):
    for n in range(n_min, n_max + 1):
        seq = make(n, pattern)
        losses = optimal_token_losses(seq, n_min, n_max, pattern)
        np.testing.assert_allclose(
            losses, brute_force_token_losses(seq, n_min, n_max, pattern), rtol=1e-12, atol=1e-15
        )
        # each sequence carries exactly the information of one choice among N values of n
        assert losses.sum() == pytest.approx(math.log(n_max - n_min + 1), rel=1e-12)
        assert np.all(losses[deterministic_mask(seq)] == 0)


def test_bayes_optimal_loss_hand_computed_for_n_in_1_to_2():
    # n=1: after "a", P(b) = P(n=1) = 1/2 -> log 2; then <eos> is certain. 2 targets.
    # n=2: after "a", P(a) = P(n=2) = 1/2 -> log 2; then all certain. 4 targets.
    np.testing.assert_allclose(optimal_token_losses(make(1, "ab"), 1, 2), [math.log(2), 0])
    np.testing.assert_allclose(optimal_token_losses(make(2, "ab"), 1, 2), [math.log(2), 0, 0, 0])
    loss = bayes_optimal_loss([make(1, "ab"), make(2, "ab")], 1, 2)
    assert loss == pytest.approx(2 * math.log(2) / 6, rel=1e-15)
    assert expected_optimal_loss(1, 2) == pytest.approx(math.log(2) / 3, rel=1e-15)
    # n in 1..3, n = 2: after "a" P(a) = 2/3, after "aa" P(b) = 1/2
    np.testing.assert_allclose(
        optimal_token_losses(make(2, "ab"), 1, 3), [math.log(1.5), math.log(2), 0, 0]
    )


@pytest.mark.parametrize("pattern", ["ab", "aba"])
def test_a_single_value_of_n_costs_nothing(pattern):
    seqs = [make(3, pattern)] * 4
    assert bayes_optimal_loss(seqs, 3, 3, pattern) == 0.0
    assert expected_optimal_loss(3, 3, pattern) == 0.0


@pytest.mark.parametrize(("n_min", "n_max", "pattern"), RANGES)
def test_bayes_optimal_loss_is_the_mean_over_all_targets(n_min, n_max, pattern):
    seqs = anbn_sequences(30, n_min, n_max, np.random.default_rng(1), pattern)
    losses = np.concatenate([brute_force_token_losses(s, n_min, n_max, pattern) for s in seqs])
    loss = bayes_optimal_loss(seqs, n_min, n_max, pattern)
    assert loss == pytest.approx(losses.mean(), rel=1e-12)


@pytest.mark.parametrize(("n_min", "n_max", "pattern"), RANGES)
def test_expected_optimal_loss_matches_enumeration_and_monte_carlo(n_min, n_max, pattern):
    ns = range(n_min, n_max + 1)  # equally likely, so the weights cancel
    total = sum(brute_force_token_losses(make(n, pattern), n_min, n_max, pattern).sum() for n in ns)
    targets = sum(len(make(n, pattern)) - 1 for n in ns)
    expected = expected_optimal_loss(n_min, n_max, pattern)
    assert expected == pytest.approx(total / targets, rel=1e-12)
    seqs = anbn_sequences(20000, n_min, n_max, np.random.default_rng(2), pattern)
    assert bayes_optimal_loss(seqs, n_min, n_max, pattern) == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize(
    ("seq", "match"),
    [
        (make(6, "ab"), "outside"),
        (["a", "b", "b", "<eos>"], "not an"),
        (["b", "<eos>"], "not an"),
        (make(2, "aba"), "not an"),  # an aba sequence scored as ab
    ],
)
def test_optimal_token_losses_rejects_sequences_the_generator_cannot_emit(seq, match):
    with pytest.raises(ValueError, match=match):
        optimal_token_losses(seq, 1, 5, "ab")


def test_anbn_arguments_are_checked():
    with pytest.raises(ValueError, match="n_min"):
        anbn_sequences(3, 0, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_min"):
        expected_optimal_loss(4, 3)
    with pytest.raises(ValueError, match="pattern"):
        anbn_sequences(3, 1, 5, np.random.default_rng(0), pattern="abc")
    with pytest.raises(ValueError, match="at least one"):
        bayes_optimal_loss([], 1, 5)


# ---------------------------------------------------------------- copy


@pytest.mark.parametrize(("bits", "delay"), [(8, 10), (1, 0), (3, 5)])
def test_copy_layout_bits_blanks_delimiter_recall(bits, delay):
    inputs, targets, mask = copy_sequences(50, bits, delay, np.random.default_rng(0))
    T = 2 * bits + delay + 1
    assert inputs.shape == targets.shape == mask.shape == (T, 50)
    assert inputs.dtype == targets.dtype == np.int64 and mask.dtype == bool
    payload = inputs[:bits]
    assert set(np.unique(payload)) == {0, 1}
    assert np.all(inputs[bits : bits + delay] == COPY_BLANK)
    assert np.all(inputs[bits + delay] == COPY_DELIM)
    assert np.all(inputs[bits + delay + 1 :] == COPY_BLANK)
    np.testing.assert_array_equal(targets[mask].reshape(bits, 50), payload)  # in order
    assert np.all(mask[T - bits :]) and not np.any(mask[: T - bits])
    assert np.all(targets[~mask] == COPY_BLANK)


def test_copy_chance_loss_is_the_entropy_of_a_fair_bit():
    inputs, _, _ = copy_sequences(4000, 8, 0, np.random.default_rng(3))
    p1 = inputs[:8].mean()
    empirical_entropy = -(p1 * np.log(p1) + (1 - p1) * np.log(1 - p1))
    assert copy_chance_loss(8) == math.log(2)
    assert empirical_entropy == pytest.approx(copy_chance_loss(8), rel=1e-3)


# ---------------------------------------------------------------- noisy sine


def test_noisy_sine_windows_and_targets_follow_the_noisy_curve():
    data = noisy_sine(100, 0.05, 25, rng=np.random.default_rng(0))
    assert data.X.shape == (75, 25, 1) and data.y.shape == (75, 1)
    assert data.X.dtype == data.y.dtype == np.float64
    for i in range(75):
        np.testing.assert_array_equal(data.X[i, :, 0], data.noisy[i : i + 25])
        assert data.y[i, 0] == data.noisy[i + 25]
    np.testing.assert_allclose(data.clean, np.sin(np.linspace(0, 4 * np.pi, 100)), atol=1e-15)
    assert np.max(np.abs(data.noisy - data.clean)) <= 0.05


def test_noisy_sine_noise_is_uniform_with_the_documented_variance():
    data = noisy_sine(200_000, 0.3, 1, rng=np.random.default_rng(0))
    noise = data.noisy - data.clean
    assert noise.min() >= -0.3 and noise.max() <= 0.3 and noise.max() > 0.299
    assert noise.mean() == pytest.approx(0, abs=3e-3)
    assert np.mean(noise**2) == pytest.approx(sine_noise_floor(0.3), rel=0.01)
    clean = noisy_sine(50, 0.0, 5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(clean.noisy, clean.clean)


@pytest.mark.parametrize(("num_points", "window"), [(25, 25), (10, 0)])
def test_noisy_sine_needs_at_least_one_window(num_points, window):
    with pytest.raises(ValueError, match="window"):
        noisy_sine(num_points, 0.05, window, rng=np.random.default_rng(0))


# ---------------------------------------------------------------- splits


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 300),
    fractions=st.lists(st.integers(0, 10), min_size=1, max_size=4).filter(any),
    seed=st.none() | st.integers(0, 2**32 - 1),
)
def test_split_indices_partition_range_n_with_sizes_close_to_the_fractions(n, fractions, seed):
    fractions = [f / sum(fractions) for f in fractions]
    rng = None if seed is None else np.random.default_rng(seed)
    parts = split_indices(n, fractions, rng)
    assert len(parts) == len(fractions)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))
    for part, f in zip(parts, fractions, strict=True):
        assert abs(len(part) - f * n) <= 1 and part.dtype == np.int64
    if seed is None:  # in order: contiguous slices
        np.testing.assert_array_equal(np.concatenate(parts), np.arange(n))
    else:
        again = split_indices(n, fractions, np.random.default_rng(seed))
        assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))


def test_split_indices_default_is_80_10_10_and_rejects_bad_fractions():
    train, val, test = split_indices(256, rng=np.random.default_rng(0))
    assert (len(train), len(val), len(test)) == (205, 25, 26)  # cuts at round(204.8), round(230.4)
    with pytest.raises(ValueError, match="sum to 1"):
        split_indices(10, (0.5, 0.6))
