"""What every task gives the trainer: batches by index, model sizes, and an evaluation.

Batches are addressed by ``(split, epoch, index)`` and built deterministically from the
task's seed, so a resumed run sees exactly the batches it would have seen: the data
position is two integers in the checkpoint, not a pickled iterator.
"""

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rnnlab.batch import Batch
from rnnlab.errors import InputError
from rnnlab.settings import expected_type

SPLITS = ("train", "val", "test")


class ModelIO(NamedTuple):
    """The model sizes a task implies."""

    input_size: int
    output_size: int
    input_kind: str  # "onehot" (token ids) or "dense" (features)
    loss: str  # "cross_entropy" or "mse"


class Task:
    """Base class. Subclasses set ``name``, ``defaults`` and implement the abstract parts."""

    name = "task"
    description = ""
    stateful = False  # carry the hidden state from one batch to the next (text streams)
    defaults: dict[str, Any] = {}  # task options and their default values
    option_types: dict[str, Any] = {}  # task option -> its type (int, float, str | None ...)
    option_help: dict[str, str] = {}  # task option -> what it means (its flag's --help)
    train_defaults: dict[str, Any] = {}  # trainer settings this task works best with
    vocab = None
    default_prime = ""  # what `rnnlab generate` reads first when given no --prime
    until_eos = False  # whether `rnnlab generate` stops at <eos> unless told otherwise

    def __init__(self, options: dict | None = None, seed: int = 0):
        self.options = self.check_options(options)
        self.seed = int(seed)

    @classmethod
    def check_options(cls, options: dict | None) -> dict:
        """The options merged over the defaults; InputError for an option of another task,
        a value of the wrong type, or out of range. Builds no data: cheap to call first."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(cls.defaults))
        if unknown:
            flags = ", ".join("--" + u.replace("_", "-") for u in unknown)
            known = ", ".join("--" + k.replace("_", "-") for k in cls.defaults) or "none"
            raise InputError(f"{flags} does not apply to task '{cls.name}' (its options: {known})")
        options = {**cls.defaults, **options}
        for key, kind in cls.option_types.items():
            expected = expected_type(options[key], kind)
            if expected is not None:
                flag = "--" + key.replace("_", "-")
                raise InputError(f"{flag} must be {expected}, got {options[key]!r}")
        cls.check_ranges(options)
        return options

    @classmethod
    def check_ranges(cls, options: dict) -> None:
        """InputError for an option out of its range (the types are already right)."""

    # ------------------------------------------------------------------ to implement
    def model_io(self) -> ModelIO:
        raise NotImplementedError

    def num_batches(self, split: str, batch_size: int) -> int:
        raise NotImplementedError

    def batch(self, split: str, index: int, batch_size: int, epoch: int = 0) -> Batch:
        raise NotImplementedError

    def check_spec(self, spec) -> None:
        """InputError for a ModelSpec this task cannot train (a per-step model on a task
        that answers once per sequence). Every spec passes by default."""

    def optimal_loss(self, split: str) -> float | None:
        """The exact best achievable loss on ``split``, where the task knows it."""
        return None

    @classmethod
    def training_defaults(cls, settings: dict) -> dict[str, Any]:
        """The trainer settings this task works best with, given the user's ``settings``
        (flags and config file merged, task options among them): ``train_defaults`` unless
        a task's best settings depend on its options (the copy task's on its delay)."""
        return dict(cls.train_defaults)

    def solved(self, val_metrics: dict) -> bool:
        """Whether ``evaluate``'s metrics on the validation split mean the task is solved
        (what ``--stop-when-solved`` stops at). Never, unless a task knows its answer."""
        return False

    def figures(self) -> dict[str, Callable[..., Path]]:
        """The task's own figures for a finished run: file name -> ``draw(plots, path,
        engine)``, which draws with :mod:`rnnlab.plots` (passed in, as matplotlib is
        optional) into ``path`` and returns it. Empty by default (every run has its curves).
        """
        return {}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, engine, split: str = "val", batch_size: int = 32) -> dict:
        """Mean loss over ``split`` (and accuracy for classification) plus task metrics."""
        totals = _Totals(self.model_io().loss == "cross_entropy")
        for batch, result in self.run_split(engine, split, batch_size):
            totals.add(batch, result)
        metrics = totals.metrics()
        metrics["split"] = split
        optimal = self.optimal_loss(split)
        if optimal is not None:
            metrics["optimal_loss"] = optimal
        return metrics

    def run_split(self, engine, split: str, batch_size: int):
        """Yield ``(batch, engine.evaluate(...))`` over a whole split, in order; a stateful
        task carries the state from one batch to the next as in training."""
        self.check_split(split)
        state = None
        for index in range(self.num_batches(split, batch_size)):
            batch = self.batch(split, index, batch_size)
            result = engine.evaluate(batch, state if self.stateful else None)
            state = result.state
            yield batch, result

    def check_split(self, split: str) -> None:
        if split not in SPLITS:
            raise InputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")

    def rng(self, *key: int) -> np.random.Generator:
        """A generator determined by the task seed and ``key`` (split id, epoch, index...)."""
        return np.random.default_rng([self.seed, *key])

    def describe(self) -> dict:
        """JSON-able settings that rebuild this task: ``{"name", "seed", "options"}``."""
        return {"name": self.name, "seed": self.seed, "options": dict(self.options)}


class _Totals:
    """Accumulates loss (weighted by counted positions) and top-1 accuracy over batches."""

    def __init__(self, classification: bool):
        self.classification = classification
        self.loss_sum = 0.0
        self.count = 0
        self.correct = 0

    def add(self, batch: Batch, result) -> None:
        self.loss_sum += result.loss * result.count
        self.count += result.count
        if self.classification:
            self.correct += int(correct_predictions(result.outputs, batch).sum())

    def metrics(self) -> dict:
        loss = self.loss_sum / max(self.count, 1)
        metrics = {"loss": loss, "tokens": self.count}
        if self.classification:
            metrics["bits_per_token"] = loss / math.log(2)
            metrics["perplexity"] = math.exp(min(loss, 700.0))
            metrics["accuracy"] = self.correct / max(self.count, 1)
        return metrics


def correct_predictions(outputs: np.ndarray, batch: Batch) -> np.ndarray:
    """(T, B) bool: the most likely class equals the target, on counted positions only."""
    return (outputs.argmax(axis=-1) == batch.targets) & batch.mask
