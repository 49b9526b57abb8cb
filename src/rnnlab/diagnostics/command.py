"""``rnnlab diagnose``: gradient flow, gate statistics and cell traces of a model, as plots
and a short summary.

Two modes:

* ``rnnlab diagnose RUN`` probes a trained run on one batch of a split and writes
  ``gradient_flow.png``, ``gates.png`` (LSTM/GRU) and ``cell_trace.png`` (LSTM) into the run
  directory (or ``--out``);
* ``rnnlab diagnose --compare-cells rnn,lstm --task copy --delay 40`` builds fresh, seeded,
  untrained models of each cell on the same batch and draws their gradient flows on one
  figure: the vanilla RNN's ‖∂L/∂h_t‖ vanishes toward early t, the LSTM's much less.

Bad input (a missing run, a bidirectional model, an unknown cell) raises
:class:`~rnnlab.errors.InputError`, which ``rnnlab``'s entry point prints as one line with
exit code 2.
"""

import importlib.util
import json
import math
from pathlib import Path

import click
import numpy as np

from rnnlab.diagnostics.gates import cell_trace, gate_statistics, split_gates
from rnnlab.diagnostics.gradient_flow import flow_summary, flow_warnings, norms_over_time
from rnnlab.diagnostics.probe import Probe, probe
from rnnlab.errors import InputError

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
LOW, HIGH = 1e-6, 1e3  # the vanishing / exploding thresholds of the warnings and the plot
GATE_LABELS = {"i": "input i", "f": "forget f", "g": "candidate g", "o": "output o",
               "r": "reset r", "z": "update z", "n": "candidate n"}  # fmt: skip


@click.command("diagnose")
@click.argument("run", required=False, type=click.Path())
@click.option("--split", default="val", show_default=True, help="train | val | test")
@click.option("--batch-size", default=16, show_default=True, type=int, help="Sequences probed.")
@click.option(
    "--engine",
    type=click.Choice(["numpy", "torch"]),
    default=None,
    help="Gradients by the NumPy backward passes or torch autograd [the run's engine; numpy].",
)
@click.option("--best", is_flag=True, help="Use the best validation weights.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--out", type=click.Path(), default=None, help="Where plots go [RUN, or '.'].")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the PNGs.")
@click.option("--compare-cells", default=None, help="e.g. rnn,lstm: fresh models side by side.")
@click.option("--task", default="copy", show_default=True, help="Task for --compare-cells.")
@click.option("--delay", type=int, default=None, help="Copy-task delay (--compare-cells).")
@click.option("--bits", type=int, default=None, help="Copy-task bits (--compare-cells).")
@click.option("--hidden", type=int, default=32, show_default=True, help="(--compare-cells)")
@click.option(
    "--init", type=click.Choice(["torch", "xavier"]), default="torch", show_default=True,
    help="Initialisation of the fresh models (--compare-cells).",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="(--compare-cells)")
def diagnose_command(
    run, split, batch_size, engine, best, as_json, out, plots, compare_cells, **fresh
):
    """Gradient flow ‖∂L/∂h_t‖ through time, gate statistics and cell-state traces.

    With RUN: probe the run's model on one batch of --split; write gradient_flow.png,
    gates.png and cell_trace.png into RUN (or --out) and print a summary. With
    --compare-cells rnn,lstm: untrained models of each cell on the same --task batch, their
    gradient flows on one figure (gradient_flow_compare.png).
    """
    if batch_size < 1:
        raise InputError(f"--batch-size must be a positive integer, got {batch_size}")
    if compare_cells:
        if run:
            raise InputError("give either RUN or --compare-cells, not both")
        plots_to = Path(out or ".") if plots else None
        report = compare_fresh_cells(
            compare_cells, split, batch_size, engine or "numpy", plots_to, **fresh
        )
    else:
        if not run:
            raise InputError("diagnose needs a RUN directory, or --compare-cells rnn,lstm")
        given = [f"--{k}" for k, v in fresh.items() if v is not None and k in ("delay", "bits")]
        if given:
            raise InputError(f"{', '.join(given)}: only with --compare-cells (not with RUN)")
        plots_to = Path(out or run) if plots else None
        report = diagnose_run(run, split, batch_size, engine, best, plots_to)
    if as_json:
        click.echo(json.dumps(_json_safe(report)))
        return
    if compare_cells:
        _print_comparison(report)
    else:
        _print_run(report)
    if report["plots"]:
        click.echo("wrote " + ", ".join(report["plots"]))
    elif plots and not HAS_MATPLOTLIB:
        click.echo("no plots: matplotlib is not installed (pip install 'rnnlab[viz]')")


# --------------------------------------------------------------------------- a run
def diagnose_run(run, split, batch_size, engine, best, plots_to: Path | None) -> dict:
    """Probe a run on batch 0 of ``split``; the report as a dict; plots into ``plots_to``."""
    from rnnlab.train.session import load_run

    loaded = load_run(run, overrides={"engine": engine} if engine else None, best=best)
    spec, task = loaded.spec, loaded.task
    batch = _first_batch(task, split, batch_size)
    result = probe(loaded.engine, batch)
    report = {
        "run": str(run),
        "engine": loaded.engine.name,
        "weights": "best" if best else "last",
        "split": split,
        "cell": spec.cell,
        "layers": spec.num_layers,
        "hidden_size": spec.hidden_size,
        "batch_size": int(batch.mask.shape[1]),
        "steps": int(batch.mask.shape[0]),
        **analyse(result),
    }
    report["plots"] = [str(p) for p in write_plots(plots_to, result)] if plots_to else []
    return report


def _first_batch(task, split, batch_size):
    task.check_split(split)
    if task.num_batches(split, batch_size) < 1:
        raise InputError(f"task '{task.name}' has no {split} batch of {batch_size} sequences")
    return task.batch(split, 0, batch_size)


def analyse(result: Probe) -> dict:
    """Loss, per-layer gradient flow (summary and norms), warnings and gate statistics."""
    norms = norms_over_time(result.hidden_grads)  # (T, L)
    summary = flow_summary(norms)
    return {
        "loss": result.loss,
        "gradient_flow": {
            str(l): {**summary[l], "norms": norms[:, l].tolist()} for l in range(norms.shape[1])
        },
        "warnings": flow_warnings(norms, LOW, HIGH),
        "gates": {
            str(l): gate_statistics(g, result.cell, result.valid) for l, g in result.gates.items()
        },
    }


def write_plots(out: Path, result: Probe) -> list[Path]:
    """gradient_flow.png, and gates.png / cell_trace.png where the cell has them."""
    if not HAS_MATPLOTLIB:
        return []
    from rnnlab.diagnostics import figures

    out.mkdir(parents=True, exist_ok=True)
    norms = norms_over_time(result.hidden_grads)  # (T, L)
    written = [
        figures.plot_gradient_flow(
            out / "gradient_flow.png",
            {f"layer {l}": norms[:, l] for l in range(norms.shape[1])},
            threshold_low=LOW,
            threshold_high=HIGH,
        )
    ]
    if result.gates:
        several = len(result.gates) > 1
        panels = {
            (f"l{l} " if several else "") + GATE_LABELS[name]: values[result.valid]
            for l, gates in result.gates.items()
            for name, values in split_gates(gates, result.cell).items()
        }
        written.append(figures.plot_gates(out / "gates.png", panels))
    if result.cells:
        top = max(result.cells)
        length = int(result.valid[:, 0].sum())  # sequence 0's real steps
        trace = cell_trace(result.cells[top], b=0)[:length]  # (T, H)
        written.append(figures.plot_cell_trace(out / "cell_trace.png", trace))
    return written


# --------------------------------------------------------------------------- fresh cells
def compare_fresh_cells(
    cells: str, split, batch_size, method, plots_to, *, task, delay, bits, hidden, init, seed
) -> dict:
    """Fresh (untrained, seeded) one-layer models of each cell on one batch of ``task``."""
    from rnnlab.diagnostics.probe import probe_with
    from rnnlab.engine import build_engine
    from rnnlab.model import CELLS
    from rnnlab.tasks import build_task
    from rnnlab.train.session import make_spec

    names = [c.strip() for c in cells.split(",") if c.strip()]
    unknown = [c for c in names if c not in CELLS]
    if unknown or not names:
        raise InputError(f"--compare-cells takes cells from {', '.join(CELLS)}, got {cells!r}")
    if hidden < 1:
        raise InputError(f"--hidden must be a positive integer, got {hidden}")
    options = {k: v for k, v in {"delay": delay, "bits": bits}.items() if v is not None}
    the_task = build_task(task, options, seed=seed)
    batch = _first_batch(the_task, split, batch_size)
    report = {"task": the_task.describe(), "split": split, "engine": method, "init": init,
              "hidden_size": hidden, "steps": int(batch.mask.shape[0]), "cells": {}}  # fmt: skip
    for name in names:
        settings = {"cell": name, "hidden_size": hidden, "init": init, "dtype": "float64"}
        spec = make_spec(the_task, settings)
        fresh = build_engine(spec, "numpy", seed=seed).state_dict()  # one init for both methods
        result = probe_with(method, spec, fresh, batch)
        report["cells"][name] = analyse(result)
    report["plots"] = []
    if plots_to and HAS_MATPLOTLIB:
        from rnnlab.diagnostics import figures

        plots_to.mkdir(parents=True, exist_ok=True)
        curves = {n: r["gradient_flow"]["0"]["norms"] for n, r in report["cells"].items()}
        path = plots_to / "gradient_flow_compare.png"
        report["plots"].append(str(figures.plot_gradient_flow(path, curves, LOW, HIGH)))
    return report


# --------------------------------------------------------------------------- printing
def _print_run(report: dict) -> None:
    click.echo(
        f"diagnose {report['run']}: {report['cell']}, {report['layers']} layer(s) × "
        f"{report['hidden_size']} ({report['weights']} weights), {report['batch_size']} "
        f"{report['split']} sequences of T = {report['steps']}, gradients by {report['engine']}"
    )
    click.echo(f"loss {report['loss']:.4f}")
    _print_flow(report, prefix="layer ")
    if report["gates"]:
        click.echo("gates: mean (saturated low / high)")
        for layer, stats in report["gates"].items():
            parts = [
                f"{g} {s['mean']:.2f} ({s['saturated_low']:.0%} / {s['saturated_high']:.0%})"
                for g, s in stats.items()
            ]
            click.echo(f"  layer {layer}: " + "  ".join(parts))


def _print_comparison(report: dict) -> None:
    task = report["task"]
    options = ", ".join(f"{k} {v}" for k, v in task["options"].items() if k in ("bits", "delay"))
    click.echo(
        f"fresh {report['init']}-initialised models, H = {report['hidden_size']}, on one "
        f"{task['name']} {report['split']} batch ({options}; T = {report['steps']}), "
        f"gradients by {report['engine']}"
    )
    for name, result in report["cells"].items():
        click.echo(f"{name}: loss {result['loss']:.4f}")
        _print_flow(result, prefix=f"{name} layer ")
    ratios = ", ".join(
        f"{name} {_g(r['gradient_flow']['0']['ratio'])}" for name, r in report["cells"].items()
    )
    click.echo(f"‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: {ratios}")


def _print_flow(report: dict, prefix: str) -> None:
    click.echo(f"gradient flow ‖∂L/∂h_t‖, t = 1..{len(report['gradient_flow']['0']['norms'])}:")
    for layer, s in report["gradient_flow"].items():
        click.echo(
            f"  {prefix}{layer}: t=1 {_g(s['first'])}, t=T {_g(s['last'])} "
            f"(ratio {_g(s['ratio'])}), ×{s['decay_per_step']:.3f} per step back, "
            f"min {_g(s['min'])} at t={s['min_t']}, max {_g(s['max'])} at t={s['max_t']}"
        )
    for line in report["warnings"]:
        click.echo(f"  warning: {line}")


def _g(value: float) -> str:
    return f"{value:.2e}"


def _json_safe(obj):
    """NaN and infinities as null: strict JSON has no such numbers."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj
