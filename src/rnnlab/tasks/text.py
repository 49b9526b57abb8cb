"""Language modelling on text: characters, words or bytes (seed 002, done right).

The token stream is split by position (90% train, 5% validation, 5% test), each part cut
into ``batch_size`` contiguous rows read ``seq_len`` tokens at a time, and the hidden state
is carried from one batch to the next (stateful truncated BPTT): every row is one long
sequence, and gradients are truncated at chunk boundaries. Without ``--data`` the corpus is
the reference documentation that ships with CPython (``pydoc_data``), so nothing is
downloaded. The vocabulary is built from the whole text (word level: the ``top_k`` most
frequent words of it, the rest ``<unk>``).
"""

import numpy as np

from rnnlab.batch import Batch
from rnnlab.data.corpus import StreamBatches, default_corpus, read_text
from rnnlab.data.vocab import Vocab
from rnnlab.errors import DataError, InputError
from rnnlab.tasks.base import ModelIO, Task

_FRACTIONS = {"train": (0.0, 0.9), "val": (0.9, 0.95), "test": (0.95, 1.0)}


class TextTask(Task):
    stateful = True
    level = "char"
    defaults = {"data": None, "top_k": None, "seq_len": 25}
    train_defaults = {"batch_size": 32, "lr": 0.01, "epochs": 5, "hidden": 100, "grad_clip": 5.0}

    option_types = {"data": str | None, "top_k": int | None, "seq_len": int}
    option_help = {
        "data": "Text file (default: Python's own documentation).",
        "top_k": "Vocabulary: the k most frequent tokens, the rest <unk>.",
        "seq_len": "Truncated-BPTT length.",
    }

    @classmethod
    def check_ranges(cls, o):
        if o["seq_len"] < 1:
            raise InputError(f"--seq-len must be a positive integer, got {o['seq_len']!r}")
        if o["top_k"] is not None and o["top_k"] < 1:
            raise InputError(f"--top-k must be a positive integer (or omitted), got {o['top_k']!r}")

    def __init__(self, options=None, seed=0, vocab: Vocab | None = None):
        super().__init__(options, seed)
        o = self.options
        self._streams: dict = {}
        self._ids: dict | None = None
        self.source = o["data"] or "the embedded pydoc_data corpus"
        # A vocabulary saved with a run wins, so ids mean what they meant in training; with
        # one, the text is read only when batches are asked for: `generate` needs none.
        self.vocab = vocab
        if vocab is None:
            text = self.read()
            self.vocab = Vocab.build(text, self.level, top_k=o["top_k"])
            self._split(text)

    def read(self) -> str | bytes:
        """The task's text: the --data file, or the embedded corpus."""
        if self.options["data"] is None:
            text = default_corpus()
            return text.encode("utf-8") if self.level == "byte" else text
        return read_text(self.options["data"], self.level)

    def _split(self, text: str | bytes) -> None:
        ids = self.vocab.encode(text)
        self._ids = {
            split: ids[int(a * len(ids)) : int(b * len(ids))]
            for split, (a, b) in _FRACTIONS.items()
        }

    @property
    def ids(self) -> dict:
        """Token ids of each split (train 90%, val 5%, test 5% by position)."""
        if self._ids is None:
            self._split(self.read())
        return self._ids

    def model_io(self) -> ModelIO:
        return ModelIO(len(self.vocab), len(self.vocab), "onehot", "cross_entropy")

    def stream(self, split: str, batch_size: int) -> StreamBatches:
        self.check_split(split)
        key = (split, batch_size)
        if key not in self._streams:
            ids = self.ids[split]
            if split != "train":  # evaluation splits may be short: fewer rows, not an error
                batch_size = max(1, min(batch_size, (len(ids) - 1) // self.options["seq_len"]))
            try:
                self._streams[key] = StreamBatches(ids, batch_size, self.options["seq_len"])
            except DataError as exc:
                raise DataError(f"{split} split of {self.source}: {exc}") from exc
        return self._streams[key]

    def num_batches(self, split, batch_size):
        return self.stream(split, batch_size).num_batches

    def batch(self, split, index, batch_size, epoch=0) -> Batch:
        inputs, targets = self.stream(split, batch_size).batch(index)
        return Batch(inputs, targets, np.ones(inputs.shape, dtype=bool))


class Chars(TextTask):
    name = "chars"
    description = "character language model on a text file (default: Python's docs)"
    level = "char"


class Words(TextTask):
    name = "words"
    description = "word language model on a text file, the top-k words plus <unk>"
    level = "word"
    defaults = {"data": None, "top_k": 10000, "seq_len": 25}


class Bytes(TextTask):
    name = "bytes"
    description = "byte language model on any file (no UTF-8 needed)"
    level = "byte"
