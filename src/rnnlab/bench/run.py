"""One ``rnnlab bench`` run: everything a :class:`~rnnlab.bench.cases.BenchConfig` asks for,
measured under its thread limit, as the report that ``rnnlab bench --json`` prints."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import asdict

import numpy as np

from rnnlab.bench.cases import LR, BenchConfig, torch_available
from rnnlab.bench.machine import MATMUL, matmul_peak, thread_pools
from rnnlab.bench.measure import GEN_MODEL, bench_generation, bench_training
from rnnlab.bench.memory import MEMORY_METHOD, measure_all
from rnnlab.errors import InputError
from rnnlab.threads import thread_limit

FLOPS = "matmul only: 3 × (2·T·B·G·H·(I+H) + 2·T·B·H·O) per step (see rnnlab.bench)"


def run_bench(config: BenchConfig, progress: Callable[[str], None] = lambda what: None) -> dict:
    """Measure everything ``config`` asks for; the report ``rnnlab bench --json`` prints."""
    installed = torch_available()
    needs_torch = [e for e in config.engines if e != "numpy"]
    if needs_torch and not installed:
        raise InputError(
            f"--engines {','.join(needs_torch)} needs PyTorch, which is not installed; "
            "install it (pip install torch) or use --engines numpy"
        )
    if needs_torch:
        import torch  # noqa: F401  before the thread limit, so that the limit reaches torch
    version = importlib.metadata.version("torch") if installed else None
    with thread_limit(config.threads):
        blas = thread_pools()
        progress("matmul peak")
        peak = matmul_peak()
        training = [
            row
            for cell in config.cells
            for shape in config.shapes
            for row in bench_training(config, cell, shape, peak, progress)
        ]
        generation = bench_generation(config, progress) if config.generation else []
    if config.memory:  # after the timings, a process per row, a few at a time
        progress("peak memory")
        shapes = {s.name: s for s in config.shapes}
        jobs = [(row.engine, row.cell, shapes[row.shape]) for row in training]
        for row, (mib, note) in zip(training, measure_all(jobs, config.threads), strict=True):
            row.memory_mib, row.memory_note = mib, note
    return {
        "settings": {
            "dtype": "float32", "optimizer": "adam", "lr": LR, "threads": config.threads,
            "repeats": config.repeats, "warmup": config.warmup, "min_time": config.min_time,
            "statistic": "median", "engines": list(config.engines), "cells": list(config.cells),
            "shapes": [asdict(s) for s in config.shapes],
        },
        "machine": {
            "cpu_count": os.cpu_count(), "numpy": np.__version__, "torch": version, "blas": blas,
            "matmul_peak_gflops": peak, "matmul": MATMUL,
        },
        "flops": FLOPS,
        "memory_method": MEMORY_METHOD,
        "training": [asdict(r) for r in training],
        "generation": {"model": GEN_MODEL, "threads": 1, "rows": [asdict(r) for r in generation]},
    }  # fmt: skip
