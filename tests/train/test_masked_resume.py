"""Bitwise resume holds with every regularising option on — the masked dropouts of
rnnlab.masks (their generator is part of the checkpoint's RNG state), AR and TAR in the
loss, and the weight average — in both engines."""

import os
import signal

import numpy as np
import pytest

from rnnlab.checkpoint import load_checkpoint
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import resume_run, start_run
from rnnlab.train.signals import Interrupted

MASKED = {"input_kind": "embedding", "embedding_dim": 12, "layers": 2, "dropout": 0.1,
          "embedding_dropout": 0.1, "input_dropout": 0.2, "locked_dropout": 0.3,
          "weight_drop": 0.4, "activation_reg": 2.0, "temporal_activation_reg": 1.0}  # fmt: skip
SMALL = {"hidden": 12, "eval_every": 10, "log_every": 5, "save_every": 10, "seq_len": 8,
         "batch_size": 4, "steps": 24}  # fmt: skip


class CtrlCAt:
    """A reporter that sends the process a real SIGINT after step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def start(self, trainer): ...
    def log(self, record): ...
    def stop(self, progress): ...
    def advance(self, progress):
        if progress.step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def settings_for(tmp_path, engine: str, **extra) -> dict:
    path = tmp_path / "text.txt"
    path.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    return {**SMALL, **MASKED, "engine": engine, "data": str(path), **extra}


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_resume_with_every_option_on_is_bitwise(tmp_path, engine):
    if engine == "torch":
        pytest.importorskip("torch")
    settings = settings_for(tmp_path, engine, ema_decay=0.9, schedule="cosine", warmup_steps=3)
    whole = start_run(*build_from_settings("chars", settings), tmp_path / "whole")
    with pytest.raises(Interrupted):
        start_run(*build_from_settings("chars", settings), tmp_path / "split",
                  reporter=CtrlCAt(9))  # fmt: skip
    assert "masks" in load_checkpoint(tmp_path / "split").state["rng"]
    resumed = resume_run(tmp_path / "split")
    assert resumed.progress.step == whole.progress.step == 24
    a, b = whole.engine.state_dict(), resumed.engine.state_dict()  # the averages
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    a, b = (load_checkpoint(tmp_path / run).state_tensors for run in ("whole", "split"))
    for name in a:  # the training weights, optimizer moments, carried state
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
