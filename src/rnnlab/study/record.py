"""``study.json``: what a study plans, which of its runs are done, and their results.

The study writes it atomically after every run it finishes, so a reader (``rnnlab
dashboard``, or the study itself when it resumes) always finds a whole file. A study folder
is shared like a run directory, hence untrusted: :func:`read_study` accepts only a file of
exactly the shape :func:`write_study` writes and refuses anything else in one line.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnlab.atomic_write import atomic_write_json
from rnnlab.errors import InputError
from rnnlab.run_files import FileRefused, read_plain_file

STUDY_FILE = "study.json"
VERSION = 1
MAX_BYTES = 1 << 20  # a grid of thousands of runs is a few hundred kB
STATUSES = ("pending", "running", "done")
RESULT_KEYS = ("recall", "sequence_accuracy", "steps", "seconds")


@dataclass(frozen=True)
class Combination:
    """One run of the study: the copy task at ``delay`` with ``cell``, seeded ``seed``."""

    delay: int
    cell: str
    seed: int

    @property
    def run(self) -> str:
        """The run directory's name inside the study folder, e.g. ``d100-lstm-s2``."""
        return f"d{self.delay}-{self.cell}-s{self.seed}"


def plan(delays: list[int], cells: list[str], seeds: list[int]) -> list[Combination]:
    """Every combination, shortest delay first, so that a study stopped halfway has whole
    rows of its table (every cell and seed at the shorter delays)."""
    return [Combination(d, c, s) for d in delays for s in seeds for c in cells]


def new_study(settings: dict) -> dict:
    """The record of a study that has run nothing yet."""
    combos = plan(settings["delays"], settings["cells"], settings["seeds"])
    runs = [
        {"delay": c.delay, "cell": c.cell, "seed": c.seed, "run": c.run, "status": "pending",
         **dict.fromkeys(RESULT_KEYS)}
        for c in combos
    ]  # fmt: skip
    return {"study": "copy", "version": VERSION, **settings, "runs": runs, "table": []}


def table(runs: list[dict]) -> list[dict]:
    """Recall mean ± sample standard deviation over the seeds done, per delay and cell."""
    groups: dict[tuple[int, str], list[float]] = {}
    for r in runs:
        if r["status"] == "done":
            groups.setdefault((r["delay"], r["cell"]), []).append(r["recall"])
    rows = []
    for (delay, cell), recalls in sorted(groups.items()):
        std = statistics.stdev(recalls) if len(recalls) > 1 else 0.0
        rows.append({"delay": delay, "cell": cell, "n": len(recalls),
                     "recall_mean": statistics.fmean(recalls), "recall_std": std,
                     "recall_min": min(recalls)})  # fmt: skip
    return rows


def write_study(folder: Path, study: dict) -> None:
    """Write ``study.json`` with its table brought up to date."""
    study["table"] = table(study["runs"])
    atomic_write_json(Path(folder) / STUDY_FILE, study)


def read_study(folder: Path) -> dict | None:
    """The study recorded in ``folder``, or None if it has none; InputError (one line) for
    a file that is not a study.json rnnlab wrote."""
    path = Path(folder) / STUDY_FILE
    try:
        data = read_plain_file(path, MAX_BYTES)
    except FileRefused as e:
        raise InputError(f"{STUDY_FILE} in '{folder}' {e}; {e.fix}, or use a new --out") from e
    if data is None:
        return None
    try:
        study = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise InputError(f"{STUDY_FILE} in '{folder}' is not valid JSON "
                         f"({e.__class__.__name__}); remove it to start the study again, "
                         "or use a new --out") from e  # fmt: skip
    problem = _problem(study)
    if problem:
        raise InputError(f"{STUDY_FILE} in '{folder}' is not one rnnlab wrote ({problem}); "
                         "remove it to start the study again, or use a new --out")  # fmt: skip
    return study


def _problem(study: Any) -> str | None:
    """What is wrong with a parsed study.json, or None."""
    if not isinstance(study, dict) or study.get("study") != "copy":
        return "not a copy study"
    if study.get("version") != VERSION:
        return f"version {study.get('version')!r}, expected {VERSION}"
    for key, kind in (("delays", int), ("cells", str), ("seeds", int)):
        values = study.get(key)
        if not isinstance(values, list) or not values or not all(_is(v, kind) for v in values):
            return f"{key!r} is not a list of {kind.__name__}"
    if not isinstance(study.get("engine"), str) or not isinstance(study.get("backend"), str):
        return "no engine or backend"
    flags = study.get("train_flags")
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        return "'train_flags' is not a list of str"
    runs = study.get("runs")
    expected = plan(study["delays"], study["cells"], study["seeds"])
    if not isinstance(runs, list) or len(runs) != len(expected):
        return "its runs do not match its delays, cells and seeds"
    for run, combo in zip(runs, expected, strict=True):
        if not isinstance(run, dict) or run.get("run") != combo.run:
            return f"run {combo.run!r} missing or out of order"
        if (run.get("delay"), run.get("cell"), run.get("seed")) != (combo.delay, combo.cell,
                                                                     combo.seed):  # fmt: skip
            return f"run {combo.run!r} has other settings than its name"
        if run.get("status") not in STATUSES:
            return f"run {combo.run!r} has status {run.get('status')!r}"
        done = run["status"] == "done"
        for key in RESULT_KEYS:
            value = run.get(key)
            if done and not (_is(value, float) and math.isfinite(value) and value >= 0):
                return f"run {combo.run!r} has no valid {key!r}"
        if done and not run["recall"] <= 1:
            return f"run {combo.run!r} has recall {run['recall']!r}"
    return None


def _is(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)
