"""Settings: configuration files (TOML or JSON, whose tables mirror the command-line flags),
and the one type check that every setting goes through, wherever it came from.

A setting is declared by its annotation (``int``, ``float``, ``bool``, ``str``, or one of them
``| None``): the dataclass fields of ModelSpec and TrainConfig, a task's ``option_types``.
:func:`expected_type` says what a value should have been, so a file's ``lr = "x"`` or
``hidden = true`` is refused in one line instead of failing somewhere inside training.
"""

import json
import math
import types
from collections.abc import Callable
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Union, get_args, get_origin

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from rnnlab.errors import InputError

_WORDS = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}


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


def expected_type(value, annotation) -> str | None:
    """None when ``value`` fits ``annotation``, else what it should have been ("an integer").

    ``bool`` takes only True/False (never the string "true"); ``int`` takes no bool and no
    float; ``float`` takes an int too (a JSON ``1``) but never a bool, and only finite values.
    """
    kinds = _kinds(annotation)
    if value is None and type(None) in kinds:
        return None
    named = [kind for kind in kinds if kind in _WORDS]
    if not named or any(_fits(value, kind) for kind in named):  # (other types: not checked)
        return None
    expected = " or ".join(_WORDS[kind] for kind in named)
    return f"{expected} (or omitted)" if type(None) in kinds else expected


def from_fields(cls, d: dict, what: str):
    """``cls(**d)`` for the dataclass ``cls``, once ``d`` names only its fields and all of
    those without a default: InputError naming the ``what`` settings otherwise."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise InputError(f"unknown {what} setting(s) {unknown}; known: {sorted(known)}")
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in d]
    if missing:
        raise InputError(f"the {what} settings lack {', '.join(missing)}")
    return cls(**d)


def check_fields(obj, name_of: Callable[[str], str]) -> None:
    """InputError for the first dataclass field of ``obj`` whose value does not fit its
    annotation, naming it as ``name_of(field name)`` says (``--batch-size``, ``model cell``)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        expected = expected_type(value, f.type)
        if expected is not None:
            raise InputError(f"{name_of(f.name)} must be {expected}, got {value!r}")


def _kinds(annotation) -> tuple:
    if isinstance(annotation, types.UnionType) or get_origin(annotation) is Union:
        return get_args(annotation)
    return (annotation,)


def _fits(value, kind) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    return isinstance(value, kind)
