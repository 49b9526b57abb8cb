"""The classify task on a user's file: tokens at the word or char level, the vocabulary from
the training split only, repeats dropped, labels named and ordered, and bad input refused."""

import json

import numpy as np
import pytest

from rnnlab.data.vocab import Vocab
from rnnlab.errors import DataError, InputError
from rnnlab.tasks import build_task
from rnnlab.tasks.classify import text_tokens


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    return path


@pytest.fixture
def rows():
    return [(f"Row {i}: it's {'great' if i % 2 else 'poor'}!", i % 2 + (i % 5 == 0) * 9)
            for i in range(60)]  # fmt: skip


def test_word_tokens_are_lowercased_with_punctuation_split_and_chars_keep_the_text():
    assert text_tokens("It's  GREAT,\n really!", "word") == ["it's", "great", ",", "really", "!"]
    assert text_tokens("Hi\tyou ", "char") == list("Hi you")


def test_labels_are_ordered_by_value_and_named(tmp_path, rows):
    task = build_task("classify", {"data": str(write_jsonl(tmp_path / "d.jsonl", rows))})
    assert task.label_names == ("0", "1", "9", "10")  # numbers by value, not "10" < "9"
    assert task.model_io().output_size == 4
    counts = np.bincount(np.concatenate([s.labels for s in task.splits.values()]))
    assert counts.tolist() == [24, 24, 6, 6]


def test_the_vocabulary_comes_from_the_training_split_only(tmp_path, rows):
    task = build_task("classify", {"data": str(write_jsonl(tmp_path / "d.jsonl", rows))})
    assert "great" in task.vocab and "row" in task.vocab
    # each row's number occurs in that row alone: unseen (<unk>) exactly where it is held out
    unknown = {split: [int((s == Vocab.UNK_ID).sum()) for s in task.splits[split].ids]
               for split in ("train", "val", "test")}  # fmt: skip
    assert set(unknown["train"]) == {0}
    assert set(unknown["val"]) == set(unknown["test"]) == {1}


def test_repeats_are_dropped_and_conflicting_copies_all_go(tmp_path, rows):
    extra = [("Row 3: IT'S great!", 1), ("row 4 : it's poor !", 0), ("row 7: it's great!", 0)]
    task = build_task("classify", {"data": str(write_jsonl(tmp_path / "d.jsonl", rows + extra))})
    assert task.dropped.repeats == 3 and task.dropped.conflicts == 1  # row 7 says 1 and 0
    assert sum(len(split.ids) for split in task.splits.values()) == 59


def test_char_level_and_max_len(tmp_path, rows):
    data = str(write_jsonl(tmp_path / "d.jsonl", rows))
    task = build_task("classify", {"data": data, "level": "char", "max_len": 6})
    assert task.vocab.level == "char" and "R" in task.vocab
    assert max(len(s) for split in task.splits.values() for s in split.ids) == 6


def test_a_run_with_its_vocabulary_and_labels_reads_no_data_until_batches(tmp_path, rows):
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    trained = build_task("classify", {"data": str(path)})
    path.unlink()
    task = build_task(
        "classify", {"data": str(path)}, vocab=trained.vocab, labels=["0", "1", "9", "10"]
    )
    assert task.model_io() == trained.model_io()
    batch = task.texts_batch(["It's great!", "Poor, poor row."])
    assert batch.inputs.shape == (5, 2) and batch.lengths.tolist() == [3, 5]
    np.testing.assert_array_equal(batch.inputs[:3, 0], trained.vocab.encode(["it's", "great", "!"]))
    with pytest.raises(InputError, match="text 1 is empty"):
        task.texts_batch(["  "])


def test_a_label_that_training_never_saw_is_refused(tmp_path, rows):
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    task = build_task(
        "classify", {"data": str(path)}, vocab=Vocab.build("x", "word"), labels=["0", "1"]
    )
    with pytest.raises(DataError, match=r"label\(s\) '9', '10' that training never saw"):
        task.num_batches("test", 4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "the classify task needs your labelled texts: pass --data FILE"),
        ({"data": "x.csv", "level": "byte"}, "--level must be char or word for classify"),
        ({"data": "x.csv", "max_len": 0}, "--max-len must be a positive integer"),
        ({"data": "x.csv", "top_k": 0}, "--top-k must be a positive integer"),
    ],
)
def test_bad_options_are_refused_before_reading(options, message):
    with pytest.raises(InputError, match=message):
        build_task("classify", options)


def test_too_few_examples_for_the_folds_is_one_line(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [("a", "x"), ("b", "y"), ("a", "x"), ("c", "y")])
    with pytest.raises(DataError, match="3 distinct examples are too few for 10 folds"):
        build_task("classify", {"data": str(path)})
