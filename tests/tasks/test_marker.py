"""The marker task: the known answer (optimal loss 0, every symbol a class), variable lengths,
a classifier that learns it to 100% in both engines, and a bitwise resume mid-epoch."""

import importlib.util

import numpy as np
import pytest

from rnnlab.errors import InputError
from rnnlab.tasks import build_task
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import load_run, resume_run, start_run

ENGINES = ["numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])


def test_the_answer_is_known_and_every_symbol_is_a_class():
    task = build_task("marker", {"num": 300, "symbols": 3, "min_len": 3, "max_len": 9})
    assert task.label_names == ("a", "b", "c") and task.model_io().input_size == 4
    assert task.optimal_loss("test") == 0.0
    for split, examples in task.splits.items():
        lengths = examples.lengths
        assert lengths.min() >= 3 and lengths.max() <= 9, split
        for seq, label in zip(examples.ids, examples.labels, strict=True):
            (p,) = np.flatnonzero(seq == 3)  # one marker, the answer right after it
            assert seq[p + 1] == label
    assert len(set(task.splits["train"].lengths.tolist())) == 7  # every length 3 .. 9


@pytest.mark.parametrize("engine", ENGINES)
def test_a_classifier_learns_the_marker_task_to_every_answer(tmp_path, engine):
    settings = {"engine": engine, "steps": 300, "eval_every": 300, "log_every": 100}
    trainer = start_run(*build_from_settings("marker", settings), tmp_path / engine)
    metrics = trainer.task.evaluate(trainer.engine, "test")
    assert metrics["accuracy"] == 1.0, metrics
    assert metrics["loss"] < 0.05 and metrics["optimal_loss"] == 0.0
    assert metrics["majority_baseline"] < 0.4  # four classes: chance is a quarter
    loaded = load_run(tmp_path / engine)  # the run rebuilds its task and its answers
    assert loaded.task.evaluate(loaded.engine, "test")["accuracy"] == 1.0


def test_a_resume_mid_epoch_ends_bitwise_where_a_whole_run_ends(tmp_path):
    small = {"hidden": 8, "dropout": 0.3, "batch_size": 64, "num": 600, "eval_every": 10,
             "save_every": 10, "log_every": 5}  # fmt: skip  # 600 rows: 9 batches an epoch
    whole = start_run(*build_from_settings("marker", {**small, "steps": 24}), tmp_path / "whole")
    start_run(*build_from_settings("marker", {**small, "steps": 13}), tmp_path / "cut")
    resumed = resume_run(tmp_path / "cut", {"steps": 24})
    assert resumed.progress.step == 24 and resumed.progress.epoch >= 2
    for name, value in whole.engine.state_dict().items():
        np.testing.assert_array_equal(value, resumed.engine.state_dict()[name], err_msg=name)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"symbols": 1}, "--symbols must be from 2 to 26"),
        ({"min_len": 1}, "need 2 <= --min-len <= --max-len"),
        ({"min_len": 9, "max_len": 8}, "need 2 <= --min-len <= --max-len"),
        ({"window": 0}, "--window must be a positive integer"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        build_task("marker", options)
