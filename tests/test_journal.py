"""The save journal: a save killed at any instant leaves the old or the new checkpoint, and
a crafted journal moves nothing out of (or over anything in) the run directory."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnlab.checkpoint import load_checkpoint, save_checkpoint, write_config
from tests.checkpoint_cases import (
    CONFIG,
    Crash,
    crash_after,
    error_of,
    new_run,
    save_step,
    step_of,
    tree_of,
)

# --- crash safety --------------------------------------------------------------------------

RUN_FILES = {"config.json", "model.safetensors", "state.safetensors", "best.safetensors"}


def _assert_clean(run: Path) -> None:
    """After a load, only the checkpoint's own files remain: no journal, no temp files."""
    assert {p.name for p in run.iterdir()} == RUN_FILES | {"state.json"}


def test_a_save_killed_at_any_rename_leaves_the_old_or_the_new_checkpoint(tmp_path, monkeypatch):
    run = new_run(tmp_path, step=1)
    outcomes = []
    for k in range(100):
        with crash_after(monkeypatch, "replace", k):
            try:
                save_step(run, 2)
            except Crash:
                pass
            else:
                break
        outcomes.append(step_of(run))
        _assert_clean(run)
        save_step(run, 1)  # back to the old checkpoint for the next k

    # The rename of .pending/COMMIT is the commit point: 4 file moves follow it.
    assert outcomes == [1, 2, 2, 2, 2]
    assert step_of(run) == 2


def test_a_roll_forward_killed_at_any_rename_still_ends_in_the_new_checkpoint(
    tmp_path, monkeypatch
):
    run = new_run(tmp_path, step=1)
    for k in range(1, 5):  # the save committed, then died after k - 1 of its moves
        for j in range(10):  # ...and the load that rolls it forward dies after j moves
            save_step(run, 1)
            with crash_after(monkeypatch, "replace", k), pytest.raises(Crash):
                save_step(run, 2)
            with crash_after(monkeypatch, "replace", j):
                try:
                    load_checkpoint(run)
                except Crash:
                    pass
                else:
                    break
            assert step_of(run) == 2, (k, j)
            _assert_clean(run)


def test_a_save_killed_at_any_fsync_leaves_the_old_or_the_new_checkpoint(tmp_path, monkeypatch):
    run = new_run(tmp_path, step=1)
    outcomes = []
    for k in range(100):
        with crash_after(monkeypatch, "fsync", k):
            try:
                save_step(run, 2)
            except Crash:
                pass
            else:
                break
        outcomes.append(step_of(run))
        _assert_clean(run)
        save_step(run, 1)

    assert outcomes[0] == 1 and outcomes[-1] == 2
    assert outcomes == sorted(outcomes)  # once committed, never old again


def test_an_uncommitted_journal_is_discarded(tmp_path):
    run = new_run(tmp_path, step=1)
    pending = run / ".pending"
    pending.mkdir()
    (pending / "model.safetensors").write_bytes(b"half a file")
    (pending / "state.json").write_text('{"step": 2')

    assert step_of(run) == 1
    _assert_clean(run)


# Saves forever, every array holding its step; best weights only on even steps.
_SAVER = """
import random, sys, time
import numpy as np
from rnnlab.checkpoint import load_checkpoint, save_checkpoint
run = sys.argv[1]
step = load_checkpoint(run).state["step"]
print("ready", flush=True)
while True:
    step += 1
    model = {"rnn.weight_hh_l0": np.full((256, 256), step, np.float32),
             "head.bias": np.full(5, step, np.float32)}
    save_checkpoint(run, model=model, state_tensors={"adam.m": np.full(1000, step, np.float64)},
                    state={"step": step}, best=model if step % 2 == 0 else None)
    time.sleep(random.random() * 0.003)
"""


def _check_killed_run(run: Path) -> int:
    ck = load_checkpoint(run)
    step = ck.state["step"]
    assert all(np.all(v == step) for v in [*ck.model.values(), *ck.state_tensors.values()])
    assert all(np.all(v == step - step % 2) for v in ck.best.values()), step
    return step


def test_a_saver_sigkilled_at_random_moments_always_leaves_a_whole_checkpoint(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    write_config(run, CONFIG)
    model = {"rnn.weight_hh_l0": np.zeros((256, 256), np.float32), "head.bias": np.zeros(5)}
    save_checkpoint(run, model=model, state_tensors={}, state={"step": 0}, best=model)
    rng = random.Random(0)
    last = 0
    deadline = time.monotonic() + 4.0
    for _ in range(10):
        saver = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(run)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert saver.stdout.readline() == b"ready\n", saver.communicate()[1].decode()
        time.sleep(rng.uniform(0.0, 0.05))
        last = max(last, _check_killed_run(run))  # a reader beside a live saver
        time.sleep(rng.uniform(0.0, 0.05))
        alive = saver.poll() is None
        saver.send_signal(signal.SIGKILL)
        _, err = saver.communicate()
        assert alive, f"the saver died on its own: {err.decode()}"

        step = _check_killed_run(run)
        assert step >= last, "a checkpoint went back in time"
        last = step
        if time.monotonic() > deadline:
            break
    assert last > 0, "the saver never completed a save"


# --- a run directory is untrusted input: the save journal ------------------------------------


def _run_beside_a_sentinel(tmp_path: Path) -> tuple[Path, Path]:
    """(run, sentinel): a run in tmp_path/parent/run, and the file parent/sentinel."""
    parent = tmp_path / "parent"
    parent.mkdir()
    sentinel = parent / "sentinel"
    sentinel.write_text("precious")
    run = parent / "run"
    run.mkdir()
    write_config(run, CONFIG)
    save_step(run, 1)
    return run, sentinel


def _journal(run: Path, names, files: dict[str, bytes] | None = None) -> None:
    """A committed save journal naming ``names``, holding ``files`` (name -> bytes)."""
    pending = run / ".pending"
    pending.mkdir()
    for name, data in (files or {}).items():
        (pending / name).write_bytes(data)
    (pending / "COMMIT").write_text(json.dumps({"files": names}))


@pytest.mark.parametrize(
    "name",
    ["../sentinel", "..", "/tmp/x", "sub/model.safetensors", "metrics.jsonl", "", "COMMIT",
     5, None, ["model.safetensors"], {"a": 1}],
)  # fmt: skip
def test_a_journal_naming_anything_but_checkpoint_files_is_damaged_and_moves_nothing(
    tmp_path, name
):
    run, sentinel = _run_beside_a_sentinel(tmp_path)
    (run / "sentinel").write_text("evil")  # what '.pending/../sentinel' would move out
    _journal(run, ["model.safetensors", name], {"model.safetensors": b"new"})
    before = tree_of(tmp_path)

    message = error_of(load_checkpoint, run)

    assert message.startswith(f"the save journal '.pending/COMMIT' in '{run}' is damaged (")
    assert f"delete the folder '{run / '.pending'}' and check the run loads" in message
    assert repr(name) in message
    assert tree_of(tmp_path) == before  # nothing moved, nothing deleted, inside or out
    assert sentinel.read_text() == "precious"


@pytest.mark.parametrize(
    "commit", ['{"files": "model.safetensors"}', "[]", '{"files": {}}', "{", "\xff"]
)
def test_a_journal_without_a_list_of_names_is_damaged(tmp_path, commit):
    run, _ = _run_beside_a_sentinel(tmp_path)
    (run / ".pending").mkdir()
    (run / ".pending" / "COMMIT").write_bytes(commit.encode("latin-1"))
    before = tree_of(run)

    message = error_of(load_checkpoint, run)

    assert "the save journal '.pending/COMMIT'" in message and "is damaged" in message
    assert tree_of(run) == before


def test_a_journal_whose_files_are_links_or_folders_is_damaged(tmp_path):
    run, sentinel = _run_beside_a_sentinel(tmp_path)
    _journal(run, ["model.safetensors", "vocab.json"])
    os.symlink(sentinel, run / ".pending" / "model.safetensors")
    (run / ".pending" / "vocab.json").mkdir()
    before = tree_of(tmp_path)

    message = error_of(load_checkpoint, run)

    assert "'.pending/model.safetensors', which it names, is not a plain file" in message
    assert tree_of(tmp_path) == before


@pytest.mark.parametrize("what", ["COMMIT", "model.safetensors"])
def test_a_journal_with_a_symlinked_commit_or_a_symlinked_folder_is_refused(tmp_path, what):
    run, _ = _run_beside_a_sentinel(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "COMMIT").write_text(json.dumps({"files": ["model.safetensors"]}))
    (outside / "model.safetensors").write_bytes(b"from outside")
    if what == "COMMIT":  # .pending/COMMIT -> outside/COMMIT
        (run / ".pending").mkdir()
        os.symlink(outside / "COMMIT", run / ".pending" / "COMMIT")
    else:  # .pending -> outside
        os.symlink(outside, run / ".pending")
    before = tree_of(tmp_path)

    message = error_of(load_checkpoint, run)

    assert "save journal" in message and "symbolic link" in message and ".pending" in message
    assert tree_of(tmp_path) == before
    assert _step_of_journal_free(run) == 1


def _step_of_journal_free(run: Path) -> int:
    """The run's step once its journal (whatever it is) is deleted by hand, as told."""
    pending = run / ".pending"
    if pending.is_symlink() or pending.is_file():
        pending.unlink()
    elif pending.exists():
        shutil.rmtree(pending)
    return step_of(run)


@pytest.mark.parametrize("call", ["load", "save"])
def test_a_pending_that_is_a_file_is_named_with_what_to_do(tmp_path, call):
    run, _ = _run_beside_a_sentinel(tmp_path)
    (run / ".pending").write_text("not a folder")

    message = error_of(load_checkpoint, run) if call == "load" else error_of(save_step, run, 2)

    assert f"the save journal '.pending' in '{run}' is a file, not a folder" in message
    assert f"delete '{run / '.pending'}'" in message
    assert _step_of_journal_free(run) == 1


def test_an_uncommitted_journal_is_removed_without_following_its_links(tmp_path):
    run, sentinel = _run_beside_a_sentinel(tmp_path)
    (run / ".pending").mkdir()
    os.symlink(sentinel.parent, run / ".pending" / "parent")
    os.symlink(sentinel, run / ".pending" / "model.safetensors")

    assert step_of(run) == 1
    assert not (run / ".pending").exists() and sentinel.read_text() == "precious"


def test_a_journal_that_cannot_be_finished_says_so_and_stays_for_next_time(tmp_path, monkeypatch):
    run = new_run(tmp_path, step=1)
    with crash_after(monkeypatch, "replace", 1), pytest.raises(Crash):
        save_step(run, 2)  # committed, nothing moved yet

    def read_only(*args):
        raise OSError(30, "Read-only file system", str(args[0]))

    monkeypatch.setattr(os, "replace", read_only)
    message = error_of(load_checkpoint, run)
    monkeypatch.undo()

    assert message.startswith(f"cannot finish the save journal '.pending' in '{run}' (Read-only")
    assert (run / ".pending" / "COMMIT").exists()
    assert step_of(run) == 2  # the next load finishes it
