"""probe.json: a record of the probe text's gates and a sample at every evaluation, bounded,
equal after an interrupted and resumed run, and never a reason for training to fail."""

import json
import os
import signal

import numpy as np
import pytest

from rnnlab.diagnostics.gates import split_gates
from rnnlab.train.options import build_from_settings
from rnnlab.train.probe_file import MAX_EVALS, PROBE_UNITS, probe_batch, thin, write_probe
from rnnlab.train.session import resume_run, start_run
from rnnlab.train.signals import Interrupted

SMALL = {"hidden": 12, "eval_every": 10, "log_every": 5, "save_every": 10, "steps": 30}
TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _chars(tmp_path, **extra):
    path = tmp_path / "text.txt"
    path.write_text(TEXT)
    return build_from_settings("chars", {**SMALL, "data": str(path), "seq_len": 8, **extra})


def _probe(run_dir):
    return json.loads((run_dir / "probe.json").read_text())


def test_every_evaluation_records_the_gates_of_the_probe_text_and_a_sample(tmp_path):
    task, spec, config = _chars(tmp_path)
    trainer = start_run(task, spec, config, tmp_path / "run")
    probe = _probe(trainer.run_dir)
    assert [e["step"] for e in probe["evals"]] == [10, 20, 30]
    batch = probe_batch(task, config.eval_batch_size)
    assert probe["tokens"] == [task.vocab.tokens[i] for i in batch.inputs[:, 0]]
    assert probe["gates"] == ["i", "f", "g", "o"] and probe["units"] == list(range(PROBE_UNITS))
    last = probe["evals"][-1]
    assert isinstance(last["sample"], str) and len(last["sample"]) > 20
    # The last record is the final weights' probe, rounded to 3 decimals.
    inside = trainer.engine.probe(batch)
    gates = split_gates(inside.gates[0], "lstm")
    for name in "ifgo":
        expected = gates[name][:, 0, :PROBE_UNITS]  # (T, U)
        np.testing.assert_allclose(last["gate_values"][name], expected, atol=5.1e-4)
    np.testing.assert_allclose(last["c"], inside.cells[0][:, 0, :PROBE_UNITS], atol=5.1e-4)


def test_an_interrupted_and_resumed_run_writes_the_same_probe_file(tmp_path):
    whole = start_run(*_chars(tmp_path), tmp_path / "whole")

    class CtrlC:
        def start(self, trainer): ...
        def log(self, record): ...
        def stop(self, progress): ...
        def advance(self, progress):
            if progress.step == 15:  # after the eval at 10, before the one at 20
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted):
        start_run(*_chars(tmp_path), tmp_path / "split", reporter=CtrlC())
    assert [e["step"] for e in _probe(tmp_path / "split")["evals"]] == [10]
    resume_run(tmp_path / "split")
    assert _probe(tmp_path / "split") == _probe(whole.run_dir)


def test_a_step_evaluated_again_replaces_its_record(tmp_path):
    task, spec, config = _chars(tmp_path)
    trainer = start_run(task, spec, config, tmp_path / "run")
    assert write_probe(trainer.run_dir, trainer.engine, task, 20, config.eval_batch_size)
    assert [e["step"] for e in _probe(trainer.run_dir)["evals"]] == [10, 20]  # 30 is gone too


def test_a_long_run_keeps_a_bounded_history_with_the_newest_last():
    evals = [{"step": s} for s in range(1, 500)]
    kept = thin(evals)
    assert len(kept) <= MAX_EVALS and kept[0]["step"] == 1 and kept[-1]["step"] == 499
    steps = [e["step"] for e in kept]
    assert steps == sorted(steps)
    assert thin(evals[:5]) == evals[:5]


def test_a_task_without_text_gets_gates_and_no_sample(tmp_path):
    task, spec, config = build_from_settings("copy", {**SMALL, "steps": 10, "delay": 3})
    trainer = start_run(task, spec, config, tmp_path / "copy")
    record = _probe(trainer.run_dir)["evals"][-1]
    assert "sample" not in record and set(record["gate_values"]) == set("ifgo")


def test_a_probe_file_linked_elsewhere_is_replaced_not_followed(tmp_path):
    task, spec, config = _chars(tmp_path)
    trainer = start_run(task, spec, config, tmp_path / "run")
    outside = tmp_path / "outside.json"
    outside.write_text("keep me")
    (trainer.run_dir / "probe.json").unlink()
    os.symlink(outside, trainer.run_dir / "probe.json")
    assert write_probe(trainer.run_dir, trainer.engine, task, 40, config.eval_batch_size)
    assert outside.read_text() == "keep me"
    assert not (trainer.run_dir / "probe.json").is_symlink()


def test_a_probe_that_fails_never_stops_training(tmp_path, monkeypatch):
    task, spec, config = _chars(tmp_path)
    from rnnlab.numpy.engine import NumpyEngine

    def broken(self, batch):
        raise RuntimeError("the probe broke")

    monkeypatch.setattr(NumpyEngine, "probe", broken)
    trainer = start_run(task, spec, config, tmp_path / "run")
    assert trainer.progress.step == 30
    assert all("gate_values" not in e for e in _probe(trainer.run_dir)["evals"])  # samples only
