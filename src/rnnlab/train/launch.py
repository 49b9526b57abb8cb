"""What ``rnnlab train`` does once its flags are read: one run, one per cell, or a resume.

Settings arrive as the flags gave them, over a config file's (:mod:`rnnlab.train.options`
checks and splits them). A run that diverges or is stopped by a signal raises
:class:`Stopped`, which carries the one line to show and the exit code; a finished run gets
its plots and a closing summary. The words meant for the user go through a :class:`Voice`
(the CLI's writes to the terminal): nothing here prints by itself.
"""

import os
from pathlib import Path
from typing import Protocol

from rnnlab.errors import InputError

EXIT_DIVERGED = 1
# What --resume may change: how long, how often and on what; never what is trained.
RESUMABLE = frozenset({"steps", "epochs", "max_time", "eval_every", "save_every", "log_every",
                       "engine", "backend", "device", "compile", "early_stopping",
                       "stop_when_solved"})  # fmt: skip


class Stopped(Exception):
    """Training ended early, not by choice: it diverged (exit 1) or a signal stopped it
    (exit 128 + its number: 130, 143, 129). The message is the one line to show."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Voice(Protocol):
    """Where a training session's words go."""

    def say(self, line: str) -> None:
        """A line of the session's own output (never called when quiet)."""

    def note(self, line: str) -> None:
        """A remark for the user, even when quiet (a stale lock taken over)."""

    def warn(self, line: str) -> None:
        """A problem that did not stop the run (a plot that could not be drawn)."""

    def compare(self, results: dict[str, dict], title: str) -> None:
        """Several runs' metrics side by side (``{cell: metrics}``)."""


def launch(task, flags: dict, *, config_file=None, out=None, overwrite=False, resume=None,
           quiet=False, voice: Voice, preset=None) -> None:  # fmt: skip
    """Train ``task``, one run per cell of a ``cell`` list (``rnn,lstm``), or continue the
    run ``resume``. ``flags`` are the command line's settings (None: not given); they win
    over ``config_file``'s, as ``out``, ``overwrite`` and ``quiet`` win over its own, and
    both win over the shipped ``preset``'s (:mod:`rnnlab.train.presets`)."""
    given = {k: v for k, v in flags.items() if v is not None}
    if config_file:  # each value checked against its setting's type, named as in the file
        from rnnlab.train.options import settings_from_file

        given = {**settings_from_file(config_file), **given}
    if preset:
        if resume:
            raise InputError("--preset starts a run; a resumed run keeps its own settings")
        from rnnlab.train.presets import preset_settings, read_preset

        task = task or read_preset(preset).task
        given = {**preset_settings(preset, task), **given}
    file_quiet = given.pop("quiet", False)
    quiet = quiet or file_quiet
    if resume:
        return resume_training(resume, given, quiet, voice)
    if not task:
        raise InputError("train needs a TASK (see `rnnlab tasks`) or --resume RUN")
    file_out, file_overwrite = given.pop("out", None), given.pop("overwrite", False)
    out, overwrite = out or file_out, overwrite or file_overwrite
    folds = given.pop("folds", None)
    cells = [c.strip() for c in str(given.pop("cell", "")).split(",") if c.strip()] or [None]
    if folds is not None:
        if len(cells) > 1:
            raise InputError("--folds trains one model K times; give one --cell, not a list")
        from rnnlab.train.folds import train_folds

        given.update({"cell": cells[0]} if cells[0] else {})

        def train_run(settings, run_dir, first):
            train_one(task, settings, run_dir, overwrite, quiet, voice, show_summary=first)

        return train_folds(task, folds, given, out, quiet, voice, train_run)
    if len(cells) > 1:
        return train_several(task, cells, given, out, overwrite, quiet, voice)
    if cells[0]:
        given["cell"] = cells[0]
    train_one(task, given, out, overwrite, quiet, voice)


def train_one(task_name, given, out, overwrite, quiet, voice: Voice, show_summary=True):
    """Check ``given``, build the task, model and config, train a new run in ``out``
    (by default ``runs/TASK-TIME``) and finish it; returns its Trainer."""
    from rnnlab.train.options import build_from_settings, resolve_task_name
    from rnnlab.train.run_dir import default_run_name
    from rnnlab.train.session import start_run

    quiet = quiet or os.environ.get("RANK", "0") != "0"  # under torchrun, rank 0 speaks
    task_name = resolve_task_name(task_name, given)
    task, spec, config = build_from_settings(task_name, given)
    out = out or str(Path("runs") / default_run_name(task.name))
    if not quiet and show_summary:
        voice.say(f"task {task.name}: {task.description}")
        voice.say(f"model {spec!r}: {spec.num_parameters():,} parameters; {config!r}")
    reporter = _reporter(quiet)
    trainer = _guarded(
        lambda: start_run(
            task, spec, config, out, overwrite=overwrite, reporter=reporter, notify=voice.note
        ),
        out,
    )
    finish(trainer, quiet, voice)
    return trainer


def resume_training(run_dir, given, quiet, voice: Voice):
    """Continue ``run_dir`` with its own settings; ``given`` may change only RESUMABLE."""
    from rnnlab.train.session import resume_run

    ignored = sorted(set(given) - RESUMABLE)
    if ignored:
        raise InputError(
            f"--resume continues a run with its own settings; these cannot change: "
            f"{', '.join('--' + k.replace('_', '-') for k in ignored)}"
        )
    reporter = _reporter(quiet)
    trainer = _guarded(
        lambda: resume_run(run_dir, given, reporter=reporter, notify=voice.note), run_dir
    )
    finish(trainer, quiet, voice)
    return trainer


def train_several(task, cells, given, out, overwrite, quiet, voice: Voice) -> dict[str, dict]:
    """``--cell rnn,lstm``: train each cell with the same settings into ``out/CELL``, then
    compare them; every cell's settings are checked before the first one trains. Returns
    each cell's validation metrics."""
    from rnnlab.train.artifacts import NO_MATPLOTLIB, plot_comparison
    from rnnlab.train.options import check_cells, resolve_task_name
    from rnnlab.train.run_dir import default_run_name

    twice = sorted({cell for cell in cells if cells.count(cell) > 1})
    if twice:
        raise InputError(f"--cell lists {', '.join(twice)} more than once; each cell trains once")
    settings = dict(given)
    check_cells(resolve_task_name(task, settings), settings, cells)
    base = Path(out or Path("runs") / default_run_name(task))
    results = {}
    for cell in cells:
        if not quiet:
            voice.say(f"=== {cell}")
        trainer = train_one(task, {**given, "cell": cell}, str(base / cell), overwrite, quiet,
                            voice)  # fmt: skip
        results[cell] = trainer.task.evaluate(trainer.engine, "val", trainer.config.eval_batch_size)
    if not quiet:
        voice.compare(results, f"{task}: validation")
    problem = plot_comparison(base, {cell: base / cell for cell in cells}).problem
    if problem and problem != NO_MATPLOTLIB:  # finish() has said that once per cell already
        _warn_plots(voice, problem)
    return results


def finish(trainer, quiet, voice: Voice) -> None:
    """Plots and a closing summary after training (rank 0 only, under torchrun).

    Plots are a by-product: one that cannot be drawn is a warning, never a failure (that
    matplotlib is not installed at all is said only without quiet)."""
    from rnnlab.train.artifacts import NO_MATPLOTLIB, write_plots

    if trainer.rank != 0:
        return
    written, problem = write_plots(trainer.run_dir, trainer.task, trainer.engine)
    if problem and not (quiet and problem == NO_MATPLOTLIB):
        _warn_plots(voice, problem)
    if not quiet:
        p = trainer.progress
        best = (
            f"best val loss {p.best_val:.4f} at step {p.best_step}"
            if p.best_step
            else "not evaluated yet: see --eval-every"
        )
        voice.say(f"run directory: {trainer.run_dir}  ({best})")
        if written:
            voice.say("plots: " + ", ".join(str(w.name) for w in written))


def _guarded(run, run_dir):
    """``run()``, with a divergence (the last good checkpoint kept) or a signal (saved)
    turned into :class:`Stopped`."""
    from rnnlab.train.signals import Interrupted
    from rnnlab.train.trainer import Diverged

    try:
        return run()
    except Diverged as exc:
        if exc.saved_step is None:
            kept = (
                f"no checkpoint was saved, so '{run_dir}' cannot be resumed: start again "
                "with --overwrite"
            )
        else:
            kept = f"the last good checkpoint (step {exc.saved_step}) in '{run_dir}' is kept"
        message = f"{exc}; {kept}; try a lower --lr or a --grad-clip"
        raise Stopped(message, EXIT_DIVERGED) from None
    except Interrupted as exc:
        raise Stopped(str(exc), exc.exit_code) from None


def _reporter(quiet):
    """The terminal reporter; at each evaluation of a text task it shows a short sample."""
    from rnnlab.train.console import ConsoleReporter

    reporter = ConsoleReporter(quiet=quiet)

    def sample(engine):
        from rnnlab.generate import generate
        from rnnlab.tasks import TextTask

        task = reporter.trainer.task
        if not isinstance(task, TextTask):
            return None
        return "".join(generate(engine, task.vocab, length=80, temperature=0.8, seed=0))

    reporter.sample = sample
    return reporter


def _warn_plots(voice: Voice, problem: str) -> None:
    voice.warn(f"{problem} (the run itself is saved)")
