"""``rnnlab bench --seq2seq``: the g2p training step timed in each engine and in plain
PyTorch, one row each with a positive, finite time and ratio to torch.nn; no timing
thresholds (how fast belongs to the benchmark, not the tests)."""

import json
import math

import pytest

from rnnlab.bench.seq2seq import G2P_SHAPE, PairShape, bench_seq2seq, g2p_setup, synthetic_batch
from rnnlab.cli import main
from rnnlab.seq2seq.spec import Seq2SeqSpec


def test_the_synthetic_batch_has_the_g2p_shape_and_vocabularies():
    spec, config = g2p_setup()
    assert (spec.attention, spec.bidirectional, spec.hidden_size, config.batch_size) == (
        "general", True, 128, 64,
    )  # fmt: skip
    batch = synthetic_batch(spec, G2P_SHAPE)
    assert batch.source.shape == (8, 64) and batch.targets.shape == (9, 64)
    assert batch.mask.all() and batch.source.max() < spec.source_vocab
    assert 2 <= batch.targets[:-1].min() and (batch.targets[-1] == 1).all()  # phones, <eos>


def _check(report, engines):
    assert [row["engine"] for row in report["rows"]] == engines
    for row in report["rows"]:
        for key in ("ms_per_step", "tokens_per_s", "ratio"):
            assert math.isfinite(row[key]) and row[key] > 0, (row["engine"], key)
    assert report["rows"][-1]["ratio"] == 1.0  # torch.nn against itself, round by round


def test_tiny_sizes_in_every_engine():
    pytest.importorskip("torch")
    spec = Seq2SeqSpec(5, 6, hidden_size=3, bidirectional=True, attention="general")
    _, config = g2p_setup()
    engines = ["numpy", "torch-scratch", "torch.nn"]
    report = bench_seq2seq(engines, spec, config, PairShape(2, 3, 4), warmup=1, repeats=3,
                           min_time=0.0)  # fmt: skip
    _check(report, engines)
    assert report["shape"] == {"batch": 2, "source_len": 3, "target_len": 4}


def test_the_command_at_the_g2p_shape(capsys):
    pytest.importorskip("torch")
    assert main(["bench", "--seq2seq", "--quick", "--json", "--threads", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    _check(report, ["numpy", "torch-scratch", "torch.nn"])
    assert report["task"] == "g2p" and report["threads"] == 1
    assert report["model"]["attention"] == "general" and report["shape"]["batch"] == 64


def test_the_command_refuses_an_engine_it_does_not_time(capsys):
    assert main(["bench", "--seq2seq", "--engines", "torch-native"]) == 2
    assert "--engines" in capsys.readouterr().err
