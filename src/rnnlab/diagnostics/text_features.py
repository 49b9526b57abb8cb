"""Which units track what in a text: simple features of characters, and correlations.

Karpathy's "visualizing and understanding recurrent networks" found cells that turn on
inside quotes, count the position in a line, or fire after a newline. These are pure
functions of a text and of activations (T, H), so `rnnlab gates` can ask any unit of any
run the same questions:

* :func:`text_features`: per character, 0/1 or a number: inside quotes, inside brackets,
  the position in its line (characters since the last newline), just after a newline,
  inside a word (a letter or digit);
* :func:`correlations`: Pearson's r of every unit with every feature;
* :func:`closing_characters`: the characters after which the forget gates close most
  (lowest mean forget-gate activation over the units), the tutorial's question.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("in_quotes", "in_brackets", "line_position", "after_newline", "in_word")
OPENING, CLOSING = "([{", ")]}"


def text_features(tokens: list[str]) -> dict[str, np.ndarray]:
    """Feature name -> (T,) float64 values, one per token (a character, usually).

    ``in_quotes`` is 1 from a double quote to the next one (both included), ``in_brackets``
    the nesting depth of (), [] and {} above zero, clipped at 1.
    """
    T = len(tokens)
    out = {name: np.zeros(T) for name in FEATURES}  # (T,) each
    quoted, depth, column = False, 0, 0
    for t, token in enumerate(tokens):
        opens_quote = token == '"' and not quoted
        if opens_quote:
            quoted = True
        out["in_quotes"][t] = float(quoted)
        if token == '"' and not opens_quote:
            quoted = False
        if token in OPENING:
            depth += 1
        out["in_brackets"][t] = float(depth > 0)
        if token in CLOSING:
            depth = max(0, depth - 1)
        out["line_position"][t] = column
        out["after_newline"][t] = float(t > 0 and tokens[t - 1] == "\n")
        out["in_word"][t] = float(len(token) == 1 and token.isalnum())
        column = 0 if token == "\n" else column + 1
    return out


def correlations(values: np.ndarray, features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Feature -> (H,) Pearson's r of each unit's values (T, H) with the feature (T,).

    A constant unit or feature has no correlation: r = 0 there, not NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"correlations expected values of shape (T, H), got {values.shape}")
    centred = values - values.mean(axis=0)  # (T, H)
    spread = np.sqrt((centred**2).sum(axis=0))  # (H,)
    # a constant column's centred values are rounding noise, not variation: treat as none
    scale = np.sqrt(len(values)) * (1.0 + np.abs(values).max(axis=0, initial=0.0))  # (H,)
    spread = np.where(spread > 1e-12 * scale, spread, 0.0)
    out = {}
    for name, feature in features.items():
        f = np.asarray(feature, dtype=np.float64) - np.mean(feature)  # (T,)
        norm = np.sqrt((f**2).sum()) * spread  # (H,)
        r = np.divide(f @ centred, norm, out=np.zeros_like(spread), where=norm > 0)
        out[name] = r  # (H,)
    return out


def strongest_units(r: dict[str, np.ndarray], top: int = 3) -> dict[str, list[tuple[int, float]]]:
    """Feature -> the ``top`` units of largest |r|, as (unit, r), strongest first."""
    return {
        name: [(int(u), float(values[u])) for u in np.argsort(-np.abs(values), kind="stable")[:top]]
        for name, values in r.items()
    }


def closing_characters(
    tokens: list[str], forget: np.ndarray, top: int = 8, min_count: int = 2
) -> list[tuple[str, float, int]]:
    """The tokens at which the forget gates are most closed: (token, mean f, count).

    ``forget`` (T, H) is the forget gate's activation at each step: at step t it decides how
    much of c_{t-1} survives reading token t. Tokens seen fewer than ``min_count`` times are
    left out (one occurrence says little).
    """
    forget = np.asarray(forget, dtype=np.float64)
    per_step = forget.mean(axis=1)  # (T,) mean over units
    sums: dict[str, list[float]] = {}
    for token, value in zip(tokens, per_step.tolist(), strict=True):
        sums.setdefault(token, []).append(value)
    rows = [(tok, float(np.mean(v)), len(v)) for tok, v in sums.items() if len(v) >= min_count]
    rows.sort(key=lambda row: row[1])
    return rows[:top]
