"""``rnnlab train --tensorboard``: event files read back with TensorBoard's own reader.

The reader is ``plugin_event_accumulator.EventAccumulator``, the one TensorBoard's server
loads runs with, so what these tests see is what TensorBoard shows: the scalars are
metrics.jsonl's numbers, every parameter has a weight and a gradient histogram, the gates
and the sample are there, a resumed run adds a file that continues (and hides what the
earlier session logged after its checkpoint), and training itself is bit for bit the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.engine import build_engine
from rnnlab.run_files import is_run_file
from rnnlab.train.session import load_run
from rnnlab.train.tensorboard_log import TensorBoardLog, scalar_tag

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.plugin_event_accumulator import (
    EventAccumulator,
)
from tensorboard.util.tensor_util import make_ndarray

TEXT = "It was the best of times, it was the worst of times, it was the age of wisdom.\n" * 4
TINY = ["--seq-len", "8", "--batch-size", "2", "--hidden", "6", "--threads", "1", "--quiet"]
TINY += ["--log-every", "2", "--eval-every", "3", "--save-every", "3"]
EVENTS = "events.out.tfevents.*"


@pytest.fixture
def text(tmp_path) -> Path:
    path = tmp_path / "text.txt"
    path.write_text(TEXT)
    return path


def train(text: Path, out: Path, *extra: str) -> int:
    return main(["train", "chars", "--data", str(text), *TINY, "--out", str(out), *extra])


def read_events(run: Path) -> EventAccumulator:
    events = EventAccumulator(str(run), size_guidance={"tensors": 0})  # keep every event
    events.Reload()
    return events


def series(events: EventAccumulator, tag: str) -> dict[int, np.ndarray]:
    """step -> the value TensorBoard holds for ``tag`` at that step."""
    return {e.step: make_ndarray(e.tensor_proto) for e in events.Tensors(tag)}


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def assert_scalars_are_the_metrics(run: Path) -> None:
    events, records = read_events(run), metrics(run)
    expected: dict[str, dict[int, float]] = {}
    for record in records:
        for key, value in record.items():
            if key != "step":
                expected.setdefault(scalar_tag(key), {})[record["step"]] = value
    tags = set(events.Tags()["tensors"])
    assert {"train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s"} <= tags
    assert {"val/loss", "val/accuracy", "val/bits_per_token"} <= tags
    for tag, values in expected.items():
        logged = series(events, tag)
        assert sorted(logged) == sorted(values), f"{tag}: steps {sorted(logged)}"
        for step, value in values.items():
            assert logged[step] == np.float32(value), f"{tag} at step {step}"


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_scalars_equal_metrics_jsonl_and_every_parameter_has_histograms(engine, text, tmp_path):
    if engine == "torch":
        pytest.importorskip("torch")
    run = tmp_path / "run"
    assert train(text, run, "--steps", "6", "--engine", engine, "--tensorboard") == 0
    assert len(list(run.glob(EVENTS))) == 1
    assert_scalars_are_the_metrics(run)

    events = read_events(run)
    evaluated = [r["step"] for r in metrics(run) if "val_loss" in r]
    assert evaluated == [3, 6]
    names = load_run(run).engine.state_dict()
    for kind in ("weights", "gradients"):
        for name, value in names.items():
            buckets = series(events, f"{kind}/{name}")
            assert sorted(buckets) == evaluated, f"{kind}/{name}"
            assert buckets[6].shape == (30, 3) and buckets[6][:, 2].sum() == value.size
    for gate in ("i", "f", "g", "o"):  # the default cell is an LSTM
        assert sorted(series(events, f"gates/l0/{gate}")) == evaluated
    sigmoid = series(events, "gates/l0/f")[6]
    assert 0 <= sigmoid[0, 0] and sigmoid[-1, 1] <= 1  # gate activations, not pre-activations

    sample = series(events, "sample")[6].item().decode("utf-8")
    dashboard = json.loads((run / "probe.json").read_text())["evals"][-1]
    assert dashboard["step"] == 6
    assert sample == "\n".join("    " + line for line in dashboard["sample"].split("\n"))


def test_the_weight_histograms_are_of_the_saved_weights(text, tmp_path):
    run = tmp_path / "run"
    assert train(text, run, "--steps", "6", "--tensorboard") == 0
    events = read_events(run)
    for name, value in load_run(run).engine.state_dict().items():
        buckets = series(events, f"weights/{name}")[6]  # (30, 3): left, right, count
        assert buckets[0, 0] == value.min() and buckets[-1, 1] == value.max(), name


def test_the_gradient_histograms_are_of_the_last_training_batch(text, tmp_path):
    run = tmp_path / "run"
    assert train(text, run, "--steps", "6", "--tensorboard") == 0
    loaded = load_run(run)
    # the batch of step 6, at the weights it produced, in float64 as the log computes it
    copy = build_engine(loaded.spec, "numpy", seed=0)
    copy.load_state_dict(loaded.engine.state_dict())
    batch = loaded.task.batch("train", 5, loaded.config.batch_size, 0)
    _, grads, _, _ = copy.loss_and_grads(batch, None, train=False)
    events = read_events(run)
    for name, grad in grads.items():
        buckets = series(events, f"gradients/{name}")[6]
        assert np.isclose(buckets[0, 0], grad.min()) and np.isclose(buckets[-1, 1], grad.max())


def test_a_resumed_run_appends_a_second_event_file_that_continues(text, tmp_path):
    run = tmp_path / "run"
    assert train(text, run, "--steps", "6", "--tensorboard") == 0
    first = set(run.glob(EVENTS))
    assert main(["train", "--resume", str(run), "--steps", "12", "--quiet", "--threads", "1"]) == 0
    files = set(run.glob(EVENTS))
    assert len(files) == 2 and first < files  # the first session's file is kept as it was
    assert [r["step"] for r in metrics(run) if "val_loss" in r] == [3, 6, 9, 12]
    assert_scalars_are_the_metrics(run)  # steps 1-12, each once, as metrics.jsonl has them


def test_a_restart_hides_what_the_last_session_logged_after_its_checkpoint(tmp_path):
    """A killed session logged steps 1-6 but saved at step 4; the next one continues from 4."""
    first = TensorBoardLog(tmp_path, 0)
    for step in range(1, 7):
        first.scalars({"step": step, "loss": 1.0})
    first.close()
    second = TensorBoardLog(tmp_path, 4)
    for step in range(5, 9):
        second.scalars({"step": step, "loss": 2.0})
    second.close()
    logged = series(read_events(tmp_path), "train/loss")
    assert logged == {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 2.0, 6: 2.0, 7: 2.0, 8: 2.0}


def test_tensorboard_leaves_training_bit_for_bit_the_same_and_resumes_bitwise(text, tmp_path):
    dropout = ["--layers", "2", "--dropout", "0.3"]  # the dropout generators must stay as they are
    plain, logged, resumed = tmp_path / "plain", tmp_path / "logged", tmp_path / "resumed"
    assert train(text, plain, "--steps", "8", *dropout) == 0
    assert train(text, logged, "--steps", "8", *dropout, "--tensorboard") == 0
    assert train(text, resumed, "--steps", "4", *dropout, "--tensorboard") == 0
    assert (
        main(["train", "--resume", str(resumed), "--steps", "8", "--quiet", "--threads", "1"]) == 0
    )
    weights = (run / "model.safetensors" for run in (plain, logged, resumed))
    first = next(weights).read_bytes()
    assert all(w.read_bytes() == first for w in weights)
    assert not list(plain.glob(EVENTS))  # the option off writes no event file
    assert json.loads((resumed / "config.json").read_text())["train"]["tensorboard"] is True


def test_event_files_are_files_of_a_run_and_overwrite_removes_them(text, tmp_path):
    run = tmp_path / "run"
    assert train(text, run, "--steps", "3", "--tensorboard") == 0
    assert all(is_run_file(path.name) for path in run.glob(EVENTS))
    assert train(text, run, "--steps", "3", "--overwrite") == 0
    assert not list(run.glob(EVENTS))  # no stale curves under a new run's name


def _without_tensorboard(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)


def test_without_the_package_tensorboard_is_one_line_and_exit_2(
    text, tmp_path, monkeypatch, capsys
):
    _without_tensorboard(monkeypatch)
    run = tmp_path / "run"
    assert train(text, run, "--steps", "3", "--tensorboard") == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: --tensorboard needs the tensorboard package")
    assert err.count("\n") == 1 and 'pip install "tensorboard>=2.16"' in err
    assert not run.exists()  # refused before the run directory was made


def test_resuming_a_tensorboard_run_without_the_package_is_exit_2(
    text, tmp_path, monkeypatch, capsys
):
    run = tmp_path / "run"
    assert train(text, run, "--steps", "3", "--tensorboard") == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.name != "train.lock"}
    _without_tensorboard(monkeypatch)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "6", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: --tensorboard needs") and err.count("\n") == 1
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.name != "train.lock"}
    assert after == before  # the run is as it was


def test_a_run_without_the_flag_needs_no_tensorboard(text, tmp_path, monkeypatch):
    _without_tensorboard(monkeypatch)
    assert train(text, tmp_path / "run", "--steps", "3") == 0
