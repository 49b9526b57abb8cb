"""The rows of one bench run: each engine's training step at a cell and shape, and each
engine writing text, timed together in rounds (:func:`~rnnlab.bench.timing.time_rounds`)."""

from __future__ import annotations

import statistics
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rnnlab.bench.cases import (
    REFERENCE,
    BenchConfig,
    Shape,
    build_rnnlab_engine,
    make_batch,
    make_step,
    torch_available,
    training_flops,
)
from rnnlab.bench.timing import every_call, paired_ratio, time_rounds
from rnnlab.model import ModelSpec
from rnnlab.threads import thread_limit

GEN_HIDDEN, GEN_VOCAB = 256, 65
GEN_MODEL = f"1-layer LSTM, hidden {GEN_HIDDEN}, vocabulary {GEN_VOCAB}, one-hot"


@dataclass
class TrainingRow:
    """One engine's training step at one cell and shape (times in ms, memory in MiB)."""

    cell: str
    shape: str
    batch: int
    seq_len: int
    input_size: int
    hidden: int
    input_kind: str
    engine: str
    ms_per_step: float  # median
    ms_min: float
    runs: int
    tokens_per_s: float  # B·T / median step
    gflop_per_step: float
    gflops: float  # achieved: FLOPs / median step
    peak_fraction: float  # gflops / the matmul peak
    memory_mib: float | None = None
    memory_note: str = "not measured (--no-memory)"
    ratio_to_torch_nn: float | None = None  # ms_per_step / torch.nn's (> 1: slower)
    ratio_note: str = ""


@dataclass
class GenerationRow:
    """One engine sampling ``length`` characters with :func:`rnnlab.generate.generate`."""

    engine: str
    length: int
    runs: int
    chars_per_s: float  # length / median time
    ms_per_char: float
    ratio_to_torch_nn: float | None = None  # ms_per_char / torch.nn's (> 1: slower)
    ratio_note: str = ""


def bench_training(
    config: BenchConfig, cell: str, shape: Shape, peak: float, progress: Callable[[str], None]
) -> list[TrainingRow]:
    """One :class:`TrainingRow` per engine, all on the same batch, timed in rounds."""
    batch, spec, flops = make_batch(shape), shape.spec(cell), training_flops(cell, shape)
    progress(f"{cell} {shape.label}: {', '.join(config.engines)}")
    steps = {engine: make_step(engine, spec, batch) for engine in config.engines}
    times = time_rounds(steps, config.warmup, config.repeats, config.min_time)
    rows = [
        TrainingRow(
            cell=cell, shape=shape.name, batch=shape.batch, seq_len=shape.seq_len,
            input_size=shape.input_size, hidden=shape.hidden, input_kind=spec.input_kind,
            engine=engine, ms_per_step=1e3 * median, ms_min=1e3 * min(every),
            runs=len(every), tokens_per_s=shape.batch * shape.seq_len / median,
            gflop_per_step=flops / 1e9, gflops=flops / median / 1e9,
            peak_fraction=flops / median / 1e9 / peak,
        )
        for engine, every, median in per_engine(config.engines, times)
    ]  # fmt: skip
    set_ratios(rows, times)
    return rows


def bench_generation(config: BenchConfig, progress: Callable[[str], None]) -> list[GenerationRow]:
    """Characters per second of each engine writing with the public generate API, 1 thread."""
    from rnnlab.data.vocab import Vocab
    from rnnlab.generate import generate

    vocab = Vocab([*Vocab.SPECIALS, *string.ascii_letters, *string.digits], "char")  # 65
    spec = ModelSpec(input_size=len(vocab), output_size=len(vocab), hidden_size=GEN_HIDDEN,
                     input_kind="onehot", dtype="float32")  # fmt: skip
    writers = {}
    for engine in config.engines:
        if engine == REFERENCE:
            from rnnlab.bench.baseline import TorchNNModel, TorchNNSampler

            model = TorchNNSampler(TorchNNModel(spec))
        else:
            model = build_rnnlab_engine(engine, spec)

        def write(model=model):
            for _ in generate(model, vocab, length=config.gen_length, seed=0):
                pass

        writers[engine] = write
    progress(f"generation: {', '.join(config.engines)}")
    with thread_limit(1):
        times = time_rounds(writers, config.warmup, config.repeats, config.min_time)
    rows = [
        GenerationRow(
            engine=engine, length=config.gen_length, runs=len(every),
            chars_per_s=config.gen_length / median, ms_per_char=1e3 * median / config.gen_length,
        )
        for engine, every, median in per_engine(config.engines, times)
    ]  # fmt: skip
    set_ratios(rows, times)
    return rows


def per_engine(
    engines: Sequence[str], times: dict[str, list[list[float]]]
) -> list[tuple[str, list[float], float]]:
    """(engine, the times of all its calls, their median) for each engine, in order."""
    every = {engine: every_call(times[engine]) for engine in engines}
    return [(engine, every[engine], statistics.median(every[engine])) for engine in engines]


def set_ratios(
    rows: list[TrainingRow] | list[GenerationRow], times: dict[str, list[list[float]]]
) -> None:
    """Each row's time over torch.nn's, paired round by round, or why there is none."""
    if REFERENCE not in times:
        missing = "torch.nn not in --engines" if torch_available() else "PyTorch is not installed"
        for row in rows:
            row.ratio_note = f"n/a: {missing}"
        return
    for row in rows:
        row.ratio_to_torch_nn = paired_ratio(times[row.engine], times[REFERENCE])
        row.ratio_note = "median over rounds of time ÷ torch.nn's in the same round"
