"""A run directory nobody can break: fuzzing the files of real runs.

A run directory is untrusted input (DESIGN.md, "Bad input"): people share them. Each example
copies a small real run into a fresh folder beside a sentinel file, damages one thing in it
(truncates a file or flips one of its bits, gives a JSON value another type or deletes it,
deletes the file, replaces it by a symbolic link, a FIFO or a directory, or adds a crafted
save journal), optionally re-records the damaged file's sha256 in state.json (a crafted run
rather than a damaged one, to reach what lies behind the hash check), and runs the commands
that read a run. Each must exit 0, or 2 with one line "rnnlab: error: ..."; never a
traceback, a hang, or a change outside the run directory. Inside it, only a committed save
journal may be rolled forward (and an uncommitted one removed).

A feature that adds a file to a run adds it to FILES here (see rnnlab.run_files.RUN_FILES).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.cli import main
from rnnlab.run_files import CHECKPOINT_FILES
from tests.checkpoint_cases import tree_of, within

QUICK = ["--steps", "4", "--eval-every", "2", "--save-every", "2", "--log-every", "2"]
QUICK += ["--hidden", "4", "--quiet"]
TEXT = "It was the best of times, it was the worst of times, it was the age of wisdom.\n" * 4

# Every file a trained run holds (a feature that adds one adds it here).
FILES = [*CHECKPOINT_FILES, "metrics.jsonl", "probe.json", "loss.png", "train.lock"]
TENSOR_FILES = ("model.safetensors", "state.safetensors", "best.safetensors")
HASHED = ("config.json", "vocab.json", *TENSOR_FILES)
JSON_FILES = ["config.json", "vocab.json", "state.json"]

READERS = [["evaluate", "{run}", "--json"], ["generate", "{run}", "--length", "5", "--seed", "0"]]
READERS += [["inspect", "{run}"]]
RESUME = ["train", "--resume", "{run}", "--steps", "6", "--quiet"]

# Names a crafted save journal may hold: the checkpoint's own, and what must never be moved.
JOURNAL_NAMES = [
    *CHECKPOINT_FILES, "../sentinel", "..", ".", "", "/dev/null", "metrics.jsonl", "COMMIT",
    "sub/model.safetensors", ".pending/COMMIT", 5, None, True, ["model.safetensors"], {"a": 1},
]  # fmt: skip

OTHER_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.lists(st.integers(-3, 3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(-3, 3), max_size=2),
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two small real runs, made once: a^n b^n and a character-level text run."""
    root = tmp_path_factory.mktemp("runs")
    (root / "text.txt").write_text(TEXT)
    assert main(["train", "anbn", *QUICK, "--out", str(root / "anbn")]) == 0
    chars = ["train", "chars", "--data", str(root / "text.txt"), "--seq-len", "8"]
    assert main([*chars, "--batch-size", "2", *QUICK, "--out", str(root / "chars")]) == 0
    return {"anbn": root / "anbn", "chars": root / "chars", "root": root}


# --- mutations -------------------------------------------------------------------------------


def _json_paths(obj, prefix=()) -> list[tuple]:
    """Every path (keys and indices) to a value inside a parsed JSON document."""
    paths = []
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    )
    for key, value in items:
        paths.append((*prefix, key))
        paths.extend(_json_paths(value, (*prefix, key)))
    return paths


def _json_edit(data, path: Path, delete: bool, keep: tuple) -> str:
    """Give one value of the JSON file another type, or delete it (not under ``keep``)."""
    try:
        obj = json.loads(path.read_bytes())
    except ValueError:
        return "not JSON: left alone"
    paths = [p for p in _json_paths(obj) if not any(p[: len(k)] == k for k in keep)]
    if not paths:
        return "no values: left alone"
    where = data.draw(st.sampled_from(paths), label="json path")
    parent = obj
    for key in where[:-1]:
        parent = parent[key]
    old = parent[where[-1]]
    if delete:
        del parent[where[-1]]
    else:
        parent[where[-1]] = data.draw(
            OTHER_TYPES.filter(lambda v: type(v) is not type(old)), label="new value"
        )
    path.write_text(json.dumps(obj, indent=2))
    return f"{'deleted' if delete else 'retyped'} {where}"


def _journal(data, run: Path, parent: Path) -> str:
    """A crafted .pending/: names drawn from JOURNAL_NAMES, files copied or made up."""
    pending = run / ".pending"
    form = data.draw(st.sampled_from(["commit", "uncommitted", "link", "file", "bad commit"]))
    if form == "link":  # .pending -> a folder outside, which holds a journal
        outside = parent / "outside"
        outside.mkdir()
        (outside / "COMMIT").write_text(json.dumps({"files": ["model.safetensors"]}))
        (outside / "model.safetensors").write_bytes(b"from outside")
        os.symlink(outside, pending)
        return form
    if form == "file":
        pending.write_text("{}")
        return form
    pending.mkdir()
    names = data.draw(st.lists(st.sampled_from(JOURNAL_NAMES), max_size=4), label="names")
    for name in {n for n in names if isinstance(n, str) and n in CHECKPOINT_FILES}:
        source = data.draw(st.sampled_from(["copy", "other", "garbage", "none"]), label=name)
        if source == "copy":
            shutil.copyfile(run / name, pending / name)
        elif source == "other":  # the right name, another file's bytes
            shutil.copyfile(run / data.draw(st.sampled_from(FILES[:6])), pending / name)
        elif source == "garbage":
            (pending / name).write_bytes(data.draw(st.binary(max_size=64)))
    (run / "sentinel").write_text("would be moved out by '.pending/../sentinel'")
    if form == "commit":
        (pending / "COMMIT").write_text(json.dumps({"files": names}))
    elif form == "bad commit":
        (pending / "COMMIT").write_bytes(data.draw(st.binary(max_size=32)))
    return f"{form} {names}"


class Scope(NamedTuple):
    """What an example may damage: one of ``files`` (or the journal); the damaged file's
    sha256 is re-recorded if it is one of ``rehash`` and hypothesis draws so; JSON values
    under ``keep`` ((file, path prefix) pairs) are left alone."""

    files: tuple[str, ...] = tuple(FILES)
    rehash: tuple[str, ...] = TENSOR_FILES
    keep: tuple[tuple[str, tuple], ...] = ()


def _mutate(data, run: Path, parent: Path, scope: Scope) -> str:
    """Damage one thing in ``run`` within ``scope``; returns what was done, for messages."""
    how = data.draw(
        st.sampled_from(
            ["truncate", "flip", "retype", "delete key", "delete", "link out", "link sentinel",
             "link dev zero", "link loop", "fifo", "directory", "journal"]
        ),
        label="mutation",
    )  # fmt: skip
    if how == "journal":
        return "journal: " + _journal(data, run, parent)
    name = data.draw(st.sampled_from(scope.files), label="file")
    path = run / name
    if how in ("truncate", "flip"):
        content = bytearray(path.read_bytes())
        if how == "truncate":
            del content[data.draw(st.integers(0, len(content)), label="offset") :]
        elif content:
            bit = data.draw(st.integers(0, 8 * len(content) - 1), label="bit")
            content[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(content))
    elif how in ("retype", "delete key"):
        if name not in JSON_FILES:
            return f"{how} {name}: not a JSON file, left alone"
        keep = tuple(prefix for file, prefix in scope.keep if file == name)
        how = f"{how} {_json_edit(data, path, how == 'delete key', keep)}"
    else:
        path.unlink()
        if how == "link out":  # an identical copy, outside
            shutil.copyfile(parent / "copy" / name, parent / name)
            os.symlink(parent / name, path)
        elif how == "link sentinel":
            os.symlink(parent / "sentinel", path)
        elif how == "link dev zero":
            os.symlink("/dev/zero", path)
        elif how == "link loop":
            os.symlink(name, path)
        elif how == "fifo":
            os.mkfifo(path)
        elif how == "directory":
            path.mkdir()
            (path / name).write_text("x")
    if name in scope.rehash and data.draw(st.booleans(), label="rehash") and path.is_file():
        _rehash(run, name, path)
        how += " (rehashed)"
    return f"{how} {name}"


def _rehash(run: Path, name: str, path: Path) -> None:
    state_path = run / "state.json"
    if state_path.is_symlink() or not state_path.is_file():
        return
    state = json.loads(state_path.read_text())
    state["sha256"][name] = hashlib.sha256(path.read_bytes()).hexdigest()
    state_path.write_text(json.dumps(state, indent=2))


# --- checks ----------------------------------------------------------------------------------


def _rolled_forward(before: dict, after: dict) -> bool:
    """Whether ``after`` is ``before`` with its save journal finished or discarded."""
    journal = {
        k.removeprefix(".pending/"): v for k, v in before.items() if k.startswith(".pending/")
    }
    if ".pending" not in before or any(k.startswith(".pending") for k in after):
        return False
    for key in set(before) | set(after):
        if key.startswith(".pending") or after.get(key) == before.get(key):
            continue
        if key not in journal or after.get(key) != journal[key]:
            return False
    return True


def _run_command(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    with within(20):
        code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    assert code in (0, 2), f"exit {code}: {err}"
    if code == 2:
        assert err.startswith("rnnlab: error: ") and err.count("\n") == 1, err
    return code, err


DAMAGED = Scope()


def _fuzz_one(runs, kind, data, capsys, commands, scope=DAMAGED) -> None:
    """One example: copy the run, damage it (see _mutate), run each command and check."""
    with tempfile.TemporaryDirectory() as tmp:
        parent = Path(tmp)
        (parent / "sentinel").write_text("precious")
        shutil.copytree(runs[kind], parent / "copy", symlinks=True)  # a pristine copy, outside
        run = parent / "run"
        shutil.copytree(runs[kind], run, symlinks=True)
        what = _mutate(data, run, parent, scope)
        outside = {k: v for k, v in tree_of(parent).items() if not k.startswith("run")}
        sources = tree_of(runs["root"])
        for command in commands:
            argv = [a.replace("{run}", str(run)) for a in command]
            before = tree_of(run)
            code, err = _run_command(argv, capsys)
            after = tree_of(run)
            context = f"{what}: {argv[0]} exited {code} ({err.strip()})"
            if argv[0] != "train":  # readers change nothing but a journal
                assert after == before or _rolled_forward(before, after), context
            elif code == 2:  # a refused resume leaves the run as it was (lock record aside)
                lock = {"train.lock"}
                assert {k: v for k, v in after.items() if k not in lock} == {
                    k: v for k, v in before.items() if k not in lock
                } or _rolled_forward(before, after), context
            now = {k: v for k, v in tree_of(parent).items() if not k.startswith("run")}
            assert now == outside, f"{context}: something outside the run changed"
        assert tree_of(runs["root"]) == sources, f"{what}: the source runs changed"


# --- the tests -------------------------------------------------------------------------------

FUZZ = settings(
    deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Re-hashed files reach what lies behind the hash check (a crafted run, not a damaged one).
CRAFTED = ("vocab.json", *TENSOR_FILES)
# Resume reads and appends to metrics.jsonl too, and hands state.json's dropout generator
# states to the engine: every file of the run is fuzzed.
RESUMABLE = Scope(files=tuple(FILES), rehash=CRAFTED)


@pytest.mark.parametrize("kind", ["anbn", "chars"])
@settings(FUZZ, max_examples=250)
@given(data=st.data())
def test_readers_of_a_damaged_run_exit_0_or_2_and_change_nothing_outside(runs, kind, data, capsys):
    _fuzz_one(runs, kind, data, capsys, READERS)


@pytest.mark.parametrize("kind", ["anbn", "chars"])
@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_readers_of_a_crafted_run_exit_0_or_2_and_change_nothing_outside(runs, kind, data, capsys):
    _fuzz_one(runs, kind, data, capsys, READERS, Scope(rehash=CRAFTED))


@pytest.mark.parametrize("kind", ["anbn", "chars"])
@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_resuming_a_damaged_run_exits_0_or_2_and_changes_nothing_outside(runs, kind, data, capsys):
    _fuzz_one(runs, kind, data, capsys, [RESUME], RESUMABLE)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["anbn", "chars"])
@settings(FUZZ, max_examples=3000)
@given(data=st.data())
def test_readers_of_a_damaged_or_crafted_run_long(runs, kind, data, capsys):
    rehash = data.draw(st.sampled_from([TENSOR_FILES, CRAFTED]), label="rehash")
    _fuzz_one(runs, kind, data, capsys, READERS, Scope(rehash=rehash))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["anbn", "chars"])
@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_resuming_a_damaged_run_long(runs, kind, data, capsys):
    _fuzz_one(runs, kind, data, capsys, [RESUME], RESUMABLE)


def test_a_run_saved_before_config_and_vocab_were_hashed_gives_the_same_numbers(runs, capsys):
    # Old runs' state.json recorded the sha256 of the tensor files only; otherwise the files
    # were byte for byte what rnnlab writes now.
    commands = [
        ["evaluate", "{run}", "--json"],
        ["generate", "{run}", "--length", "20", "--seed", "3"],
    ]

    def outputs(run: Path) -> str:
        capsys.readouterr()
        for command in commands:
            assert main([a.replace("{run}", str(run)) for a in command]) == 0
        return capsys.readouterr().out

    for kind in ("anbn", "chars"):
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            shutil.copytree(runs[kind], run)
            hashed = outputs(run)
            state = json.loads((run / "state.json").read_text())
            for name in ("config.json", "vocab.json"):
                del state["sha256"][name]
            (run / "state.json").write_text(json.dumps(state, indent=2) + "\n")
            assert outputs(run) == hashed and '"loss"' in hashed, kind


# --- known failures outside the checkpoint layer ---------------------------------------------


def _drop(*keys):
    def edit(config: dict) -> None:
        parent = config
        for key in keys[:-1]:
            parent = parent[key]
        del parent[keys[-1]]

    return edit


@pytest.mark.parametrize(
    "command, edit",
    [
        ("inspect", _drop("model")),
        ("inspect", lambda config: config.update(model=5)),
        ("inspect", lambda config: config.update(model=["cell"])),
        ("evaluate", _drop("model", "input_size")),
        ("generate", _drop("model", "output_size")),
    ],
    ids=["inspect-no-model", "inspect-model-5", "inspect-model-list", "evaluate", "generate"],
)
def test_a_crafted_config_json_is_exit_2_not_a_traceback(runs, capsys, command, edit):
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(runs["anbn"], run)
        config = json.loads((run / "config.json").read_text())
        edit(config)
        (run / "config.json").write_text(json.dumps(config))
        _rehash(run, "config.json", run / "config.json")
        _run_command([command, str(run)], capsys)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["anbn", "chars"])
@settings(FUZZ, max_examples=1000)
@given(data=st.data())
def test_readers_of_a_crafted_config_long(runs, kind, data, capsys):
    _fuzz_one(runs, kind, data, capsys, READERS, Scope(files=("config.json",), rehash=HASHED))


def test_resuming_with_a_damaged_rng_state_exits_2(runs, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(runs["anbn"], run)
        state = json.loads((run / "state.json").read_text())
        state["rng"]["head_dropout"]["has_uint32"] = 2.0**31
        (run / "state.json").write_text(json.dumps(state))
        _run_command([a.replace("{run}", str(run)) for a in RESUME], capsys)


def test_resuming_with_a_metrics_log_that_is_a_fifo_exits_2(runs, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(runs["anbn"], run)
        (run / "metrics.jsonl").unlink()
        os.mkfifo(run / "metrics.jsonl")
        capsys.readouterr()
        with within(5):
            code = main([a.replace("{run}", str(run)) for a in RESUME])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("rnnlab: error: metrics.jsonl") and err.count("\n") == 1


def test_resuming_with_a_metrics_log_linked_outside_writes_nothing_outside(runs, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(runs["anbn"], run)
        (run / "metrics.jsonl").unlink()
        os.symlink(Path(tmp) / "escaped", run / "metrics.jsonl")
        _run_command([a.replace("{run}", str(run)) for a in RESUME], capsys)
        assert not (Path(tmp) / "escaped").exists()
