"""``rnnlab study copy``: the RNN vs LSTM memory test over delays, cells and seeds.

Every combination is an ordinary run of the copy task in ``OUT/d{delay}-{cell}-s{seed}``,
trained with the task's defaults (which scale with the delay: see
:meth:`rnnlab.tasks.copying.CopyTask.training_defaults`) by the same command a user would
type — ``rnnlab train copy --delay D --cell C --seed S --stop-when-solved --threads 1`` —
in a process of its own with one thread, so that ``--jobs 2`` trains two side by side on
two cores. A run ends when it recalls every validation bit or at its step budget; its
figure is the recall of its best-validation weights on the test split (``rnnlab evaluate
RUN --split test --best``).

Nothing is lost when a study stops: the runs checkpoint as usual, ``study.json`` records
each result as it arrives, and the same command again resumes — finished runs are kept,
interrupted ones resume from their checkpoint (bitwise, as any run does), the rest start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from rnnlab.errors import InputError
from rnnlab.run_files import CONFIG_FILE, STATE_FILE, parse_run_json, read_run_file
from rnnlab.study.record import Combination, new_study, read_study, write_study
from rnnlab.train.launch import Stopped
from rnnlab.train.lock import TrainingLock
from rnnlab.train.signals import deferred_signals

SETTINGS = ("delays", "cells", "seeds", "engine", "backend", "train_flags")
LOG_SUFFIX = ".log"  # each run's terminal output, beside its run directory


class StudyStopped(Stopped):
    """A run of the study was interrupted (a signal) or refused its settings: the message
    says which, and ``exit_code`` is the run's (128 + the signal for an interruption)."""


def train_command(combo: Combination, run_dir: Path, settings: dict) -> list[str]:
    """The ``rnnlab train`` command line of one combination: the study's engine and
    ``train_flags`` (none by default), the task's defaults for all the rest."""
    engine, backend = settings["engine"], settings["backend"]
    command = [sys.executable, "-m", "rnnlab", "train", "copy", "--delay", str(combo.delay),
               "--cell", combo.cell, "--seed", str(combo.seed), "--engine", engine]  # fmt: skip
    if engine == "torch":
        command += ["--backend", backend]
    command += settings["train_flags"]
    return [*command, "--stop-when-solved", "--threads", "1", "--out", str(run_dir)]


def evaluate_command(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "rnnlab", "evaluate", str(run_dir), "--split", "test",
            "--best", "--json"]  # fmt: skip


def training_finished(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` ended by itself: solved, or at its step budget."""
    state = parse_run_json(read_run_file(run_dir, STATE_FILE) or b"{}", STATE_FILE, run_dir)
    config = parse_run_json(read_run_file(run_dir, CONFIG_FILE) or b"{}", CONFIG_FILE, run_dir)
    steps = (config.get("train") or {}).get("steps")
    step = state.get("step")
    if state.get("stop_reason") == "solved":
        return True
    return isinstance(step, int) and isinstance(steps, int) and step >= steps


class CopyStudy:
    """The study in folder ``out``: ``run()`` trains what is not done yet."""

    def __init__(self, out: Path, settings: dict, say: Callable[[str], None]) -> None:
        self.out = Path(out)
        self.settings = settings
        self.say = say
        self.lock = threading.Lock()  # study.json is written by one job at a time
        self.stopped: StudyStopped | None = None
        self.signalled: int | None = None  # the signal that stops the study, if any
        self.processes: set[subprocess.Popen] = set()  # the runs training now
        self.study = self._start()

    def _start(self) -> dict:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"cannot create --out '{self.out}' ({e.strerror})") from e
        study = read_study(self.out)
        if study is None:
            return new_study(self.settings)
        given = {k: self.settings[k] for k in SETTINGS}
        recorded = {k: study[k] for k in SETTINGS}
        if given != recorded:
            changed = ", ".join(f"--{k} {_shown(recorded[k])}" for k in SETTINGS
                                if given[k] != recorded[k])  # fmt: skip
            raise InputError(f"the study in '{self.out}' was started with {changed}; pass the "
                             "same flags to resume it, or choose a new --out")  # fmt: skip
        return study

    def run(self, jobs: int = 1) -> dict:
        """Train every run not done, ``jobs`` at a time; the study record at the end.

        SIGINT, SIGTERM or SIGHUP to the study is passed on to the runs in flight (each
        in a session of its own, so a terminal's Ctrl-C reaches them only this way): they
        checkpoint and stop, the study records them as pending and raises StudyStopped.
        """
        with TrainingLock(self.out), deferred_signals() as signalled:
            for run in self.study["runs"]:
                if run["status"] == "running":  # a study that died mid-run: resume it
                    run["status"] = "pending"
            write_study(self.out, self.study)
            todo = [r for r in self.study["runs"] if r["status"] != "done"]
            done = len(self.study["runs"]) - len(todo)
            if done:
                self.say(f"resuming: {done} of {len(self.study['runs'])} runs already done")
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                pending = {pool.submit(self._one, run) for run in todo}
                while pending:
                    finished, pending = wait(pending, timeout=0.5)
                    for future in finished:
                        future.result()  # an unexpected error in a job surfaces here
                    if signalled and not self.signalled:
                        self.signalled = signalled.signum
                        self._stop_runs()
            if self.signalled and not self.stopped:
                self.stopped = StudyStopped("stopped before its next run", 128 + self.signalled)
            if self.stopped:
                if self.signalled:
                    self.stopped.exit_code = 128 + self.signalled
                raise self.stopped
        return self.study

    def _stop_runs(self) -> None:
        with self.lock:
            for process in self.processes:
                process.send_signal(signal.SIGINT)

    def _one(self, run: dict) -> None:
        if self.stopped or self.signalled:
            return
        combo = Combination(run["delay"], run["cell"], run["seed"])
        run_dir = self.out / combo.run
        with self.lock:
            run["status"] = "running"
            write_study(self.out, self.study)
        try:
            self._train(combo, run_dir)
            result = self._evaluate(run_dir)
        except StudyStopped as e:
            with self.lock:
                run["status"] = "pending"
                write_study(self.out, self.study)
                self.stopped = self.stopped or e
            return
        with self.lock:
            run.update(result, status="done")
            write_study(self.out, self.study)
            n_done = sum(r["status"] == "done" for r in self.study["runs"])
            self.say(f"{combo.run:<16} recall {result['recall']:.3f}  (sequences "
                     f"{result['sequence_accuracy']:.3f})  {result['steps']:>6,} steps "
                     f"{result['seconds']:>7.0f} s   "
                     f"[{n_done}/{len(self.study['runs'])}]")  # fmt: skip
            self._draw()

    def _train(self, combo: Combination, run_dir: Path) -> None:
        if (run_dir / STATE_FILE).exists():
            if training_finished(run_dir):
                return
            command = [sys.executable, "-m", "rnnlab", "train", "--resume", str(run_dir),
                       "--threads", "1"]  # fmt: skip
        else:
            command = train_command(combo, run_dir, self.settings)
        log = self.out / (combo.run + LOG_SUFFIX)
        with open(log, "a", encoding="utf-8") as out:
            out.write("$ " + " ".join(command[1:]).replace("-m rnnlab", "rnnlab", 1) + "\n")
            out.flush()
            code = self._run(command, out)
        if code == 1:  # diverged: its best weights are still a result
            return
        if code != 0:
            raise StudyStopped(_last_line(log, combo.run, code), code)

    def _run(self, command: list[str], out) -> int:
        """Run ``command`` with its output in ``out``, in a session of its own."""
        with self.lock:
            if self.signalled:
                return 128 + self.signalled
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       env=_one_thread_env(), start_new_session=True)  # fmt: skip
            self.processes.add(process)
        code = process.wait()
        with self.lock:
            self.processes.discard(process)
        return code

    def _evaluate(self, run_dir: Path) -> dict:
        # in a session of its own too: a Ctrl-C waits for this short evaluation to end
        completed = subprocess.run(evaluate_command(run_dir), capture_output=True, text=True,
                                   env=_one_thread_env(), check=False,
                                   start_new_session=True)  # fmt: skip
        if completed.returncode != 0:
            line = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise StudyStopped(f"evaluating {run_dir.name}: {line}", completed.returncode or 2)
        metrics = json.loads(completed.stdout)
        state = parse_run_json(read_run_file(run_dir, STATE_FILE) or b"{}", STATE_FILE, run_dir)
        return {"recall": float(metrics["recall_accuracy"]),
                "sequence_accuracy": float(metrics["sequence_accuracy"]),
                "steps": int(state.get("step", 0)),
                "seconds": float(state.get("elapsed", 0.0))}  # fmt: skip

    def _draw(self) -> None:
        try:
            from rnnlab.study.figure import plot_recall_vs_delay
        except ImportError:  # matplotlib is optional: the table is the result
            return
        plot_recall_vs_delay(self.out / "recall_vs_delay.png", self.study["table"])


def _one_thread_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1"}  # fmt: skip


def _last_line(log: Path, name: str, code: int) -> str:
    try:
        lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError:
        lines = []
    last = (lines[-1] if lines else f"exit code {code}").removeprefix("rnnlab: ")
    if code >= 128:
        try:
            how = signal.Signals(code - 128).name
        except ValueError:
            how = f"signal {code - 128}"
        return (f"study stopped by {how}: run {name} saved its checkpoint; the same "
                "command resumes the study")  # fmt: skip
    return f"error: run {name}: {last.removeprefix('error: ')}"


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def check_study_folder(out: Path) -> None:
    """InputError if ``out`` exists and is not a folder."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out '{out}' is a file, not a folder; choose a folder for the study")
