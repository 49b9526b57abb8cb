"""How much memory a training run needs, estimated from its settings before anything is
allocated, so that ``--hidden 100000`` is one line of advice instead of a MemoryError (or
the kernel's OOM killer) minutes later.

The estimate adds three parts:

* parameters: P values × (weights, gradients, the best weights kept for the next save, the
  copies a save makes: state_dict, serialized weights and best; and per optimizer moment
  the buffer, its copy and its serialization, plus Adam's scratch buffer): 6 copies for
  plain SGD, 9 with momentum, 13 for Adam;
* activations: the largest single pass (a training step, an evaluation batch, the sine
  task's fit plot over every window) as T × B × values per position, where a position
  holds, per layer and direction, the gates and the states the backward pass reads
  (``G·H + 4H``), the head's logits, probabilities and their gradient (``3·O``), and
  either the input projection of the layer running (``G·H``, forward only) or the
  backward's own buffers (``G·H + 2·D·H``, and the one-hot rows of ∂W_ih);
* the task's data: generated sequences, windows, or a text file read and tokenized.

It aims to be within a small factor of a real run's peak (measured in
``tests/train/test_memory.py``), not exact: it only has to tell a run that fits from one that
cannot. Parameters and activations on a GPU (torch engine, ``--device cuda``) are not
host memory and are left out; the task's data always is.
"""

import os
from collections.abc import Callable
from typing import NamedTuple

from rnnlab.errors import InputError
from rnnlab.model import ModelSpec
from rnnlab.train.config import TrainConfig

DTYPE_BYTES = {"float32": 4, "float64": 8}
MOMENTS = {"adam": 2, "adamw": 2}  # sgd: 1 with momentum, else 0
TEXT_BYTES_PER_FILE_BYTE = 24  # bytes + decoded str + token list + int64 ids, at the peak
DEFAULT_CORPUS_BYTES = 500_000  # the embedded pydoc_data text (~465 kB)
# A labelled table at its peak: the text, the rows' strings, the token lists and the
# deduplication keys (a pointer per token) and int64 ids: 15 (word) to 24 (char level)
# bytes per byte of a 1.5 MB CSV, measured with tracemalloc.
TABLE_BYTES_PER_FILE_BYTE = 32
SENTIMENT_LONGEST = 64  # the longest review snippet has 63 word-level tokens
SENTIMENT_BYTES = 32_000_000  # its rows, tokens, keys and ids: 24 MB at the peak, measured


class Part(NamedTuple):
    """One term of an estimate: its size, how it was computed, and the flags that shrink it."""

    bytes: int
    detail: str  # "40.1 G parameters × 13 copies (...) × 4 bytes"
    levers: str  # "--hidden or --layers"


class Pass(NamedTuple):
    """One forward (and maybe backward) pass over a (T, B) batch."""

    what: str
    T: int
    B: int
    backward: bool
    levers: str


class MemoryEstimate(NamedTuple):
    parts: tuple[Part, ...]

    @property
    def total(self) -> int:
        return sum(part.bytes for part in self.parts)

    def largest(self) -> Part:
        return max(self.parts, key=lambda part: part.bytes)

    def describe(self) -> str:
        """The parts, largest first: ``1.9 TiB for 40.1 G parameters × 13 copies ...``."""
        ordered = sorted(self.parts, key=lambda part: -part.bytes)
        return "; ".join(f"{size(p.bytes)} for {p.detail}" for p in ordered if p.bytes)


def estimate_memory(
    task_name: str, options: dict, config: TrainConfig, spec: ModelSpec | None = None
) -> MemoryEstimate:
    """The host memory a run needs at its peak, from settings alone (see the module doc).

    ``options`` are the task's options, complete (defaults merged) and valid. Without a
    ``spec`` (before the task is built, when a text task's vocabulary is not known yet) the
    estimate is the task's data alone.
    """
    passes, parts = _TASKS.get(task_name, _unknown_task)(options, config)
    if spec is not None and _model_on_host(config):
        parts += [_parameters(spec, config), _activations(spec, passes)]
    return MemoryEstimate(tuple(parts))


def check_memory(
    estimate: MemoryEstimate, available: int | Callable[[], int | None] | None = None
) -> None:
    """InputError when ``estimate`` exceeds the available memory (``available`` bytes, or a
    function returning them; by default :func:`available_memory`; unknown: no check)."""
    if available is None:
        available = available_memory
    if callable(available):
        available = available()
    if available is None or estimate.total <= available:
        return
    raise InputError(
        f"this run would need about {size(estimate.total)} of memory ({estimate.describe()}), "
        f"the machine has {size(available)} available; choose a smaller "
        f"{estimate.largest().levers}"
    )


def available_memory(meminfo: str = "/proc/meminfo", cgroup: str = "/sys/fs/cgroup") -> int | None:
    """Bytes this process can still allocate: Linux's MemAvailable, or what is left under a
    cgroup (v2) memory limit if that is less. None where neither can be read (not Linux)."""
    known = []
    try:
        with open(meminfo, encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    known.append(int(line.split()[1]) * 1024)  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(os.path.join(cgroup, "memory.max"), encoding="ascii") as f:
            limit = f.read().strip()
        with open(os.path.join(cgroup, "memory.current"), encoding="ascii") as f:
            current = int(f.read().strip())
        if limit != "max":
            known.append(max(0, int(limit) - current))
    except (OSError, ValueError):
        pass
    return min(known) if known else None


def size(n: float) -> str:
    """``n`` bytes in binary units: ``37.2 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------- model
def _model_on_host(config: TrainConfig) -> bool:
    if config.engine != "torch" or config.device == "cpu":
        return True
    if config.device != "auto":
        return False  # cuda, cuda:N
    try:
        import torch
    except ImportError:  # the engine will refuse to start; until then, count it as host memory
        return True
    return not torch.cuda.is_available()


def _parameters(spec: ModelSpec, config: TrainConfig) -> Part:
    # weights, gradients, best weights; a save's state_dict and serialized weights and best;
    # each moment buffer is kept, copied and serialized; Adam also keeps a scratch buffer
    moments = MOMENTS.get(config.optimizer, 1 if config.momentum else 0)
    copies = 6 + 3 * moments + (config.optimizer in MOMENTS)
    count = spec.num_parameters()
    return Part(
        count * copies * DTYPE_BYTES[spec.dtype],
        f"{_count(count)} parameters × {copies} copies (weights, gradients, optimizer "
        f"moments, best weights, checkpoint) × {DTYPE_BYTES[spec.dtype]} bytes",
        "--hidden or --layers" + (" (or --top-k)" if spec.input_size > 1000 else ""),
    )


def _activations(spec: ModelSpec, passes: list[Pass]) -> Part:
    if not passes:
        return Part(0, "", "")
    sized = [(p.T * p.B * _values_per_position(spec, p.backward), p) for p in passes]
    values, biggest = max(sized, key=lambda vp: vp[0])
    return Part(
        values * DTYPE_BYTES[spec.dtype],
        f"the activations of {biggest.what} (T {biggest.T} × batch {biggest.B} × "
        f"{_count(values / (biggest.T * biggest.B))} values × {DTYPE_BYTES[spec.dtype]} bytes)",
        biggest.levers,
    )


def _values_per_position(spec: ModelSpec, backward: bool) -> int:
    """Array elements one (time step, sequence) position of a pass holds at its peak."""
    H, D, L = spec.hidden_size, spec.directions, spec.num_layers
    G = spec.gates * H
    values = L * D * (G + 4 * H) + 3 * spec.output_size  # caches, layer outputs; the head
    if spec.input_kind == "embedding":
        values += 2 * spec.embedding_dim  # looked-up rows and their gradient
    elif spec.input_kind == "dense":
        values += spec.input_size
    if not backward:
        return values + G  # the input projection x W_ihᵀ of the layer running
    values += G + 2 * D * H  # ∂gates of the layer running, ∂h from above and to below
    if spec.input_kind == "onehot":
        values += spec.input_size  # one-hot rows for ∂W_ih of the first layer
    return values


def _count(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f}"


# ---------------------------------------------------------------------- tasks
# Each gives the passes a run makes (T, B) and the memory its data takes, from the options.
def _copy(o: dict, config: TrainConfig) -> tuple[list[Pass], list[Part]]:
    T = 2 * o["bits"] + o["delay"] + 1
    eval_B = min(config.eval_batch_size, o["eval_sequences"])
    passes = [
        Pass("one training step", T, config.batch_size, True, "--batch-size or --delay"),
        Pass("one evaluation batch", T, eval_B, False, "--eval-batch-size or --delay"),
    ]
    B = max(config.batch_size, eval_B)  # a batch: int64 inputs, targets (twice), bool mask
    return passes, [Part(25 * T * B, f"copy batches of {T} steps", "--delay or --batch-size")]


def _counting(repeats: int):
    def shape(o: dict, config: TrainConfig) -> tuple[list[Pass], list[Part]]:
        T_train = repeats * o["n_max"]  # the model reads a sequence but its <eos>
        test_max = max(o["n_max"], o["test_n_max"] or 0)
        passes = [
            Pass("one training step", T_train, config.batch_size, True, "--batch-size or --n-max"),
            Pass(
                "one evaluation batch",
                repeats * test_max,
                config.eval_batch_size,
                False,
                "--eval-batch-size or --test-n-max",
            ),
        ]
        # Python lists of tokens: ~72 bytes per list, 8 per token, beside the n's and splits
        mean_n = (o["n_min"] + o["n_max"]) / 2
        data = o["num"] * (100 + 8 * (repeats * mean_n + 1))
        parts = [Part(int(data), f"{o['num']:,} sequences", "--num or --n-max")]
        if o["test_n_max"] is not None:  # one sequence per n up to test_n_max
            n = o["test_n_max"] - o["n_min"] + 1
            data = n * 100 + 8 * repeats * (o["test_n_max"] + o["n_min"]) * n / 2
            what = f"{n:,} test sequences up to n = {o['test_n_max']:,}"
            parts.append(Part(int(data), what, "--test-n-max"))
        return passes, parts

    return shape


def _sine(o: dict, config: TrainConfig) -> tuple[list[Pass], list[Part]]:
    T, N = o["window"], o["num_points"] - o["window"]
    passes = [
        Pass("one training step", T, config.batch_size, True, "--batch-size or --window"),
        Pass("one evaluation batch", T, config.eval_batch_size, False, "--eval-batch-size"),
        Pass("the fit plot over every window", T, N, False, "--num-points or --window"),
    ]
    data = 8 * N * (T + 2) + 24 * o["num_points"]  # float64 windows, targets, the curves
    return passes, [Part(data, f"{N:,} windows of {T}", "--num-points or --window")]


def _text(o: dict, config: TrainConfig) -> tuple[list[Pass], list[Part]]:
    T = o["seq_len"]
    passes = [
        Pass("one training step", T, config.batch_size, True, "--batch-size or --seq-len"),
        Pass("one evaluation batch", T, config.eval_batch_size, False, "--eval-batch-size"),
    ]
    try:
        file_bytes = os.path.getsize(o["data"]) if o["data"] else DEFAULT_CORPUS_BYTES
    except OSError:  # missing or unreadable: reading it will say so
        file_bytes = 0
    data = TEXT_BYTES_PER_FILE_BYTE * file_bytes
    return passes, [Part(data, f"a text of {size(file_bytes)}", "--data file (a shorter text)")]


def _classifier(longest: Callable[[dict], int], data: Callable[[dict], Part]):
    """A classification task: batches of at most ``longest(options)`` steps, and its data."""

    def shape(o: dict, config: TrainConfig) -> tuple[list[Pass], list[Part]]:
        T = longest(o)
        passes = [
            Pass("one training step", T, config.batch_size, True, "--batch-size or --max-len"),
            Pass("one evaluation batch", T, config.eval_batch_size, False, "--eval-batch-size"),
        ]
        return passes, [data(o)]

    return shape


def _table_data(o: dict) -> Part:
    try:
        file_bytes = os.path.getsize(o["data"]) if o["data"] else 0
    except OSError:  # missing or unreadable: reading it will say so
        file_bytes = 0
    data = TABLE_BYTES_PER_FILE_BYTE * file_bytes
    return Part(data, f"a table of {size(file_bytes)}", "--data file (a smaller one)")


def _marker_data(o: dict) -> Part:
    # per sequence: an int64 array and a Python list of its ids, the split's copy, ~100 bytes
    data = o["num"] * (300 + 24 * o["max_len"])
    return Part(data, f"{o['num']:,} marker sequences", "--num or --max-len")


def _unknown_task(o: dict, config: TrainConfig) -> tuple[list[Pass], list[Part]]:
    return [], []


_TASKS = {
    "copy": _copy,
    "anbn": _counting(2),
    "anbnan": _counting(3),
    "sine": _sine,
    "chars": _text,
    "words": _text,
    "bytes": _text,
    "marker": _classifier(lambda o: o["max_len"], _marker_data),
    "sentiment": _classifier(
        lambda o: min(o["max_len"], SENTIMENT_LONGEST),
        lambda o: Part(SENTIMENT_BYTES, "12,808 review snippets", "nothing (fixed data)"),
    ),
    "classify": _classifier(lambda o: o["max_len"], _table_data),
}
