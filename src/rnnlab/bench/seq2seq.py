"""``rnnlab bench --seq2seq``: a training step of the g2p encoder–decoder, per engine, against
plain PyTorch.

What is timed: one training step — encode, decode with teacher forcing, cross-entropy over
the real target tokens, backward, gradient clipping and an Adam update — of the model that
``rnnlab train g2p`` builds by default (its spec, optimizer, learning rate and clipping:
:attr:`rnnlab.tasks.g2p.G2PTask.train_defaults`), built the way the trainer builds it
(:func:`rnnlab.engine.build_engine`), on a synthetic batch of the g2p training shape:

    B = 64 pairs (the task's batch size), S = 8 letters, T = 9 target steps (<eos> counted):
    the median padded lengths of g2p's length-bucketed training batches (measured on the
    CMU dictionary's training split: sources 7.5 letters, targets 6.4 phones on average).

The engines: ``numpy`` and ``torch-scratch`` (rnnlab's two; an encoder–decoder has no native
torch backend) and ``torch.nn``, the plain PyTorch encoder–decoder of
:mod:`~rnnlab.bench.seq2seq_baseline` (nn.LSTM, the same attention, Adam). They are timed
together in rounds (:func:`~rnnlab.bench.timing.time_rounds`); a row reports the median of
its timed steps, and its ratio is the median over rounds of its median divided by
torch.nn's in the same round (> 1: slower). The issue's target: NumPy ≤ 2× torch.nn.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from rnnlab.bench.timing import every_call, paired_ratio, time_rounds
from rnnlab.seq2seq.batch import Seq2SeqBatch, make_batch

ENGINES = ("numpy", "torch-scratch", "torch.nn")
REFERENCE = "torch.nn"


class PairShape(NamedTuple):
    batch: int  # B pairs
    source_len: int  # S source tokens, every pair
    target_len: int  # T decoder steps, <eos> counted, every pair


G2P_SHAPE = PairShape(64, 8, 9)  # see the module docstring


def g2p_setup():
    """The spec and training configuration ``rnnlab train g2p`` starts from (no data read)."""
    from rnnlab.train.options import build_from_settings

    _, spec, config = build_from_settings("g2p", {})
    return spec, config


def synthetic_batch(spec, shape: PairShape, seed: int = 0) -> Seq2SeqBatch:
    """Random source and target tokens of ``shape`` (targets: ids 2.., <bos>/<eos> added)."""
    rng = np.random.default_rng(seed)
    B, S, T = shape
    sources = rng.integers(0, spec.source_vocab, size=(B, S))  # (B, S)
    targets = rng.integers(2, spec.target_vocab, size=(B, T - 1))  # (B, T − 1), then <eos>
    return make_batch(list(sources), list(targets), bos=0, eos=1)


def make_step(engine: str, spec, config, batch: Seq2SeqBatch) -> Callable[[], object]:
    """One training step of ``engine`` on ``batch``, with ``config``'s optimizer settings."""
    if engine == REFERENCE:
        from rnnlab.bench.seq2seq_baseline import TorchNNSeq2Seq, training_step

        return training_step(TorchNNSeq2Seq(spec), batch, config.lr, config.grad_clip)
    from rnnlab.engine import build_engine

    built = build_engine(spec, "numpy" if engine == "numpy" else "torch",
                         **config.engine_options())  # fmt: skip
    return lambda: built.train_step(batch)


def bench_seq2seq(
    engines=ENGINES, spec=None, config=None, shape: PairShape = G2P_SHAPE, warmup: int = 2,
    repeats: int = 10, min_time: float = 3.0, progress: Callable[[str], None] = lambda w: None,
) -> dict:  # fmt: skip
    """The report's ``seq2seq`` entry: a row per engine (the g2p model unless ``spec`` and
    ``config`` are given), with its ratio to torch.nn where torch.nn is among ``engines``."""
    if spec is None or config is None:
        spec, config = g2p_setup()
    batch = synthetic_batch(spec, shape)
    steps = {name: make_step(name, spec, config, batch) for name in engines}
    progress("seq2seq training steps")
    times = time_rounds(steps, warmup=warmup, repeats=repeats, min_time=min_time)
    tokens = int(batch.lengths.sum())  # source and target steps, as the trainer counts them
    rows = []
    for name in engines:
        median = statistics.median(every_call(times[name]))
        ratio = paired_ratio(times[name], times[REFERENCE]) if REFERENCE in times else None
        rows.append({"engine": name, "ms_per_step": 1e3 * median,
                     "tokens_per_s": tokens / median, "ratio": ratio,
                     "timed_steps": len(every_call(times[name]))})  # fmt: skip
    return {
        "task": "g2p", "shape": shape._asdict(), "model": spec.to_dict(),
        "optimizer": config.optimizer, "lr": config.lr, "grad_clip": config.grad_clip,
        "reference": REFERENCE, "target": "numpy ≤ 2× torch.nn", "rows": rows,
    }  # fmt: skip


def print_seq2seq(report: dict) -> None:
    """The seq2seq report as a table (plain text when piped)."""
    from rich import box
    from rich.table import Table

    from rnnlab.tables import console

    s, m = report["shape"], report["model"]
    title = (
        f"a g2p training step (B={s['batch']}, S={s['source_len']}, T={s['target_len']}; "
        f"{m['cell']} {m['hidden_size']}{' bidirectional' if m['bidirectional'] else ''}, "
        f"{m['attention']} attention; {report.get('threads', '?')} threads), median"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in ("engine", "ms/step", "tokens/s", f"÷ {report['reference']}"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    for row in report["rows"]:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}×"
        table.add_row(row["engine"], f"{row['ms_per_step']:.1f}", f"{row['tokens_per_s']:,.0f}",
                      ratio)  # fmt: skip
    out = console()
    out.print(table)
    out.print(f"ratio: the median over rounds of the engine's median ÷ {report['reference']}'s "
              f"in the same round; target {report['target']}")  # fmt: skip
