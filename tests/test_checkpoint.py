"""Checkpoints: bitwise round trips, clear errors on damage, and crash safety at every step."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import math
import os
import random
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from rnnlab import checkpoint
from rnnlab.checkpoint import (
    CHECKPOINT_FILES,
    FORMAT_VERSION,
    atomic_write_bytes,
    atomic_write_json,
    config_bytes,
    is_run_file,
    load_checkpoint,
    read_config,
    read_run_file,
    read_vocab,
    require_state_keys,
    save_checkpoint,
    sha256_file,
    write_config,
    write_vocab,
)
from rnnlab.errors import CheckpointError

CONFIG = {"model": {"cell": "lstm", "hidden_size": 2}, "train": {"lr": 0.01}, "task": {}}
SHAPES = {
    "rnn.weight_ih_l0": (8, 3),
    "rnn.weight_hh_l0": (8, 2),
    "rnn.bias_ih_l0": (8,),
    "rnn.bias_hh_l0": (8,),
    "head.weight": (5, 2),
    "head.bias": (5,),
}


def _weights(value: float, dtype=np.float32) -> dict[str, np.ndarray]:
    return {name: np.full(shape, value, dtype) for name, shape in SHAPES.items()}


def _save(run: Path, step: int, *, best: bool = True) -> None:
    """A checkpoint in which every array holds the value ``step``."""
    save_checkpoint(
        run,
        model=_weights(step),
        state_tensors={"adam.m.rnn.weight_ih_l0": np.full((8, 3), step, np.float64)},
        state={"step": step, "epoch": step // 10},
        best=_weights(step) if best else None,
    )


def _new_run(tmp_path: Path, step: int = 1) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    write_config(run, CONFIG)
    _save(run, step)
    return run


def _step_of(run: Path) -> int:
    """Load the run and return its step, after checking every array agrees with it."""
    ck = load_checkpoint(run, expected_shapes=SHAPES)
    step = ck.state["step"]
    for what, tensors in [("model", ck.model), ("state", ck.state_tensors), ("best", ck.best)]:
        for name, value in tensors.items():
            assert np.all(value == step), f"{what} {name} is from another step than {step}"
    return step


def _bitwise_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _error(call, *args, **kwargs) -> str:
    """The CheckpointError message of call(...), which must be one line."""
    with pytest.raises(CheckpointError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def _files(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.is_file()}


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bitwise_including_nan_inf_negative_zero_and_subnormals(tmp_path, dtype):
    rng = np.random.default_rng(0)
    model = {name: rng.standard_normal(shape).astype(dtype) for name, shape in SHAPES.items()}
    special = [np.nan, np.inf, -np.inf, -0.0, np.finfo(dtype).smallest_subnormal]
    model["rnn.weight_ih_l0"].reshape(-1)[:5] = special
    run = tmp_path / "run"
    run.mkdir()
    write_config(run, CONFIG)
    save_checkpoint(run, model=model, state_tensors={}, state={"step": 7})

    ck = load_checkpoint(run)

    assert set(ck.model) == set(model)
    for name in model:
        assert _bitwise_equal(ck.model[name], model[name]), name
    assert ck.state_tensors == {}
    assert ck.best is None
    assert ck.state["step"] == 7


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int64, np.uint32]),
        shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
def test_any_shape_and_dtype_round_trips_bitwise(array):
    with tempfile.TemporaryDirectory() as tmp:
        write_config(tmp, CONFIG)
        save_checkpoint(tmp, model={"a.b.c": array}, state_tensors={"x": array}, state={"step": 0})
        ck = load_checkpoint(tmp)
    assert _bitwise_equal(ck.model["a.b.c"], array)
    assert _bitwise_equal(ck.state_tensors["x"], array)


def test_strided_and_transposed_arrays_are_saved_by_value(tmp_path):
    # safetensors copies raw memory; a view must be made contiguous first or it is scrambled.
    base = np.arange(24.0).reshape(4, 6)
    model = {"t": base.T, "s": base[:, ::2], "big_endian": base.astype(">f4")}
    run = _new_run(tmp_path)
    save_checkpoint(run, model=model, state_tensors={}, state={"step": 2})

    ck = load_checkpoint(run)

    for name, value in model.items():
        np.testing.assert_array_equal(ck.model[name], value, err_msg=name)


def test_state_keeps_caller_keys_and_records_versions_and_hashes(tmp_path):
    run = _new_run(tmp_path, step=3)

    state = load_checkpoint(run).state

    assert state["step"] == 3 and state["epoch"] == 0
    assert state["format_version"] == FORMAT_VERSION
    assert state["library_versions"]["numpy"] == np.__version__
    assert "rnnlab" in state["library_versions"]
    assert ("torch" in state["library_versions"]) == ("torch" in sys.modules)
    for name in ["model.safetensors", "state.safetensors", "best.safetensors"]:
        assert state["sha256"][name] == sha256_file(run / name), name


def test_saving_a_loaded_checkpoint_again_writes_the_same_bytes(tmp_path):
    run = _new_run(tmp_path, step=3)
    ck = load_checkpoint(run)

    for _ in range(8):  # the bytes must not depend on hash-map order, which varies per save
        # ck.state holds the bookkeeping keys too: save fills them in afresh.
        save_checkpoint(run, model=ck.model, state_tensors=ck.state_tensors, state=ck.state)
        assert load_checkpoint(run).state["sha256"] == ck.state["sha256"]


def test_best_weights_round_trip_and_are_kept_when_not_given(tmp_path):
    run = _new_run(tmp_path, step=1)
    save_checkpoint(run, model=_weights(2), state_tensors={}, state={"step": 2}, best=_weights(9))
    save_checkpoint(run, model=_weights(3), state_tensors={}, state={"step": 3})

    ck = load_checkpoint(run)

    assert ck.state["step"] == 3
    assert ck.best is not None
    assert all(np.all(v == 9) for v in ck.best.values())


def test_a_run_without_best_weights_loads_none(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    write_config(run, CONFIG)
    _save(run, 1, best=False)

    assert load_checkpoint(run).best is None
    assert not (run / "best.safetensors").exists()


def test_dtype_casts_the_weights_only(tmp_path):
    run = _new_run(tmp_path, step=1)

    ck = load_checkpoint(run, dtype=np.float64)

    assert all(v.dtype == np.float64 for v in [*ck.model.values(), *ck.best.values()])
    assert ck.state_tensors["adam.m.rnn.weight_ih_l0"].dtype == np.float64
    assert all(np.all(v == 1) for v in ck.model.values())
    with pytest.raises(ValueError, match="floating"):
        load_checkpoint(run, dtype=np.int32)


def test_config_and_vocab_round_trip(tmp_path):
    write_config(tmp_path, CONFIG)
    assert read_vocab(tmp_path) is None
    write_vocab(tmp_path, {"level": "char", "tokens": ["<unk>", "a", "é"]})

    assert read_config(tmp_path) == {"format_version": FORMAT_VERSION, **CONFIG}
    assert next(iter(json.loads((tmp_path / "config.json").read_text()))) == "format_version"
    assert read_vocab(tmp_path) == {"level": "char", "tokens": ["<unk>", "a", "é"]}
    with pytest.raises(ValueError, match="format_version"):
        write_config(tmp_path, {**CONFIG, "format_version": 2})


@pytest.mark.parametrize("how", ["written before the first save", "given to the save"])
def test_load_returns_config_and_vocab(tmp_path, how):
    # A vocabulary written after a save is not part of that checkpoint (see the hash tests).
    run = tmp_path / "run"
    run.mkdir()
    if how == "given to the save":
        save_checkpoint(
            run, model=_weights(1), state_tensors={}, state={"step": 1}, config=CONFIG,
            vocab={"tokens": ["a"]},
        )  # fmt: skip
    else:
        write_config(run, CONFIG)
        write_vocab(run, {"tokens": ["a"]})
        _save(run, 1)

    ck = load_checkpoint(run)

    assert ck.config["model"] == CONFIG["model"]
    assert ck.vocab == {"tokens": ["a"]}


def test_save_rejects_what_it_cannot_store(tmp_path):
    run = _new_run(tmp_path)
    with pytest.raises(ValueError, match="step"):
        save_checkpoint(run, model=_weights(1), state_tensors={}, state={"epoch": 1})
    with pytest.raises(TypeError, match=r"head\.weight"):
        save_checkpoint(run, model={"head.weight": [1.0]}, state_tensors={}, state={"step": 1})
    assert _step_of(run) == 1


# --- damage --------------------------------------------------------------------------------


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["model.safetensors", "state.safetensors", "best.safetensors"])
def test_a_flipped_byte_is_reported_with_the_file(tmp_path, name):
    run = _new_run(tmp_path)
    _flip_byte(run / name, -3)  # in the tensor data, so only the hash can notice

    message = _error(load_checkpoint, run)

    assert f"{name} in '{run}' is corrupted (sha256 mismatch)" in message


def test_a_truncated_file_is_reported(tmp_path):
    run = _new_run(tmp_path)
    path = run / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-10])

    assert "model.safetensors" in _error(load_checkpoint, run)


def test_a_truncated_file_whose_hash_matches_is_a_checkpoint_error_not_a_crash(tmp_path):
    run = _new_run(tmp_path)
    path = run / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-10])
    state = json.loads((run / "state.json").read_text())
    state["sha256"]["model.safetensors"] = sha256_file(path)
    (run / "state.json").write_text(json.dumps(state))

    message = _error(load_checkpoint, run)

    assert "model.safetensors" in message and "not a readable safetensors file" in message


@pytest.mark.parametrize("name", ["state.json", "config.json", "model.safetensors"])
def test_a_missing_file_is_reported(tmp_path, name):
    run = _new_run(tmp_path)
    (run / name).unlink()

    assert name in _error(load_checkpoint, run)


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", '{"format_version": 1}', "\xff\xfe"])
def test_a_broken_state_json_is_reported(tmp_path, text):
    run = _new_run(tmp_path)
    (run / "state.json").write_bytes(text.encode("latin-1"))

    assert "state.json" in _error(load_checkpoint, run)


@pytest.mark.parametrize("name", ["state.json", "config.json"])
@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_another_format_version_is_refused(tmp_path, name, version):
    run = _new_run(tmp_path)
    obj = json.loads((run / name).read_text())
    obj["format_version"] = version
    (run / name).write_text(json.dumps(obj))

    message = _error(load_checkpoint, run)

    assert f"run '{run}' was written by checkpoint format {version}" in message
    assert f"reads format {FORMAT_VERSION}" in message


def test_a_shape_mismatch_names_the_tensor_and_both_shapes(tmp_path):
    run = _new_run(tmp_path)
    expected = {**SHAPES, "rnn.weight_hh_l0": (8, 4)}

    message = _error(load_checkpoint, run, expected_shapes=expected)

    assert "'rnn.weight_hh_l0' has shape (8, 2), expected (8, 4)" in message
    assert "model.safetensors" in message


def test_a_missing_or_extra_tensor_is_named(tmp_path):
    run = _new_run(tmp_path)
    missing = _error(load_checkpoint, run, expected_shapes={**SHAPES, "embedding.weight": (7, 3)})
    extra = {k: v for k, v in SHAPES.items() if k != "head.bias"}
    unexpected = _error(load_checkpoint, run, expected_shapes=extra)

    assert "no tensor 'embedding.weight' (expected shape (7, 3))" in missing
    assert "unexpected tensor 'head.bias' with shape (5,)" in unexpected


def test_best_weights_are_checked_against_the_expected_shapes(tmp_path):
    run = _new_run(tmp_path)
    best = {**_weights(1), "head.bias": np.zeros(6, np.float32)}
    save_checkpoint(run, model=_weights(2), state_tensors={}, state={"step": 2}, best=best)

    message = _error(load_checkpoint, run, expected_shapes=SHAPES)

    assert "best.safetensors" in message and "(6,)" in message


def test_a_missing_run_or_a_file_is_reported(tmp_path):
    assert "does not exist" in _error(load_checkpoint, tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    assert "not a directory" in _error(load_checkpoint, tmp_path / "file")
    assert "no config.json" in _error(load_checkpoint, tmp_path)


def test_load_never_modifies_the_run(tmp_path):
    run = _new_run(tmp_path)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()}

    load_checkpoint(run)
    _error(load_checkpoint, run, expected_shapes={"x": (1,)})

    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()} == before


# --- atomic writes -------------------------------------------------------------------------


class _Crash(BaseException):
    """Stands for the process dying: no `except Exception` may swallow it."""


@contextlib.contextmanager
def _crash_after(monkeypatch, name: str, k: int):
    """Make os.<name> raise _Crash after k successful calls; yields the list of calls made."""
    real = getattr(os, name)
    calls = []

    def flaky(*args, **kwargs):
        if len(calls) >= k:
            raise _Crash(f"os.{name} call {k}")
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, flaky)
    try:
        yield calls
    finally:
        monkeypatch.setattr(os, name, real)


def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old")

    atomic_write_json(target, {"a": [1, 2]})

    assert json.loads(target.read_text()) == {"a": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


@pytest.mark.parametrize("fail", ["fsync", "replace"])
def test_a_failed_atomic_write_keeps_the_old_file_and_removes_its_temp_file(
    tmp_path, monkeypatch, fail
):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    with _crash_after(monkeypatch, fail, 0), pytest.raises(_Crash):
        atomic_write_bytes(target, b"new")

    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


# --- crash safety --------------------------------------------------------------------------

RUN_FILES = {"config.json", "model.safetensors", "state.safetensors", "best.safetensors"}


def _assert_clean(run: Path) -> None:
    """After a load, only the checkpoint's own files remain: no journal, no temp files."""
    assert {p.name for p in run.iterdir()} == RUN_FILES | {"state.json"}


def test_a_save_killed_at_any_rename_leaves_the_old_or_the_new_checkpoint(tmp_path, monkeypatch):
    run = _new_run(tmp_path, step=1)
    outcomes = []
    for k in range(100):
        with _crash_after(monkeypatch, "replace", k):
            try:
                _save(run, 2)
            except _Crash:
                pass
            else:
                break
        outcomes.append(_step_of(run))
        _assert_clean(run)
        _save(run, 1)  # back to the old checkpoint for the next k

    # The rename of .pending/COMMIT is the commit point: 4 file moves follow it.
    assert outcomes == [1, 2, 2, 2, 2]
    assert _step_of(run) == 2


def test_a_roll_forward_killed_at_any_rename_still_ends_in_the_new_checkpoint(
    tmp_path, monkeypatch
):
    run = _new_run(tmp_path, step=1)
    for k in range(1, 5):  # the save committed, then died after k - 1 of its moves
        for j in range(10):  # ...and the load that rolls it forward dies after j moves
            _save(run, 1)
            with _crash_after(monkeypatch, "replace", k), pytest.raises(_Crash):
                _save(run, 2)
            with _crash_after(monkeypatch, "replace", j):
                try:
                    load_checkpoint(run)
                except _Crash:
                    pass
                else:
                    break
            assert _step_of(run) == 2, (k, j)
            _assert_clean(run)


def test_a_save_killed_at_any_fsync_leaves_the_old_or_the_new_checkpoint(tmp_path, monkeypatch):
    run = _new_run(tmp_path, step=1)
    outcomes = []
    for k in range(100):
        with _crash_after(monkeypatch, "fsync", k):
            try:
                _save(run, 2)
            except _Crash:
                pass
            else:
                break
        outcomes.append(_step_of(run))
        _assert_clean(run)
        _save(run, 1)

    assert outcomes[0] == 1 and outcomes[-1] == 2
    assert outcomes == sorted(outcomes)  # once committed, never old again


def test_an_uncommitted_journal_is_discarded(tmp_path):
    run = _new_run(tmp_path, step=1)
    pending = run / ".pending"
    pending.mkdir()
    (pending / "model.safetensors").write_bytes(b"half a file")
    (pending / "state.json").write_text('{"step": 2')

    assert _step_of(run) == 1
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


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root`` (links not followed): path -> bytes, link target or kind."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = str(path.relative_to(root))
            if path.is_symlink():
                out[key] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                out[key] = "dir"
            elif path.is_file():
                out[key] = path.read_bytes()
            else:
                out[key] = "special"
    return out


def _run_beside_a_sentinel(tmp_path: Path) -> tuple[Path, Path]:
    """(run, sentinel): a run in tmp_path/parent/run, and the file parent/sentinel."""
    parent = tmp_path / "parent"
    parent.mkdir()
    sentinel = parent / "sentinel"
    sentinel.write_text("precious")
    run = parent / "run"
    run.mkdir()
    write_config(run, CONFIG)
    _save(run, 1)
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
    before = _tree(tmp_path)

    message = _error(load_checkpoint, run)

    assert message.startswith(f"the save journal '.pending/COMMIT' in '{run}' is damaged (")
    assert f"delete the folder '{run / '.pending'}' and check the run loads" in message
    assert repr(name) in message
    assert _tree(tmp_path) == before  # nothing moved, nothing deleted, inside or out
    assert sentinel.read_text() == "precious"


@pytest.mark.parametrize(
    "commit", ['{"files": "model.safetensors"}', "[]", '{"files": {}}', "{", "\xff"]
)
def test_a_journal_without_a_list_of_names_is_damaged(tmp_path, commit):
    run, _ = _run_beside_a_sentinel(tmp_path)
    (run / ".pending").mkdir()
    (run / ".pending" / "COMMIT").write_bytes(commit.encode("latin-1"))
    before = _tree(run)

    message = _error(load_checkpoint, run)

    assert "the save journal '.pending/COMMIT'" in message and "is damaged" in message
    assert _tree(run) == before


def test_a_journal_whose_files_are_links_or_folders_is_damaged(tmp_path):
    run, sentinel = _run_beside_a_sentinel(tmp_path)
    _journal(run, ["model.safetensors", "vocab.json"])
    os.symlink(sentinel, run / ".pending" / "model.safetensors")
    (run / ".pending" / "vocab.json").mkdir()
    before = _tree(tmp_path)

    message = _error(load_checkpoint, run)

    assert "'.pending/model.safetensors', which it names, is not a plain file" in message
    assert _tree(tmp_path) == before


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
    before = _tree(tmp_path)

    message = _error(load_checkpoint, run)

    assert "save journal" in message and "symbolic link" in message and ".pending" in message
    assert _tree(tmp_path) == before
    assert _step_of_journal_free(run) == 1


def _step_of_journal_free(run: Path) -> int:
    """The run's step once its journal (whatever it is) is deleted by hand, as told."""
    pending = run / ".pending"
    if pending.is_symlink() or pending.is_file():
        pending.unlink()
    elif pending.exists():
        shutil.rmtree(pending)
    return _step_of(run)


@pytest.mark.parametrize("call", ["load", "save"])
def test_a_pending_that_is_a_file_is_named_with_what_to_do(tmp_path, call):
    run, _ = _run_beside_a_sentinel(tmp_path)
    (run / ".pending").write_text("not a folder")

    message = _error(load_checkpoint, run) if call == "load" else _error(_save, run, 2)

    assert f"the save journal '.pending' in '{run}' is a file, not a folder" in message
    assert f"delete '{run / '.pending'}'" in message
    assert _step_of_journal_free(run) == 1


def test_an_uncommitted_journal_is_removed_without_following_its_links(tmp_path):
    run, sentinel = _run_beside_a_sentinel(tmp_path)
    (run / ".pending").mkdir()
    os.symlink(sentinel.parent, run / ".pending" / "parent")
    os.symlink(sentinel, run / ".pending" / "model.safetensors")

    assert _step_of(run) == 1
    assert not (run / ".pending").exists() and sentinel.read_text() == "precious"


# --- plain files only ----------------------------------------------------------------------


class _Hung(BaseException):
    """Raised in the main thread when a call takes too long (not an OSError: no rnnlab
    ``except OSError`` may turn it into a CheckpointError)."""


@contextlib.contextmanager
def within(seconds: float):
    """Fail, instead of hanging the suite, if the block (main thread) outlasts ``seconds``.

    A timer thread sends SIGALRM to the main thread itself: signal.alarm's signal may reach
    another thread (pytest-xdist runs some), which leaves a blocking open() of a FIFO
    waiting. The handler raises _Hung out of the interrupted system call.
    """

    def expire(signum, frame):
        raise _Hung(f"still running after {seconds} s")

    main = threading.main_thread().ident
    previous = signal.signal(signal.SIGALRM, expire)
    timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGALRM))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGALRM, previous)


CHECKPOINT_NAMES = list(CHECKPOINT_FILES)


def _run_with_vocab(tmp_path: Path) -> Path:
    """A checkpoint with a vocabulary, in tmp_path/parent/run."""
    (tmp_path / "parent").mkdir()
    run = tmp_path / "parent" / "run"
    run.mkdir()
    write_config(run, CONFIG)
    write_vocab(run, {"tokens": ["a"]})
    _save(run, 1)
    return run


@pytest.mark.parametrize("name", CHECKPOINT_NAMES)
def test_a_symlink_is_refused_even_to_an_identical_file(tmp_path, name):
    run = _run_with_vocab(tmp_path)
    copy = tmp_path / "copy"
    copy.write_bytes((run / name).read_bytes())
    (run / name).unlink()
    os.symlink(copy, run / name)

    message = _error(load_checkpoint, run)

    assert message.startswith(f"{name} in '{run}' is a symbolic link; rnnlab run directories")
    assert "plain files only" in message and "replace it by a copy" in message


def test_a_symlink_to_dev_zero_is_refused_not_read_until_memory_runs_out(tmp_path):
    run = _run_with_vocab(tmp_path)
    (run / "model.safetensors").unlink()
    os.symlink("/dev/zero", run / "model.safetensors")

    with within(10):
        message = _error(load_checkpoint, run)

    assert "model.safetensors" in message and "symbolic link" in message


@pytest.mark.parametrize("name", CHECKPOINT_NAMES)
def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path, name):
    run = _run_with_vocab(tmp_path)
    (run / name).unlink()
    os.mkfifo(run / name)

    with within(10):
        message = _error(load_checkpoint, run)
        if name in ("config.json", "vocab.json", "state.json"):  # inspect's path too
            reader = read_vocab if name == "vocab.json" else read_config
            assert _error(reader, run) == message

    assert message.startswith(f"{name} in '{run}' is a FIFO (named pipe), not a file;")


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "state.json"])
def test_a_directory_where_a_file_belongs_is_named(tmp_path, name):
    run = _run_with_vocab(tmp_path)
    (run / name).unlink()
    (run / name).mkdir()

    assert _error(load_checkpoint, run).startswith(f"{name} in '{run}' is a directory, not a file")


def test_a_device_node_is_refused(tmp_path):
    run = _run_with_vocab(tmp_path)
    (run / "model.safetensors").unlink()
    try:  # the node of /dev/zero; only root may make one
        os.mknod(run / "model.safetensors", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    except (PermissionError, AttributeError):
        pytest.skip("making a device node needs root")

    with within(10):
        message = _error(load_checkpoint, run)

    assert "model.safetensors" in message and "is a character device, not a file" in message


def test_symlink_loops_are_called_so(tmp_path):
    run = _run_with_vocab(tmp_path)
    (run / "model.safetensors").unlink()
    os.symlink("model.safetensors", run / "model.safetensors")
    loop = tmp_path / "loop"
    os.symlink(loop, loop)

    assert "model.safetensors" in _error(load_checkpoint, run)
    assert "is a symbolic link loop" in _error(load_checkpoint, run)
    assert "symbolic link loop" in _error(load_checkpoint, loop)
    assert "symbolic link loop" in _error(read_config, loop)


def test_a_json_file_larger_than_any_rnnlab_writes_is_refused_unread(tmp_path):
    run = _run_with_vocab(tmp_path)
    tokens = ["x" * 100] * (170_000)  # valid JSON, 17 MiB
    (run / "vocab.json").write_text(json.dumps({"tokens": tokens}))

    message = _error(load_checkpoint, run)

    assert message.startswith(f"vocab.json in '{run}' is larger than 16 MiB")


def test_a_tensor_file_larger_than_memory_is_refused_unread(tmp_path, monkeypatch):
    run = _run_with_vocab(tmp_path)
    size = (run / "model.safetensors").stat().st_size
    monkeypatch.setattr(checkpoint, "_max_tensor_bytes", lambda: size - 1, raising=False)

    message = _error(load_checkpoint, run)

    assert message.startswith(f"model.safetensors in '{run}' is larger than")


# --- hashes cover config.json and vocab.json -----------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    "name, old, new",
    [("vocab.json", '"a"', '""'), ("config.json", '"hidden_size": 2', '"hidden_size": 3')],
)
def test_an_edited_config_or_vocab_is_refused_by_load_and_by_the_readers(tmp_path, name, old, new):
    run = _run_with_vocab(tmp_path)
    _edit(run / name, old, new)
    expected = (
        f"{name} in '{run}' does not match the checkpoint (sha256 mismatch): it was edited "
        "after the save; restore it or start a new run"
    )

    assert _error(load_checkpoint, run) == expected
    assert _error(read_vocab if name == "vocab.json" else read_config, run) == expected


def test_a_deleted_or_added_vocab_is_refused(tmp_path):
    run = _run_with_vocab(tmp_path)
    vocab = (run / "vocab.json").read_bytes()
    (run / "vocab.json").unlink()
    message = _error(load_checkpoint, run)
    assert message.startswith(f"vocab.json in '{run}' is missing, but the checkpoint")

    (tmp_path / "other").mkdir()
    no_vocab = _new_run(tmp_path / "other")  # a run whose checkpoint has no vocabulary
    (no_vocab / "vocab.json").write_bytes(vocab)
    assert "is not part of the checkpoint" in _error(load_checkpoint, no_vocab)


def test_save_records_the_hashes_of_config_and_vocab_as_on_disk(tmp_path):
    run = _run_with_vocab(tmp_path)  # config written before the first save, vocab given later
    _save(run, 2)  # neither given: the files on disk

    hashes = json.loads((run / "state.json").read_text())["sha256"]

    for name in ["config.json", "vocab.json"]:
        assert hashes[name] == sha256_file(run / name), name
    assert (run / "config.json").read_bytes() == config_bytes(CONFIG)


def test_config_and_vocab_given_to_a_save_are_written_in_its_commit(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()

    def save(step: int) -> None:
        config = {**CONFIG, "train": {"lr": 0.01, "steps": step}}
        save_checkpoint(
            run, model=_weights(step), state_tensors={}, state={"step": step}, config=config,
            vocab={"tokens": ["a"] * step},
        )  # fmt: skip

    save(1)
    outcomes = []
    for k in range(100):  # a save killed at each rename: config, vocab and state agree
        with _crash_after(monkeypatch, "replace", k):
            try:
                save(2)
            except _Crash:
                pass
            else:
                break
        ck = load_checkpoint(run)
        step = ck.state["step"]
        assert ck.config["train"]["steps"] == step and len(ck.vocab["tokens"]) == step, k
        assert all(np.all(v == step) for v in ck.model.values())
        outcomes.append(step)
        save(1)

    assert outcomes == [1, 2, 2, 2, 2, 2]  # COMMIT, then config, vocab, model, state, state.json
    assert read_config(run)["train"]["steps"] == 2


def _old_format_run(run: Path) -> dict[str, np.ndarray]:
    """The exact files rnnlab wrote before config.json and vocab.json were hashed."""
    run.mkdir()
    (run / "config.json").write_bytes(config_bytes(CONFIG))
    (run / "vocab.json").write_text(json.dumps({"tokens": ["a", "b"]}, indent=2) + "\n")
    model = {k: np.arange(np.prod(s), dtype=np.float32).reshape(s) for k, s in SHAPES.items()}
    meta = {"rnnlab_format_version": "1"}
    tensor_files = {
        "model.safetensors": safetensors.numpy.save(model, metadata=meta),
        "state.safetensors": safetensors.numpy.save({}, metadata=meta),
    }
    for name, data in tensor_files.items():
        (run / name).write_bytes(data)
    state = {
        "format_version": 1,
        "step": 5,
        "epoch": 0,
        "library_versions": {"rnnlab": "0.1.0", "numpy": "2.4.6"},
        "sha256": {n: hashlib.sha256(d).hexdigest() for n, d in tensor_files.items()},
    }
    (run / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    return model


def test_a_run_saved_before_config_and_vocab_were_hashed_still_loads(tmp_path):
    run = tmp_path / "run"
    model = _old_format_run(run)

    ck = load_checkpoint(run, expected_shapes=SHAPES)

    assert ck.state["step"] == 5 and ck.config == {"format_version": 1, **CONFIG}
    assert ck.vocab == {"tokens": ["a", "b"]}
    assert all(_bitwise_equal(ck.model[k], model[k]) for k in model)
    assert read_config(run) == ck.config and read_vocab(run) == ck.vocab
    _save(run, 6)  # its next save records them
    assert set(json.loads((run / "state.json").read_text())["sha256"]) >= {
        "config.json", "vocab.json"
    }  # fmt: skip


def test_readers_work_before_the_first_checkpoint(tmp_path):
    write_config(tmp_path, CONFIG)
    write_vocab(tmp_path, {"tokens": ["a"]})
    (tmp_path / "config.json").write_bytes(config_bytes({**CONFIG, "task": {"x": 1}}))

    assert read_config(tmp_path)["task"] == {"x": 1}
    assert read_vocab(tmp_path) == {"tokens": ["a"]}


# --- state.json's structure ----------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value",
    [("step", -1), ("step", 2.0), ("step", True), ("epoch", -1), ("index", "3"),
     ("tokens", None), ("elapsed", "1.5"), ("elapsed", -1.0), ("elapsed", float("nan")),
     ("best_val", "inf"), ("last_val", [1]), ("has_carry", "yes"), ("optimizer", []),
     ("rng", "0"), ("schedule", {"scale": "1", "best": 0, "bad_evals": 0}),
     ("schedule", {"scale": 1.0}), ("stop_reason", 0), ("library_versions", 1),
     ("sha256", {"model.safetensors": "0", "state.safetensors": "1", "best.safetensors": 5})],
)  # fmt: skip
def test_a_state_json_value_of_the_wrong_type_is_named(tmp_path, key, value):
    run = _new_run(tmp_path)
    state = json.loads((run / "state.json").read_text())
    state[key] = value
    (run / "state.json").write_text(json.dumps(state))

    message = _error(load_checkpoint, run)

    assert message.startswith(f"state.json in '{run}'")
    assert f"'{key}' must be" in message or "lacks an integer 'step'" in message


def test_the_trainers_state_keys_are_accepted(tmp_path):
    run = _new_run(tmp_path)
    state = {
        "step": 3, "epoch": 1, "index": 0, "tokens": 10, "elapsed": 0.5, "best_val": math.inf,
        "best_step": 2, "evals_since_best": 1, "last_val": None, "stop_reason": "",
        "has_carry": False, "optimizer": {"optimizer": "adam"}, "rng": {},
        "schedule": {"scale": 1.0, "best": math.inf, "bad_evals": 0},
    }  # fmt: skip
    save_checkpoint(run, model=_weights(3), state_tensors={}, state=state)

    assert load_checkpoint(run).state["best_val"] == math.inf


def test_require_state_keys_names_what_is_missing(tmp_path):
    run = _new_run(tmp_path)
    state = load_checkpoint(run).state

    require_state_keys(state, ("step", "epoch"), run)
    message = _error(require_state_keys, state, ("optimizer", "step", "rng"), run)

    assert message.startswith(f"state.json in '{run}' lacks 'optimizer', 'rng', which resuming")


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"step": ' + "9" * 5000 + "}", '\ufeff{"step": 1}'],
)
def test_json_that_python_cannot_parse_is_a_checkpoint_error(tmp_path, text):
    run = _new_run(tmp_path)
    (run / "state.json").write_text(text, encoding="utf-8")

    assert "state.json" in _error(load_checkpoint, run)


# --- weights loaded into a model -----------------------------------------------------------


def _rehash(run: Path, name: str) -> None:
    """Record the file's current sha256 in state.json: a crafted run, not a damaged one."""
    state = json.loads((run / "state.json").read_text())
    state["sha256"][name] = sha256_file(run / name)
    (run / "state.json").write_text(json.dumps(state))


@pytest.mark.parametrize("dtype", [np.int32, np.bool_, np.complex64, np.uint8])
@pytest.mark.parametrize("name", ["model.safetensors", "best.safetensors"])
def test_weights_that_are_not_floats_are_refused(tmp_path, dtype, name):
    run = _new_run(tmp_path)
    weights = {**_weights(1), "head.bias": np.ones(5, dtype)}
    (run / name).write_bytes(safetensors.numpy.save(weights))
    _rehash(run, name)

    message = _error(load_checkpoint, run, expected_shapes=SHAPES)

    assert message.startswith(f"{name} in '{run}': tensor 'head.bias' holds {np.dtype(dtype)}")
    assert "not floating-point weights" in message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["model.safetensors", "best.safetensors"])
def test_non_finite_weights_are_refused(tmp_path, bad, name):
    run = _new_run(tmp_path)
    weights = _weights(1)
    weights["rnn.weight_hh_l0"][1, 1] = bad
    (run / name).write_bytes(safetensors.numpy.save(weights))
    _rehash(run, name)

    message = _error(load_checkpoint, run, expected_shapes=SHAPES)

    assert message.startswith(f"{name} in '{run}' holds non-finite weights")
    assert "'rnn.weight_hh_l0'" in message


@pytest.mark.parametrize("dtype", ["BF16", "F8_E4M3", "X9"])
def test_a_tensor_of_a_dtype_numpy_lacks_is_a_checkpoint_error(tmp_path, dtype):
    run = _new_run(tmp_path)
    header = json.dumps({"a": {"dtype": dtype, "shape": [2], "data_offsets": [0, 4]}}).encode()
    (run / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    _rehash(run, "model.safetensors")

    message = _error(load_checkpoint, run)

    assert message.startswith(f"model.safetensors in '{run}' is not a readable safetensors file")


# --- what the engines take from a checkpoint's optimizer state ---------------------------


def _engines():
    """(name, make(optimizer) -> engine) for the NumPy engine, and torch's if installed."""
    from rnnlab.engine import build_engine
    from rnnlab.model import ModelSpec

    spec = ModelSpec(input_size=3, output_size=5, cell="lstm", hidden_size=2)
    kinds = ["numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])
    return [
        pytest.param(lambda opt, k=k: build_engine(spec, k, optimizer=opt), id=k) for k in kinds
    ]


def _trained_state(engine):
    from rnnlab.batch import Batch

    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, 3, size=(4, 2)), rng.integers(0, 5, size=(4, 2))
    batch = Batch(inputs=inputs, targets=targets, mask=np.ones((4, 2), bool), lengths=None)
    engine.train_step(batch)
    tensors, meta = engine.optimizer_state()
    return tensors, json.loads(json.dumps(meta))  # as state.json gives it back


_W = "exp_avg.rnn.weight_ih_l0"


@pytest.mark.parametrize("make", _engines())
@pytest.mark.parametrize(
    "change, says",
    [
        (lambda t, m: t.update({"exp_avg.nope": np.zeros(1)}), "unexpected tensor 'exp_avg.nope'"),
        (lambda t, m: t.update({"momentum_buffer.head.bias": np.zeros(5)}), "unexpected tensor"),
        (lambda t, m: t.update({_W: np.zeros((3, 8))}), "has shape (3, 8), parameter"),
        (lambda t, m: t.update({_W: np.zeros((8, 3), np.int64)}), "holds int64, not floating"),
        (lambda t, m: t.update({_W: np.zeros((8, 3), np.complex64)}), "holds complex64"),
        (lambda t, m: m.update(optimizer="sgd"), "cannot load a 'sgd' optimizer state into"),
        (lambda t, m: m.update(step="3"), "'step' must be a whole number >= 0, got '3'"),
        (lambda t, m: m.update(step=-1), "'step' must be a whole number >= 0"),
        (lambda t, m: m.pop("step"), "'step' must be a whole number >= 0, got None"),
        (lambda t, m: m.pop("betas"), "the hyperparameter 'betas' is missing"),
        (lambda t, m: m.update(betas=[0.9]), "'betas' must be two numbers in [0, 1)"),
        (lambda t, m: m.update(lr="0.1"), "'lr' must be a number >= 0"),
        (lambda t, m: m.update(eps=None), "'eps' must be a number >= 0"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_an_optimizer_state_that_does_not_fit_is_a_checkpoint_error(make, change, says):
    engine = make("adam")
    tensors, meta = _trained_state(engine)
    change(tensors, meta)

    with pytest.raises(CheckpointError) as info:
        engine.load_optimizer_state(tensors, meta)

    assert says in str(info.value) and "\n" not in str(info.value)
    assert "restore both files from a backup or start a new run" in str(info.value)


@pytest.mark.parametrize("make", _engines())
def test_an_sgd_state_checks_its_own_hyperparameters(make):
    engine = make("sgd")
    tensors, meta = _trained_state(engine)
    engine.load_optimizer_state(tensors, meta)  # as saved: fine

    with pytest.raises(CheckpointError, match="'nesterov' must be true or false"):
        engine.load_optimizer_state(tensors, {**meta, "nesterov": "no"})
    with pytest.raises(CheckpointError, match="expected a JSON object, got list"):
        engine.load_optimizer_state(tensors, ["sgd"])


def test_a_journal_that_cannot_be_finished_says_so_and_stays_for_next_time(tmp_path, monkeypatch):
    run = _new_run(tmp_path, step=1)
    with _crash_after(monkeypatch, "replace", 1), pytest.raises(_Crash):
        _save(run, 2)  # committed, nothing moved yet

    def read_only(*args):
        raise OSError(30, "Read-only file system", str(args[0]))

    monkeypatch.setattr(os, "replace", read_only)
    message = _error(load_checkpoint, run)
    monkeypatch.undo()

    assert message.startswith(f"cannot finish the save journal '.pending' in '{run}' (Read-only")
    assert (run / ".pending" / "COMMIT").exists()
    assert _step_of(run) == 2  # the next load finishes it


def test_read_run_file_reads_only_declared_plain_files(tmp_path):
    run = _run_with_vocab(tmp_path)
    (run / "metrics.jsonl").write_text('{"step": 1}\n')
    os.mkfifo(run / "loss.png")

    assert read_run_file(run, "metrics.jsonl") == b'{"step": 1}\n'
    assert read_run_file(run, "accuracy.png") is None
    with within(10):
        assert "loss.png in" in _error(read_run_file, run, "loss.png")
    assert "larger than" in _error(read_run_file, run, "metrics.jsonl", limit=4)
    for name in ["../sentinel", "sub/x.png", "notes.txt", ".pending", "", ".."]:
        assert not is_run_file(name)
        with pytest.raises(ValueError, match="RUN_FILES"):
            read_run_file(run, name)
    assert all(is_run_file(name) for name in [*CHECKPOINT_FILES, "train.lock", "loss.png"])
