"""Runs written before the regularisation options existed (their config.json lacks the
ModelSpec fields embedding_dropout, input_dropout, locked_dropout, weight_drop,
activation_reg, temporal_activation_reg and the TrainConfig fields anneal_over, ema_decay)
load, resume bit for bit as they always would have, keep annealing over their steps, and
may turn the weight average on when resumed."""

import numpy as np
import pytest

from rnnlab.checkpoint import load_checkpoint, save_checkpoint
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import load_run, resume_run, start_run
from rnnlab.train.signals import Interrupted
from tests.train.test_masked_resume import CtrlCAt

NEW_MODEL = ("embedding_dropout", "input_dropout", "locked_dropout", "weight_drop",
             "activation_reg", "temporal_activation_reg")  # fmt: skip
NEW_TRAIN = ("anneal_over", "ema_decay")
SETTINGS = {"hidden": 10, "seq_len": 8, "batch_size": 4, "eval_every": 5, "save_every": 5,
            "log_every": 5, "schedule": "cosine", "max_time": 3600.0, "dropout": 0.2}  # fmt: skip


def as_old_run(run) -> None:
    """Rewrite a run's config.json as the code before these options wrote it."""
    ck = load_checkpoint(run)
    config = {k: v for k, v in ck.config.items() if k != "format_version"}
    config["model"] = {k: v for k, v in config["model"].items() if k not in NEW_MODEL}
    config["train"] = {k: v for k, v in config["train"].items() if k not in NEW_TRAIN}
    save_checkpoint(run, model=ck.model, state_tensors=ck.state_tensors, state=ck.state,
                    best=ck.best, config=config)  # fmt: skip


def test_an_old_run_resumes_bitwise_with_the_step_schedule(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("pack my box with five dozen liquor jugs. " * 40)
    settings = {**SETTINGS, "data": str(text), "steps": 20}
    whole = start_run(*build_from_settings("chars", {**settings, "anneal_over": "steps"}),
                      tmp_path / "w")  # fmt: skip
    with pytest.raises(Interrupted):
        start_run(*build_from_settings("chars", settings), tmp_path / "old", reporter=CtrlCAt(10))
    as_old_run(tmp_path / "old")
    assert "ema_decay" not in load_checkpoint(tmp_path / "old").config["train"]
    loaded = load_run(tmp_path / "old")
    assert loaded.config.anneal_over == "steps" and not loaded.config.anneals_over_time
    assert not loaded.spec.masked and not loaded.spec.penalises_activations
    resumed = resume_run(tmp_path / "old")
    a, b = whole.engine.state_dict(), resumed.engine.state_dict()
    assert resumed.progress.step == 20
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=0, err_msg=name)


def test_an_old_run_can_turn_the_average_on_when_resumed(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("pack my box with five dozen liquor jugs. " * 40)
    settings = {**SETTINGS, "data": str(text), "steps": 10}
    start_run(*build_from_settings("chars", settings), tmp_path / "old")
    as_old_run(tmp_path / "old")
    resumed = resume_run(tmp_path / "old", {"steps": 16, "ema_decay": 0.9})
    ck = load_checkpoint(tmp_path / "old")
    assert ck.state["average"] == {"decay": 0.9, "updates": 6}
    assert resumed.progress.step == 16
