"""Checkpoints: bitwise round trips, clear errors on damage, and crash safety at every step."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from rnnlab.checkpoint import (
    FORMAT_VERSION,
    atomic_write_bytes,
    atomic_write_json,
    load_checkpoint,
    read_config,
    read_vocab,
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


def test_load_returns_config_and_vocab(tmp_path):
    run = _new_run(tmp_path)
    write_vocab(run, {"tokens": ["a"]})

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
