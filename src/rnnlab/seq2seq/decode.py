"""Decoding an encoder–decoder: greedy and beam search, for either engine.

A decoder (``engine.decoder()``) offers three calls over NumPy arrays:

    start(source (S, B), lengths (B,))  -> carry          encode, bridge, prepare the keys
    step(tokens (B,), carry)            -> log p (B, V), α (S, B) or None, carry
    select(carry, rows (B',))           -> carry          rows repeated or reordered

Greedy: y_t = argmax_v log p(v | y_<t, x), every sequence of the batch at once, until each
has produced <eos> or ``max_len`` tokens.

Beam search looks for the output y of highest length-normalised score

    score(y) = Σ_{t=1..n} log p(y_t | y_<t, x) / n^α          (α = ``length_penalty``)

among every output decoding can write: ended by <eos> within ``max_len`` steps (n counts
the <eos>), or cut at ``max_len`` tokens as greedy's can be (n = ``max_len``). α = 0
compares plain sums, which favour short outputs. It keeps, per source, the K best open
prefixes by their sum (all B·K of them in one batch); a prefix that produces <eos> is
finished with its score. A source is done when K prefixes have finished (the usual rule, a
heuristic: a longer prefix may still have scored better), when none is left open, or when
no open prefix can still beat its best finished one: an open sum only falls, and its n is
at most ``max_len``, so it can reach at most sum / max_len^α at best (exact for every α).
At ``max_len`` the open prefixes join the finished ones as cut outputs (so a beam of 1 is
greedy), and the best scoring of all wins. With a beam that never has to drop a prefix
before the last step (K ≥ V^(max_len − 1); K = V for ``max_len`` 2) the answer is the exact
argmax: at the last step every candidate has n = ``max_len``, and the best one is kept
whether it ends there or not. The attention weights of every kept output step come with it,
for plots.
"""

from typing import NamedTuple

import numpy as np


class Hypothesis(NamedTuple):
    tokens: list[int]  # the output ids, without <eos>
    score: float  # the length-normalised log-probability (greedy: the plain sum)
    attention: np.ndarray | None  # (n, S_b) α of each output step over the real source


def greedy(decoder, source, lengths, bos: int, eos: int, max_len: int) -> list[Hypothesis]:
    """The most likely token at every step, for every source of the batch at once."""
    source, lengths = np.asarray(source), np.asarray(lengths)
    B = source.shape[1]
    carry = decoder.start(source, lengths)
    tokens = np.full(B, bos, dtype=np.int64)
    done = np.zeros(B, dtype=bool)
    outputs, scores, alphas = [[] for _ in range(B)], np.zeros(B), [[] for _ in range(B)]
    for _ in range(max_len):
        logp, alpha, carry = decoder.step(tokens, carry)
        tokens = logp.argmax(axis=-1)  # (B,)
        for b in np.flatnonzero(~done):
            scores[b] += logp[b, tokens[b]]
            if alpha is not None:
                alphas[b].append(alpha[: lengths[b], b])
            if tokens[b] == eos:
                done[b] = True
            else:
                outputs[b].append(int(tokens[b]))
        if done.all():
            break
    return [
        Hypothesis(outputs[b], float(scores[b]), np.array(alphas[b]) if alphas[b] else None)
        for b in range(B)
    ]


def beam_search(
    decoder, source, lengths, bos: int, eos: int, max_len: int, beam: int = 5,
    length_penalty: float = 1.0,
) -> list[Hypothesis]:  # fmt: skip
    """The best of ``beam`` prefixes kept per source (see the module docstring)."""
    source, lengths = np.asarray(source), np.asarray(lengths)
    B, K = source.shape[1], int(beam)
    if K < 1:
        raise ValueError(f"beam must be a positive integer, got {beam}")
    carry = decoder.select(decoder.start(source, lengths), np.repeat(np.arange(B), K))
    sums = np.full((B, K), -np.inf)
    sums[:, 0] = 0.0  # one live prefix per source at first: the K copies would tie
    prefixes = [[[] for _ in range(K)] for _ in range(B)]
    attn = [[[] for _ in range(K)] for _ in range(B)]
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    tokens = np.full(B * K, bos, dtype=np.int64)

    def normalised(total: float, n: int) -> float:
        return total / (max(n, 1) ** length_penalty)

    t = -1
    for t in range(max_len):
        logp, alpha, carry = decoder.step(tokens, carry)  # (B·K, V)
        V = logp.shape[-1]
        candidates = (sums[..., None] + logp.reshape(B, K, V)).reshape(B, K * V)  # (B, K·V)
        rows, new_tokens = np.zeros(B * K, np.int64), np.full(B * K, eos, np.int64)
        new_sums = np.full((B, K), -np.inf)
        new_prefixes = [[[] for _ in range(K)] for _ in range(B)]
        new_attn = [[[] for _ in range(K)] for _ in range(B)]
        for b in range(B):
            if done[b]:
                rows[b * K : (b + 1) * K] = b * K
                continue
            kept = 0
            for flat in np.argsort(-candidates[b], kind="stable")[: 2 * K]:
                total = candidates[b, flat]
                if not np.isfinite(total) or kept == K:
                    break
                k, v = divmod(int(flat), V)
                steps = attn[b][k] + ([alpha[: lengths[b], b * K + k]] if alpha is not None else [])
                if v == eos:
                    score = normalised(float(total), t + 1)
                    finished[b].append(Hypothesis(prefixes[b][k], score, _stack(steps)))
                    continue
                new_sums[b, kept] = total
                new_prefixes[b][kept] = prefixes[b][k] + [v]
                new_attn[b][kept] = steps
                rows[b * K + kept], new_tokens[b * K + kept] = b * K + k, v
                kept += 1
            best = max((h.score for h in finished[b]), default=-np.inf)
            reachable = normalised(float(new_sums[b].max()), max_len) if kept else -np.inf
            done[b] = len(finished[b]) >= K or kept == 0 or best >= reachable
        sums, prefixes, attn, tokens = new_sums, new_prefixes, new_attn, new_tokens
        if done.all():
            break
        carry = decoder.select(carry, rows)
    cut = t == max_len - 1  # the last step ran: the open prefixes are cut outputs
    results = []
    for b in range(B):
        pool = finished[b] + [
            Hypothesis(prefixes[b][k], normalised(float(sums[b, k]), max_len), _stack(attn[b][k]))
            for k in range(K) if cut and np.isfinite(sums[b, k])
        ]  # fmt: skip
        if not pool:  # max_len 0: the empty output, unscored
            pool = [Hypothesis([], 0.0, None)]
        results.append(max(pool, key=lambda h: h.score))
    return results


def _stack(steps: list) -> np.ndarray | None:
    return np.array(steps) if steps else None
