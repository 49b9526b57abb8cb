"""``benchmarks/plain_char_lstm.py``, the plain PyTorch reference of the presets: its
chunked, state-carrying validation loss is one pass over each whole row, its split is
rnnlab's chars split, and a run prints what it says."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "plain_char_lstm.py"
TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _script():
    spec = importlib.util.spec_from_file_location("plain_char_lstm", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_chunked_evaluation_with_the_state_carried_is_one_pass_over_each_row():
    plain = _script()
    torch.manual_seed(0)
    model = plain.CharLSTM(vocab=7, embedding=5, hidden=6, layers=2, dropout=0.3).double()
    ids = torch.randint(0, 7, (203,))
    inputs, targets = plain.rows(ids, 4)  # (L, B) = (50, 4)
    assert inputs.shape == (50, 4) and torch.equal(inputs[1:], targets[:-1])
    chunked = plain.evaluate(model, inputs, targets, seq_len=7)  # 7 does not divide 50
    assert model.training  # evaluate() puts the model back into training mode
    model.eval()
    with torch.no_grad():
        logits, _ = model(inputs)  # every row in one pass, no chunks
        whole = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
    assert chunked == pytest.approx(whole.item(), rel=1e-12)


def test_its_rows_and_split_are_those_of_rnnlabs_chars_task(tmp_path):
    from rnnlab.tasks import build_task

    plain = _script()
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    task = build_task("chars", {"data": str(path), "seq_len": 10})
    val = task.ids["val"]
    chars = sorted(set(TEXT))
    ids = torch.tensor([chars.index(c) for c in TEXT])
    n = len(ids)
    plain_val = ids[int(0.9 * n) : int(0.95 * n)]
    assert "".join(chars[i] for i in plain_val) == task.vocab.decode(list(val))
    inputs, targets = plain.rows(plain_val, 4)
    stream = task.stream("val", 4)
    rnnlab_inputs, rnnlab_targets = stream.batch(0)  # (T, B) of the first chunk
    to_text = lambda a: ["".join(chars[i] for i in col) for col in np.asarray(a).T]  # noqa: E731
    from_rnnlab = lambda a: ["".join(task.vocab.decode(list(col))) for col in np.asarray(a).T]  # noqa: E731
    assert to_text(inputs[:10]) == from_rnnlab(rnnlab_inputs)
    assert to_text(targets[:10]) == from_rnnlab(rnnlab_targets)


def test_a_short_run_prints_its_evaluations_and_the_best(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(path), "--hidden", "16", "--layers", "2",
         "--embedding-dim", "8", "--batch-size", "4", "--seq-len", "20", "--max-steps", "6",
         "--eval-every", "3", "--eval-batch-size", "2", "--threads", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line.get("step") for line in lines[:-1]] == [3, 6]
    best = lines[-1]
    assert best["steps"] == 6
    assert best["best_val_nats"] == min(line["val_nats"] for line in lines[:-1])
    assert best["best_val_bits"] == pytest.approx(best["best_val_nats"] / np.log(2))
