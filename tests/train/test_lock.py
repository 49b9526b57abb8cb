"""One trainer per run: the training lock, its stale-lock takeover, and the CLI around it."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from rnnlab.cli import main
from rnnlab.errors import CheckpointError
from rnnlab.train import lock as lock_module
from rnnlab.train.lock import LOCK_FILE, TrainingLock

HOLD = """
import sys, time
from rnnlab.train.lock import TrainingLock
with TrainingLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/run."""
    run = tmp_path / "run"
    run.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield run, proc
    proc.kill()
    proc.wait()


def test_a_held_lock_is_refused_with_the_holder_named(holder):
    run, proc = holder
    with pytest.raises(CheckpointError, match=rf"process {proc.pid} on {socket.gethostname()}"):
        TrainingLock(run).acquire()


def test_the_lock_of_a_killed_holder_is_taken_over_and_said_so(holder):
    run, proc = holder
    proc.kill()  # SIGKILL: no clean release, the record stays behind
    proc.wait()
    with TrainingLock(run) as lock:
        assert lock.took_over["pid"] == proc.pid
        assert f"process {proc.pid}" in lock.message() and "no longer running" in lock.message()
        assert json.loads((run / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert (run / LOCK_FILE).read_text() == "", "a clean release empties the record"
    with TrainingLock(run) as lock:
        assert lock.message() is None, "after a clean release nothing was stale"


def test_without_flock_the_record_decides(tmp_path, monkeypatch):
    monkeypatch.setattr(lock_module, "fcntl", None)
    run = tmp_path / "run"
    run.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {"pid": sleeper.pid, "host": socket.gethostname(), "started": "then"}
        (run / LOCK_FILE).write_text(json.dumps(record))
        with pytest.raises(CheckpointError, match=f"process {sleeper.pid}"):
            TrainingLock(run).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    with TrainingLock(run) as lock:  # the process is gone: a stale record
        assert lock.took_over["pid"] == sleeper.pid


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_a_lock_file_that_is_not_a_plain_file_is_refused(tmp_path, kind):
    run = tmp_path / "run"
    run.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("not yours")
    if kind == "symlink":
        (run / LOCK_FILE).symlink_to(target)
    elif kind == "fifo":
        os.mkfifo(run / LOCK_FILE)
    else:
        (run / LOCK_FILE).mkdir()
    with pytest.raises(CheckpointError, match="lock file"):
        TrainingLock(run).acquire()
    assert target.read_text() == "not yours"


# ---------------------------------------------------------------- through the CLI
TRAIN = ["train", "anbn", "--hidden", "8", "--eval-every", "5", "--save-every", "5",
         "--log-every", "5", "--quiet"]  # fmt: skip


def _files(run):
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}


def test_a_second_trainer_on_a_run_is_refused_and_changes_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*TRAIN, "--steps", "10", "--out", str(run)]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    code = "import sys; from rnnlab.cli import main; sys.exit(main(sys.argv[1:]))"
    trainer = subprocess.Popen(
        [sys.executable, "-c", code, "train", "--resume", str(run), "--steps", "100000",
         "--quiet"], env=env)  # fmt: skip
    try:
        deadline = time.time() + 60
        while time.time() < deadline and '"pid"' not in (run / LOCK_FILE).read_text():
            time.sleep(0.01)
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--steps", "200000", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"process {trainer.pid}" in err
        config = (run / "config.json").read_bytes()
        assert main([*TRAIN, "--cell", "gru", "--out", str(run), "--overwrite"]) == 2
        assert f"process {trainer.pid}" in capsys.readouterr().err
        assert (run / "config.json").read_bytes() == config, "--overwrite replaced nothing"
        assert main(["evaluate", str(run), "--json"]) == 0, "readers never need the lock"
    finally:
        trainer.send_signal(15)
        trainer.wait(timeout=60)
    assert trainer.returncode == 143
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records]
    assert steps == sorted(steps) and len(steps) == len(set(steps))
