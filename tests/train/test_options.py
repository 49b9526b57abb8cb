"""From flags and config files to settings: every value of a config file is checked against
its setting's type and named as the file writes it; torch-only settings are refused with the
NumPy engine; every cell of a ``--cell`` list is checked before the first trains."""

import json
import math
import re

import pytest

from rnnlab.errors import InputError
from rnnlab.settings import tomllib
from rnnlab.train import memory
from rnnlab.train.options import (
    SETTING_TYPES,
    build_from_settings,
    check_cells,
    flatten_config,
    settings_from_file,
)

WRONG = {  # values of the wrong type for a setting of each type
    int: [1.5, 2.0, "3", True],
    float: ["x", "0.1", True, math.inf, -math.inf, math.nan],
    bool: ["true", "yes", 1, 0.0],
    str: [5, 1.5, True],
}


def toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    return repr(value)


def kind_of(annotation):
    """int for ``int | None``: what a file can write (TOML has no null)."""
    return next(k for k in (int, float, bool, str) if k in getattr(annotation, "__args__", ()))


def refusal(tmp_path, text: str, name: str = "c.toml"):
    """Write a config file holding ``text``, which settings_from_file must refuse with an
    InputError; its message and the file's path."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        settings_from_file(path)
    return str(caught.value), path


def cases():
    for key, annotation in sorted(SETTING_TYPES.items()):
        kind = annotation if annotation in WRONG else kind_of(annotation)
        for value in WRONG[kind]:
            yield pytest.param(key, value, id=f"{key}={toml(value)}")


@pytest.mark.parametrize(("key", "value"), list(cases()))
def test_a_value_of_the_wrong_type_in_a_file_is_refused_naming_its_key(tmp_path, key, value):
    message, path = refusal(tmp_path, f"{key} = {toml(value)}\n")
    assert message.startswith(f"config file '{path}': {key} must be "), message
    assert f"got {value!r}" in message, message


def test_the_key_is_named_as_written_with_its_table(tmp_path):
    message, _ = refusal(tmp_path, "[train]\nbatch-size = 2.0\n")
    assert re.search(r"'\S*c\.toml': train\.batch-size must be an integer", message), message


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ('compile = "true"', True),
        ('hidden = "12"', True),
        ('lr = "x"', False),
        ("lr = true", False),
    ],
)
def test_a_quoted_value_that_would_be_right_unquoted_says_so(tmp_path, line, hint):
    message, _ = refusal(tmp_path, line + "\n")
    assert message.endswith("(write it without quotes)") == hint, message


def test_json_files_are_checked_the_same_way(tmp_path):
    message, _ = refusal(tmp_path, '{"model": {"bidirectional": "yes"}}', name="c.json")
    assert re.search(r"model\.bidirectional must be true or false, got 'yes'", message), message


@pytest.mark.parametrize(
    ("key", "where"),
    [("resume", "--resume RUN"), ("config", "--config FILE"), ("threads", "--threads N")],
)
def test_what_is_not_a_setting_of_the_run_cannot_be_set_in_a_file(tmp_path, key, where):
    message, _ = refusal(tmp_path, f"[run]\n{key} = 1\n")
    assert re.search(rf"run\.{key} cannot be set in a config file; pass {where}", message), message


def test_valid_values_pass_unchanged_an_int_serves_a_float(tmp_path):
    text = (
        "lr = 1\nseed = 3\n[model]\nhidden = 7\nbidirectional = true\ndropout = 0\n"
        "[run]\nout = 'there'\noverwrite = true\n[task]\nn-max = 4\nunknown-key = 'x'\n"
    )
    path = tmp_path / "c.toml"
    path.write_text(text)
    settings = settings_from_file(path)
    assert settings == flatten_config(tomllib.loads(text))
    assert settings["lr"] == 1 and settings["n_max"] == 4 and settings["out"] == "there"
    # an unknown key is left for the task to refuse, naming its flag
    with pytest.raises(InputError, match="--unknown-key does not apply to task 'anbn'"):
        build_from_settings("anbn", settings)


# ---------------------------------------------------------------- settings that do not apply


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"device": "cuda"}, "--device cuda applies to the torch engine"),
        ({"device": "cuda:1"}, "--device cuda:1 applies to the torch engine"),
        ({"backend": "native"}, "--backend native applies to the torch engine"),
        ({"compile": True}, "--compile applies to the torch engine"),
    ],
)
def test_torch_settings_with_the_numpy_engine_are_refused(settings, message):
    with pytest.raises(InputError, match=f"{message}; drop it or add --engine torch"):
        build_from_settings("anbn", {"engine": "numpy", **settings})
    with pytest.raises(InputError, match=message):
        build_from_settings("anbn", settings)  # numpy is the default engine


@pytest.mark.parametrize(
    "settings",
    [{"device": "cpu"}, {"device": "auto"}, {"backend": "scratch"}, {"compile": False}, {}],
)
def test_torch_settings_that_ask_nothing_of_the_numpy_engine_pass(settings):
    _, _, config = build_from_settings("anbn", settings)
    assert config.engine == "numpy"


def test_torch_settings_pass_with_the_torch_engine():
    _, _, config = build_from_settings("anbn", {"engine": "torch", "device": "cuda"})
    assert config.device == "cuda"


# ---------------------------------------------------------------- several cells


def test_every_cell_of_a_list_is_checked_before_any_trains(monkeypatch):
    checked = []
    real = memory.estimate_memory

    def spy(task_name, options, config, spec=None):
        checked.append(spec.cell if spec else None)
        return real(task_name, options, config, spec)

    monkeypatch.setattr(memory, "estimate_memory", spy)
    with pytest.raises(InputError, match=r"cell must be one of lstm.* got 'foo'"):
        check_cells("anbn", {"hidden": 8}, ["lstm", "foo"])
    assert "lstm" in checked  # the first was checked, the second refused
    checked.clear()
    check_cells("anbn", {"hidden": 8}, ["rnn", "gru", "lstm"])
    assert [c for c in checked if c] == ["rnn", "gru", "lstm"]


def test_a_cell_of_the_list_too_large_for_the_memory_is_refused(monkeypatch):
    """A GRU needs 3/4 of an LSTM's gates: between the two, only the LSTM is refused."""
    settings = {"hidden": 2000, "delay": 2000, "batch_size": 64}
    sizes = {}
    for cell in ("gru", "lstm"):
        task, spec, config = build_from_settings(
            "copy", {**settings, "cell": cell}, available=2**62
        )
        sizes[cell] = memory.estimate_memory("copy", task.options, config, spec).total
    between = (sizes["gru"] + sizes["lstm"]) // 2
    check_cells("copy", settings, ["gru"], available=between)
    with pytest.raises(InputError, match="this run would need about"):
        check_cells("copy", settings, ["gru", "lstm"], available=between)


def test_a_per_step_readout_on_a_classifier_task_is_one_clear_error():
    from rnnlab.errors import InputError
    from rnnlab.train.options import build_from_settings

    with pytest.raises(InputError, match="answers once per sequence"):
        build_from_settings("marker", {"readout": "per_step"})


def test_level_picks_the_text_task_or_is_classifys_own_option():
    from rnnlab.train.options import resolve_task_name

    settings = {"level": "byte", "hidden": 8}
    assert resolve_task_name("chars", settings) == "bytes" and settings == {"hidden": 8}
    settings = {"level": "char"}
    assert resolve_task_name("classify", settings) == "classify"
    assert settings == {"level": "char"}  # the task's option: it stays for classify to read
    with pytest.raises(InputError, match="and classify, not 'sine'"):
        resolve_task_name("sine", {"level": "char"})


def test_classify_at_the_char_level_from_the_command_line(tmp_path):
    from rnnlab.cli import main

    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + "".join(f"ab{i},x\ncd{i},y\n" for i in range(20)))
    out = tmp_path / "run"
    assert main(["train", "classify", "--data", str(data), "--level", "char", "--steps", "2",
                 "--hidden", "4", "--out", str(out), "-q"]) == 0  # fmt: skip
    config = json.loads((out / "config.json").read_text())
    assert config["task"]["options"]["level"] == "char"
    assert json.loads((out / "vocab.json").read_text())["level"] == "char"
