"""A run directory's files are read as untrusted input: declared names and plain files only
(no symbolic link, FIFO, device or directory), of a sane size, refused in one line."""

from __future__ import annotations

import json
import os
import stat

import pytest

from rnnlab.checkpoint import load_checkpoint, read_run_config, read_vocab
from rnnlab.run_files import CHECKPOINT_FILES, is_run_file, read_run_file
from tests.checkpoint_cases import error_of, run_with_vocab, within

CHECKPOINT_NAMES = list(CHECKPOINT_FILES)


@pytest.mark.parametrize("name", CHECKPOINT_NAMES)
def test_a_symlink_is_refused_even_to_an_identical_file(tmp_path, name):
    run = run_with_vocab(tmp_path)
    copy = tmp_path / "copy"
    copy.write_bytes((run / name).read_bytes())
    (run / name).unlink()
    os.symlink(copy, run / name)

    message = error_of(load_checkpoint, run)

    assert message.startswith(f"{name} in '{run}' is a symbolic link; rnnlab run directories")
    assert "plain files only" in message and "replace it by a copy" in message


def test_a_symlink_to_dev_zero_is_refused_not_read_until_memory_runs_out(tmp_path):
    run = run_with_vocab(tmp_path)
    (run / "model.safetensors").unlink()
    os.symlink("/dev/zero", run / "model.safetensors")

    with within(10):
        message = error_of(load_checkpoint, run)

    assert "model.safetensors" in message and "symbolic link" in message


@pytest.mark.parametrize("name", CHECKPOINT_NAMES)
def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path, name):
    run = run_with_vocab(tmp_path)
    (run / name).unlink()
    os.mkfifo(run / name)

    with within(10):
        message = error_of(load_checkpoint, run)
        if name in ("config.json", "vocab.json", "state.json"):  # inspect's path too
            reader = read_vocab if name == "vocab.json" else read_run_config
            assert error_of(reader, run) == message

    assert message.startswith(f"{name} in '{run}' is a FIFO (named pipe), not a file;")


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "state.json"])
def test_a_directory_where_a_file_belongs_is_named(tmp_path, name):
    run = run_with_vocab(tmp_path)
    (run / name).unlink()
    (run / name).mkdir()

    assert error_of(load_checkpoint, run).startswith(
        f"{name} in '{run}' is a directory, not a file"
    )


def test_a_device_node_is_refused(tmp_path):
    run = run_with_vocab(tmp_path)
    (run / "model.safetensors").unlink()
    try:  # the node of /dev/zero; only root may make one
        os.mknod(run / "model.safetensors", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    except (PermissionError, AttributeError):
        pytest.skip("making a device node needs root")

    with within(10):
        message = error_of(load_checkpoint, run)

    assert "model.safetensors" in message and "is a character device, not a file" in message


def test_symlink_loops_are_called_so(tmp_path):
    run = run_with_vocab(tmp_path)
    (run / "model.safetensors").unlink()
    os.symlink("model.safetensors", run / "model.safetensors")
    loop = tmp_path / "loop"
    os.symlink(loop, loop)

    assert "model.safetensors" in error_of(load_checkpoint, run)
    assert "is a symbolic link loop" in error_of(load_checkpoint, run)
    assert "symbolic link loop" in error_of(load_checkpoint, loop)
    assert "symbolic link loop" in error_of(read_run_config, loop)


def test_a_json_file_larger_than_any_rnnlab_writes_is_refused_unread(tmp_path):
    run = run_with_vocab(tmp_path)
    tokens = ["x" * 100] * (170_000)  # valid JSON, 17 MiB
    (run / "vocab.json").write_text(json.dumps({"tokens": tokens}))

    message = error_of(load_checkpoint, run)

    assert message.startswith(f"vocab.json in '{run}' is larger than 16 MiB")


def test_read_run_file_reads_only_declared_plain_files(tmp_path):
    run = run_with_vocab(tmp_path)
    (run / "metrics.jsonl").write_text('{"step": 1}\n')
    os.mkfifo(run / "loss.png")

    assert read_run_file(run, "metrics.jsonl") == b'{"step": 1}\n'
    assert read_run_file(run, "accuracy.png") is None
    with within(10):
        assert "loss.png in" in error_of(read_run_file, run, "loss.png")
    assert "larger than" in error_of(read_run_file, run, "metrics.jsonl", limit=4)
    for name in ["../sentinel", "sub/x.png", "notes.txt", ".pending", "", ".."]:
        assert not is_run_file(name)
        with pytest.raises(ValueError, match="RUN_FILES"):
            read_run_file(run, name)
    assert all(is_run_file(name) for name in [*CHECKPOINT_FILES, "train.lock", "loss.png"])
