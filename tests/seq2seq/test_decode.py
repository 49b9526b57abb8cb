"""Greedy and beam search on the NumPy engine, and the reversal task's data and metric."""

import numpy as np

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
