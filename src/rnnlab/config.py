"""Configuration files: TOML (or JSON) whose tables mirror the command-line flags."""

import json
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from rnnlab.errors import InputError


def read_config_file(path) -> dict:
    """The contents of a .toml or .json config file; InputError with the reason otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file '{path}' does not exist")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"config file '{path}' cannot be parsed: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"config file '{path}' must hold a table of settings")
    return data
