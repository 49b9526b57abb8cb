"""``rnnlab study``: the classic experiments, each one command. ``study gradflow`` draws
‖∂L/∂h_t‖ over T steps for fresh RNN, GRU and LSTM models on one figure.

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
