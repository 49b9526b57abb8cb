"""The marker task's data: which symbol came right after the marker?

A sequence of ``n`` symbols (``min_len <= n <= max_len``) is drawn uniformly from an
alphabet of ``K`` (ids ``0 .. K-1``); one position ``p`` among the first ``window``
(``p <= n - 2``, so a symbol follows it) is overwritten by the marker (id ``K``), which
occurs nowhere else. The class is the symbol at ``p + 1``.

A model that reads left to right must notice the marker, store the symbol after it and hold
that through every later symbol, up to ``max_len - 2`` steps, while the state keeps
changing: memory across the whole sequence, with nothing at the end to help. The class is a
function of the input, so the optimal loss is exactly 0 (chance is ``log K``).
"""

import string
from typing import NamedTuple

import numpy as np

SYMBOLS = string.ascii_lowercase  # the names of the symbols (and classes): a, b, c, ...


class MarkerData(NamedTuple):
    """sequences: N int64 arrays of ids, each (n,); labels: (N,) int64 in ``0 .. K-1``;
    positions: (N,) int64, where each sequence's marker is."""

    sequences: list[np.ndarray]
    labels: np.ndarray
    positions: np.ndarray


def marker_sequences(
    num: int, symbols: int, min_len: int, max_len: int, window: int, rng: np.random.Generator
) -> MarkerData:
    """``num`` sequences as the module docstring describes (the marker's id is ``symbols``)."""
    if num < 1 or not 2 <= symbols <= len(SYMBOLS):
        raise ValueError(f"need num >= 1 and 2 <= symbols <= 26, got {num} and {symbols}")
    if not 2 <= min_len <= max_len or window < 1:
        raise ValueError(
            f"need 2 <= min_len <= max_len and window >= 1, got {min_len}, {max_len}, {window}"
        )
    sequences, labels, positions = [], np.empty(num, np.int64), np.empty(num, np.int64)
    for i in range(num):
        n = int(rng.integers(min_len, max_len + 1))
        seq = rng.integers(0, symbols, size=n)  # (n,)
        p = int(rng.integers(0, min(window, n - 1)))  # 0 <= p <= n - 2
        labels[i], positions[i] = seq[p + 1], p
        seq[p] = symbols  # the marker
        sequences.append(seq.astype(np.int64))
    return MarkerData(sequences, labels, positions)


def symbol_names(symbols: int) -> list[str]:
    """The names of the first ``symbols`` symbols: ``['a', 'b', ...]``."""
    return list(SYMBOLS[:symbols])
