"""Run directories: names, safe creation and --overwrite, and the metrics log."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.checkpoint import save_checkpoint, write_config, write_vocab
from rnnlab.errors import CheckpointError
from rnnlab.train.run_dir import (
    MetricsLog,
    create_run_dir,
    default_run_name,
    is_run_dir,
)


def _error(call, *args, **kwargs) -> str:
    """The CheckpointError message of call(...), which must be one line."""
    with pytest.raises(CheckpointError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def _full_run(run: Path) -> None:
    """A run with every kind of file rnnlab writes, a stale journal and a temp file included."""
    write_config(run, {"model": {}})
    write_vocab(run, {"tokens": ["a"]})
    weights = {"head.bias": np.zeros(3, np.float32)}
    save_checkpoint(run, model=weights, state_tensors={}, state={"step": 1}, best=weights)
    MetricsLog(run).append({"step": 1, "loss": 2.0})
    (run / "loss.png").write_bytes(b"\x89PNG")
    (run / ".pending").mkdir()
    (run / ".pending" / "model.safetensors").write_bytes(b"half")
    (run / ".rnnlab-tmp-state.json.0123abcd").write_bytes(b"{")


# --- names ---------------------------------------------------------------------------------


def test_default_run_name_is_task_and_timestamp():
    assert default_run_name("copy", datetime(2024, 3, 5, 7, 8, 9)) == "copy-20240305-070809"


def test_default_run_name_uses_the_current_time():
    name = default_run_name("anbn")
    assert name.startswith("anbn-")
    datetime.strptime(name.removeprefix("anbn-"), "%Y%m%d-%H%M%S")


@pytest.mark.parametrize("task", ["", "a/b"])
def test_default_run_name_refuses_a_task_that_is_not_a_plain_name(task):
    with pytest.raises(ValueError, match="plain name"):
        default_run_name(task)


# --- creating ------------------------------------------------------------------------------


def test_create_run_dir_creates_parents_and_accepts_an_empty_directory(tmp_path):
    run = create_run_dir(tmp_path / "runs" / "x")
    assert run == tmp_path / "runs" / "x" and run.is_dir()
    assert create_run_dir(run) == run


def test_create_run_dir_refuses_a_non_empty_directory(tmp_path):
    run = tmp_path / "x"
    run.mkdir()
    (run / "config.json").write_text("{}")

    message = _error(create_run_dir, run)

    assert message == (
        f"run directory '{run}' already exists; pass --resume {run} to continue it, "
        "--overwrite to replace it, or choose another --out"
    )
    assert (run / "config.json").read_text() == "{}"


def test_create_run_dir_refuses_a_file(tmp_path):
    (tmp_path / "x").write_text("data")

    assert "not a directory" in _error(create_run_dir, tmp_path / "x", overwrite=True)
    assert (tmp_path / "x").read_text() == "data"


def test_overwrite_removes_rnnlabs_files(tmp_path):
    run = tmp_path / "x"
    run.mkdir()
    _full_run(run)

    assert create_run_dir(run, overwrite=True) == run

    assert list(run.iterdir()) == []


@pytest.mark.parametrize(
    "foreign", ["notes.txt", "data/corpus.txt", ".pending/sub/file", "old.png/x"]
)
def test_overwrite_refuses_a_directory_holding_anything_else_and_removes_nothing(tmp_path, foreign):
    run = tmp_path / "x"
    run.mkdir()
    _full_run(run)
    (run / foreign).parent.mkdir(parents=True, exist_ok=True)
    (run / foreign).write_text("precious")
    before = sorted(p.relative_to(run) for p in run.rglob("*"))

    message = _error(create_run_dir, run, overwrite=True)

    assert f"refusing to --overwrite '{run}'" in message
    assert f"'{Path(foreign).parts[0]}'" in message
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


def test_is_run_dir(tmp_path):
    assert not is_run_dir(tmp_path / "missing")
    assert not is_run_dir(tmp_path)
    write_config(tmp_path, {"model": {}})
    assert is_run_dir(tmp_path)
    assert not is_run_dir(tmp_path / "config.json")


# --- metrics log ---------------------------------------------------------------------------


def test_metrics_are_appended_one_line_each_and_read_back(tmp_path):
    log = MetricsLog(tmp_path)
    records = [{"step": 1, "loss": 2.5}, {"step": 2, "loss": float("nan"), "split": "val"}]

    assert log.read() == []
    for record in records:
        log.append(record)
        # on disk as soon as append returns: a kill now loses nothing
        assert json.loads((tmp_path / "metrics.jsonl").read_bytes().splitlines()[-1]) is not None

    read = log.read()
    assert len(read) == 2 and read[0] == records[0]
    assert np.isnan(read[1]["loss"]) and read[1]["split"] == "val"
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 2


@pytest.mark.parametrize("record", [{"loss": 1.0}, {"step": 1.0}, {"step": True}, [1]])
def test_a_record_without_an_integer_step_is_refused(tmp_path, record):
    with pytest.raises(ValueError, match="step"):
        MetricsLog(tmp_path).append(record)


@pytest.mark.parametrize("torn", ['{"step": 3, "lo', "{", '{"step": 3, "loss": 1.0}\n{"st'])
def test_a_torn_last_line_is_dropped_by_read_and_truncate(tmp_path, torn):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n' + torn)
    whole = [{"step": 1}, {"step": 2}] + ([{"step": 3, "loss": 1.0}] if "\n" in torn else [])
    log = MetricsLog(tmp_path)

    assert log.read() == whole
    log.truncate_after(2)
    assert path.read_text() == '{"step": 1}\n{"step": 2}\n'


def test_append_after_a_torn_line_cuts_it_off(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2, "lo')

    MetricsLog(tmp_path).append({"step": 2, "loss": 0.5})

    assert path.read_text() == '{"step": 1}\n{"step": 2, "loss": 0.5}\n'


def test_append_after_a_whole_last_line_without_newline_keeps_it(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}')

    MetricsLog(tmp_path).append({"step": 2})

    assert MetricsLog(tmp_path).read() == [{"step": 1}, {"step": 2}]


def test_an_invalid_line_before_valid_ones_is_an_error(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\nnot json\n{"step": 3}\n')

    message = _error(MetricsLog(tmp_path).read)

    assert "line 2" in message and "metrics.jsonl" in message


@settings(max_examples=50, deadline=None)
@given(steps=st.lists(st.integers(0, 20), max_size=30), cut=st.integers(-1, 21))
def test_truncate_after_keeps_exactly_the_records_up_to_the_step(tmp_path_factory, steps, cut):
    run = tmp_path_factory.mktemp("run")
    log = MetricsLog(run)
    for i, step in enumerate(steps):
        log.append({"step": step, "i": i})

    log.truncate_after(cut)

    expected = [{"step": s, "i": i} for i, s in enumerate(steps) if s <= cut]
    assert log.read() == expected
    assert {p.name for p in run.iterdir()} == ({"metrics.jsonl"} if steps else set())


def test_truncate_after_without_a_log_creates_none(tmp_path):
    MetricsLog(tmp_path).truncate_after(5)
    assert list(tmp_path.iterdir()) == []


def test_appends_after_truncate_go_to_the_new_file(tmp_path):
    log = MetricsLog(tmp_path)
    for step in range(1, 6):
        log.append({"step": step})
    log.truncate_after(3)
    log.append({"step": 4, "resumed": True})

    assert log.read() == [{"step": 1}, {"step": 2}, {"step": 3}, {"step": 4, "resumed": True}]
