"""``rnnlab train`` refuses every bad setting, from a flag or a config file, in one line and
exit code 2 before anything is created or trained: wrong types, non-finite numbers, sizes
out of range, torch settings with the NumPy engine, a bad cell anywhere in a ``--cell`` list,
and runs too large for the machine's memory. A config file's ``out`` and ``overwrite`` are
honoured (the flags win)."""

import json
import re
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.train.options import SETTING_TYPES

GiB = 2**30
QUICK = ["--steps", "2", "--eval-every", "1", "--save-every", "1", "--log-every", "1"]


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Run from an empty directory with 21.9 GiB 'available', whatever the machine has."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("rnnlab.train.memory.available_memory", lambda: int(21.9 * GiB))


def refused(capsys, tmp_path: Path, argv: list[str]) -> str:
    """Run ``train`` that must refuse its settings: exit 2, one line, no run directory."""
    out = tmp_path / "run"
    capsys.readouterr()
    code = main(["train", *argv, "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 2, f"exit code {code} for {argv}; stderr: {err!r}"
    assert "Traceback" not in err and stdout == "", (stdout, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error: "), err
    assert not out.exists(), "a refused run must not leave a run directory"
    assert not (tmp_path / "runs").exists()
    return lines[0].removeprefix("rnnlab: error: ")


# ---------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["anbn", "--lr", "inf"], "--lr must be a finite number, got inf"),
        (["anbn", "--lr", "nan"], "--lr must be a finite number, got nan"),
        (["anbn", "--grad-clip", "nan"], r"--grad-clip must be a finite number \(or omitted\)"),
        (["anbn", "--max-time", "inf"], r"--max-time must be a finite number \(or omitted\)"),
        (["anbn", "--weight-decay", "-inf"], "--weight-decay must be a finite number"),
        (["anbn", "--forget-bias", "nan"], "forget_bias must be a finite number"),
        (["anbn", "--seed", "-1"], "--seed must be a non-negative integer, got -1"),
        (["anbn", "--input-kind", "embedding", "--embedding-dim", "0"], "embedding_dim must be"),
        (["anbn", "--hidden", "0"], "hidden_size must be a positive integer, got 0"),
        (["anbn", "--layers", "0"], "num_layers must be a positive integer, got 0"),
        (["anbn", "--dropout", "-0.1"], r"dropout must be in \[0, 1\), got -0.1"),
        (["anbn", "--dropout", "1"], r"dropout must be in \[0, 1\), got 1.0"),
        (["anbn", "--num", "0"], "--num must be a positive integer, got 0"),
        (["anbn", "--n-min", "0"], "--n-min must be a positive integer, got 0"),
        (["anbn", "--n-max", "-2"], "--n-max must be a positive integer, got -2"),
        (["copy", "--bits", "0"], "--bits must be a positive integer, got 0"),
        (["copy", "--delay", "-1"], "--delay must be a non-negative integer, got -1"),
        (["sine", "--window", "0"], "--window must be in 1..99, got 0"),
        (["sine", "--num-points", "0"], "--num-points must be an integer >= 2, got 0"),
        (["chars", "--seq-len", "0"], "--seq-len must be a positive integer, got 0"),
        (["anbn", "--device", "cuda"], "--device cuda applies to the torch engine; drop it or add"),
        (["anbn", "--engine", "numpy", "--backend", "native"], "--backend native applies to"),
        (["anbn", "--compile"], "--compile applies to the torch engine"),
        (["anbn", "--cell", "lstm,foo"], "cell must be one of lstm, .* got 'foo'"),
        (["anbn", "--cell", "lstm,gru,lstm"], "--cell lists lstm more than once"),
        (["anbn", "--cell", "rnn,lstm", "--hidden", "0"], "hidden_size must be a positive integer"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)  # fmt: skip
def test_a_bad_flag_is_one_line_before_anything_is_created(capsys, tmp_path, argv, expected):
    line = refused(capsys, tmp_path, [*argv, *QUICK])
    assert re.search(expected, line), line


def test_a_bad_cell_late_in_the_list_stops_the_first_from_training(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("rnnlab.train.session.start_run", pytest.fail)  # nothing may start
    line = refused(capsys, tmp_path, ["copy", "--cell", "lstm,gru,transformer", *QUICK])
    assert "got 'transformer'" in line


# ---------------------------------------------------------------- memory


@pytest.mark.parametrize(
    ("argv", "lever"),
    [
        (["chars", "--hidden", "100000"], "--hidden or --layers"),
        (["copy", "--delay", "100000000"], "--delay or --batch-size"),
        (["copy", "--delay", "1000000", "--hidden", "512"], "--batch-size or --delay"),
        (["anbn", "--num", "1000000000"], "--num or --n-max"),
        (["sine", "--num-points", "1000000000"], "--num-points or --window"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_run_too_large_for_the_memory_is_refused_with_what_to_shrink(
    capsys, tmp_path, argv, lever
):
    line = refused(capsys, tmp_path, [*argv, *QUICK])
    assert line.startswith("this run would need about "), line
    assert line.endswith(f"the machine has 21.9 GiB available; choose a smaller {lever}"), line


def test_a_cell_of_a_list_too_large_is_refused_before_the_first_trains(capsys, tmp_path):
    line = refused(capsys, tmp_path, ["chars", "--cell", "rnn,lstm", "--hidden", "50000"])
    assert "would need about" in line and "--hidden or --layers" in line


# ---------------------------------------------------------------- config files

WRONG = {int: 1.5, float: "x", bool: "true", str: 5}


def wrong_value(annotation):
    kinds = getattr(annotation, "__args__", (annotation,))
    return WRONG[next(k for k in (bool, int, float, str) if k in kinds)]


@pytest.mark.parametrize("key", sorted(SETTING_TYPES))
def test_a_config_value_of_the_wrong_type_names_the_key_as_written(capsys, tmp_path, key):
    value = wrong_value(SETTING_TYPES[key])
    written = key.replace("_", "-")
    config = tmp_path / "settings.toml"
    config.write_text(f"[section]\n{written} = {json.dumps(value)}\n")
    line = refused(capsys, tmp_path, ["anbn", "--config", str(config)])
    assert line.startswith(f"config file '{config}': section.{written} must be "), line
    assert f"got {value!r}" in line, line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lr = 1e400", "lr must be a finite number, got inf"),
        ("lr = nan", "lr must be a finite number, got nan"),
        ("[train]\ngrad-clip = -inf", "train.grad-clip must be a finite number"),
        ("seed = -1", "--seed must be a non-negative integer, got -1"),
        ("hidden = true", "hidden must be an integer, got True"),
        ("compile = 'true'", "compile must be true or false, got 'true' (write it without quotes)"),
        ("device = 'cuda'", "--device cuda applies to the torch engine"),
        ("resume = 'runs/x'", "resume cannot be set in a config file; pass --resume RUN"),
    ],
)
def test_config_files_are_checked_like_flags(capsys, tmp_path, text, expected):
    config = tmp_path / "settings.toml"
    config.write_text(text + "\n")
    line = refused(capsys, tmp_path, ["anbn", "--config", str(config)])
    assert expected in line, line


def test_a_config_file_out_and_overwrite_are_honoured_and_flags_win(capsys, tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("out = 'from-file'\nhidden = 4\nquiet = true\n")
    assert main(["train", "anbn", "--config", str(config), *QUICK]) == 0
    assert (tmp_path / "from-file" / "config.json").is_file()
    assert capsys.readouterr().out == ""  # quiet from the file
    # again into the same directory: refused, unless the file (or the flag) says overwrite
    assert main(["train", "anbn", "--config", str(config), *QUICK]) == 2
    config.write_text("out = 'from-file'\noverwrite = true\nhidden = 4\nquiet = true\n")
    assert main(["train", "anbn", "--config", str(config), *QUICK]) == 0
    flag = tmp_path / "from-flag"
    assert main(["train", "anbn", "--config", str(config), *QUICK, "--out", str(flag)]) == 0
    assert (flag / "config.json").is_file()
    assert json.loads((flag / "config.json").read_text())["model"]["hidden_size"] == 4
