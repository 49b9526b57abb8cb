"""The runs a dashboard shows, and what it reads of them: only their declared files.

A run directory is untrusted input (DESIGN.md), and a dashboard is a reader beside a live
trainer, so everything here

* reads a run's files only through :func:`rnnlab.run_files.read_run_file` (a declared
  name, no symbolic link followed, no FIFO waited on, a size limit);
* never writes, never takes the run's locks (not even to roll a save journal forward, as
  loading a checkpoint would), and so never slows or blocks training;
* answers a damaged, half-written or vanished file with a one-line ``error``, never an
  exception: metrics.jsonl's torn last line (a trainer in mid-append) is simply not there
  yet, and a bad line in the middle is skipped and counted.

Runs are named by an id made of their folder's name (made unique), fixed on first sight,
so the page can keep asking about "lstm" while a folder of runs is rescanned for new ones.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any

from rnnlab.dashboard.study import is_study, read_study
from rnnlab.errors import InputError, one_line
from rnnlab.run_files import (
    CONFIG_FILE,
    LOCK_FILE,
    METRICS_FILE,
    PROBE_FILE,
    STATE_FILE,
    parse_run_json,
    read_run_file,
)
from rnnlab.train.lock import process_alive

MAX_METRICS_BYTES = 256 << 20  # a dashboard refuses a larger log rather than stall on it
STALE_SECONDS = 60.0  # a trainer on another host counts as live while it logs this recently


def is_run(path: Path) -> bool:
    """Whether ``path`` is a directory (not a link inside a folder of runs) with a config.json
    that is a plain file."""
    try:
        return stat.S_ISREG(os.lstat(path / CONFIG_FILE).st_mode)
    except OSError:
        return False


class RunSet:
    """The runs named on the command line: run directories, and folders of runs (rescanned at
    every look, so runs started later appear)."""

    def __init__(self, sources: list[Path]) -> None:
        self.sources = [Path(s) for s in sources]
        self._ids: dict[Path, str] = {}  # path -> id, fixed on first sight
        self._lock = threading.Lock()
        self._metrics: dict[Path, tuple[tuple, dict]] = {}  # path -> (file version, parsed)

    def scan(self) -> dict[str, Path]:
        """id -> run directory, for every run now in the sources (a named run always)."""
        paths: list[Path] = []
        for source in self.sources:
            if is_run(source) or not source.is_dir():  # a named run, even once it vanished
                paths.append(source)
                continue
            try:
                entries = sorted(os.scandir(source), key=lambda e: e.name)
            except OSError:
                continue
            # Only real sub-folders: a symbolic link in a folder of runs is not followed out.
            paths += [Path(e.path) for e in entries if _real_dir(e) and is_run(Path(e.path))]
        with self._lock:
            for path in paths:
                if path not in self._ids:
                    self._ids[path] = self._new_id(path)
            return {self._ids[p]: p for p in paths}

    def _new_id(self, path: Path) -> str:
        return _unique_id(path, set(self._ids.values()), "run")

    def studies(self) -> list[dict[str, Any]]:
        """Every named folder that holds a study.json (:mod:`rnnlab.dashboard.study`): its
        id, path, file version and validated study, or a one-line ``error``."""
        found, taken = [], set()
        for source in self.sources:
            if not is_study(source):
                continue
            # Unique: the page keeps one view per id, so two folders named "study" would
            # otherwise be drawn into the same one, in turn.
            out = {"id": _unique_id(source, taken, "study"), "path": str(source)}
            taken.add(out["id"])
            out["version"] = _version(source / "study.json")
            try:
                out["study"] = read_study(source)
            except InputError as e:
                out["error"] = one_line(e)
            found.append(out)
        return found

    def path_of(self, run_id: str) -> Path | None:
        """The run directory of ``run_id`` (exactly one of :meth:`scan`'s ids), or None."""
        return self.scan().get(run_id)

    # ------------------------------------------------------------------ what is read
    def summary(self, run_id: str, path: Path) -> dict[str, Any]:
        """What the run list shows: task, model, status, and versions of the live files."""
        out: dict[str, Any] = {"id": run_id, "name": path.name, "path": str(path)}
        if not path.is_dir():
            return {**out, "status": "missing", "error": f"'{path}' is not there any more"}
        try:
            config = read_json(path, CONFIG_FILE) or {}
            state = read_json(path, STATE_FILE) or {}
        except InputError as e:
            return {**out, "status": "unreadable", "error": one_line(e)}
        model, train = _table(config, "model"), _table(config, "train")
        task = _table(config, "task")
        out.update(
            task=task.get("name"),
            cell=model.get("cell"),
            hidden_size=model.get("hidden_size"),
            num_layers=model.get("num_layers"),
            engine=train.get("engine"),
            planned_steps=train.get("steps"),
            step=state.get("step"),
            stop_reason=state.get("stop_reason") or None,
            metrics_version=_version(path / METRICS_FILE),
            probe_version=_version(path / PROBE_FILE),
        )
        out["status"] = training_status(path)
        return out

    def metrics(self, path: Path) -> dict[str, Any]:
        """{"records": [...], "skipped": bad lines} of metrics.jsonl, parsed once per change."""
        version = _version(path / METRICS_FILE)
        cached = self._metrics.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
        data = read_run_file(path, METRICS_FILE, limit=MAX_METRICS_BYTES) or b""
        parsed = parse_metrics(data)
        self._metrics[path] = (version, parsed)
        return parsed

    def probe(self, path: Path) -> dict[str, Any]:
        """probe.json (:mod:`rnnlab.train.probe_file`), or an empty one before the first eval."""
        found = read_json(path, PROBE_FILE)
        if found is None:
            return {"evals": []}
        if not isinstance(found.get("evals"), list):
            raise InputError(f"{PROBE_FILE} in '{path}' holds no list of evaluations")
        return found


def read_json(path: Path, name: str) -> dict | None:
    """A run's JSON file (a declared name) as a dict, None if absent; InputError if damaged."""
    data = read_run_file(path, name)
    return None if data is None else parse_run_json(data, name, path)


def parse_metrics(data: bytes) -> dict[str, Any]:
    """The complete records of a metrics log; a line without its newline is still being
    written and is left for the next look; a damaged line is skipped and counted."""
    records, skipped = [], 0
    complete = data[: data.rfind(b"\n") + 1]
    for line in complete.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            skipped += 1
            continue
        step = record.get("step") if isinstance(record, dict) else None
        if isinstance(step, int) and not isinstance(step, bool):
            records.append(record)
        else:
            skipped += 1
    return {"records": records, "skipped": skipped}


def training_status(path: Path) -> str:
    """ "training" while a trainer holds the run, else "stopped".

    The lock's record (:mod:`rnnlab.train.lock`) names the trainer's pid and host while it
    trains and is emptied on a clean end. The dashboard only reads it (taking the flock,
    even for an instant, could make a trainer starting then refuse to start): a record of
    a live process on this host means training; one from another host counts while the
    metrics keep coming.
    """
    try:
        data = read_run_file(path, LOCK_FILE, limit=4096)
        record = json.loads(data) if data and data.strip() else {}
    except (InputError, ValueError):
        return "stopped"
    if not isinstance(record, dict) or not record:
        return "stopped"
    pid = record.get("pid")
    if record.get("host") != socket.gethostname():
        fresh = _age(path / METRICS_FILE) < STALE_SECONDS
        return "training" if fresh else "stopped"
    return "training" if isinstance(pid, int) and process_alive(pid) else "stopped"


def _unique_id(path: Path, taken: set[str], default: str) -> str:
    """The folder's name in URL-safe characters, with -2, -3, ... if ``taken`` has it."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", path.resolve().name).strip(".-") or default
    candidate, k = base, 2
    while candidate in taken:
        candidate, k = f"{base}-{k}", k + 1
    return candidate


def _real_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _table(config: dict, key: str) -> dict:
    value = config.get(key)
    return value if isinstance(value, dict) else {}


def _version(path: Path) -> str | None:
    """Changes whenever the file does: inode, size, modification time; None if absent."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}"


def _age(path: Path) -> float:
    try:
        return time.time() - os.lstat(path).st_mtime
    except OSError:
        return float("inf")
