"""``rnnlab evaluate RUN --data OTHER.txt``: every target of another text scored once with
the state carried, unseen characters read as <unk>, counted and left unscored."""

import json
import math

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.data.vocab import Vocab
from rnnlab.errors import InputError
from rnnlab.tasks.other_text import evaluate_other_text
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import load_run, start_run

TRAIN = "the quick brown fox jumps over the lazy dog. " * 30


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("other")
    (tmp / "train.txt").write_text(TRAIN)
    settings = {"data": str(tmp / "train.txt"), "hidden": 8, "steps": 5, "seq_len": 7,
                "batch_size": 4, "eval_every": 5, "dtype": "float64"}  # fmt: skip
    start_run(*build_from_settings("chars", settings), tmp / "run")
    return tmp


def cross_entropy(logits, targets, keep):
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, targets[:, None], axis=-1)[:, 0]
    return -picked[keep].sum(), int(keep.sum())


@pytest.mark.parametrize("batch_size", [1, 3])
def test_every_target_is_scored_once_with_the_state_carried_along_each_row(run, batch_size):
    other = run / "other.txt"
    other.write_text("a lazy fox, quick and brown, jumps. Zebra!")  # Z, b... ',' '!' unseen
    loaded = load_run(run / "run", need_data=False)
    metrics = evaluate_other_text(loaded.task, loaded.engine, other, batch_size)
    vocab = loaded.task.vocab
    ids = vocab.encode(other.read_text())
    keep = ids[1:] != Vocab.UNK_ID
    rows, L = batch_size, (len(ids) - 1) // batch_size
    total, count, state = 0.0, 0, None
    for b in range(rows):  # each row one pass from zero state; the rest continues the last
        logits, state = loaded.engine.forward(ids[b * L : (b + 1) * L].reshape(-1, 1), None)
        part = cross_entropy(
            logits[:, 0], ids[b * L + 1 : (b + 1) * L + 1], keep[b * L : (b + 1) * L]
        )
        total, count = total + part[0], count + part[1]
    if rows * L < len(ids) - 1:
        logits, _ = loaded.engine.forward(ids[rows * L : -1].reshape(-1, 1), state)
        part = cross_entropy(logits[:, 0], ids[rows * L + 1 :], keep[rows * L :])
        total, count = total + part[0], count + part[1]
    assert metrics["tokens"] == count == int(keep.sum())
    assert metrics["loss"] == pytest.approx(total / count, rel=1e-10)
    assert metrics["bits_per_token"] == pytest.approx(metrics["loss"] / math.log(2))
    unseen = [c for c in dict.fromkeys(other.read_text()) if c not in TRAIN]
    assert metrics["unknown_tokens"] == unseen and metrics["unknown"] == int(
        (ids == Vocab.UNK_ID).sum()
    )
    assert metrics["unscored"] == int((~keep).sum()) > 0


def test_the_command_prints_one_json_object_with_the_unknown_count(run, capsys):
    other = run / "plain.txt"
    other.write_text("the dog jumps over the fox. " * 3)
    assert main(["evaluate", str(run / "run"), "--data", str(other), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["split"] == "data" and metrics["unknown"] == 0
    assert metrics["tokens"] == len(other.read_text()) - 1


def test_a_run_that_is_not_a_text_run_is_refused(run):
    class Counting:
        name, vocab, stateful = "anbn", None, False

    with pytest.raises(InputError, match="--data needs a text run"):
        evaluate_other_text(Counting(), None, run / "other.txt", 4)
