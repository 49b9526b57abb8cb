"""Greedy and beam search on the NumPy engine, and the reversal task's data and metric."""

import itertools

import numpy as np
import pytest

from rnnlab.numpy.seq2seq_engine import NumpySeq2SeqEngine
from rnnlab.seq2seq.batch import make_batch
from rnnlab.seq2seq.decode import Hypothesis, beam_search, greedy
from rnnlab.seq2seq.reverse import BOS, EOS, mirror_attention, reverse_pairs
from rnnlab.seq2seq.spec import Seq2SeqSpec


def engine_and_batch():
    spec = Seq2SeqSpec(6, 8, hidden_size=4, bidirectional=True, dtype="float64")
    engine = NumpySeq2SeqEngine(spec, seed=0)
    rng = np.random.default_rng(0)
    for p in engine.model.params.values():
        p[...] = rng.uniform(-1.0, 1.0, p.shape)
    sources, targets = reverse_pairs(5, 6, 2, 5, rng)
    return engine, make_batch(sources, targets, BOS, EOS)


def test_a_beam_of_one_without_normalisation_is_greedy():
    engine, batch = engine_and_batch()
    args = (batch.source, batch.source_lengths, BOS, EOS, 6)
    a = greedy(engine.decoder(), *args)
    b = beam_search(engine.decoder(), *args, beam=1, length_penalty=0.0)
    assert [h.tokens for h in a] == [h.tokens for h in b]
    np.testing.assert_allclose([h.score for h in a], [h.score for h in b])


def test_a_wider_beam_never_scores_worse_without_normalisation():
    engine, batch = engine_and_batch()
    args = (batch.source, batch.source_lengths, BOS, EOS, 6)
    narrow = beam_search(engine.decoder(), *args, beam=1, length_penalty=0.0)
    wide = beam_search(engine.decoder(), *args, beam=4, length_penalty=0.0)
    for a, b in zip(narrow, wide, strict=True):
        finished = len(a.tokens) < 6  # an answer cut at max_len is not comparable
        assert not finished or b.score >= a.score - 1e-12


def test_greedy_keeps_attention_over_the_real_source_only():
    engine, batch = engine_and_batch()
    for h, n in zip(greedy(engine.decoder(), batch.source, batch.source_lengths, BOS, EOS, 6),
                    batch.source_lengths, strict=True):  # fmt: skip
        assert h.attention.shape == (len(h.tokens) + (len(h.tokens) < 6), n)
        np.testing.assert_allclose(h.attention.sum(axis=1), 1.0)


def test_reverse_pairs_and_the_mirror_metric():
    sources, targets = reverse_pairs(20, 4, 1, 6, np.random.default_rng(1))
    for s, t in zip(sources, targets, strict=True):
        assert [v - 2 for v in t] == s[::-1]
    n = 3
    perfect = Hypothesis([4, 3, 2], 0.0, np.eye(n)[::-1])  # step t on position n − 1 − t
    assert mirror_attention([perfect], [n]) == 1.0


# ---------------------------------------------------------------------- exact search
def _random_engine(seed: int, engine: str = "numpy", V: int = 4):
    """A tiny model with large random weights: peaked, varied distributions, <eos> anywhere."""
    from rnnlab.engine import build_engine

    spec = Seq2SeqSpec(5, V, hidden_size=3, bidirectional=True, attention="general",
                       dtype="float64")  # fmt: skip
    numpy_engine = NumpySeq2SeqEngine(spec, seed=seed)
    rng = np.random.default_rng(seed)
    for p in numpy_engine.model.params.values():
        p[...] = rng.uniform(-2.0, 2.0, p.shape)
    if engine == "numpy":
        return numpy_engine
    built = build_engine(spec, engine)
    built.load_state_dict(numpy_engine.state_dict())
    return built


def _every_output(engine, source, max_len: int, alpha: float):
    """(score, tokens) of every output decoding can write — ended by <eos> within max_len
    steps, or cut at max_len tokens — scored by teacher forcing (not by decoder.step)."""
    V = engine.spec.target_vocab
    tokens = [v for v in range(V) if v != EOS]
    outputs = [list(y) for n in range(max_len + 1) for y in itertools.product(tokens, repeat=n)]
    batch = make_batch([source] * len(outputs), outputs, BOS, EOS)
    logits = engine.evaluate(batch).outputs  # (T, N, V)
    logp = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)  # (T, N, V)
    scored = []
    for i, y in enumerate(outputs):
        steps = [logp[t, i, v] for t, v in enumerate([*y, EOS])]  # its tokens, then <eos>
        if len(y) < max_len:  # ends with <eos>: n counts it
            scored.append((sum(steps) / (len(y) + 1) ** alpha, tuple(y)))
        if len(y) == max_len:  # cut: no <eos>
            scored.append((sum(steps[:-1]) / max_len**alpha, tuple(y)))
    return scored


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
@pytest.mark.parametrize("engine_name", ["numpy", "torch"])
def test_a_beam_that_never_drops_a_prefix_finds_the_exact_argmax(alpha, engine_name):
    """K = V at max_len 2 and K = V² at max_len 3 keep every prefix until the last step, so
    beam search must return the best of all outputs, enumerated by brute force; several
    sources in one batch, so the batched bookkeeping (select, reorder) is checked too."""
    if engine_name == "torch":
        pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for seed in range(3):
        engine = _random_engine(seed, engine_name)
        V = engine.spec.target_vocab
        sources = [list(rng.integers(0, 5, n)) for n in (3, 1, 4)]
        batch = make_batch(sources, [[] for _ in sources], BOS, EOS)
        for max_len, beam in ((2, V), (3, V * V)):
            found = beam_search(engine.decoder(), batch.source, batch.source_lengths, BOS, EOS,
                                max_len, beam=beam, length_penalty=alpha)  # fmt: skip
            for source, h in zip(sources, found, strict=True):
                best_score, best = max(_every_output(engine, source, max_len, alpha))
                assert tuple(h.tokens) == best, (seed, max_len, source)
                assert h.score == pytest.approx(best_score, abs=1e-9)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_beam_of_one_is_greedy_even_where_outputs_are_cut(alpha):
    for seed in range(4):
        engine = _random_engine(seed)
        batch = make_batch([[0, 1, 2], [3], [4, 4]], [[], [], []], BOS, EOS)
        args = (batch.source, batch.source_lengths, BOS, EOS, 2)
        a = greedy(engine.decoder(), *args)
        b = beam_search(engine.decoder(), *args, beam=1, length_penalty=alpha)
        assert [h.tokens for h in a] == [h.tokens for h in b], seed
