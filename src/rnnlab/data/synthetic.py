"""Synthetic data with known answers: generators and exact reference losses.

Every generator is a pure function of its arguments and a ``numpy.random.Generator``.

- a^n b^n (``pattern="ab"``) and a^n b^n a^n (``"aba"``): next-token prediction; the model
  reads ``seq[:-1]`` and predicts ``seq[1:]``. Only the position of the first ``b`` is
  uncertain, so the Bayes-optimal loss is known exactly (:func:`bayes_optimal_loss`).
- copy: remember ``K`` random bits over a delay, reproduce them after a "go" signal.
- noisy sine: regress the next value of a noisy sine from a window of past values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rnnlab.data.vocab import Vocab

# ---------------------------------------------------------------- a^n b^n and a^n b^n a^n

_PATTERNS = {"ab": ("a", "b"), "aba": ("a", "b", "a")}


def anbn_sequences(
    num: int, n_min: int, n_max: int, rng: np.random.Generator, pattern: str = "ab"
) -> list[list[str]]:
    """``num`` sequences ``a^n b^n <eos>`` (``"ab"``) or ``a^n b^n a^n <eos>`` (``"aba"``).

    ``n`` is drawn uniformly from ``n_min .. n_max`` inclusive, independently per sequence.
    """
    _check_anbn_args(n_min, n_max, pattern)
    ns = rng.integers(n_min, n_max + 1, size=num)  # (num,)
    return [_anbn(int(n), pattern) for n in ns]


def deterministic_mask(seq: Sequence[str]) -> np.ndarray:
    """Which targets ``seq[1:]`` are fully determined by the input prefix, shape ``(T,)`` bool.

    ``T = len(seq) - 1``. Target ``t`` is predicted from the inputs ``seq[:t + 1]``; once a
    ``b`` has been read, ``n`` is known and every later token is certain. Before that, whether
    another ``a`` or the first ``b`` comes next is a guess (whatever ``n_min`` and ``n_max`` are).
    """
    read_b = np.asarray([token == "b" for token in seq[:-1]], dtype=bool)  # (T,)
    return np.logical_or.accumulate(read_b) if read_b.size else read_b


def optimal_token_losses(
    seq: Sequence[str], n_min: int, n_max: int, pattern: str = "ab"
) -> np.ndarray:
    """Cross-entropy (nats) of the Bayes-optimal predictor at each target of ``seq``, ``(T,)``.

    With ``n ~ Uniform{n_min..n_max}``, after reading ``k`` a's (and no b) the posterior is
    uniform on ``{max(k, n_min) .. n_max}``, so ``P(next = b) = P(n = k | n >= k) =
    1 / (n_max - k + 1)`` for ``k >= n_min`` and 0 for ``k < n_min``. Every other target is
    determined by the prefix and costs 0.
    """
    _check_anbn_args(n_min, n_max, pattern)
    n = _count_n(seq, pattern)
    if not n_min <= n <= n_max:
        raise ValueError(f"sequence has n = {n}, outside n_min..n_max = {n_min}..{n_max}")
    losses = np.zeros(len(seq) - 1)  # (T,)
    for k in range(1, n + 1):  # target k - 1 follows the prefix a^k
        remaining = n_max - max(k, n_min) + 1  # values of n still possible
        stop = 1 if k >= n_min else 0  # of those, how many end the a's here (n = k)
        p = stop / remaining if k == n else (remaining - stop) / remaining
        losses[k - 1] = -math.log(p)
    return losses


def bayes_optimal_loss(
    sequences: Sequence[Sequence[str]], n_min: int, n_max: int, pattern: str = "ab"
) -> float:
    """The Bayes-optimal mean cross-entropy (nats per target token) on exactly ``sequences``.

    The mean is over all target tokens of all sequences (``len(seq) - 1`` per sequence).
    """
    if not sequences:
        raise ValueError("bayes_optimal_loss needs at least one sequence")
    total = sum(optimal_token_losses(s, n_min, n_max, pattern).sum() for s in sequences)
    return float(total / sum(len(s) - 1 for s in sequences))


def expected_optimal_loss(n_min: int, n_max: int, pattern: str = "ab") -> float:
    """E[loss per sequence] / E[targets per sequence] of the Bayes-optimal predictor.

    The limit of :func:`bayes_optimal_loss` over many sequences. With ``N = n_max - n_min + 1``
    the losses of one sequence telescope: for ``n_min <= k < n`` each ``a`` costs
    ``log((n_max-k+1)/(n_max-k))`` and the first ``b`` costs ``log(n_max-n+1)``, a total of
    ``log N`` for every ``n`` (one uniform choice out of N). A sequence has ``r * n`` targets
    (``r`` = 2 for "ab", 3 for "aba"), so the answer is ``log N / (r * (n_min + n_max) / 2)``.
    """
    _check_anbn_args(n_min, n_max, pattern)
    repeats = len(_PATTERNS[pattern])
    return math.log(n_max - n_min + 1) / (repeats * (n_min + n_max) / 2)


def _anbn(n: int, pattern: str) -> list[str]:
    return [token for letter in _PATTERNS[pattern] for token in [letter] * n] + [Vocab.EOS]


def _count_n(seq: Sequence[str], pattern: str) -> int:
    n = next((i for i, token in enumerate(seq) if token != "a"), len(seq))
    if n < 1 or list(seq) != _anbn(n, pattern):
        shown = " ".join(seq[:12]) + (" ..." if len(seq) > 12 else "")
        raise ValueError(f"not an {pattern!r} sequence with n >= 1: {shown!r}")
    return n


def _check_anbn_args(n_min: int, n_max: int, pattern: str) -> None:
    if pattern not in _PATTERNS:
        raise ValueError(f"pattern must be one of {sorted(_PATTERNS)}, got {pattern!r}")
    if not 1 <= n_min <= n_max:
        raise ValueError(f"need 1 <= n_min <= n_max, got n_min={n_min}, n_max={n_max}")


# ---------------------------------------------------------------- copy

COPY_BLANK = 2  # input while nothing is shown; target off the recall positions
COPY_DELIM = 3  # the "go" signal: recall starts at the next step
COPY_VOCAB_SIZE = 4  # tokens 0 and 1 are the bits


class CopyData(NamedTuple):
    """A batch of the copy task, time-major. ``T = 2K + delay + 1``.

    inputs:  (T, B) int64; ``[bits(K), blank x delay, delim, blank x K]``.
    targets: (T, B) int64; the K bits at the last K steps, ``COPY_BLANK`` elsewhere.
    mask:    (T, B) bool; True exactly on the last K steps (the recall positions).
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray


def copy_sequences(num: int, bits: int, delay: int, rng: np.random.Generator) -> CopyData:
    """``num`` copy-task sequences of ``bits`` random bits each, recalled after ``delay``.

    Alphabet: 0 and 1 are bits, ``COPY_BLANK`` = 2, ``COPY_DELIM`` = 3. The targets are aligned
    with the inputs (not shifted): at recall step ``j`` the model outputs bit ``j``.
    """
    if bits < 1 or delay < 0 or num < 1:
        raise ValueError(f"need num >= 1, bits >= 1, delay >= 0; got {num}, {bits}, {delay}")
    T = 2 * bits + delay + 1
    payload = rng.integers(0, 2, size=(bits, num))  # (K, B)
    inputs = np.full((T, num), COPY_BLANK, dtype=np.int64)  # (T, B)
    inputs[:bits] = payload
    inputs[bits + delay] = COPY_DELIM
    targets = np.full((T, num), COPY_BLANK, dtype=np.int64)  # (T, B)
    targets[T - bits :] = payload
    mask = np.zeros((T, num), dtype=bool)  # (T, B)
    mask[T - bits :] = True
    return CopyData(inputs, targets, mask)


def copy_chance_loss(bits: int) -> float:
    """Cross-entropy (nats per recall position) of guessing: ``log 2`` for uniform random bits."""
    if bits < 1:
        raise ValueError(f"need bits >= 1, got {bits}")
    return math.log(2.0)


# ---------------------------------------------------------------- noisy sine


@dataclass(frozen=True)
class SineData:
    """Windows of a noisy sine and the next value. ``N = num_points - window``.

    X: (N, window, 1) float64, ``X[i, :, 0] = noisy[i : i + window]``.
    y: (N, 1) float64, ``y[i, 0] = noisy[i + window]``.
    t, clean, noisy: (num_points,) float64; ``clean = sin(t)``, ``noisy = clean + noise``.
    """

    X: np.ndarray
    y: np.ndarray
    t: np.ndarray
    clean: np.ndarray
    noisy: np.ndarray


def noisy_sine(
    num_points: int = 100,
    noise: float = 0.05,
    window: int = 25,
    *,
    rng: np.random.Generator,
    periods: float = 2.0,
) -> SineData:
    """``sin(t)`` at ``num_points`` evenly spaced ``t`` over ``[0, 2 pi periods]``, plus noise
    drawn uniformly from ``[-noise, noise]``, cut into sliding windows (see :class:`SineData`).
    """
    if not 1 <= window < num_points:
        raise ValueError(f"need 1 <= window < num_points, got window={window}, {num_points=}")
    if noise < 0:
        raise ValueError(f"noise is an amplitude and must be >= 0, got {noise}")
    t = np.linspace(0.0, 2.0 * np.pi * periods, num_points)  # (P,)
    clean = np.sin(t)  # (P,)
    noisy = clean + rng.uniform(-noise, noise, size=num_points)  # (P,)
    starts = np.arange(num_points - window)  # (N,)
    X = noisy[starts[:, None] + np.arange(window)][..., None]  # (N, window, 1)
    y = noisy[starts + window][:, None]  # (N, 1)
    return SineData(X=X, y=y, t=t, clean=clean, noisy=noisy)


def sine_noise_floor(noise: float) -> float:
    """Mean squared error of predicting the clean value: the variance ``noise**2 / 3`` of
    Uniform[-noise, noise] noise, a floor no predictor of the noisy next value can beat.
    """
    return noise**2 / 3.0


# ---------------------------------------------------------------- splits


def split_indices(
    n: int,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, ...]:
    """Split ``range(n)`` into one sorted int64 index array per fraction.

    Shuffled by ``rng`` (contiguous in order when ``None``). Sizes add to ``n``: the cut points
    are ``round(n * cumsum(fractions))``, so each size is within 1 of ``n * fraction``.
    """
    fractions = np.asarray(fractions, dtype=np.float64)  # (S,)
    if fractions.size < 1 or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"fractions must be >= 0 and sum to 1, got {fractions.tolist()}")
    order = rng.permutation(n) if rng is not None else np.arange(n)  # (n,)
    cuts = np.round(np.cumsum(fractions)[:-1] * n).astype(np.int64)  # (S - 1,)
    return tuple(np.sort(part).astype(np.int64) for part in np.split(order, cuts))
