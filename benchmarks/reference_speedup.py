"""How many times faster rnnlab's NumPy engine trains than a tutorial-style LSTM.

Times one training step (forward, backward through time, Adam) of ``reference_lstm.py`` —
per sequence, per time step, a matrix per gate, Python loops — and of rnnlab's NumPy engine
(``build_engine(spec, "numpy", optimizer="adam")``) on the same float32 batch, under the same
thread limit, and prints the factor. ``tests/benchmarks/test_reference_lstm.py`` proves both
do the same work (loss, gradients, update). The target: the engine at least 50× faster at
shape A. The reference is slow, so it is timed on few steps (it has no warm-up to speak of:
no caches, no compilation).

    .venv/bin/python benchmarks/reference_speedup.py [--threads 2] [--shape A --shape tiny]
"""

import statistics

import click
from reference_lstm import Adam, from_state_dict, train_step

from rnnlab.bench.cases import NAMED_SHAPES, make_batch, parse_shape
from rnnlab.bench.timing import time_calls
from rnnlab.engine import build_engine
from rnnlab.tables import console
from rnnlab.threads import thread_limit

TARGET = {"A": 50.0}  # shape name -> the factor the engine should reach


def measure(shape, threads: int, repeats: int, reference_repeats: int) -> tuple[float, float]:
    """(reference seconds per step, engine seconds per step): medians, same batch, same start."""
    batch = make_batch(shape)
    engine = build_engine(shape.spec("lstm"), "numpy", optimizer="adam", lr=1e-3)
    params = from_state_dict(engine.state_dict())
    optimizer = Adam(params, lr=1e-3)
    with thread_limit(threads):
        fast = time_calls(lambda: engine.train_step(batch), 2, repeats, min_time=1.0)
        slow = time_calls(
            lambda: train_step(params, optimizer, batch.inputs, batch.targets), 0, reference_repeats
        )
    return statistics.median(slow), statistics.median(fast)


@click.command()
@click.option("--shape", "shapes", multiple=True, help="tiny, A, B or B,T,I,H[,onehot] [A, tiny].")
@click.option("--threads", default=2, show_default=True, help="BLAS threads (threadpoolctl).")
@click.option("--repeats", default=5, show_default=True, help="Timed engine steps, at least.")
@click.option("--reference-repeats", default=2, show_default=True, help="Timed reference steps.")
def main(shapes, threads, repeats, reference_repeats):
    """Time the reference LSTM against rnnlab's NumPy engine and print the factor."""
    from rich import box
    from rich.table import Table

    chosen = [parse_shape(s) for s in shapes] or [NAMED_SHAPES["A"], NAMED_SHAPES["tiny"]]
    title = f"one LSTM training step (float32, Adam, {threads} threads), median"
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in ("shape", "reference ms/step", "numpy engine ms/step", "factor", "target"):
        table.add_column(column, justify="left" if column == "shape" else "right")
    for shape in chosen:
        slow, fast = measure(shape, threads, repeats, reference_repeats)
        factor, target = slow / fast, TARGET.get(shape.name)
        verdict = (
            "" if target is None else f"≥ {target:.0f}×: {'met' if factor >= target else 'not met'}"
        )
        table.add_row(
            shape.label, f"{1e3 * slow:,.1f}", f"{1e3 * fast:,.1f}", f"{factor:.1f}×", verdict
        )
    console().print(table)


if __name__ == "__main__":
    main()
