"""Scores of decoded outputs against references: exact match and token error rate.

A source may have several correct targets (a word with two pronunciations), so every
score compares a hypothesis with the *closest* of its references:

    exact match        the hypothesis equals one of the references;
    token error rate   Σ_i d(ŷ_i, r_i*) / Σ_i |r_i*|, where d is the Levenshtein distance
                       (insertions, deletions, substitutions, each costing 1) and r_i* the
                       reference closest to ŷ_i (the shorter one among equally close ones).

For g2p these are the word error rate (WER = 1 − exact match) and the phone error rate
(PER) of the literature.
"""

from collections.abc import Sequence
from typing import NamedTuple


def edit_distance(a: Sequence, b: Sequence) -> int:
    """The Levenshtein distance between two token sequences (one row of the DP table)."""
    previous = list(range(len(b) + 1))  # d(a[:0], b[:j]) = j
    for i, x in enumerate(a, start=1):
        current = [i]  # d(a[:i], b[:0]) = i
        for j, y in enumerate(b, start=1):
            current.append(
                min(
                    previous[j] + 1,  # delete x
                    current[j - 1] + 1,  # insert y
                    previous[j - 1] + (x != y),  # substitute (free when equal)
                )
            )
        previous = current
    return previous[-1]


class Scores(NamedTuple):
    exact: int  # hypotheses equal to one of their references
    errors: int  # Σ edit distances to the closest references
    reference_tokens: int  # Σ lengths of those references
    count: int  # hypotheses scored

    @property
    def exact_match(self) -> float:
        return self.exact / max(self.count, 1)

    @property
    def token_error_rate(self) -> float:
        return self.errors / max(self.reference_tokens, 1)


def score(hypotheses: Sequence[Sequence], references: Sequence[Sequence[Sequence]]) -> Scores:
    """Scores of ``hypotheses[i]`` against the references ``references[i]`` (at least one)."""
    exact = errors = tokens = 0
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        hypothesis = tuple(hypothesis)
        distance, length = min((edit_distance(hypothesis, tuple(r)), len(r)) for r in refs)
        exact += distance == 0
        errors += distance
        tokens += length
    return Scores(exact, errors, tokens, len(hypotheses))
