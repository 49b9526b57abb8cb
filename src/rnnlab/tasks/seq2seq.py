"""Encoder–decoder tasks: read a source sequence, write a target sequence (reverse, g2p,
seq2seq).

What makes a task one of these: its batches are :class:`~rnnlab.seq2seq.batch.Seq2SeqBatch`
(source and target padded separately, the decoder reading <bos> y_1 .. y_{n-1}), and its
model is a :class:`~rnnlab.seq2seq.spec.Seq2SeqSpec` whose vocabulary sizes the task
decides (:meth:`Seq2SeqTask.make_spec`, where a per-step task has
:func:`rnnlab.train.session.make_spec`). ``build_engine`` then picks the encoder–decoder
engines from the spec alone; the trainer, checkpoints and resume need nothing else.

Ids: source token k is id k; target id 0 is <bos>, 1 is <eos>, target token k is id 2 + k.

Training batches are drawn within source-length buckets, shuffled by ``(seed, epoch)``;
evaluation batches go in length order. Evaluation gives the teacher-forced loss and token
accuracy over every pair, and, decoding each distinct source once (greedy, or beam search
with ``beam`` > 1), the exact-match rate and the token error rate against the closest of
that source's references (:mod:`rnnlab.seq2seq.scores`).
"""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from rnnlab.data.buckets import sorted_batches
from rnnlab.errors import DataError, InputError
from rnnlab.seq2seq.batch import Seq2SeqBatch, make_batch
from rnnlab.seq2seq.decode import beam_search, greedy
from rnnlab.seq2seq.scores import score
from rnnlab.seq2seq.spec import Seq2SeqSpec
from rnnlab.tasks.base import ModelIO, Task, _Totals
from rnnlab.tasks.bucketing import LengthBuckets

BOS, EOS = 0, 1
SPEC_KEYS = tuple(
    name
    for name in Seq2SeqSpec.__dataclass_fields__
    if name not in ("source_vocab", "target_vocab")
)


class Pairs(NamedTuple):
    """One split: ``sources[i]`` (n_i,) int64 source ids, ``targets[i]`` (m_i,) int64
    target ids (2 .. V_t − 1: no <bos> or <eos>)."""

    sources: list[np.ndarray]
    targets: list[np.ndarray]


class Seq2SeqTask(LengthBuckets, Task):
    """Base class: subclasses implement :meth:`read_splits` and name their tokens."""

    defaults = {"buckets": 10}
    option_types = {"buckets": int}
    option_help = {
        "buckets": "Length buckets that training batches are drawn from (1: random batches)."
    }
    source_separator = ""  # how tokens join when shown: "" (characters) or " " (words)
    target_separator = ""

    @classmethod
    def check_ranges(cls, o):
        if o["buckets"] < 1:
            raise InputError(f"--buckets must be a positive integer, got {o['buckets']!r}")

    def __init__(self, options=None, seed=0):
        super().__init__(options, seed)
        self._splits: dict[str, Pairs] | None = None
        self._plan = None

    # ------------------------------------------------------------------ to implement
    def read_splits(self) -> dict[str, Pairs]:
        """The train, val and test pairs, as ids."""
        raise NotImplementedError

    @property
    def source_tokens(self) -> Sequence[str]:
        """The name of source id k (its vocabulary, V_s of them)."""
        raise NotImplementedError

    @property
    def target_tokens(self) -> Sequence[str]:
        """The name of target token k (id 2 + k)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the model
    def model_io(self) -> ModelIO:
        return ModelIO(len(self.source_tokens), 2 + len(self.target_tokens), "onehot",
                       "cross_entropy")  # fmt: skip

    def make_spec(self, model_settings: dict) -> Seq2SeqSpec:
        """The Seq2SeqSpec for this task: its vocabularies, plus the user's model settings."""
        unknown = sorted(set(model_settings) - set(SPEC_KEYS))
        if unknown:
            flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
            raise InputError(
                f"{flags} does not apply to an encoder–decoder (task '{self.name}'); its "
                f"model settings: {', '.join(SPEC_KEYS)}"
            )
        io = self.model_io()
        return Seq2SeqSpec(source_vocab=io.input_size, target_vocab=io.output_size,
                           **model_settings)  # fmt: skip

    def check_spec(self, spec) -> None:
        io = self.model_io()
        if not isinstance(spec, Seq2SeqSpec):
            raise InputError(f"task '{self.name}' needs an encoder–decoder model")
        if (spec.source_vocab, spec.target_vocab) != (io.input_size, io.output_size):
            raise InputError(
                f"task '{self.name}' has vocabularies of {io.input_size} and {io.output_size}, "
                f"the model {spec.source_vocab} and {spec.target_vocab}"
            )

    # ------------------------------------------------------------------ batches
    @property
    def splits(self) -> dict[str, Pairs]:
        if self._splits is None:
            self._splits = self.read_splits()
            for split, pairs in self._splits.items():
                if not pairs.sources:
                    raise DataError(
                        f"{self.name}: the {split} split is empty (the pairs are split 90/5/5 "
                        "by source); give more pairs, a few dozen at least"
                    )
        return self._splits

    def split_lengths(self, split: str) -> np.ndarray:
        return np.array([len(s) for s in self.splits[split].sources], dtype=np.int64)  # (N,)

    def batch(self, split, index, batch_size, epoch=0) -> Seq2SeqBatch:
        chosen = self.batches(split, batch_size, epoch)[index]
        pairs = self.splits[split]
        return make_batch([pairs.sources[i] for i in chosen], [pairs.targets[i] for i in chosen],
                          BOS, EOS)  # fmt: skip

    # ------------------------------------------------------------------ decoding
    def decode(
        self, engine, sources: list, *, beam: int = 1, batch_size: int = 64,
        length_penalty: float = 1.0,
    ):  # fmt: skip
        """One :class:`~rnnlab.seq2seq.decode.Hypothesis` per source (greedy for beam 1;
        a beam scores by the mean log-probability per token^``length_penalty``), in the
        order given; decoded in length-sorted batches."""
        results = [None] * len(sources)
        lengths = np.array([len(s) for s in sources], dtype=np.int64)  # (N,)
        decoder = engine.decoder()
        for chosen in sorted_batches(lengths, batch_size):
            batch = make_batch([sources[i] for i in chosen], [[] for _ in chosen], BOS, EOS)
            max_len = self.max_output_length(int(batch.source_lengths.max()))
            if beam > 1:
                found = beam_search(decoder, batch.source, batch.source_lengths, BOS, EOS,
                                    max_len, beam=beam, length_penalty=length_penalty)  # fmt: skip
            else:
                found = greedy(decoder, batch.source, batch.source_lengths, BOS, EOS, max_len)
            for i, hypothesis in zip(chosen, found, strict=True):
                results[i] = hypothesis
        return results

    def max_output_length(self, source_length: int) -> int:
        """The longest output decoding may write for a source this long."""
        return 2 * source_length + 10

    def references(self, split: str) -> tuple[list[np.ndarray], list[list[tuple]]]:
        """The split's distinct sources, in order of appearance, and each one's targets
        (several where a source has more than one correct answer)."""
        pairs, refs = self.splits[split], {}
        for source, target in zip(pairs.sources, pairs.targets, strict=True):
            refs.setdefault(tuple(source.tolist()), []).append(tuple(target.tolist()))
        return [np.array(s, dtype=np.int64) for s in refs], list(refs.values())

    # ------------------------------------------------------------------ evaluation
    def evaluate(
        self, engine, split="val", batch_size=32, beam: int = 1, length_penalty: float = 1.0
    ) -> dict:
        """Teacher-forced loss and token accuracy; exact match and token error rate of the
        decoded outputs (greedy, or a beam of ``beam`` with ``length_penalty``)."""
        totals = _Totals(classification=True)
        for batch, result in self.run_split(engine, split, batch_size):
            totals.add(batch, result)
        metrics = totals.metrics()
        sources, references = self.references(split)
        hypotheses = self.decode(engine, sources, beam=beam, batch_size=max(batch_size, 64),
                                 length_penalty=length_penalty)  # fmt: skip
        found = score([[t - 2 for t in h.tokens] for h in hypotheses],
                      [[[t - 2 for t in r] for r in refs] for refs in references])  # fmt: skip
        metrics.update(self.decoded_metrics(found, hypotheses, sources))
        metrics["decoded"] = found.count
        metrics["split"] = split
        if beam > 1:
            metrics["beam"], metrics["length_penalty"] = beam, length_penalty
        return metrics

    def decoded_metrics(self, found, hypotheses, sources) -> dict:
        """The names the task gives the decoding scores (g2p: WER and PER), and any
        measure of its own on the hypotheses (reverse: the mirrored attention)."""
        return {"exact_match": found.exact_match, "token_error_rate": found.token_error_rate}

    # ------------------------------------------------------------------ text
    def encode_source(self, text: str) -> np.ndarray:
        """(n,) ids of a source given as text; InputError naming an unseen token."""
        tokens = text.split() if self.source_separator == " " else list(text)
        index = {t: k for k, t in enumerate(self.source_tokens)}
        unseen = sorted({t for t in tokens if t not in index})
        if unseen:
            raise InputError(
                f"{text!r} has token(s) the model cannot read: {' '.join(map(repr, unseen[:10]))}"
                f"; task '{self.name}' reads {self.source_description()}"
            )
        if not tokens:
            raise InputError("an empty input: give at least one token")
        return np.array([index[t] for t in tokens], dtype=np.int64)  # (n,)

    def source_description(self) -> str:
        shown = " ".join(self.source_tokens[:40])
        return f"these tokens: {shown}" + (" ..." if len(self.source_tokens) > 40 else "")

    def format_target(self, ids: Sequence[int]) -> str:
        return self.target_separator.join(self.target_tokens[i - 2] for i in ids if i >= 2)

    def format_source(self, ids: Sequence[int]) -> str:
        return self.source_separator.join(self.source_tokens[i] for i in ids)

    def split_inputs(self, text: str) -> list[str]:
        """What ``rnnlab generate --input`` decodes: one source per line (g2p: per word)."""
        return [line for line in text.splitlines() if line.strip()]

    # ------------------------------------------------------------------ figures
    def figures(self):
        return {"attention.png": self.plot_attention}

    def eval_figures(self, engine) -> dict:
        """The figures the trainer redraws at every evaluation (a few greedy decodes, so
        cheap): attention.png, when the model has attention."""
        return {} if engine.spec.attention == "none" else self.figures()

    def plot_attention(self, plots, path, engine, split: str = "val", count: int = 4):
        """The attention weights of the first ``count`` validation sources, decoded greedily."""
        from rnnlab.seq2seq.attention_figure import plot_attention

        if engine.spec.attention == "none":
            raise InputError("no attention.png: the model has no attention")
        sources = self.references(split)[0][:count]
        hypotheses = self.decode(engine, sources)
        rows = [
            ([self.source_tokens[i] for i in s], [self.format_target([t]) for t in h.tokens]
             + ["<eos>"], h.attention)
            for s, h in zip(sources, hypotheses, strict=True)
            if h.attention is not None
        ]  # fmt: skip
        return plot_attention(plots, path, rows, title=f"{self.name}, {split}")
