"""Classification: read a whole sequence, answer once (sentiment, classify, marker).

Every classification task goes through the same steps, here:

1. :meth:`read` gives the examples, as sequences of tokens, and their label names;
2. repeats are dropped (:func:`rnnlab.data.labelled.deduplicate`: the same tokens twice);
3. a fixed, stratified split — fold ``fold`` of ``num_folds`` (fold 0 of 10 is 80/10/10),
   independent of the run's ``--seed`` (:mod:`rnnlab.data.labelled`);
4. :meth:`fit_encoder` learns the encoding from the training split only (a vocabulary);
5. batches: the sequences padded to the longest of the batch, with ``lengths``, targets and
   mask of shape (1, B). Training batches are drawn within length buckets, the buckets
   shuffled by ``(seed, epoch)`` (:mod:`rnnlab.data.buckets`; ``--buckets 1``: random
   batches); evaluation batches go in length order.

Evaluation adds to the loss the accuracy, macro-F1, per-class precision and recall and the
majority baseline (:mod:`rnnlab.tasks.scores`); ``confusion.png`` is the task's figure.
The model needs a one-per-sequence readout (``last``, ``final_state``, ``mean``, ...).
"""

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rnnlab.batch import Batch
from rnnlab.data.labelled import DEFAULT_FOLDS, deduplicate, fold_split
from rnnlab.errors import DataError, InputError
from rnnlab.tasks.base import SPLITS, ModelIO, Task, _Totals
from rnnlab.tasks.bucketing import LengthBuckets
from rnnlab.tasks.scores import classification_scores, confusion_matrix


class Examples(NamedTuple):
    """One split: ``ids[i]`` (n_i,) int64 token ids, ``labels`` (N,) int64 classes."""

    ids: list[np.ndarray]
    labels: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(s) for s in self.ids], dtype=np.int64)  # (N,)


class ClassificationTask(LengthBuckets, Task):
    """Base class: subclasses implement :meth:`read`, :meth:`encode` and ``input_size``."""

    defaults = {"buckets": 10, "fold": 0, "num_folds": DEFAULT_FOLDS}
    option_types = {"buckets": int, "fold": int, "num_folds": int}
    option_help = {
        "buckets": "Length buckets that training batches are drawn from (1: random batches).",
        "fold": "Which fold of the stratified split is the test split.",
        "num_folds": "Folds of the stratified split (10: 80/10/10).",
    }

    @classmethod
    def check_ranges(cls, o):
        if o["buckets"] < 1:
            raise InputError(
                f"--buckets must be a positive integer (1: random batches), got {o['buckets']!r}"
            )
        if o["num_folds"] < 3:
            raise InputError(
                f"--num-folds must be at least 3 (a fold each for train, validation and test), "
                f"got {o['num_folds']!r}"
            )
        if not 0 <= o["fold"] < o["num_folds"]:
            raise InputError(f"--fold must be in [0, {o['num_folds']}), got {o['fold']!r}")

    def __init__(self, options=None, seed=0, labels: Sequence[str] | None = None):
        super().__init__(options, seed)
        self._given_labels = None if labels is None else tuple(labels)
        self._labels = self._given_labels
        self._splits: dict[str, Examples] | None = None
        self._plan: tuple[tuple, list[np.ndarray]] | None = None
        self.dropped = None  # what deduplication removed, once read

    # ------------------------------------------------------------------ to implement
    def read(self) -> tuple[list[Sequence], list[str]]:
        """The examples as token sequences, and the label name of each, in data order."""
        raise NotImplementedError

    def fit_encoder(self, train: list[Sequence]) -> None:
        """Learn the encoding from the training split's sequences (a vocabulary); none here."""

    def encode(self, sequence: Sequence) -> np.ndarray:
        """(n,) int64 ids of one token sequence."""
        raise NotImplementedError

    @property
    def input_size(self) -> int:
        raise NotImplementedError

    def label_order(self, names: set[str]) -> list[str]:
        """The classes' order (their ids): numbers by value, other names alphabetically."""
        return sorted(names, key=lambda n: (0, int(n), n) if _is_int(n) else (1, 0, n))

    # ------------------------------------------------------------------ the data
    @property
    def label_names(self) -> tuple[str, ...]:
        """The class names, class id ``k`` named ``label_names[k]``."""
        if self._labels is None:
            _ = self.splits  # reading the data decides them
        return self._labels

    @property
    def splits(self) -> dict[str, Examples]:
        if self._splits is None:
            self._splits = self._load()
        return self._splits

    def _load(self) -> dict[str, Examples]:
        sequences, names = self.read()
        for i, seq in enumerate(sequences):
            if len(seq) == 0:
                raise DataError(f"{self.name}: example {i + 1} has no tokens; remove it")
        if self._given_labels is None:
            self._labels = tuple(self.label_order(set(names)))
        unseen = [name for name in self.label_order(set(names)) if name not in self._labels]
        if unseen:
            raise DataError(
                f"{self.name}: the data has label(s) {', '.join(map(repr, unseen[:5]))} that "
                f"training never saw (its labels: {', '.join(self._labels)}); train a new run"
            )
        index = {name: k for k, name in enumerate(self._labels)}
        self.dropped = deduplicate([tuple(s) for s in sequences], names)
        keep = self.dropped.keep
        if len(keep) < self.options["num_folds"]:
            raise DataError(
                f"{self.name}: {len(keep)} distinct examples are too few for "
                f"{self.options['num_folds']} folds; give at least that many"
            )
        labels = np.array([index[names[i]] for i in keep], dtype=np.int64)  # (N,)
        sequences = [sequences[i] for i in keep]
        split = fold_split(labels, self.options["fold"], self.options["num_folds"])
        self.fit_encoder([sequences[i] for i in split.train])
        return {
            name: Examples([self.encode(sequences[i]) for i in chosen], labels[chosen])
            for name, chosen in zip(SPLITS, split, strict=True)
        }

    def check_spec(self, spec) -> None:
        if not spec.one_per_sequence:
            raise InputError(
                f"task '{self.name}' answers once per sequence, so its model needs a readout "
                f"that gives one vector per sequence (--readout last, final_state, mean, max "
                f"or attention), got {spec.readout!r}"
            )

    def model_io(self) -> ModelIO:
        return ModelIO(self.input_size, len(self.label_names), "onehot", "cross_entropy")

    def majority_class(self) -> int:
        """The class most frequent in the training split (the lowest id among ties)."""
        labels = self.splits["train"].labels
        return int(np.bincount(labels, minlength=len(self.label_names)).argmax())

    # ------------------------------------------------------------------ batches
    def split_lengths(self, split: str) -> np.ndarray:
        return self.splits[split].lengths  # (N,)

    def batch(self, split, index, batch_size, epoch=0) -> Batch:
        chosen = self.batches(split, batch_size, epoch)[index]
        examples = self.splits[split]
        return pad_examples([examples.ids[i] for i in chosen], examples.labels[chosen])

    # ------------------------------------------------------------------ evaluation
    def predictions(self, engine, split: str, batch_size: int = 64):
        """(totals, predicted (N,), target (N,)) over a whole split."""
        totals, predicted, target = _Totals(classification=True), [], []
        for batch, result in self.run_split(engine, split, batch_size):
            totals.add(batch, result)
            predicted.append(np.asarray(result.outputs)[0].argmax(axis=-1))  # (B,)
            target.append(batch.targets[0])  # (B,)
        return totals, np.concatenate(predicted), np.concatenate(target)

    def evaluate(self, engine, split="val", batch_size=32) -> dict:
        """Loss and accuracy, macro-F1, per-class precision/recall, the majority baseline."""
        return self.evaluate_with_confusion(engine, split, batch_size)[0]

    def evaluate_with_confusion(self, engine, split="val", batch_size=32):
        """(:meth:`evaluate`'s metrics, the (K, K) confusion matrix) from one pass."""
        totals, predicted, target = self.predictions(engine, split, batch_size)
        metrics = totals.metrics()
        for per_token in ("bits_per_token", "perplexity"):  # one answer per text: no tokens
            metrics.pop(per_token)
        metrics["examples"] = metrics.pop("tokens")
        confusion = confusion_matrix(predicted, target, len(self.label_names))
        metrics.update(classification_scores(confusion, self.label_names, self.majority_class()))
        metrics["split"] = split
        optimal = self.optimal_loss(split)
        if optimal is not None:
            metrics["optimal_loss"] = optimal
        return metrics, confusion

    def figures(self):
        return {"confusion.png": self.plot_confusion}

    def plot_confusion(self, plots, path: Path, engine, split: str = "val") -> Path:
        """The confusion matrix of ``split`` (validation by default: the test split is for
        the final report only)."""
        _, confusion = self.evaluate_with_confusion(engine, split)
        return plots.plot_confusion(
            path, confusion, self.label_names, title=f"{self.name}, {split}"
        )

    def describe(self) -> dict:
        """Adds ``labels``, the class names in id order, so that a run can name its answers."""
        return {**super().describe(), "labels": list(self.label_names)}


def pad_examples(ids: list[np.ndarray], labels: np.ndarray, pad_id: int = 0) -> Batch:
    """A classification Batch: inputs (T, B) padded with ``pad_id`` after each sequence's
    end, ``lengths`` (B,), targets (1, B) the classes, mask (1, B) all True."""
    lengths = np.array([len(s) for s in ids], dtype=np.int64)  # (B,)
    inputs = np.full((int(lengths.max()), len(ids)), pad_id, dtype=np.int64)  # (T, B)
    for b, seq in enumerate(ids):
        inputs[: len(seq), b] = seq
    targets = np.asarray(labels, dtype=np.int64).reshape(1, -1)  # (1, B)
    return Batch(inputs, targets, np.ones(targets.shape, dtype=bool), lengths)


def _is_int(name: str) -> bool:
    try:
        int(name)
    except ValueError:
        return False
    return True
