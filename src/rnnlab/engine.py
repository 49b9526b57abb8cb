"""The contract between the trainer and an engine, and how to pick one.

An engine owns a model built from a :class:`~rnnlab.model.ModelSpec` and its optimizer.
The trainer, checkpoints, generation, evaluation and the diagnostics talk to it only
through :class:`Engine` (a ``typing.Protocol``, so the NumPy and torch engines implement it
without a common base class): training and evaluation steps, inference, weights and every
other piece of resumable state as plain NumPy arrays and JSON, and a :class:`Probe` of
what happens inside (states, gates, the total ∂L/∂h_t) — so no code outside an engine
re-implements its forward pass.

Optionally ``stepper()`` returns an object whose ``step(inputs, state) -> (logits, state)``
runs one time step fast (the NumPy engine's :class:`~rnnlab.numpy.inference.Stepper`), or
None; generation uses it when present and falls back to ``forward`` otherwise.

States are engine-native objects the trainer only passes back in. ``rnnlab.numpy`` needs
NumPy alone; the torch engine is imported only when asked for.
"""

import os
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from rnnlab.batch import Batch
from rnnlab.errors import InputError
from rnnlab.model import ModelSpec

ENGINES = ("numpy", "torch")


class StepResult(NamedTuple):
    loss: float  # mean loss over the batch's counted positions, + AR and TAR when on
    grad_norm: float  # global L2 norm of the gradients before clipping
    state: Any  # the final recurrent state, to carry into the next chunk
    updated: bool  # False when the loss or gradients were not finite (no update applied)


class EvalResult(NamedTuple):
    loss: float  # mean loss over the batch's counted positions
    count: int  # how many positions counted
    outputs: Any  # (T, B, O) np.ndarray: logits or values; (1, B, O) for a classifier
    state: Any


@runtime_checkable
class Engine(Protocol):
    """What every engine provides (the NumPy and torch engines; a test engine may too)."""

    name: str  # "numpy" or "torch"
    spec: ModelSpec
    lr: float  # settable: the trainer's schedule sets it before each step

    def train_step(self, batch: Batch, state: Any = None) -> StepResult:
        """Forward, loss, backward, clipping and the update; no update if not finite."""

    def evaluate(self, batch: Batch, state: Any = None) -> EvalResult:
        """Forward and loss; no update, no dropout."""

    def forward(self, inputs: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]:
        """Inference: (T, B) ids or (T, B, I) features → outputs (T, B, O) — (1, B, O) when
        the readout answers once per sequence — and the final state."""

    def answer(self, inputs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, Any]:
        """Inference for a readout that answers once per sequence: (T, B) ids of ``lengths``
        (B,) → logits (B, O), and the attention readout's weights (T, B) over each
        sequence's steps (0 on padding; None for the other readouts)."""

    def probe(self, batch: Batch) -> "Probe":
        """States, gates, cells and the total ∂L/∂h_t of one batch (float64)."""

    def detach(self, state: Any) -> Any:
        """Cut the graph between truncated-BPTT chunks."""

    def export_state(self, state: Any) -> list[np.ndarray]:
        """A carried state as arrays for a checkpoint: [h] or [h, c]."""

    def import_state(self, parts: list[np.ndarray]) -> Any:
        """The inverse of :meth:`export_state`."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights, torch.nn's names (see DESIGN's parameter contract)."""

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None: ...

    def optimizer_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """(tensors, JSON-able meta); the same format in both engines."""

    def load_optimizer_state(self, tensors: dict[str, np.ndarray], meta: dict) -> None: ...

    def rng_state(self) -> dict:
        """The dropout generators' states, JSON-able (engine-specific keys)."""

    def set_rng_state(self, state: dict) -> None: ...


def build_engine(spec: ModelSpec, engine: str = "numpy", **options):
    """An engine for ``spec``: ``numpy``, or ``torch`` (needs PyTorch installed).

    ``options``: seed, optimizer ("sgd" | "adam" | "adamw"), lr, weight_decay, momentum,
    grad_clip, and for torch also backend ("scratch" | "native"), device, compile.
    An encoder–decoder's spec (a Seq2SeqSpec) gets its own engines: :func:`_seq2seq_engine`.
    """
    if not isinstance(spec, ModelSpec):
        return _seq2seq_engine(spec, engine, **options)
    if engine == "numpy":
        from rnnlab.numpy.engine import NumpyEngine

        return NumpyEngine(spec, **options)
    if engine == "torch":
        try:
            from rnnlab.torch.engine import TorchEngine
        except ImportError as exc:  # torch missing: an input problem the user can fix
            raise InputError(
                f"--engine torch needs PyTorch ({exc}); install it with "
                "`pip install torch==2.13.0` or use --engine numpy"
            ) from exc
        return TorchEngine(spec, **options)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def _seq2seq_engine(spec, engine: str, backend="scratch", compile=False, **options):
    """The engine of an encoder–decoder. It is written from tensor ops only (no torch.nn
    backend) and is not compiled: those torch options are refused rather than ignored."""
    if engine == "numpy":
        from rnnlab.numpy.seq2seq_engine import NumpySeq2SeqEngine

        return NumpySeq2SeqEngine(spec, **options)
    if engine != "torch":
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if backend != "scratch" or compile:
        raise InputError(
            "an encoder–decoder runs on the scratch torch backend, uncompiled; drop "
            "--backend native and --compile"
        )
    try:
        from rnnlab.torch.seq2seq_engine import TorchSeq2SeqEngine
    except ImportError as exc:
        raise InputError(
            f"--engine torch needs PyTorch ({exc}); install it with "
            "`pip install torch==2.13.0` or use --engine numpy"
        ) from exc
    return TorchSeq2SeqEngine(spec, **options)


def initial_weights(spec: ModelSpec, seed: int | None) -> dict[str, np.ndarray]:
    """A model's initial weights for ``seed``: the NumPy model's initialisation, the one
    definition of the init schemes that both engines use (so a seed means the same
    weights in either). An encoder–decoder's spec (a Seq2SeqSpec) gets its model's."""
    from rnnlab.numpy.model import Model

    if not isinstance(spec, ModelSpec):  # rnnlab.seq2seq.spec.Seq2SeqSpec
        from rnnlab.numpy.seq2seq import Seq2SeqModel

        return Seq2SeqModel(spec, seed=seed).state_dict()
    return Model(spec, seed=seed).state_dict()


# --------------------------------------------------------------------------- torchrun
def distributed_world(engine: str) -> tuple[int, int]:
    """(rank, world size): > 1 processes when torchrun launched us and the engine is torch.

    Joins torchrun's process group (:mod:`rnnlab.torch.distributed`); (0, 1) otherwise.
    """
    if engine != "torch" or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    from rnnlab.torch.distributed import init_from_env

    return init_from_env()


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` is true on any rank of the process group (torchrun)."""
    from rnnlab.torch.distributed import any_rank as reduce_any

    return reduce_any(flag)


# --------------------------------------------------------------------------- probes
@dataclass(frozen=True)
class Probe:
    """One batch seen from inside a model. t = 1..T is stored at index t - 1.

    Attributes:
        hidden_grads: (T, L, B, H) the total ∂L/∂h_t of the batch's mean loss, per layer.
        hidden: layer -> (T, B, H) the hidden states h_t.
        gates: layer -> (T, B, G·H) activated gates (LSTM i, f, g, o; GRU r, z, n);
            empty for the vanilla RNN.
        cells: layer -> (T, B, H) the cell states c_t (LSTM variants only).
        loss: the batch's mean loss, as the engines compute it.
        valid: (T, B) bool, False on the padding steps of a padded batch.
        cell: the model's cell name ("lstm", "gru", "rnn", ...).
    """

    hidden_grads: np.ndarray
    hidden: dict[int, np.ndarray]
    gates: dict[int, np.ndarray]
    cells: dict[int, np.ndarray]
    loss: float
    valid: np.ndarray
    cell: str


def check_probe_input(spec: ModelSpec, batch: Batch) -> None:
    """InputError for what a probe cannot analyse: bidirectional models, empty losses."""
    if spec.bidirectional:
        raise InputError(
            "gradient flow through time needs a unidirectional model; this one is "
            "bidirectional, and its two directions run through time in opposite orders"
        )
    if not np.asarray(batch.mask).any():
        raise InputError("the batch has no position that counts in the loss: nothing to probe")


def valid_steps(batch: Batch) -> np.ndarray:
    """(T, B) bool: True on each sequence's real steps (all of them without ``lengths``).

    T and B are the inputs' (a classifier's mask and targets are (1, B): one answer each)."""
    T, B = np.asarray(batch.inputs).shape[:2]
    if batch.lengths is None:
        return np.ones((T, B), dtype=bool)
    return np.arange(T)[:, None] < np.asarray(batch.lengths)[None, :]  # (T, B)
