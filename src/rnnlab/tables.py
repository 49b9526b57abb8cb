"""How results are shown to people in a terminal: rich tables, plain when not a TTY."""

from rich.console import Console
from rich.table import Table

# Wide enough that no table cell is ever cut to fit: a log or a pipe has no width to fit.
UNBOUNDED_WIDTH = 1000


def console() -> Console:
    """Rich's console for stdout. When stdout is not a terminal (CI, pipes, logs) Rich
    strips colour and control codes, and tables take their natural width instead of being
    truncated to 80 columns (``peephol…``)."""
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out.width = UNBOUNDED_WIDTH
    return out


def print_gradcheck_table(rows, bound: float, verbose: bool = False) -> None:
    table = Table(title=f"finite-difference gradcheck (float64, bound {bound:g})")
    for column in (
        "cell",
        "layers",
        "dirs",
        "lengths",
        "tensors",
        "worst tensor",
        "max rel. error",
    ):
        table.add_column(column, justify="right" if column != "cell" else "left")
    table.add_column("result")
    for row in rows:
        cells = [
            row.cell,
            str(row.num_layers),
            str(row.directions),
            "padded" if row.lengths else "full",
        ]
        verdict = "[green]pass[/]" if row.passed else "[red]FAIL[/]"
        if verbose:
            for name, error in row.details.items():
                ok = "[green]pass[/]" if error <= bound else "[red]FAIL[/]"
                table.add_row(*cells, "", name, f"{error:.1e}", ok)
        else:
            table.add_row(*cells, str(row.tensors), row.worst, f"{row.error:.1e}", verdict)
    out = console()
    out.print(table)
    failed = sum(not r.passed for r in rows)
    total = sum(r.tensors for r in rows)
    if failed:
        out.print(f"[red]{failed} of {len(rows)} configurations FAILED[/]")
    else:
        out.print(f"all {len(rows)} configurations pass ({total} tensors checked)")


def print_summary(spec, rows, title: str) -> None:
    table = Table(title=f"{title}: {spec.cell}, {spec.dtype}")
    table.add_column("layer")
    table.add_column("output shape")
    table.add_column("parameters", justify="right")
    for row in rows:
        table.add_row(row.layer, row.output_shape, f"{row.parameters:,}")
    table.add_section()
    table.add_row("total", "", f"{sum(r.parameters for r in rows):,}")
    console().print(table)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def print_metrics(metrics: dict, title: str) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, _fmt(value))
    console().print(table)


def print_classification(metrics: dict, label_names, title: str) -> None:
    """A classifier's evaluation: the overall scores beside the majority baseline, then
    each class's precision and recall."""
    per_class = {f"{kind}:{name}" for name in label_names for kind in ("precision", "recall")}
    print_metrics({k: v for k, v in metrics.items() if k not in per_class}, title)
    table = Table(title="per class")
    for column in ("class", "precision", "recall"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name in label_names:
        table.add_row(
            name, f"{metrics[f'precision:{name}']:.3f}", f"{metrics[f'recall:{name}']:.3f}"
        )
    console().print(table)


def print_comparison(results: dict[str, dict], title: str) -> None:
    """One column per model, one row per metric they share."""
    keys = [k for k in next(iter(results.values())) if all(k in r for r in results.values())]
    table = Table(title=title)
    table.add_column("metric")
    for label in results:
        table.add_column(label, justify="right")
    for key in keys:
        if key == "split":
            continue
        table.add_row(key, *(_fmt(r[key]) for r in results.values()))
    console().print(table)


def print_tasks(tasks: dict) -> None:
    table = Table(title="rnnlab tasks")
    table.add_column("task")
    table.add_column("what it teaches")
    table.add_column("options (defaults)")
    table.add_column("training defaults")
    for name, cls in tasks.items():
        options = ", ".join(f"{k}={v}" for k, v in cls.defaults.items())
        training = ", ".join(f"{k}={v}" for k, v in cls.train_defaults.items())
        table.add_row(name, cls.description, options, training)
    console().print(table)


def print_presets(presets) -> None:
    """The shipped presets (:class:`rnnlab.train.presets.Preset`), one row each."""
    table = Table(title="rnnlab presets (rnnlab train TASK --preset NAME)")
    for column in ("preset", "task", "what it is", "measured", "settings"):
        table.add_column(column)
    for p in presets:
        settings = ", ".join(f"{k}={v}" for k, v in p.settings.items())
        table.add_row(p.name, p.task, p.about, p.measured, settings)
    console().print(table)
