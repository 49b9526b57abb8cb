"""``rnnlab bench``: how fast each engine trains and writes, measured side by side in one run.

What is timed
    * a **training step**: forward, cross-entropy loss, backward and an Adam update
      (``engine.train_step(batch)``), float32, for each engine, cell and shape;
    * **generation**: characters per second sampled with :func:`rnnlab.generate.generate`
      from a 1-layer, 256-hidden LSTM character model (vocabulary 65, one-hot), one thread.

Engines: ``numpy`` (rnnlab's NumPy engine), ``torch-scratch`` and ``torch-native`` (the torch
engine's two backends), ``torch-scratch-compiled`` (scratch under ``torch.compile``; opt-in,
as compiling takes minutes on a CPU) and ``torch.nn``: the reference a torch user would write
(``nn.LSTM``/``GRU``/``RNN`` + ``nn.Linear`` + ``F.cross_entropy`` + ``torch.optim.Adam``,
one-hot input through ``F.one_hot``). Every ratio compares an engine with torch.nn under
the same load (> 1: slower).

How
    Every measurement runs in this process under the same thread limit: threadpoolctl's
    ``threadpool_limits`` for NumPy's BLAS (and OpenMP) and ``torch.set_num_threads``.
    The engines of one cell and shape are timed together, in three rounds: each engine gets
    ``warmup`` untimed calls, then in every round (the order rotated per round) a block of
    untimed calls for ``min_time / 10`` seconds followed by timed calls, ``repeats`` and
    ``min_time`` seconds in all (see :func:`time_rounds`). A row reports the median of its
    timed calls; its ratio is the median over rounds of its block's median divided by
    torch.nn's in the same round, so that load from other processes, which comes and goes
    over seconds, falls on both sides of each ratio.

FLOPs (the GFLOP/s column) count the matrix products only, 2 FLOPs per multiply-add::

    recurrent forward   2·T·B·G·H·(I + H)       G = 4 (LSTM), 3 (GRU), 1 (RNN)
    head forward        2·T·B·H·O               O = I: the model predicts its next input
    backward            2 × forward             one product for ∂inputs, one for ∂weights
    per step            3 × (recurrent + head)

One-hot input is counted as the dense product it stands for (I = V). Element-wise work (gates,
softmax, Adam) is not counted, so the figure is a nominal rate: how busy an engine keeps the
matrix units, to be read against the machine's **matmul peak**, measured here as the median
rate of a square float32 NumPy GEMM (1024³) under the same thread limit.

Peak memory is measured in a fresh process per row (Linux only; "n/a" elsewhere), so that no
allocator holds on to memory from an earlier row. The process first trains a minimal model
(B=1, T=2, I=H=1) of the same engine, unmeasured, so that the libraries' one-time start-up
(thread pools, autograd, kernels) is not counted; it makes the batch, resets the resident-set
high-water mark (VmHWM) through ``/proc/self/clear_refs``, builds the model and runs two
training steps. The row shows VmHWM minus the resident size (VmRSS) before the build:
weights, optimizer moments, activations, gradients and workspaces, whoever allocated them
(tracemalloc would see NumPy's arrays but not torch's). For compiled models it includes the
compiler's own memory. A row whose measuring process fails shows "n/a" (its reason in JSON).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import numpy as np
from threadpoolctl import threadpool_info

from rnnlab.batch import Batch
from rnnlab.errors import InputError
from rnnlab.model import GATES, ModelSpec
from rnnlab.threads import thread_limit

ENGINES = ("numpy", "torch-scratch", "torch-native", "torch-scratch-compiled", "torch.nn")
DEFAULT_ENGINES = ("numpy", "torch-scratch", "torch-native", "torch.nn")
REFERENCE = "torch.nn"
CELLS = ("lstm", "gru", "rnn")
LR = 1e-3
GEMM_SIZE = 1024
ROUNDS = 3  # timing rounds per row (see time_rounds)
GEN_HIDDEN, GEN_VOCAB = 256, 65
SHAPE_SYNTAX = "tiny, A, B or B,T,I,H[,onehot]"
MEMORY_METHOD = (
    "a fresh process per row: VmHWM - VmRSS around building the model and two training "
    "steps, after a minimal model of the same engine has started the libraries (rnnlab.bench)"
)


@dataclass(frozen=True)
class Shape:
    """One benchmark shape: batch B, steps T, input width I (vocabulary V if one-hot), hidden H."""

    name: str
    batch: int
    seq_len: int
    input_size: int
    hidden: int
    onehot: bool = False

    @property
    def label(self) -> str:
        kind = " one-hot" if self.onehot else ""
        dims = f"{self.batch}×{self.seq_len}×{self.input_size}{kind}×{self.hidden}"
        return dims if self.name == dims else f"{self.name} ({dims})"

    def spec(self, cell: str) -> ModelSpec:
        kind = "onehot" if self.onehot else "dense"
        return ModelSpec(input_size=self.input_size, output_size=self.input_size, cell=cell,
                         hidden_size=self.hidden, input_kind=kind, dtype="float32")  # fmt: skip


NAMED_SHAPES = {
    "tiny": Shape("tiny", 1, 25, 65, 100, onehot=True),
    "A": Shape("A", 32, 100, 64, 128),
    "B": Shape("B", 64, 100, 128, 256),
}


def parse_shape(text: str) -> Shape:
    """``tiny``, ``A``, ``B`` or ``B,T,I,H`` with an optional ``,onehot`` (or ``,dense``)."""
    for name, shape in NAMED_SHAPES.items():
        if text.strip().lower() == name.lower():
            return shape
    parts = [p.strip().lower() for p in text.split(",")]
    onehot = parts[-1] in ("onehot", "one-hot")
    if parts[-1] in ("onehot", "one-hot", "dense"):
        parts = parts[:-1]
    if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise InputError(
            f"--shape {text!r} is not {SHAPE_SYNTAX}: four positive integers (batch, steps, "
            "input width or vocabulary, hidden), e.g. 32,100,64,128 or 1,25,65,100,onehot"
        )
    B, T, I, H = map(int, parts)
    return Shape(",".join(parts) + (",onehot" if onehot else ""), B, T, I, H, onehot)


def parse_list(values: tuple[str, ...], allowed: tuple[str, ...], flag: str) -> list[str]:
    """Comma-separated, repeatable flag values, each one of ``allowed`` (order kept, no repeats)."""
    chosen = [v.strip() for value in values for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in allowed]
    if unknown or not chosen:
        raise InputError(f"{flag} {','.join(unknown)!r}: choose from {', '.join(allowed)}")
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True)
class BenchConfig:
    """What ``rnnlab bench`` measures; fields map to its flags (``gen_length``: by --quick)."""

    shapes: tuple[Shape, ...] = tuple(NAMED_SHAPES.values())
    cells: tuple[str, ...] = ("lstm",)
    engines: tuple[str, ...] = DEFAULT_ENGINES
    threads: int = 2
    repeats: int = 5
    warmup: int = 2
    min_time: float = 1.0
    generation: bool = True
    gen_length: int = 500
    memory: bool = True

    def __post_init__(self):
        for name, low in (("threads", 1), ("repeats", 1), ("warmup", 0), ("gen_length", 1)):
            if getattr(self, name) < low:
                flag = "--" + name.replace("_", "-")
                raise InputError(f"{flag} must be at least {low}, got {getattr(self, name)}")
        if not self.min_time >= 0:
            raise InputError(f"--min-time must be >= 0 seconds, got {self.min_time}")


# --------------------------------------------------------------------------- what is run
def training_flops(cell: str, shape: Shape) -> int:
    """Matmul FLOPs of one training step (see the module docstring for the count)."""
    T, B, I, H = shape.seq_len, shape.batch, shape.input_size, shape.hidden
    recurrent = 2 * T * B * GATES[cell] * H * (I + H)
    head = 2 * T * B * H * I
    return 3 * (recurrent + head)


def make_batch(shape: Shape, seed: int = 0) -> Batch:
    """Random inputs and target classes of ``shape``, every position counted."""
    rng = np.random.default_rng(seed)
    T, B, I = shape.seq_len, shape.batch, shape.input_size
    if shape.onehot:
        inputs = rng.integers(0, I, size=(T, B))  # (T, B) int64 ids
    else:
        inputs = rng.standard_normal((T, B, I), dtype=np.float32)  # (T, B, I)
    targets = rng.integers(0, I, size=(T, B))  # (T, B) int64
    return Batch(inputs, targets, np.ones((T, B), dtype=bool))


def build_rnnlab_engine(engine: str, spec: ModelSpec):
    """An rnnlab engine by its bench name (not torch.nn), with Adam at lr 1e-3."""
    from rnnlab.engine import build_engine

    if engine == "numpy":
        return build_engine(spec, "numpy", optimizer="adam", lr=LR)
    backend = "native" if engine == "torch-native" else "scratch"
    compile_ = engine == "torch-scratch-compiled"
    return build_engine(spec, "torch", backend=backend, compile=compile_, optimizer="adam", lr=LR)


def torch_nn_model(spec: ModelSpec):
    """The plain torch.nn reference: (nn.LSTM/GRU/RNN, nn.Linear head)."""
    import torch

    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[spec.cell]
    rnn = layer(spec.input_size, spec.hidden_size)  # time-major, as rnnlab's batches
    head = torch.nn.Linear(spec.hidden_size, spec.output_size)
    return rnn, head


def make_step(engine: str, spec: ModelSpec, batch: Batch) -> Callable[[], object]:
    """A function running one full training step of ``engine`` on ``batch``."""
    if engine != REFERENCE:
        built = build_rnnlab_engine(engine, spec)
        return lambda: built.train_step(batch)
    import torch
    import torch.nn.functional as F

    rnn, head = torch_nn_model(spec)
    optimizer = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=LR)
    inputs = torch.from_numpy(batch.inputs)  # (T, B) ids or (T, B, I)
    targets = torch.from_numpy(batch.targets).reshape(-1)  # (T·B,)

    def step():
        x = F.one_hot(inputs, spec.input_size).float() if spec.input_kind == "onehot" else inputs
        h, _ = rnn(x)  # (T, B, H)
        logits = head(h)  # (T, B, O)
        loss = F.cross_entropy(logits.reshape(-1, spec.output_size), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def time_calls(fn: Callable[[], object], warmup: int, repeats: int, min_time: float = 0.0):
    """Seconds of each timed call of ``fn``: ``warmup`` untimed calls first, then at least
    ``repeats`` calls and until ``min_time`` seconds have passed (at most 1000 calls)."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start < min_time and len(times) < 1000):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def time_rounds(
    fns: dict[str, Callable[[], object]],
    warmup: int,
    repeats: int,
    min_time: float = 0.0,
    rounds: int = ROUNDS,
) -> dict[str, list[list[float]]]:
    """Seconds of the timed calls of each of ``fns``, as one list per round.

    Each function first gets ``warmup`` untimed calls. Then, ``min(rounds, repeats)`` times,
    each function in turn (the order rotated by one place per round) runs a block: untimed
    calls for ``min_time / 10`` seconds (at least one), then timed calls, at least
    ``repeats / rounds`` of them and for ``min_time / rounds`` seconds.

    Why rounds: on a shared machine, load from other processes comes and goes over seconds;
    functions timed one after the other see different loads, and the ratio of their times
    drifts with it. In rounds, each ratio can be taken within a round (see
    :func:`paired_ratio`). Why blocks with untimed calls first, and not one call each in
    turn: NumPy's BLAS and torch keep their own thread pools, whose threads spin for a
    while after a call; calling the two in alternation makes each run beside the other's
    spinning threads (on 2 cores that made torch.nn's tiny step 4× slower), which no user
    of either one sees.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    names = list(fns)
    rounds = max(1, min(rounds, repeats))
    calls = -(-repeats // rounds)  # at least repeats calls over all rounds
    seconds = min_time / rounds
    times: dict[str, list[list[float]]] = {name: [] for name in names}
    for r in range(rounds):
        turn = r % len(names)
        for name in names[turn:] + names[:turn]:
            time_calls(fns[name], warmup=0, repeats=1, min_time=min_time / 10)  # settle
            times[name].append(time_calls(fns[name], 0, calls, seconds))
    return times


def every_call(blocks: list[list[float]]) -> list[float]:
    """The times of all rounds' blocks (see :func:`time_rounds`) in one list."""
    return [t for block in blocks for t in block]


def paired_ratio(times: list[list[float]], reference: list[list[float]]) -> float:
    """The median over rounds of (median time ÷ the reference's median time in that round):
    one function against another, each pair measured under the same load (see
    :func:`time_rounds`)."""
    ratios = [
        statistics.median(t) / statistics.median(r) for t, r in zip(times, reference, strict=True)
    ]
    return statistics.median(ratios)


def matmul_peak(n: int = GEMM_SIZE, repeats: int = 5) -> float:
    """GFLOP/s of a square float32 NumPy GEMM (2·n³ FLOPs), median of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)  # (n, n)
    b = rng.standard_normal((n, n), dtype=np.float32)  # (n, n)
    seconds = statistics.median(time_calls(lambda: a @ b, warmup=2, repeats=repeats))
    return 2 * n**3 / seconds / 1e9


# --------------------------------------------------------------------------- peak memory
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
    code = "import sys; from rnnlab.bench import memory_child; memory_child(sys.argv[1])"
    paths = [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
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


# --------------------------------------------------------------------------- results
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


def torch_available() -> bool:
    """Whether PyTorch can be imported (found without importing it)."""
    return importlib.util.find_spec("torch") is not None


def bench_training(config: BenchConfig, cell: str, shape: Shape, peak: float, progress):
    """One :class:`TrainingRow` per engine, all on the same batch, timed in rounds."""
    batch, spec, flops = make_batch(shape), shape.spec(cell), training_flops(cell, shape)
    progress(f"{cell} {shape.label}: {', '.join(config.engines)}")
    steps = {engine: make_step(engine, spec, batch) for engine in config.engines}
    times = time_rounds(steps, config.warmup, config.repeats, config.min_time)
    rows = []
    for engine in config.engines:
        every = every_call(times[engine])
        median = statistics.median(every)
        rows.append(TrainingRow(
            cell=cell, shape=shape.name, batch=shape.batch, seq_len=shape.seq_len,
            input_size=shape.input_size, hidden=shape.hidden, input_kind=spec.input_kind,
            engine=engine, ms_per_step=1e3 * median, ms_min=1e3 * min(every),
            runs=len(every), tokens_per_s=shape.batch * shape.seq_len / median,
            gflop_per_step=flops / 1e9, gflops=flops / median / 1e9,
            peak_fraction=flops / median / 1e9 / peak,
        ))  # fmt: skip
    set_ratios(rows, times)
    return rows


class TorchNNSampler:
    """The torch.nn reference model behind the ``forward(ids, state)`` that generate calls."""

    def __init__(self, spec: ModelSpec):
        import torch
        import torch.nn.functional as F

        self.torch, self.F, self.vocab_size = torch, F, spec.input_size
        self.rnn, self.head = torch_nn_model(spec)

    def forward(self, ids: np.ndarray, state=None):
        with self.torch.no_grad():
            x = self.F.one_hot(self.torch.from_numpy(ids), self.vocab_size).float()  # (T, 1, V)
            h, state = self.rnn(x, state)  # (T, 1, H)
            return self.head(h).numpy(), state  # (T, 1, V)


def bench_generation(config: BenchConfig, progress) -> list[GenerationRow]:
    """Characters per second of each engine writing with the public generate API, 1 thread."""
    import string

    from rnnlab.data.vocab import Vocab
    from rnnlab.generate import generate

    vocab = Vocab([*Vocab.SPECIALS, *string.ascii_letters, *string.digits], "char")  # 65
    spec = ModelSpec(input_size=len(vocab), output_size=len(vocab), hidden_size=GEN_HIDDEN,
                     input_kind="onehot", dtype="float32")  # fmt: skip
    writers = {}
    for engine in config.engines:
        model = TorchNNSampler(spec) if engine == REFERENCE else build_rnnlab_engine(engine, spec)

        def write(model=model):
            for _ in generate(model, vocab, length=config.gen_length, seed=0):
                pass

        writers[engine] = write
    progress(f"generation: {', '.join(config.engines)}")
    with thread_limit(1):
        times = time_rounds(writers, config.warmup, config.repeats, config.min_time)
    rows = []
    for engine in config.engines:
        every = every_call(times[engine])
        median = statistics.median(every)
        rows.append(GenerationRow(
            engine=engine, length=config.gen_length, runs=len(every),
            chars_per_s=config.gen_length / median, ms_per_char=1e3 * median / config.gen_length,
        ))  # fmt: skip
    set_ratios(rows, times)
    return rows


def set_ratios(rows, times: dict[str, list[list[float]]]) -> None:
    """Each row's time over torch.nn's, paired round by round, or why there is none."""
    if REFERENCE not in times:
        missing = "torch.nn not in --engines" if torch_available() else "PyTorch is not installed"
        for row in rows:
            row.ratio_note = f"n/a: {missing}"
        return
    for row in rows:
        row.ratio_to_torch_nn = paired_ratio(times[row.engine], times[REFERENCE])
        row.ratio_note = "median over rounds of time ÷ torch.nn's in the same round"


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
        blas = [{k: lib.get(k) for k in ("internal_api", "version", "num_threads")}
                for lib in threadpool_info()]  # fmt: skip
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
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            measured = list(pool.map(
                lambda r: measure_memory(r.engine, r.cell, shapes[r.shape], config.threads),
                training,
            ))  # fmt: skip
        for row, (mib, note) in zip(training, measured, strict=True):
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
            "matmul_peak_gflops": peak, "matmul": f"NumPy float32 {GEMM_SIZE}³ GEMM, median",
        },
        "flops": "matmul only: 3 × (2·T·B·G·H·(I+H) + 2·T·B·H·O) per step (see rnnlab.bench)",
        "memory_method": MEMORY_METHOD,
        "training": [asdict(r) for r in training],
        "generation": {
            "model": f"1-layer LSTM, hidden {GEN_HIDDEN}, vocabulary {GEN_VOCAB}, one-hot",
            "threads": 1,
            "rows": [asdict(r) for r in generation],
        },
    }  # fmt: skip


# --------------------------------------------------------------------------- the command
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
@click.option("--quick", is_flag=True, help="Few runs and short samples (tests, smoke checks).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def bench_command(
    shapes, cells, engines, threads, repeats, warmup, min_time, generation, memory, quick, as_json
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
        from rnnlab.bench_report import print_report

        print_report(report)


def _given(value, default):
    return default if value is None else value
