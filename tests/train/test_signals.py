"""Signals during training: a step is atomic, the run is saved, the exit code tells which.

Before signals were deferred, a Ctrl-C could land between Adam's update of its moments and
of the weights and be saved as a half-made step, and SIGTERM/SIGHUP killed the process
without a save. These tests send real signals.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

from rnnlab.checkpoint import load_checkpoint
from rnnlab.train import resume_state as saving_module
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import resume_run, start_run
from rnnlab.train.signals import Interrupted, deferred_signals

SETTINGS = {"hidden": 8, "steps": 30, "eval_every": 10, "log_every": 5, "save_every": 10}


class AtStep:
    """A reporter that calls ``action`` once the trainer reaches ``step``."""

    def __init__(self, step, action):
        self.step, self.action = step, action

    def start(self, trainer):
        self.trainer = trainer

    def log(self, record): ...
    def stop(self, progress): ...

    def advance(self, progress):
        if progress.step == self.step:
            self.action(self.trainer)


def test_deferred_signals_are_noted_and_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with deferred_signals() as note:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert note.signum == signal.SIGTERM and note.count == 2  # the first one counts
    assert signal.getsignal(signal.SIGTERM) is before


def test_ctrl_c_inside_the_optimizer_update_saves_a_whole_step(tmp_path):
    """The interrupt arrives while Adam is updating: the update completes, and the saved
    step count agrees with the optimizer's own (state.json step 12, optimizer step 12)."""
    task, spec, config = build_from_settings("anbn", SETTINGS)
    whole = start_run(task, spec, config, tmp_path / "whole")

    def interrupt_mid_update(trainer):
        optimizer = trainer.engine.optimizer
        real = optimizer.step

        def step(grads):
            os.kill(os.getpid(), signal.SIGINT)  # Python runs handlers between bytecodes
            real(grads)

        optimizer.step = step

    with pytest.raises(Interrupted):
        start_run(*build_from_settings("anbn", SETTINGS), tmp_path / "cut",
                  reporter=AtStep(11, interrupt_mid_update))  # fmt: skip
    state = load_checkpoint(tmp_path / "cut").state
    assert state["step"] == 12 and state["optimizer"]["step"] == 12
    resumed = resume_run(tmp_path / "cut")
    for name, value in whole.engine.state_dict().items():
        np.testing.assert_array_equal(value, resumed.engine.state_dict()[name], err_msg=name)


def test_a_second_ctrl_c_while_saving_does_not_break_the_save(tmp_path, monkeypatch):
    real_save = saving_module.save_checkpoint

    def save_twice_interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C again, mid-save
        real_save(*args, **kwargs)

    def first_ctrl_c(trainer):
        os.kill(os.getpid(), signal.SIGINT)
        monkeypatch.setattr(saving_module, "save_checkpoint", save_twice_interrupted)

    with pytest.raises(Interrupted) as stopped:
        start_run(*build_from_settings("anbn", SETTINGS), tmp_path / "r",
                  reporter=AtStep(7, first_ctrl_c))  # fmt: skip
    assert stopped.value.step == 7
    assert load_checkpoint(tmp_path / "r").state["step"] == 7
    assert not (tmp_path / "r" / ".pending").exists()


ARGS = ["--hidden", "16", "--seq-len", "8", "--batch-size", "4", "--eval-every", "1000",
        "--save-every", "1000", "--log-every", "5", "--quiet"]  # fmt: skip


def _cli(*args) -> list[str]:
    code = "import sys; from rnnlab.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, *args]


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)]
)
def test_a_signalled_trainer_saves_exits_with_its_code_and_resumes_bitwise(tmp_path, signum, code):
    text = tmp_path / "text.txt"
    text.write_text("".join(chr(97 + (i * 7919) % 26) + " " * (i % 4 == 0) for i in range(4000)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    data = ["chars", "--data", str(text), *ARGS, "--steps", "600"]
    run = tmp_path / "cut"
    victim = subprocess.Popen(
        _cli("train", *data, "--out", str(run)), env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 60
    while time.time() < deadline and victim.poll() is None:  # signal it mid-run
        lines = (run / "metrics.jsonl").read_text() if (run / "metrics.jsonl").exists() else ""
        if lines.count("\n") >= 4:
            break
        time.sleep(0.01)
    victim.send_signal(signum)
    _, stderr = victim.communicate(timeout=60)
    assert victim.returncode == code, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert f"--resume {run}" in stderr
    state = json.loads((run / "state.json").read_text())
    assert 20 <= state["step"] < 600, "the signal lands mid-run, and the work is saved"
    assert state["optimizer"]["step"] == state["step"]

    subprocess.run(_cli("train", "--resume", str(run), "--quiet"), env=env, check=True)
    subprocess.run(_cli("train", *data, "--out", str(tmp_path / "whole")), env=env, check=True)
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(run / "model.safetensors"))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_signal_while_the_run_loads_stops_it_before_its_first_step(tmp_path, monkeypatch):
    """Signals are deferred from the moment a session holds the lock: one that arrives while
    the checkpoint loads is not lost and does not kill; the loop stops before training."""
    with pytest.raises(Interrupted):
        start_run(*build_from_settings("anbn", SETTINGS), tmp_path / "r",
                  reporter=AtStep(10, lambda t: os.kill(os.getpid(), signal.SIGTERM)))  # fmt: skip
    from rnnlab.train import session

    real_load = session.load_run

    def load_then_signal(*args, **kwargs):
        loaded = real_load(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGHUP)
        return loaded

    monkeypatch.setattr(session, "load_run", load_then_signal)
    before = (tmp_path / "r" / "state.json").read_bytes()
    with pytest.raises(Interrupted) as stopped:
        resume_run(tmp_path / "r")
    assert stopped.value.exit_code == 129 and stopped.value.step == 10
    assert (tmp_path / "r" / "state.json").read_bytes() == before, "nothing new to save"
