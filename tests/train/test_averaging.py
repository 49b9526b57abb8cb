"""Weight averaging (--ema-decay): the average's closed form, evaluation and the saved model
use it, an interrupted run resumes it bit for bit, and runs without it are untouched."""

import numpy as np
import pytest

from rnnlab.checkpoint import load_checkpoint
from rnnlab.train.averaging import WEIGHTS_PREFIX, WeightAverage
from rnnlab.train.options import build_from_settings
from rnnlab.train.run_dir import MetricsLog
from rnnlab.train.session import load_run, resume_run, start_run
from rnnlab.train.signals import Interrupted
from tests.train.test_masked_resume import MASKED, SMALL, CtrlCAt, settings_for


def test_the_average_follows_its_closed_form_with_the_early_ramp():
    average = WeightAverage(0.5)
    thetas = [np.array([1.0, -2.0]), np.array([3.0, 0.0]), np.array([5.0, 4.0])]
    expected = thetas[0].copy()  # θ̄_1 = θ_1
    for n, theta in enumerate(thetas):
        average.update({"w": theta})
        if n:  # β = min(0.5, (1 + n)/(10 + n)): 2/11, then 3/12
            beta = min(0.5, (1 + n) / (10 + n))
            expected = beta * expected + (1 - beta) * theta
        np.testing.assert_allclose(average.weights["w"], expected, rtol=1e-15)
    assert average.updates == 3 and average.state() == {"decay": 0.5, "updates": 3}
    assert WeightAverage(0.999).beta() == pytest.approx(0.1)  # the first steps weigh little
    with pytest.raises(ValueError, match=r"decay must be in \(0, 1\)"):
        WeightAverage(1.0)


def test_resume_with_the_average_is_bitwise_and_the_saved_model_is_the_average(tmp_path):
    settings = settings_for(tmp_path, "numpy", ema_decay=0.9)  # torch: test_masked_resume
    whole = start_run(*build_from_settings("chars", settings), tmp_path / "whole")
    with pytest.raises(Interrupted):
        start_run(*build_from_settings("chars", settings), tmp_path / "split",
                  reporter=CtrlCAt(13))  # fmt: skip
    resumed = resume_run(tmp_path / "split")
    assert resumed.progress.step == whole.progress.step == 24
    a, b = load_checkpoint(tmp_path / "whole"), load_checkpoint(tmp_path / "split")
    assert a.state["average"] == b.state["average"] == {"decay": 0.9, "updates": 24}
    for name in a.model:  # the average, and the training weights beside it
        np.testing.assert_array_equal(a.model[name], b.model[name], err_msg=name)
        np.testing.assert_array_equal(a.state_tensors[WEIGHTS_PREFIX + name],
                                      b.state_tensors[WEIGHTS_PREFIX + name])  # fmt: skip
        assert not np.array_equal(a.model[name], a.state_tensors[WEIGHTS_PREFIX + name])
    for name, value in whole.engine.state_dict().items():  # the engine ends on the average
        np.testing.assert_array_equal(value, a.model[name])


def test_validation_is_measured_on_the_average_that_the_run_saves(tmp_path):
    settings = settings_for(tmp_path, "numpy", ema_decay=0.8, steps=20)
    start_run(*build_from_settings("chars", settings), tmp_path / "run")
    last = MetricsLog(tmp_path / "run").read()[-1]
    loaded = load_run(tmp_path / "run")  # what evaluate reads: model.safetensors
    metrics = loaded.task.evaluate(loaded.engine, "val", loaded.config.eval_batch_size)
    assert metrics["loss"] == pytest.approx(last["val_loss"], rel=1e-12)


def test_a_run_without_the_average_saves_its_last_weights_as_before(tmp_path):
    settings = {**SMALL, **{k: MASKED[k] for k in ("input_kind", "embedding_dim")}}
    path = tmp_path / "text.txt"
    path.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    trainer = start_run(*build_from_settings("chars", {**settings, "data": str(path)}),
                        tmp_path / "run")  # fmt: skip
    checkpoint = load_checkpoint(tmp_path / "run")
    assert "average" not in checkpoint.state
    assert not any(k.startswith(WEIGHTS_PREFIX) for k in checkpoint.state_tensors)
    for name, value in trainer.engine.state_dict().items():
        np.testing.assert_array_equal(value, checkpoint.model[name])
