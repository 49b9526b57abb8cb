"""Shipped presets (rnnlab.train.presets): every one reads and trains; the task's defaults,
then the preset, then --config, then the flags; bad names and damaged files get one line."""

import json
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.train import presets
from rnnlab.train.options import settings_from_file

TEXT = "the quick brown fox jumps over the lazy dog. " * 60
SMALL = ["--hidden", "8", "--embedding-dim", "4", "--batch-size", "2", "--seq-len", "5",
         "--steps", "2", "--eval-every", "1", "--eval-batch-size", "2", "-q"]  # fmt: skip


@pytest.fixture
def text(tmp_path) -> Path:
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def _config(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())


def test_rnnlab_ships_presets_and_each_reads_with_known_settings():
    names = presets.preset_names()
    assert "cpu-5min" in names
    for name in names:
        preset = presets.read_preset(name)
        assert preset.task == "chars" and preset.about and preset.measured
        assert preset.settings  # settings_from_data checked each one's type


@pytest.mark.parametrize("name", presets.preset_names())
def test_each_preset_trains_its_task_with_the_flags_winning(name, text, tmp_path):
    preset = presets.read_preset(name)
    if preset.settings.get("engine") == "torch":
        pytest.importorskip("torch")
    run = tmp_path / "run"
    # no TASK: the preset names its own
    assert main(["train", "--preset", name, "--data", str(text), *SMALL, "--out", str(run)]) == 0
    config = _config(run)
    assert config["task"]["name"] == preset.task
    assert config["model"]["hidden_size"] == 8  # the flag won
    for key in ("engine", "backend", "batch_size", "lr"):
        if key in preset.settings and f"--{key.replace('_', '-')}" not in SMALL:
            assert config["train"][key] == preset.settings[key]  # the preset's value


def test_a_config_file_wins_over_the_preset_and_a_flag_over_both(text, tmp_path):
    pytest.importorskip("torch")
    config_file = tmp_path / "mine.toml"
    config_file.write_text("[train]\nlr = 0.01\nbackend = 'scratch'\n")
    run = tmp_path / "run"
    args = ["train", "chars", "--preset", "cpu-5min", "--config", str(config_file),
            "--data", str(text), *SMALL, "--out", str(run)]  # fmt: skip
    assert main([*args, "--lr", "0.02", "--overwrite"]) == 0
    train = _config(run)["train"]
    assert (train["lr"], train["backend"]) == (0.02, "scratch")
    assert train["engine"] == presets.read_preset("cpu-5min").settings["engine"]
    assert main([*args, "--overwrite"]) == 0
    assert _config(run)["train"]["lr"] == 0.01


def test_a_presets_file_is_a_config_file_to_start_from(tmp_path, capsys):
    assert main(["presets"]) == 0
    listing = capsys.readouterr().out
    for name in presets.preset_names():
        assert name in listing
    assert main(["presets", "cpu-5min"]) == 0
    path = tmp_path / "cpu-5min.toml"
    path.write_text(capsys.readouterr().out)
    assert settings_from_file(path) == presets.read_preset("cpu-5min").settings


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnlab: error: ") and "Traceback" not in err
    return err


def test_an_unknown_preset_a_wrong_task_and_a_resume_are_refused_in_one_line(
    text, tmp_path, capsys
):
    capsys.readouterr()
    assert main(["train", "chars", "--preset", "cpu-50min", "--data", str(text)]) == 2
    assert "cpu-5min" in _one_line_error(capsys)  # the known ones are listed
    assert main(["presets", "nope"]) == 2
    _one_line_error(capsys)
    assert main(["train", "words", "--preset", "cpu-5min", "--data", str(text)]) == 2
    assert "rnnlab train chars --preset cpu-5min" in _one_line_error(capsys)
    assert main(["train", "--resume", str(tmp_path / "x"), "--preset", "cpu-5min"]) == 2
    assert "--preset" in _one_line_error(capsys)
    config_file = tmp_path / "c.toml"
    config_file.write_text("preset = 'cpu-5min'\n")
    assert main(["train", "chars", "--config", str(config_file), "--data", str(text)]) == 2
    assert "pass --preset NAME" in _one_line_error(capsys)


@pytest.mark.parametrize(
    "content, says",
    [
        ("[model]\nhidden = 8\n", "lacks its [preset] table"),
        ("[preset]\ntask = 'chars'\nabout = 'x'\nmeasured = 3\n", "lacks its [preset] table"),
        (
            "[preset]\ntask = 'chars'\nabout = 'x'\nmeasured = 'y'\n[model]\nhidden = 'big'\n",
            "must be",
        ),
        ("[preset\n", "broken"),
    ],
)
def test_a_damaged_preset_file_is_one_line_not_a_traceback(
    content, says, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "bad.toml").write_text(content)
    monkeypatch.setattr(presets, "folder", lambda: folder)
    assert presets.preset_names() == ["bad"]
    capsys.readouterr()
    assert main(["train", "chars", "--preset", "bad"]) == 2
    err = _one_line_error(capsys)
    assert says in err or (says == "broken" and "bad.toml" in err), err
