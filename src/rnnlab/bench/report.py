"""``rnnlab bench``'s report for people: the JSON report of :func:`rnnlab.bench.run.run_bench`
as tables, one for training steps and one for generation (plain text when piped).

It reads only the report (plain dicts) and :class:`~rnnlab.bench.cases.Shape` for the labels.
"""

from rich import box
from rich.table import Table

from rnnlab.bench.cases import Shape
from rnnlab.tables import console


def print_report(report: dict) -> None:
    """The report as tables on the terminal (plain text, no width limit, when piped)."""
    out, settings, machine = console(), report["settings"], report["machine"]
    out.print(
        f"rnnlab bench: float32, Adam, {settings['threads']} thread(s); median of at least "
        f"{settings['repeats']} runs after {settings['warmup']} warm-up"
    )
    out.print(f"matmul peak: {machine['matmul_peak_gflops']:.1f} GFLOP/s ({machine['matmul']})")
    if machine["torch"] is None:
        out.print("PyTorch is not installed: only the numpy engine was measured")
    out.print(training_table(report["training"]))
    shapes = [Shape(**s).label for s in settings["shapes"]]
    out.print(f"shapes (B×T×I×H): {', '.join(shapes)}")
    gen = report["generation"]
    if gen["rows"]:
        out.print(f"\ngeneration: {gen['model']}, {gen['threads']} thread")
        out.print(generation_table(gen["rows"]))
    out.print(f"GFLOP/s: {report['flops']}")
    out.print(f"peak mem: {report['memory_method']}")


def training_table(rows: list[dict]) -> Table:
    """A row per engine, cell and shape; a section per cell and shape."""
    table = Table(title="training step: forward + backward + Adam update", box=box.SIMPLE_HEAD)
    for column in ("cell", "shape", "engine"):
        table.add_column(column)
    for column in ("ms/step", "tokens/s", "GFLOP/s", "of peak", "peak mem", "time ÷ torch.nn"):
        table.add_column(column, justify="right")
    group = None
    for row in rows:
        if group is not None and group != (row["cell"], row["shape"]):
            table.add_section()
        group = (row["cell"], row["shape"])
        table.add_row(
            row["cell"], row["shape"], row["engine"], f"{row['ms_per_step']:,.1f}",
            f"{row['tokens_per_s']:,.0f}", f"{row['gflops']:.2f}",
            f"{100 * row['peak_fraction']:.1f}%", _memory(row), _ratio(row),
        )  # fmt: skip
    return table


def generation_table(rows: list[dict]) -> Table:
    """A row per engine: characters per second, ms per character and the ratio."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("engine")
    for column in ("chars/s", "ms/char", "time ÷ torch.nn"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["engine"], f"{row['chars_per_s']:,.0f}", f"{row['ms_per_char']:.3f}", _ratio(row)
        )
    return table


def _memory(row: dict) -> str:
    mib = row["memory_mib"]
    return row["memory_note"].split(":")[0] if mib is None else f"{mib:,.1f} MiB"


def _ratio(row: dict) -> str:
    ratio = row["ratio_to_torch_nn"]
    return row["ratio_note"] if ratio is None else f"{ratio:.2f}×"
