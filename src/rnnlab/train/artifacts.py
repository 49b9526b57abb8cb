"""Figures a finished run leaves in its directory (needs matplotlib, the `viz` extra).

Plots are a by-product: a run is complete without them. So nothing here raises for a figure
that cannot be drawn (matplotlib missing or broken, nothing logged yet, a full disk, a bug
in plotting); each function returns what it wrote and, in one line, why anything is missing,
for the command to show as a warning.
"""

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

from rnnlab.errors import InputError, describe_os_error, one_line
from rnnlab.train.run_dir import MetricsLog

T = TypeVar("T")
NO_MATPLOTLIB = "no plots: matplotlib is not installed (pip install 'rnnlab[viz]')"


class Plots(NamedTuple):
    """What was drawn: the files written, and why any figure is missing (None: none is)."""

    written: list[Path]
    problem: str | None = None


def plots_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def write_plots(run_dir, task, engine) -> Plots:
    """Training curves, plus the task's own figures (:meth:`Task.figures`: the sine fit)."""
    run_dir = Path(run_dir)
    plots = _plots_module()
    if isinstance(plots, str):
        return Plots([], plots)
    written, problems = [], []
    records = _attempt("training curves", problems, MetricsLog(run_dir).read)
    if records:
        written += _attempt("training curves", problems, plots.plot_training, run_dir) or []
    elif records is not None:
        problems.append(
            "no training curves: nothing was logged yet (the run stopped before its first "
            "logged step; see --log-every)"
        )
    for name, draw in task.figures().items():
        drawn = _attempt(name, problems, draw, plots, run_dir / name, engine)
        written += [drawn] if drawn else []
    return Plots(written, "; ".join(problems) or None)


def write_eval_figures(run_dir, task, engine) -> Plots:
    """The figures a task redraws at every evaluation (``task.eval_figures(engine)``, where a
    task has it: the seq2seq attention.png), of the model just evaluated; like
    :func:`write_plots` it never raises, and without matplotlib it draws nothing."""
    eval_figures = getattr(task, "eval_figures", None)
    if eval_figures is None or not plots_available():
        return Plots([])
    problems: list[str] = []
    figures = _attempt("figures", problems, eval_figures, engine) or {}
    plots = _plots_module() if figures else None
    if isinstance(plots, str):
        return Plots([], plots)
    written = []
    for name, draw in figures.items():
        drawn = _attempt(name, problems, draw, plots, Path(run_dir) / name, engine)
        written += [drawn] if drawn else []
    return Plots(written, "; ".join(problems) or None)


def plot_comparison(base: Path, runs: dict[str, Path]) -> Plots:
    """Validation loss of several runs on one figure (``--cell rnn,lstm``)."""
    plots = _plots_module()
    if isinstance(plots, str):
        return Plots([], plots)
    path = Path(base) / "comparison.png"
    problems = []
    curves = _attempt(path.name, problems, _validation_curves, runs)
    if curves is not None and not any(steps for steps, _ in curves.values()):
        problems.append(f"no {path.name}: no run was evaluated yet (see --eval-every)")
    if problems:
        return Plots([], "; ".join(problems))
    drawn = _attempt(path.name, problems, plots.plot_curves, path, curves, title="validation loss",
                     xlabel="step", ylabel="loss", logy=True)  # fmt: skip
    return Plots([drawn] if drawn else [], "; ".join(problems) or None)


def _validation_curves(runs: dict[str, Path]) -> dict[str, tuple[list, list]]:
    """label -> (steps, validation losses) from each run's metrics.jsonl."""
    curves = {}
    for label, run_dir in runs.items():
        records = [r for r in MetricsLog(run_dir).read() if "val_loss" in r]
        curves[label] = ([r["step"] for r in records], [r["val_loss"] for r in records])
    return curves


def _plots_module():
    """:mod:`rnnlab.plots`, or a one-line reason why it cannot be imported."""
    if not plots_available():
        return NO_MATPLOTLIB
    try:
        from rnnlab import plots
    except ImportError as exc:  # installed but broken (a missing library, an ABI mismatch)
        return f"no plots: matplotlib cannot be imported ({one_line(exc)})"
    return plots


def _attempt(what: str, problems: list[str], draw: Callable[..., T], *args, **kwargs) -> T | None:
    """``draw(*args, **kwargs)``; if it fails, None and why in ``problems``, never raising."""
    try:
        return draw(*args, **kwargs)
    except OSError as exc:  # a full disk, a permission: the environment
        problems.append(f"{what} not written: {describe_os_error(exc)}")
    except InputError as exc:
        problems.append(f"{what} not drawn: {one_line(exc)}")
    except Exception as exc:  # a bug in plotting must not fail a run that succeeded
        problems.append(
            f"{what} not drawn: an internal error in rnnlab's plotting "
            f"({type(exc).__name__}: {one_line(exc)}); please report it"
        )
    return None
