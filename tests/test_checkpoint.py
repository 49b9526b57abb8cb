"""The checkpoint format: bitwise round trips, clear errors on damage, hashes that cover
config.json and vocab.json, and runs saved by older rnnlab still loading."""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from rnnlab import checkpoint
from rnnlab.checkpoint import (
    FORMAT_VERSION,
    config_bytes,
    load_checkpoint,
    read_run_config,
    read_vocab,
    save_checkpoint,
    write_config,
    write_vocab,
)
from rnnlab.run_files import sha256_file
from tests.checkpoint_cases import (
    CONFIG,
    SHAPES,
    Crash,
    crash_after,
    error_of,
    filled_weights,
    new_run,
    rehash,
    run_with_vocab,
    save_step,
    step_of,
)


def _bitwise_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


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
    run = new_run(tmp_path)
    save_checkpoint(run, model=model, state_tensors={}, state={"step": 2})

    ck = load_checkpoint(run)

    for name, value in model.items():
        np.testing.assert_array_equal(ck.model[name], value, err_msg=name)


def test_state_keeps_caller_keys_and_records_versions_and_hashes(tmp_path):
    run = new_run(tmp_path, step=3)

    state = load_checkpoint(run).state

    assert state["step"] == 3 and state["epoch"] == 0
    assert state["format_version"] == FORMAT_VERSION
    assert state["library_versions"]["numpy"] == np.__version__
    assert "rnnlab" in state["library_versions"]
    assert ("torch" in state["library_versions"]) == ("torch" in sys.modules)
    for name in ["model.safetensors", "state.safetensors", "best.safetensors"]:
        assert state["sha256"][name] == sha256_file(run / name), name


def test_saving_a_loaded_checkpoint_again_writes_the_same_bytes(tmp_path):
    run = new_run(tmp_path, step=3)
    ck = load_checkpoint(run)

    for _ in range(8):  # the bytes must not depend on hash-map order, which varies per save
        # ck.state holds the bookkeeping keys too: save fills them in afresh.
        save_checkpoint(run, model=ck.model, state_tensors=ck.state_tensors, state=ck.state)
        assert load_checkpoint(run).state["sha256"] == ck.state["sha256"]


def test_best_weights_round_trip_and_are_kept_when_not_given(tmp_path):
    run = new_run(tmp_path, step=1)
    save_checkpoint(
        run, model=filled_weights(2), state_tensors={}, state={"step": 2}, best=filled_weights(9)
    )
    save_checkpoint(run, model=filled_weights(3), state_tensors={}, state={"step": 3})

    ck = load_checkpoint(run)

    assert ck.state["step"] == 3
    assert ck.best is not None
    assert all(np.all(v == 9) for v in ck.best.values())


def test_a_run_without_best_weights_loads_none(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    write_config(run, CONFIG)
    save_step(run, 1, best=False)

    assert load_checkpoint(run).best is None
    assert not (run / "best.safetensors").exists()


def test_dtype_casts_the_weights_only(tmp_path):
    run = new_run(tmp_path, step=1)

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

    assert read_run_config(tmp_path) == {"format_version": FORMAT_VERSION, **CONFIG}
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
            run, model=filled_weights(1), state_tensors={}, state={"step": 1}, config=CONFIG,
            vocab={"tokens": ["a"]},
        )  # fmt: skip
    else:
        write_config(run, CONFIG)
        write_vocab(run, {"tokens": ["a"]})
        save_step(run, 1)

    ck = load_checkpoint(run)

    assert ck.config["model"] == CONFIG["model"]
    assert ck.vocab == {"tokens": ["a"]}


def test_save_rejects_what_it_cannot_store(tmp_path):
    run = new_run(tmp_path)
    with pytest.raises(ValueError, match="step"):
        save_checkpoint(run, model=filled_weights(1), state_tensors={}, state={"epoch": 1})
    with pytest.raises(TypeError, match=r"head\.weight"):
        save_checkpoint(run, model={"head.weight": [1.0]}, state_tensors={}, state={"step": 1})
    assert step_of(run) == 1


# --- damage --------------------------------------------------------------------------------


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["model.safetensors", "state.safetensors", "best.safetensors"])
def test_a_flipped_byte_is_reported_with_the_file(tmp_path, name):
    run = new_run(tmp_path)
    _flip_byte(run / name, -3)  # in the tensor data, so only the hash can notice

    message = error_of(load_checkpoint, run)

    assert f"{name} in '{run}' is corrupted (sha256 mismatch)" in message


def test_a_truncated_file_is_reported(tmp_path):
    run = new_run(tmp_path)
    path = run / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-10])

    assert "model.safetensors" in error_of(load_checkpoint, run)


def test_a_truncated_file_whose_hash_matches_is_a_checkpoint_error_not_a_crash(tmp_path):
    run = new_run(tmp_path)
    path = run / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-10])
    state = json.loads((run / "state.json").read_text())
    state["sha256"]["model.safetensors"] = sha256_file(path)
    (run / "state.json").write_text(json.dumps(state))

    message = error_of(load_checkpoint, run)

    assert "model.safetensors" in message and "not a readable safetensors file" in message


@pytest.mark.parametrize("name", ["state.json", "config.json", "model.safetensors"])
def test_a_missing_file_is_reported(tmp_path, name):
    run = new_run(tmp_path)
    (run / name).unlink()

    assert name in error_of(load_checkpoint, run)


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", '{"format_version": 1}', "\xff\xfe"])
def test_a_broken_state_json_is_reported(tmp_path, text):
    run = new_run(tmp_path)
    (run / "state.json").write_bytes(text.encode("latin-1"))

    assert "state.json" in error_of(load_checkpoint, run)


@pytest.mark.parametrize("name", ["state.json", "config.json"])
@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_another_format_version_is_refused(tmp_path, name, version):
    run = new_run(tmp_path)
    obj = json.loads((run / name).read_text())
    obj["format_version"] = version
    (run / name).write_text(json.dumps(obj))

    message = error_of(load_checkpoint, run)

    assert f"run '{run}' was written by checkpoint format {version}" in message
    assert f"reads format {FORMAT_VERSION}" in message


def test_a_shape_mismatch_names_the_tensor_and_both_shapes(tmp_path):
    run = new_run(tmp_path)
    expected = {**SHAPES, "rnn.weight_hh_l0": (8, 4)}

    message = error_of(load_checkpoint, run, expected_shapes=expected)

    assert "'rnn.weight_hh_l0' has shape (8, 2), expected (8, 4)" in message
    assert "model.safetensors" in message


def test_a_missing_or_extra_tensor_is_named(tmp_path):
    run = new_run(tmp_path)
    missing = error_of(load_checkpoint, run, expected_shapes={**SHAPES, "embedding.weight": (7, 3)})
    extra = {k: v for k, v in SHAPES.items() if k != "head.bias"}
    unexpected = error_of(load_checkpoint, run, expected_shapes=extra)

    assert "no tensor 'embedding.weight' (expected shape (7, 3))" in missing
    assert "unexpected tensor 'head.bias' with shape (5,)" in unexpected


def test_best_weights_are_checked_against_the_expected_shapes(tmp_path):
    run = new_run(tmp_path)
    best = {**filled_weights(1), "head.bias": np.zeros(6, np.float32)}
    save_checkpoint(run, model=filled_weights(2), state_tensors={}, state={"step": 2}, best=best)

    message = error_of(load_checkpoint, run, expected_shapes=SHAPES)

    assert "best.safetensors" in message and "(6,)" in message


def test_a_missing_run_or_a_file_is_reported(tmp_path):
    assert "does not exist" in error_of(load_checkpoint, tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    assert "not a directory" in error_of(load_checkpoint, tmp_path / "file")
    assert "no config.json" in error_of(load_checkpoint, tmp_path)


def test_load_never_modifies_the_run(tmp_path):
    run = new_run(tmp_path)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()}

    load_checkpoint(run)
    error_of(load_checkpoint, run, expected_shapes={"x": (1,)})

    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()} == before


def test_a_tensor_file_larger_than_memory_is_refused_unread(tmp_path, monkeypatch):
    run = run_with_vocab(tmp_path)
    size = (run / "model.safetensors").stat().st_size
    monkeypatch.setattr(checkpoint, "_max_tensor_bytes", lambda: size - 1, raising=False)

    message = error_of(load_checkpoint, run)

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
    run = run_with_vocab(tmp_path)
    _edit(run / name, old, new)
    expected = (
        f"{name} in '{run}' does not match the checkpoint (sha256 mismatch): it was edited "
        "after the save; restore it or start a new run"
    )

    assert error_of(load_checkpoint, run) == expected
    assert error_of(read_vocab if name == "vocab.json" else read_run_config, run) == expected


def test_a_deleted_or_added_vocab_is_refused(tmp_path):
    run = run_with_vocab(tmp_path)
    vocab = (run / "vocab.json").read_bytes()
    (run / "vocab.json").unlink()
    message = error_of(load_checkpoint, run)
    assert message.startswith(f"vocab.json in '{run}' is missing, but the checkpoint")

    (tmp_path / "other").mkdir()
    no_vocab = new_run(tmp_path / "other")  # a run whose checkpoint has no vocabulary
    (no_vocab / "vocab.json").write_bytes(vocab)
    assert "is not part of the checkpoint" in error_of(load_checkpoint, no_vocab)


def test_save_records_the_hashes_of_config_and_vocab_as_on_disk(tmp_path):
    run = run_with_vocab(tmp_path)  # config written before the first save, vocab given later
    save_step(run, 2)  # neither given: the files on disk

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
            run, model=filled_weights(step), state_tensors={}, state={"step": step}, config=config,
            vocab={"tokens": ["a"] * step},
        )  # fmt: skip

    save(1)
    outcomes = []
    for k in range(100):  # a save killed at each rename: config, vocab and state agree
        with crash_after(monkeypatch, "replace", k):
            try:
                save(2)
            except Crash:
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
    assert read_run_config(run)["train"]["steps"] == 2


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
    assert read_run_config(run) == ck.config and read_vocab(run) == ck.vocab
    save_step(run, 6)  # its next save records them
    assert set(json.loads((run / "state.json").read_text())["sha256"]) >= {
        "config.json", "vocab.json"
    }  # fmt: skip


def test_readers_work_before_the_first_checkpoint(tmp_path):
    write_config(tmp_path, CONFIG)
    write_vocab(tmp_path, {"tokens": ["a"]})
    (tmp_path / "config.json").write_bytes(config_bytes({**CONFIG, "task": {"x": 1}}))

    assert read_run_config(tmp_path)["task"] == {"x": 1}
    assert read_vocab(tmp_path) == {"tokens": ["a"]}


@pytest.mark.parametrize("dtype", ["BF16", "F8_E4M3", "X9"])
def test_a_tensor_of_a_dtype_numpy_lacks_is_a_checkpoint_error(tmp_path, dtype):
    run = new_run(tmp_path)
    header = json.dumps({"a": {"dtype": dtype, "shape": [2], "data_offsets": [0, 4]}}).encode()
    (run / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    rehash(run, "model.safetensors")

    message = error_of(load_checkpoint, run)

    assert message.startswith(f"model.safetensors in '{run}' is not a readable safetensors file")
