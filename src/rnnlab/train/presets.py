"""Presets: shipped, measured settings for a task, applied with ``rnnlab train TASK --preset NAME``.

A preset is a TOML file in ``rnnlab/presets/`` (package data), written like a ``--config``
file, plus a ``[preset]`` table that says what it is::

    [preset]
    task = "chars"                       # the task it was chosen for
    about = "the best 5-minute model ..."  # one line, shown by `rnnlab presets`
    measured = "val 1.93 bits/char ..."    # what it reached, and where (README)

    [model]
    hidden = 256
    ...

Precedence, lowest first: the task's defaults, the preset, ``--config FILE``, the flags —
so ``--preset cpu-5min --max-time 60`` is the preset with a shorter budget.
"""

from importlib import resources
from typing import NamedTuple

from rnnlab.errors import InputError
from rnnlab.settings import read_config_file

PRESET_PACKAGE = "rnnlab.presets"
META_KEYS = ("task", "about", "measured")


class Preset(NamedTuple):
    name: str
    task: str
    about: str
    measured: str
    settings: dict  # flattened, type-checked, as settings_from_file gives them


def folder():
    """Where the presets are: the package's folder (a Traversable; tests swap it)."""
    return resources.files(PRESET_PACKAGE)


def preset_names() -> list[str]:
    """The shipped presets, sorted."""
    return sorted(p.name[: -len(".toml")] for p in folder().iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    """The TOML text of the shipped preset ``name``."""
    return (folder() / f"{name}.toml").read_text(encoding="utf-8")


def read_preset(name: str) -> Preset:
    """The shipped preset ``name``; InputError listing the presets for an unknown one."""
    from rnnlab.train.options import settings_from_data

    names = preset_names()
    if name not in names:
        known = ", ".join(names) or "none are installed"
        raise InputError(f"unknown preset {name!r}; choose one of: {known} (rnnlab presets)")
    with resources.as_file(folder() / f"{name}.toml") as path:
        data = read_config_file(path)
    meta = data.pop("preset", None)
    if not isinstance(meta, dict) or any(not isinstance(meta.get(k), str) for k in META_KEYS):
        raise InputError(
            f"preset {name!r} lacks its [preset] table of strings {', '.join(META_KEYS)}; "
            "reinstall rnnlab"
        )
    settings = settings_from_data(data, f"preset {name!r}")
    return Preset(name, meta["task"], meta["about"], meta["measured"], settings)


def preset_settings(name: str, task: str | None) -> dict:
    """The settings of preset ``name`` for a run of ``task``; InputError where it is for
    another task (a preset's values were chosen by measurement on its own task)."""
    preset = read_preset(name)
    if task is not None and task != preset.task:
        raise InputError(
            f"preset {name!r} is for task '{preset.task}', not '{task}'; "
            f"run `rnnlab train {preset.task} --preset {name}`"
        )
    return preset.settings
