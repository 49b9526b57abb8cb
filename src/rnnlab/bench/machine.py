"""The machine a bench ran on: its float32 matmul peak and the thread pools of its libraries."""

from __future__ import annotations

import statistics

import numpy as np
from threadpoolctl import threadpool_info

from rnnlab.bench.timing import time_calls

GEMM_SIZE = 1024
MATMUL = f"NumPy float32 {GEMM_SIZE}³ GEMM, median"


def matmul_peak(n: int = GEMM_SIZE, repeats: int = 5) -> float:
    """GFLOP/s of a square float32 NumPy GEMM (2·n³ FLOPs), median of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)  # (n, n)
    b = rng.standard_normal((n, n), dtype=np.float32)  # (n, n)
    seconds = statistics.median(time_calls(lambda: a @ b, warmup=2, repeats=repeats))
    return 2 * n**3 / seconds / 1e9


def thread_pools() -> list[dict]:
    """The BLAS and OpenMP pools threadpoolctl sees: API, version and threads (as limited now)."""
    keys = ("internal_api", "version", "num_threads")
    return [{k: lib.get(k) for k in keys} for lib in threadpool_info()]
