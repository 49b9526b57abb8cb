"""The training loop: it learns, logs, evaluates, keeps the best weights, stops when told,
refuses to apply a diverging step, and resumes bitwise (also after a real SIGKILL)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from rnnlab.checkpoint import load_checkpoint, write_config
from rnnlab.train.options import build_from_settings
from rnnlab.train.run_dir import MetricsLog
from rnnlab.train.session import resume_run, start_run
from rnnlab.train.signals import Interrupted
from rnnlab.train.trainer import Diverged, Trainer

SMALL = {"hidden": 12, "eval_every": 10, "log_every": 5, "save_every": 10}


def _train(tmp_path, task, name="run", **settings):
    task, spec, config = build_from_settings(task, {**SMALL, **settings})
    return start_run(task, spec, config, tmp_path / name)


def test_counting_task_learns_and_logs(tmp_path):
    trainer = _train(tmp_path, "anbn", steps=120, lr=0.02)
    records = MetricsLog(trainer.run_dir).read()
    assert [r["step"] for r in records if "loss" in r] == list(range(5, 121, 5))
    evals = [r for r in records if "val_loss" in r]
    assert len(evals) == 12 and all("optimal_loss" in r for r in evals)
    assert records[-1]["loss"] < 0.6 * records[0]["loss"]
    assert evals[-1]["val_deterministic_accuracy"] == 1.0
    ckpt = load_checkpoint(trainer.run_dir)
    assert ckpt.state["step"] == 120 and ckpt.best is not None
    assert ckpt.state["best_val"] == min(r["val_loss"] for r in evals)


def test_diverging_step_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    task, spec, config = build_from_settings("anbn", {**SMALL, "steps": 40})
    from rnnlab.engine import build_engine

    engine = build_engine(spec, "numpy", **config.engine_options())
    real_step = engine.train_step

    def poisoned(batch, state=None):
        result = real_step(batch, state)
        if trainer.progress.step == 13:  # the 14th step blows up
            return result._replace(loss=float("nan"), updated=False)
        return result

    (tmp_path / "run").mkdir()
    write_config(tmp_path / "run", {"model": spec.to_dict()})
    trainer = Trainer(engine, task, config, tmp_path / "run")
    monkeypatch.setattr(engine, "train_step", poisoned)
    with pytest.raises(Diverged, match="diverged at step 14"):
        trainer.fit()
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.state["step"] == 10, "the checkpoint of step 10 is kept, nothing after it"


def test_early_stopping_and_max_time(tmp_path):
    trainer = _train(tmp_path, "anbn", "a", steps=400, lr=1e-9, early_stopping=2, eval_every=5)
    assert trainer.progress.stop_reason.startswith("early stopping")
    assert trainer.progress.step < 400
    trainer = _train(tmp_path, "anbn", "b", steps=100000, max_time=0.5)
    assert "max-time" in trainer.progress.stop_reason
    assert load_checkpoint(tmp_path / "b").state["step"] == trainer.progress.step


@pytest.mark.parametrize(
    ("task", "extra"),
    [
        ("anbnan", {"layers": 2, "dropout": 0.3}),  # dropout RNG state must resume
        ("chars", {"seq_len": 8, "batch_size": 4, "schedule": "cosine"}),  # carried state
    ],
)
def test_resume_after_ctrl_c_is_bitwise(tmp_path, task, extra):
    """Ctrl-C at step 12 of 30 saves a checkpoint; --resume then ends where an
    uninterrupted run ends, bit for bit (dropout RNG, carried state, cosine schedule)."""
    if task == "chars":
        path = tmp_path / "text.txt"
        path.write_text("the quick brown fox jumps over the lazy dog. " * 40)
        extra = {**extra, "data": str(path)}
    whole = _train(tmp_path, task, "whole", steps=30, **extra)

    class CtrlC:
        def start(self, trainer): ...
        def log(self, record): ...
        def stop(self, progress): ...
        def advance(self, progress):
            if progress.step == 12:  # a real SIGINT, as a terminal's Ctrl-C sends it
                os.kill(os.getpid(), signal.SIGINT)

    built = build_from_settings(task, {**SMALL, "steps": 30, **extra})
    with pytest.raises(Interrupted) as stopped:
        start_run(*built, tmp_path / "split", reporter=CtrlC())
    assert stopped.value.exit_code == 130 and stopped.value.step == 12
    assert load_checkpoint(tmp_path / "split").state["step"] == 12
    resumed = resume_run(tmp_path / "split")
    assert resumed.progress.step == 30
    a, b = whole.engine.state_dict(), resumed.engine.state_dict()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    steps = [r["step"] for r in MetricsLog(tmp_path / "split").read()]
    assert steps == sorted(set(steps)), "metrics are not duplicated by the resume"


KILL_ARGS = ["--hidden", "48", "--layers", "2", "--dropout", "0.2", "--seq-len", "16",
             "--batch-size", "8", "--steps", "700", "--save-every", "7", "--eval-every", "100",
             "--log-every", "50", "--quiet"]  # fmt: skip


def _cli(*args) -> list[str]:
    code = "import sys; from rnnlab.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, *args]


def test_resume_after_a_real_kill_is_bitwise(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("".join(chr(97 + (i * 7919) % 26) + " " * (i % 5 == 0) for i in range(6000)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    data = ["chars", "--data", str(text), *KILL_ARGS]
    subprocess.run(_cli("train", *data, "--out", str(tmp_path / "whole")), env=env, check=True)

    victim = subprocess.Popen(_cli("train", *data, "--out", str(tmp_path / "killed")), env=env)
    state = tmp_path / "killed" / "state.json"
    deadline = time.time() + 60
    while time.time() < deadline:  # kill once a few checkpoints exist, mid-run
        try:
            if json.loads(state.read_text())["step"] >= 140:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.002)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = json.loads(state.read_text())["step"]
    assert 140 <= killed_at < 700, f"the kill must land mid-run (checkpoint at {killed_at})"

    subprocess.run(
        _cli("train", "--resume", str(tmp_path / "killed"), "--quiet"), env=env, check=True
    )
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert not Path(tmp_path / "killed" / ".pending").exists()


def test_a_limit_the_user_gives_is_not_cut_by_a_task_default(tmp_path):
    """chars defaults to 5 epochs; an explicit --steps beyond them is what trains."""
    path = tmp_path / "text.txt"
    path.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    settings = {"data": str(path), "seq_len": 8, "batch_size": 4, "steps": 300, **SMALL}
    task, _, config = build_from_settings("chars", settings)
    trainer = Trainer(None, task, config, tmp_path)
    assert 5 * trainer.batches_per_epoch < 300, "the default epochs would stop it sooner"
    assert trainer.total_steps == 300 and trainer.limit() == "--steps 300"
    both = build_from_settings("chars", {**settings, "epochs": 1, "max_time": 60})[2]
    trainer = Trainer(None, task, both, tmp_path)
    assert trainer.total_steps == trainer.batches_per_epoch
    assert trainer.limit() == (
        "--epochs 1, before --steps 300 (300 steps), or --max-time 60s if that comes first"
    )


def test_stop_when_solved_stops_at_the_first_solved_evaluation(tmp_path):
    """The run ends at the first evaluation whose metrics the task calls solved, saved with
    the reason; without the option it trains on to its planned steps."""
    from rnnlab.run_files import STATE_FILE
    from rnnlab.train.options import build_from_settings
    from rnnlab.train.session import start_run

    settings = {"cell": "rnn", "delay": 1, "hidden": 16, "steps": 1000, "eval_every": 50}
    task, spec, config = build_from_settings("copy", {**settings, "stop_when_solved": True})
    trainer = start_run(task, spec, config, tmp_path / "solved")
    step = trainer.progress.step
    assert trainer.progress.stop_reason == "solved" and step < 1000 and step % 50 == 0
    assert task.evaluate(trainer.engine, "val")["sequence_accuracy"] == 1.0
    state = json.loads((tmp_path / "solved" / STATE_FILE).read_text())
    assert (state["step"], state["stop_reason"]) == (step, "solved")
    records = [json.loads(line) for line in (tmp_path / "solved" / "metrics.jsonl").open()]
    solved_at = [r["step"] for r in records if r.get("val_sequence_accuracy") == 1.0]
    assert solved_at[0] == step  # not one evaluation later

    task, spec, config = build_from_settings("copy", {**settings, "steps": step + 100})
    trainer = start_run(task, spec, config, tmp_path / "on")
    assert trainer.progress.step == step + 100
