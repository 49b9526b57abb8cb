"""study.json: the plan's order, the table's statistics, and refusal of anything else."""

import json
import os
import statistics

import pytest

from rnnlab.errors import InputError
from rnnlab.study.record import STUDY_FILE, new_study, plan, read_study, table, write_study

SETTINGS = {"delays": [10, 50], "cells": ["rnn", "lstm"], "seeds": [0, 1, 2],
            "engine": "numpy", "backend": "scratch", "train_flags": []}  # fmt: skip


def done(study, recalls):
    """Mark the runs done, run i with recall recalls[i]."""
    for run, recall in zip(study["runs"], recalls, strict=False):
        run.update(status="done", recall=recall, sequence_accuracy=recall / 2, steps=100,
                   seconds=1.5)  # fmt: skip
    return study


def test_the_plan_finishes_whole_rows_of_the_table_first():
    names = [c.run for c in plan([10, 50], ["rnn", "lstm"], [0, 1])]
    assert names[:4] == ["d10-rnn-s0", "d10-lstm-s0", "d10-rnn-s1", "d10-lstm-s1"]
    assert len(set(names)) == 8


def test_the_table_is_the_mean_and_sample_std_over_the_seeds_done():
    study = done(new_study(SETTINGS), [0.5, 1.0, 0.6, 1.0, 0.7])  # d10: rnn ×3, lstm ×2
    rows = {(r["delay"], r["cell"]): r for r in table(study["runs"])}
    assert set(rows) == {(10, "rnn"), (10, "lstm")}
    rnn = rows[10, "rnn"]
    assert rnn["n"] == 3 and rnn["recall_mean"] == pytest.approx(0.6)
    assert rnn["recall_std"] == pytest.approx(statistics.stdev([0.5, 0.6, 0.7]))
    assert rnn["recall_min"] == 0.5
    assert rows[10, "lstm"]["recall_std"] == 0.0 and rows[10, "lstm"]["n"] == 2


def test_a_written_study_reads_back_equal(tmp_path):
    study = done(new_study(SETTINGS), [1.0, 0.5])
    write_study(tmp_path, study)
    assert read_study(tmp_path) == study
    assert read_study(tmp_path / "none") is None


def _tampered(study, change):
    study = json.loads(json.dumps(study))
    change(study)
    return study


@pytest.mark.parametrize(
    "change",
    [lambda s: s.update(study="sine"),
     lambda s: s.update(version=2),
     lambda s: s.update(delays=["10", 50]),
     lambda s: s.update(seeds=[]),
     lambda s: s.update(engine=None),
     lambda s: s.update(train_flags="--hidden 3"),
     lambda s: s["runs"].pop(),
     lambda s: s["runs"].reverse(),
     lambda s: s["runs"][0].update(run="../../etc"),
     lambda s: s["runs"][0].update(delay=11),
     lambda s: s["runs"][0].update(status="finished"),
     lambda s: s["runs"][0].update(recall=None),
     lambda s: s["runs"][0].update(recall=1.5),
     lambda s: s["runs"][0].update(steps=True),
     lambda s: s["runs"][0].update(seconds=float("nan"))],
)  # fmt: skip
def test_a_study_json_rnnlab_did_not_write_is_refused_in_one_line(tmp_path, change):
    study = done(new_study(SETTINGS), [1.0])
    (tmp_path / STUDY_FILE).write_text(json.dumps(_tampered(study, change)))
    with pytest.raises(InputError, match="not one rnnlab wrote") as caught:
        read_study(tmp_path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("content", [b"{", b"\xff\xfe", b"[]", b"1" * 5000])
def test_unreadable_json_is_refused(tmp_path, content):
    (tmp_path / STUDY_FILE).write_bytes(content)
    with pytest.raises(InputError, match=STUDY_FILE):
        read_study(tmp_path)


def test_a_symlink_fifo_or_huge_file_is_refused(tmp_path):
    target = tmp_path / "elsewhere.json"
    write_study(tmp_path, new_study(SETTINGS))
    os.replace(tmp_path / STUDY_FILE, target)
    (tmp_path / STUDY_FILE).symlink_to(target)
    with pytest.raises(InputError, match="symbolic link"):
        read_study(tmp_path)
    (tmp_path / STUDY_FILE).unlink()
    os.mkfifo(tmp_path / STUDY_FILE)
    with pytest.raises(InputError, match=r"FIFO|not a file"):
        read_study(tmp_path)
    (tmp_path / STUDY_FILE).unlink()
    (tmp_path / STUDY_FILE).write_bytes(b" " * (2 << 20))
    with pytest.raises(InputError, match="larger than"):
        read_study(tmp_path)
