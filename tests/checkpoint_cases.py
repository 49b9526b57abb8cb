"""Small checkpoints, and the tools to damage and to kill their savers, shared by the tests
of the checkpoint format (test_checkpoint.py, test_checkpoint_checks.py), of the
atomic-file layer beneath it (test_run_files.py, test_journal.py, test_atomic_write.py)
and by test_run_dir_fuzz.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from rnnlab.checkpoint import load_checkpoint, save_checkpoint, write_config, write_vocab
from rnnlab.errors import CheckpointError
from rnnlab.run_files import sha256_file

CONFIG = {"model": {"cell": "lstm", "hidden_size": 2}, "train": {"lr": 0.01}, "task": {}}
SHAPES = {
    "rnn.weight_ih_l0": (8, 3),
    "rnn.weight_hh_l0": (8, 2),
    "rnn.bias_ih_l0": (8,),
    "rnn.bias_hh_l0": (8,),
    "head.weight": (5, 2),
    "head.bias": (5,),
}


def filled_weights(value: float, dtype=np.float32) -> dict[str, np.ndarray]:
    return {name: np.full(shape, value, dtype) for name, shape in SHAPES.items()}


def save_step(run: Path, step: int, *, best: bool = True) -> None:
    """A checkpoint in which every array holds the value ``step``."""
    save_checkpoint(
        run,
        model=filled_weights(step),
        state_tensors={"adam.m.rnn.weight_ih_l0": np.full((8, 3), step, np.float64)},
        state={"step": step, "epoch": step // 10},
        best=filled_weights(step) if best else None,
    )


def new_run(tmp_path: Path, step: int = 1) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    write_config(run, CONFIG)
    save_step(run, step)
    return run


def step_of(run: Path) -> int:
    """Load the run and return its step, after checking every array agrees with it."""
    ck = load_checkpoint(run, expected_shapes=SHAPES)
    step = ck.state["step"]
    for what, tensors in [("model", ck.model), ("state", ck.state_tensors), ("best", ck.best)]:
        for name, value in tensors.items():
            assert np.all(value == step), f"{what} {name} is from another step than {step}"
    return step


def error_of(call, *args, **kwargs) -> str:
    """The CheckpointError message of call(...), which must be one line."""
    with pytest.raises(CheckpointError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    return message


class Crash(BaseException):
    """Stands for the process dying: no `except Exception` may swallow it."""


@contextlib.contextmanager
def crash_after(monkeypatch, name: str, k: int):
    """Make os.<name> raise Crash after k successful calls; yields the list of calls made."""
    real = getattr(os, name)
    calls = []

    def flaky(*args, **kwargs):
        if len(calls) >= k:
            raise Crash(f"os.{name} call {k}")
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, flaky)
    try:
        yield calls
    finally:
        monkeypatch.setattr(os, name, real)


def tree_of(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root`` (links not followed): path -> bytes, link target or kind."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = str(path.relative_to(root))
            if path.is_symlink():
                out[key] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                out[key] = "dir"
            elif path.is_file():
                out[key] = path.read_bytes()
            else:
                out[key] = "special"
    return out


class _Hung(BaseException):
    """Raised in the main thread when a call takes too long (not an OSError: no rnnlab
    ``except OSError`` may turn it into a CheckpointError)."""


@contextlib.contextmanager
def within(seconds: float):
    """Fail, instead of hanging the suite, if the block (main thread) outlasts ``seconds``.

    A timer thread sends SIGALRM to the main thread itself: signal.alarm's signal may reach
    another thread (pytest-xdist runs some), which leaves a blocking open() of a FIFO
    waiting. The handler raises _Hung out of the interrupted system call.
    """

    def expire(signum, frame):
        raise _Hung(f"still running after {seconds} s")

    main = threading.main_thread().ident
    previous = signal.signal(signal.SIGALRM, expire)
    timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGALRM))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGALRM, previous)


def run_with_vocab(tmp_path: Path) -> Path:
    """A checkpoint with a vocabulary, in tmp_path/parent/run."""
    (tmp_path / "parent").mkdir()
    run = tmp_path / "parent" / "run"
    run.mkdir()
    write_config(run, CONFIG)
    write_vocab(run, {"tokens": ["a"]})
    save_step(run, 1)
    return run


def rehash(run: Path, name: str) -> None:
    """Record the file's current sha256 in state.json: a crafted run, not a damaged one."""
    state = json.loads((run / "state.json").read_text())
    state["sha256"][name] = sha256_file(run / name)
    (run / "state.json").write_text(json.dumps(state))
