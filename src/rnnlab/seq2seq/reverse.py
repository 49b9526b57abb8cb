"""The reversal task: a synthetic encoder–decoder problem with a known alignment.

A source is a random string of ``symbols`` symbols, x_1..x_n; its target is the string
reversed, y_t = x_{n+1-t}. Output step t should therefore attend to source position
n + 1 − t (the mirrored one): :func:`mirror_attention` measures how much of the attention
weight lands there. Ids: the source uses 0..symbols−1; the target 0 = <bos>, 1 = <eos>,
then symbol k is 2 + k.
"""

import numpy as np

BOS, EOS = 0, 1


def reverse_pairs(num: int, symbols: int, min_len: int, max_len: int, rng):
    """``num`` (source, target) id lists with lengths uniform in min_len..max_len."""
    sources, targets = [], []
    for n in rng.integers(min_len, max_len + 1, size=num):
        x = rng.integers(0, symbols, size=n)
        sources.append(x.tolist())
        targets.append((x[::-1] + 2).tolist())
    return sources, targets


def mirror_attention(hypotheses, lengths) -> float:
    """The mean attention weight on the mirrored source position, over every output step
    t ≤ n of every hypothesis (α[t, n − 1 − t], 0-based)."""
    weights = []
    for h, n in zip(hypotheses, lengths, strict=True):
        steps = min(int(n), 0 if h.attention is None else len(h.attention))
        weights += [h.attention[t, n - 1 - t] for t in range(steps)]
    return float(np.mean(weights)) if weights else 0.0
