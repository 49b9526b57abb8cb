"""What ``rnnlab bench`` times: its engines, cells and shapes, the batch of a row, and one
training step of each engine on it."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnlab.batch import Batch
from rnnlab.errors import InputError
from rnnlab.model import GATES, ModelSpec

ENGINES = ("numpy", "torch-scratch", "torch-native", "torch-scratch-compiled", "torch.nn")
DEFAULT_ENGINES = ("numpy", "torch-scratch", "torch-native", "torch.nn")
REFERENCE = "torch.nn"
CELLS = ("lstm", "gru", "rnn")
LR = 1e-3
SHAPE_SYNTAX = "tiny, A, B or B,T,I,H[,onehot]"


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


def torch_available() -> bool:
    """Whether PyTorch can be imported (found without importing it)."""
    return importlib.util.find_spec("torch") is not None


def training_flops(cell: str, shape: Shape) -> int:
    """Matmul FLOPs of one training step (see :mod:`rnnlab.bench` for the count)."""
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


def make_step(engine: str, spec: ModelSpec, batch: Batch) -> Callable[[], object]:
    """A function running one full training step of ``engine`` on ``batch``."""
    if engine == REFERENCE:
        from rnnlab.bench.baseline import TorchNNModel, training_step

        return training_step(TorchNNModel(spec), batch, LR)
    built = build_rnnlab_engine(engine, spec)
    return lambda: built.train_step(batch)
