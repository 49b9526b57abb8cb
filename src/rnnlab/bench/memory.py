"""Peak memory of one bench row: a fresh process builds the row's model and trains it twice
(how, and why so, in :mod:`rnnlab.bench`)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from rnnlab.bench.cases import Shape, make_batch, make_step
from rnnlab.threads import thread_limit

MEMORY_METHOD = (
    "a fresh process per row: VmHWM - VmRSS around building the model and two training "
    "steps, after a minimal model of the same engine has started the libraries (rnnlab.bench)"
)
SRC = Path(__file__).resolve().parents[2]  # the folder holding this rnnlab package


def _vm_kib(field_name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise OSError(f"{field_name} missing from /proc/self/status")


def memory_child(job_json: str) -> None:
    """In a fresh process: print the peak memory of building ``job``'s model and 2 steps."""
    job = json.loads(job_json)
    shape = Shape(**job["shape"])
    if job["engine"] != "numpy":
        importlib.import_module("torch")  # before the thread limit, so that it reaches torch
    with thread_limit(job["threads"]):
        # The libraries' one-time start-up (thread pools, autograd, kernels) is not the
        # model's cost: a minimal model of the same engine trains first, unmeasured.
        unit = Shape("unit", 1, 2, 1, 1, shape.onehot)
        make_step(job["engine"], unit.spec(job["cell"]), make_batch(unit))()
        batch = make_batch(shape)
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # VmHWM := VmRSS: what imports and the batch took is not counted
        before = _vm_kib("VmRSS")
        step = make_step(job["engine"], shape.spec(job["cell"]), batch)
        step()
        step()
        peak = _vm_kib("VmHWM")
    print(json.dumps({"peak_mib": (peak - before) / 1024}))


def measure_memory(engine: str, cell: str, shape: Shape, threads: int):
    """(peak MiB or None, a note saying how, or why not), from :func:`memory_child`."""
    if not Path("/proc/self/clear_refs").exists():
        return None, "n/a: needs Linux (/proc/self/clear_refs, VmHWM)"
    job = json.dumps({"engine": engine, "cell": cell, "shape": asdict(shape), "threads": threads})
    code = "import sys; from rnnlab.bench.memory import memory_child; memory_child(sys.argv[1])"
    paths = [str(SRC), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}  # this rnnlab
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, job], capture_output=True, text=True, timeout=900, env=env
        )
    except subprocess.TimeoutExpired:
        return None, "n/a: the measuring process timed out"
    try:
        return float(json.loads(done.stdout.splitlines()[-1])["peak_mib"]), "VmHWM"
    except (ValueError, IndexError, KeyError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"n/a: the measuring process failed ({last[:100]})"


def measure_all(rows: list[tuple[str, str, Shape]], threads: int):
    """:func:`measure_memory` of each (engine, cell, shape), a few processes at a time."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda row: measure_memory(*row, threads), rows))
