"""A memory study's study.json, for the dashboard's "memory study" panel.

``rnnlab study copy --delays 10,50 --cells rnn,lstm --seeds 3 --out STUDY`` trains every
combination into ``STUDY/d{delay}-{cell}-s{seed}/`` (ordinary runs, which the dashboard lists
as a folder of runs) and rewrites ``STUDY/study.json`` after every finished run::

    {"study": "copy", "version": 1, "delays": [10, 50], "cells": ["rnn", "lstm"],
     "seeds": [0, 1, 2], "engine": "torch",
     "runs": [{"delay": 10, "cell": "lstm", "seed": 0, "run": "d10-lstm-s0",
               "status": "done", "recall": 1.0, "sequence_accuracy": 1.0,
               "steps": 2500, "seconds": 61.2}, ...],
     "table": [{"delay": 10, "cell": "lstm", "n": 3, "recall_mean": 1.0,
                "recall_std": 0.0}, ...]}

A study folder is untrusted input like a run directory: study.json is read by
:func:`rnnlab.run_files.read_plain_file` (no symbolic link followed, no FIFO waited on, at
most :data:`MAX_STUDY_BYTES`), and :func:`validate_study` checks every field's type and
range and keeps only the fields above, so nothing else in the file reaches the page. What is
wrong is one line, :class:`~rnnlab.errors.InputError`: the field and what it held.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from rnnlab.errors import InputError, one_line
from rnnlab.run_files import FileRefused, read_plain_file

STUDY_FILE = "study.json"
STUDY_VERSION = 1
STATUSES = ("pending", "running", "done")
MAX_STUDY_BYTES = 1 << 20  # 5,000 runs in a few hundred kB: a larger file is not a study's
MAX_RUNS = 5000
MAX_AXIS = 100  # delays, cells or seeds
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")  # a cell, a run folder, a study


def is_study(path: Path) -> bool:
    """Whether ``path`` is a folder holding a study.json entry (a file or not: a symbolic
    link is found here and refused when read, so the page can say why). The folder itself
    is one the user named, so a link to it is followed, as for a named folder of runs."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode) and os.path.lexists(path / STUDY_FILE)
    except OSError:
        return False


def read_study(folder: Path) -> dict[str, Any]:
    """The validated study.json of ``folder``; InputError (one line) if it is not one."""
    try:
        data = read_plain_file(Path(folder) / STUDY_FILE, MAX_STUDY_BYTES)
    except FileRefused as e:
        raise InputError(f"{STUDY_FILE} in '{folder}' {e}; {e.fix}") from e
    if data is None:
        raise InputError(f"'{folder}' holds no {STUDY_FILE} (any more)")
    try:
        obj = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # not UTF-8, not JSON, [[[[...]]]]
        raise InputError(f"{STUDY_FILE} in '{folder}' is not JSON ({one_line(e)[:80]})") from e
    try:
        return validate_study(obj)
    except InputError as e:
        raise InputError(f"{STUDY_FILE} in '{folder}': {e}") from e


def validate_study(obj: Any) -> dict[str, Any]:
    """study.json's fields, checked (types, ranges, sizes) and copied; InputError if wrong."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {_kind(obj)}")
    study = _name(obj.get("study"), "study")
    if obj.get("version") != STUDY_VERSION:
        raise InputError(f"version is {_shown(obj.get('version'))}, this dashboard reads 1")
    engine = obj.get("engine")
    if engine is not None:
        engine = _name(engine, "engine")
    runs = _list(obj.get("runs"), "runs", MAX_RUNS)
    table = _list(obj.get("table", []), "table", MAX_RUNS)
    return {
        "study": study,
        "version": STUDY_VERSION,
        "delays": [_count(v, f"delays[{k}]") for k, v in enumerate(_axis(obj, "delays"))],
        "cells": [_name(v, f"cells[{k}]") for k, v in enumerate(_axis(obj, "cells"))],
        "seeds": [_count(v, f"seeds[{k}]") for k, v in enumerate(_axis(obj, "seeds"))],
        "engine": engine,
        "runs": [_run(r, f"runs[{k}]") for k, r in enumerate(runs)],
        "table": [_row(r, f"table[{k}]") for k, r in enumerate(table)],
    }


def _run(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(f"{where} is {_kind(obj)}, expected an object")
    status = obj.get("status")
    if status not in STATUSES:
        raise InputError(f"{where}.status is {_shown(status)}, expected one of {STATUSES}")
    return {
        "delay": _count(obj.get("delay"), f"{where}.delay"),
        "cell": _name(obj.get("cell"), f"{where}.cell"),
        "seed": _count(obj.get("seed"), f"{where}.seed"),
        "run": _name(obj.get("run"), f"{where}.run"),
        "status": status,
        "recall": _fraction(obj.get("recall"), f"{where}.recall"),
        "sequence_accuracy": _fraction(obj.get("sequence_accuracy"), f"{where}.sequence_accuracy"),
        "steps": None if obj.get("steps") is None else _count(obj["steps"], f"{where}.steps"),
        "seconds": _number(obj.get("seconds"), f"{where}.seconds", 0.0, 1e9),
    }


def _row(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(f"{where} is {_kind(obj)}, expected an object")
    return {
        "delay": _count(obj.get("delay"), f"{where}.delay"),
        "cell": _name(obj.get("cell"), f"{where}.cell"),
        "n": _count(obj.get("n"), f"{where}.n"),
        "recall_mean": _fraction(obj.get("recall_mean"), f"{where}.recall_mean"),
        "recall_std": _number(obj.get("recall_std"), f"{where}.recall_std", 0.0, 1.0),
    }


# --------------------------------------------------------------------------- field checks
def _axis(obj: dict, key: str) -> list:
    return _list(obj.get(key), key, MAX_AXIS)


def _list(value: Any, where: str, most: int) -> list:
    if not isinstance(value, list):
        raise InputError(f"{where} is {_kind(value)}, expected a list")
    if len(value) > most:
        raise InputError(f"{where} has {len(value)} entries, more than {most}")
    return value


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
        raise InputError(f"{where} is {_shown(value)}, expected a non-negative integer")
    return value


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise InputError(f"{where} is {_shown(value)}, expected a name of letters, digits, . _ -")
    return value


def _fraction(value: Any, where: str) -> float | None:
    return _number(value, where, 0.0, 1.0)


def _number(value: Any, where: str, low: float, high: float) -> float | None:
    """A finite number in [low, high], or None (not measured yet)."""
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{where} is {_shown(value)}, expected a number in [{low:g}, {high:g}]")
    return float(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _shown(value: Any) -> str:
    return repr(value)[:40] if isinstance(value, (str, int, float, type(None))) else _kind(value)
