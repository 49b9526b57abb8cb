"""Atomic writes: a reader or a crash sees the old file or the new one, and no temporary
file is left behind."""

from __future__ import annotations

import json

import pytest

from rnnlab.atomic_write import atomic_write_bytes, atomic_write_json
from tests.checkpoint_cases import Crash, crash_after


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

    with crash_after(monkeypatch, fail, 0), pytest.raises(Crash):
        atomic_write_bytes(target, b"new")

    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
