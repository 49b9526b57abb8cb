"""``rnnlab study``: the classic experiments, each one command. ``study copy`` is the memory
test (:mod:`rnnlab.study.copy_study`); ``study gradflow`` draws ‖∂L/∂h_t‖ over T steps for
fresh RNN, GRU and LSTM models on one figure.

It is ``rnnlab diagnose --compare-cells`` (:func:`rnnlab.diagnostics.command.compare_fresh_cells`)
with the settings of the tutorial's figure: one copy-task batch whose length is ``--steps``
(bits + delay + go signal + recall), the loss on the recall at the end, so the gradient that
reaches step t has travelled T - t steps back.
"""

from pathlib import Path

import click

from rnnlab.errors import InputError

BITS = 8


@click.group("study")
def study() -> None:
    """The classic experiments of recurrent networks, each one command."""


@study.command("gradflow")
@click.option(
    "--steps", type=click.IntRange(min=2 * BITS + 2), default=100, show_default=True,
    help="Sequence length T (a copy task of 8 bits, its delay filling the rest).",
)  # fmt: skip
@click.option("--cells", default="rnn,gru,lstm", show_default=True)
@click.option("--hidden", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option(
    "--engine", type=click.Choice(["numpy", "torch"]), default="numpy", show_default=True,
    help="Gradients by the NumPy backward passes or by autograd.",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(), default=".", show_default=True,
              help="Folder for gradflow.png.")  # fmt: skip
def gradflow(steps, cells, hidden, batch_size, engine, seed, out):
    """‖∂L/∂h_t‖, t = 1..T, of fresh models of each cell on one figure (gradflow.png)."""
    from rnnlab.diagnostics.command import HAS_MATPLOTLIB, HIGH, LOW, compare_fresh_cells

    report = compare_fresh_cells(
        cells, "val", batch_size, engine, None, task="copy", delay=steps - 2 * BITS - 1,
        bits=BITS, hidden=hidden, init="torch", seed=seed,
    )  # fmt: skip
    click.echo(f"fresh models, H = {hidden}, one copy-task batch of T = {report['steps']}")
    click.echo(f"{'cell':<8}{'‖∂L/∂h_1‖':>12}{'‖∂L/∂h_T‖':>12}{'ratio':>11}  per step back")
    curves = {}
    for name, result in report["cells"].items():
        s = result["gradient_flow"]["0"]
        curves[name] = s["norms"]
        click.echo(f"{name:<8}{s['first']:>12.2e}{s['last']:>12.2e}{s['ratio']:>11.2e}"
                   f"  ×{s['decay_per_step']:.3f}")  # fmt: skip
    if not HAS_MATPLOTLIB:
        click.echo("no plot: matplotlib is not installed (pip install 'rnnlab[viz]')")
        return
    from rnnlab.diagnostics import figures

    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create --out '{out}' ({e.strerror})") from e
    path = figures.plot_gradient_flow(Path(out) / "gradflow.png", curves, LOW, HIGH)
    click.echo(f"wrote {path}")


def _whole_numbers(text: str, flag: str, least: int) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(
            f"{flag} must be whole numbers separated by commas, got {text!r}"
        ) from None
    if any(v < least for v in values) or len(set(values)) != len(values):
        raise InputError(f"{flag} must be distinct numbers of at least {least}, got {text!r}")
    return values


# What a study sets itself, or what would put a run's files elsewhere: not for --train-flags.
STUDY_SETS = ("--delay", "--cell", "--seed", "--engine", "--backend", "--out", "--resume",
              "--threads", "--config")  # fmt: skip


def _train_flags(text: str) -> list[str]:
    import shlex

    try:
        flags = shlex.split(text)
    except ValueError as e:
        raise InputError(f"--train-flags cannot be read ({e}): {text!r}") from None
    for flag in flags:
        if flag.split("=")[0] in STUDY_SETS:
            raise InputError(f"--train-flags may not set {flag.split('=')[0]}: the study "
                             "sets it for every run (use the study's own flag)")  # fmt: skip
    return flags


@study.command("copy")
@click.option("--delays", default="10,50,100,200", show_default=True,
              help="Delays of the copy task, comma-separated.")  # fmt: skip
@click.option("--cells", default="rnn,lstm,gru", show_default=True)
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Seeds 0..N-1 of every delay and cell.")  # fmt: skip
@click.option("--engine", type=click.Choice(["numpy", "torch"]), default="numpy",
              show_default=True)  # fmt: skip
@click.option("--backend", type=click.Choice(["scratch", "native"]), default="scratch",
              show_default=True, help="The torch engine's backend.")  # fmt: skip
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs trained side by side, one thread each.")  # fmt: skip
@click.option("--train-flags", default="", metavar="FLAGS",
              help="Flags added to every run's `rnnlab train copy` (e.g. \"--hidden 32\"); "
                   "none by default: the study measures the task's defaults.")  # fmt: skip
@click.option("--out", type=click.Path(), default="runs/copy-study", show_default=True,
              help="The study's folder; the same command again resumes it.")  # fmt: skip
def copy(delays, cells, seeds, engine, backend, jobs, train_flags, out):
    """Recall over delays for every cell: the RNN vs LSTM memory test, resumable.

    Trains ``rnnlab train copy --delay D --cell C --seed S --stop-when-solved`` for every
    combination with the task's defaults (which scale with the delay), scores each run's
    best-validation weights on the test split and writes OUT/study.json, a table and
    recall_vs_delay.png. Interrupt it at will: the same command resumes.
    """
    from rnnlab.cells import cell_kind
    from rnnlab.study.copy_study import CopyStudy, check_study_folder
    from rnnlab.study.record import table

    cell_names = [c.strip() for c in cells.split(",")]
    for name in cell_names:
        cell_kind(name)  # an unknown cell: one line, before anything trains
    if len(set(cell_names)) != len(cell_names):
        raise InputError(f"--cells lists a cell twice: {cells!r}")
    settings = {
        "delays": _whole_numbers(delays, "--delays", least=0),
        "cells": cell_names,
        "seeds": list(range(seeds)),
        "engine": engine,
        "backend": backend if engine == "torch" else "scratch",
        "train_flags": _train_flags(train_flags),
    }
    check_study_folder(Path(out))
    runner = CopyStudy(Path(out), settings, say=click.echo)
    total = len(runner.study["runs"])
    click.echo(f"copy study in {out}: {total} runs, {jobs} at a time; logs beside each run")
    result = runner.run(jobs)
    rows = table(result["runs"])
    click.echo("\ntest recall, mean ± std over seeds (best-validation weights)")
    click.echo(f"{'delay':>6}" + "".join(f"{c:>20}" for c in settings["cells"]))
    for delay in settings["delays"]:
        cells_text = []
        for cell in settings["cells"]:
            row = next((r for r in rows if r["delay"] == delay and r["cell"] == cell), None)
            cells_text.append(f"{row['recall_mean']:.3f} ± {row['recall_std']:.3f} ({row['n']})"
                              if row else "–")  # fmt: skip
        click.echo(f"{delay:>6}" + "".join(f"{t:>20}" for t in cells_text))
    click.echo(f"wrote {Path(out) / 'study.json'}")
