"""The ``rnnlab bench`` command: its flags, read into a :class:`~rnnlab.bench.cases.BenchConfig`,
and the run's report as JSON or as tables."""

from __future__ import annotations

import json

import click

from rnnlab.bench.cases import (
    CELLS,
    DEFAULT_ENGINES,
    ENGINES,
    NAMED_SHAPES,
    SHAPE_SYNTAX,
    BenchConfig,
    parse_shape,
    torch_available,
)
from rnnlab.bench.run import run_bench
from rnnlab.errors import InputError


def parse_list(values: tuple[str, ...], allowed: tuple[str, ...], flag: str) -> list[str]:
    """Comma-separated, repeatable flag values, each one of ``allowed`` (order kept, no repeats)."""
    chosen = [v.strip() for value in values for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in allowed]
    if unknown or not chosen:
        raise InputError(f"{flag} {','.join(unknown)!r}: choose from {', '.join(allowed)}")
    return list(dict.fromkeys(chosen))


@click.command("bench")
@click.option("--shape", "shapes", multiple=True,
              help=f"{SHAPE_SYNTAX}; repeatable [tiny, A, B].")  # fmt: skip
@click.option("--cell", "cells", multiple=True, help="lstm, gru, rnn; a comma list [lstm].")
@click.option("--engines", multiple=True,
              help=f"A comma list of {', '.join(ENGINES)} [all but compiled].")  # fmt: skip
@click.option("--threads", type=int, default=2, show_default=True, help="BLAS and torch threads.")
@click.option(
    "--repeats", type=int, default=None, help="Timed runs per row, at least [5; --quick 2]."
)
@click.option("--warmup", type=int, default=None, help="Untimed runs first [2; --quick 1].")
@click.option(
    "--min-time", type=float, default=None, help="Seconds to keep timing a row [1; --quick 0]."
)
@click.option("--generation/--no-generation", default=True, show_default=True,
              help="Also time sampling (1 thread; 500 chars, --quick 50).")  # fmt: skip
@click.option("--memory/--no-memory", default=True, show_default=True,
              help="Peak memory of each row (one short process each).")  # fmt: skip
@click.option("--buckets", is_flag=True,
              help="Instead: sentiment epochs, length buckets against random batches.")  # fmt: skip
@click.option("--seq2seq", is_flag=True,
              help="Instead: a g2p encoder–decoder training step vs plain PyTorch.")  # fmt: skip
@click.option("--quick", is_flag=True, help="Few runs and short samples (tests, smoke checks).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def bench_command(
    shapes,
    cells,
    engines,
    threads,
    repeats,
    warmup,
    min_time,
    generation,
    memory,
    buckets,
    seq2seq,
    quick,
    as_json,
):
    """Time a training step and generation for every engine, against torch.nn, in one run.

    Shapes are B,T,I,H (batch, steps, input width, hidden) with ',onehot' for one-hot input of
    I classes: tiny = 1,25,65,100,onehot; A = 32,100,64,128; B = 64,100,128,256. Reports the
    median ms per step, tokens/s, achieved GFLOP/s beside the machine's matmul peak, peak
    memory, and each time divided by torch.nn's. The engines of a row are timed together, in
    three rounds of blocks, and each ratio is taken within a round, so that load from other
    jobs falls on both of its sides.
    """
    default_engines = DEFAULT_ENGINES if torch_available() else ("numpy",)
    if buckets:
        return _bench_buckets(engines, default_engines, threads, repeats, warmup, quick, as_json)
    if seq2seq:
        return _bench_seq2seq(engines, threads, repeats, warmup, min_time, quick, as_json)
    config = BenchConfig(
        shapes=tuple(dict.fromkeys(map(parse_shape, shapes))) or tuple(NAMED_SHAPES.values()),
        cells=tuple(parse_list(cells, CELLS, "--cell")) if cells else ("lstm",),
        engines=tuple(parse_list(engines, ENGINES, "--engines")) if engines else default_engines,
        threads=threads,
        repeats=_given(repeats, 2 if quick else 5),
        warmup=_given(warmup, 1 if quick else 2),
        min_time=_given(min_time, 0.0 if quick else 1.0),
        generation=generation,
        gen_length=50 if quick else 500,
        memory=memory,
    )
    from rich.console import Console

    err = Console(stderr=True)
    if err.is_terminal:
        with err.status("measuring", transient=True) as status:
            report = run_bench(config, progress=lambda what: status.update(f"measuring {what}"))
    else:
        report = run_bench(config)
    if as_json:
        click.echo(json.dumps(report, indent=1))
    else:
        from rnnlab.bench.report import print_report

        print_report(report)


def _bench_buckets(engines, default_engines, threads, repeats, warmup, quick, as_json):
    """``--buckets``: the engines that run the sentiment model, torch.nn aside."""
    from rnnlab.bench import buckets
    from rnnlab.threads import thread_limit

    allowed = tuple(buckets.ENGINES)
    chosen = parse_list(engines, ENGINES, "--engines") if engines else default_engines
    chosen = [e for e in chosen if e in allowed]
    if not chosen:
        raise InputError(f"--buckets times the engines {', '.join(allowed)}; choose among them")
    if any(e != "numpy" for e in chosen) and not torch_available():
        raise InputError("--engines torch-* needs PyTorch, which is not installed")
    if any(e != "numpy" for e in chosen):
        import torch  # noqa: F401  before the thread limit, so that the limit reaches torch
    with thread_limit(threads):
        report = buckets.bench_buckets(chosen, sample=_given(repeats, 3 if quick else 30),
                                       warmup=_given(warmup, 1 if quick else 2),
                                       progress=lambda what: None)  # fmt: skip
    report["threads"] = threads
    if as_json:
        click.echo(json.dumps(report, indent=1))
    else:
        buckets.print_buckets(report)


def _bench_seq2seq(engines, threads, repeats, warmup, min_time, quick, as_json):
    """``--seq2seq``: the g2p model's training step in each engine and plain PyTorch."""
    from rnnlab.bench import seq2seq
    from rnnlab.threads import thread_limit

    allowed = seq2seq.ENGINES if torch_available() else ("numpy",)
    chosen = parse_list(engines, allowed, "--engines") if engines else list(allowed)
    if any(e != "numpy" for e in chosen):
        import torch  # noqa: F401  before the thread limit, so that the limit reaches torch
    with thread_limit(threads):
        report = seq2seq.bench_seq2seq(
            chosen,
            warmup=_given(warmup, 1 if quick else 2),
            repeats=_given(repeats, 2 if quick else 10),
            min_time=_given(min_time, 0.0 if quick else 3.0),
        )
    report["threads"] = threads
    if as_json:
        click.echo(json.dumps(report, indent=1))
    else:
        seq2seq.print_seq2seq(report)


def _given(value, default):
    return default if value is None else value
