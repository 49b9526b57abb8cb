"""``rnnlab train TASK --folds K``: one run per stratified fold, each scored on its own test
split with its best validation weights, and the mean ± sample std in folds.json."""

import json

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.errors import InputError
from rnnlab.train.folds import check_folds, summarise


def test_the_summary_is_the_mean_and_the_sample_standard_deviation():
    scores = [{"accuracy": a, "macro_f1": a / 2, "majority_baseline": 0.5} for a in (0.7, 0.8, 0.9)]
    summary = summarise(scores)
    assert summary["accuracy"]["mean"] == pytest.approx(0.8)
    assert summary["accuracy"]["std"] == pytest.approx(0.1)  # ddof = 1: sqrt(0.02 / 2)
    assert summary["majority_baseline"]["std"] == 0.0


@pytest.mark.parametrize(
    ("task", "folds", "given", "message"),
    [
        ("sine", 5, {}, "applies to the classification tasks"),
        ("marker", 2, {}, "at least 3"),
        ("marker", 5, {"fold": 1}, "sets --fold itself"),
        ("marker", 5, {"num_folds": 4}, "sets --num-folds itself"),
    ],
)
def test_folds_that_cannot_be_done_are_refused(task, folds, given, message):
    with pytest.raises(InputError, match=message):
        check_folds(task, folds, given)


def test_three_folds_train_three_runs_each_tested_on_its_own_fold(tmp_path, capsys):
    out = tmp_path / "folds"
    assert main(["train", "marker", "--folds", "3", "--steps", "30", "--eval-every", "10",
                 "--hidden", "8", "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads((out / "folds.json").read_text())
    assert [s["run"] for s in summary["scores"]] == ["fold-0", "fold-1", "fold-2"]
    for k in range(3):
        options = json.loads((out / f"fold-{k}" / "config.json").read_text())["task"]["options"]
        assert (options["fold"], options["num_folds"]) == (k, 3)
    accuracies = [s["accuracy"] for s in summary["scores"]]
    assert summary["summary"]["accuracy"]["mean"] == pytest.approx(np.mean(accuracies))
    assert summary["summary"]["accuracy"]["std"] == pytest.approx(np.std(accuracies, ddof=1))
    assert "accuracy: " in capsys.readouterr().out  # mean ± std said at the end


def test_a_folds_list_of_cells_is_refused_before_anything_trains(tmp_path, capsys):
    out = tmp_path / "folds"
    assert main(["train", "marker", "--folds", "3", "--cell", "rnn,lstm", "--out", str(out)]) == 2
    assert "one --cell" in capsys.readouterr().err
    assert not out.exists()
