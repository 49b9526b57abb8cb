"""seq2seq: the user's own pairs, one ``source<TAB>target`` per line of a UTF-8 file.

Each side is read as characters or as whitespace-separated words (``--source-level``,
``--target-level``). Blank lines are skipped; anything else that is not one tab between two
non-empty sides is refused with its line number. The pairs are split 90/5/5 by a hash of
the source (:mod:`rnnlab.data.hash_split`: a source's every target in one split), and a
source with several targets is judged against all of them, as g2p judges a word.

The vocabularies are every token of the file (each side its own), kept sorted in the run's
config.json, so that ``generate`` needs nothing but the run; taking them from the whole
file rather than the training split alone means a rare token of the validation split has an
id (its embedding simply stays untrained) instead of failing the evaluation.
"""

from pathlib import Path

import numpy as np

from rnnlab.data.hash_split import split_of
from rnnlab.errors import CheckpointError, DataError, InputError
from rnnlab.tasks.seq2seq import Pairs, Seq2SeqTask

LEVELS = ("char", "word")
MAX_BYTES = 1 << 30


class PairsFileTask(Seq2SeqTask):
    name = "seq2seq"
    description = "your own source<TAB>target pairs (encoder–decoder; char or word level)"
    saves_vocabularies = True  # config.json's task entry holds them (see build_task_from)
    defaults = {"data": None, "source_level": "char", "target_level": "char",
                **Seq2SeqTask.defaults}  # fmt: skip
    option_types = {"data": str | None, "source_level": str, "target_level": str,
                    **Seq2SeqTask.option_types}  # fmt: skip
    option_help = {
        "data": "The text file to train on (seq2seq: source<TAB>target lines).",
        "source_level": "seq2seq: read the source as characters (char) or words (word).",
        "target_level": "seq2seq: read the target as characters (char) or words (word).",
        **Seq2SeqTask.option_help,
    }
    train_defaults = {"hidden": 128, "bidirectional": True, "attention": "general",
                      "lr": 0.003, "schedule": "cosine", "grad_clip": 1.0, "batch_size": 64,
                      "epochs": 10}  # fmt: skip

    @classmethod
    def check_ranges(cls, o):
        super().check_ranges(o)
        for key in ("source_level", "target_level"):
            if o[key] not in LEVELS:
                flag = "--" + key.replace("_", "-")
                raise InputError(f"{flag} must be char or word, got {o[key]!r}")
        if o["data"] is None:
            raise InputError("task 'seq2seq' needs --data FILE (lines of source<TAB>target)")

    def __init__(self, options=None, seed=0, vocabularies=None):
        super().__init__(options, seed)
        self.source_separator = " " if self.options["source_level"] == "word" else ""
        self.target_separator = " " if self.options["target_level"] == "word" else ""
        self._vocabularies = _checked_vocabularies(vocabularies)
        self._lines = None
        if self._vocabularies is None:  # a new run: read the file now, refuse it early
            self._vocabularies = self._from_lines(self.lines())
            _ = self.splits

    # ------------------------------------------------------------------ the file
    def lines(self) -> list[tuple[list[str], list[str]]]:
        """(source tokens, target tokens) of every pair, in file order."""
        if self._lines is None:
            self._lines = read_pairs(self.options["data"], self.options["source_level"],
                                     self.options["target_level"])  # fmt: skip
        return self._lines

    @staticmethod
    def _from_lines(lines) -> dict[str, list[str]]:
        return {
            "source": sorted({t for source, _ in lines for t in source}),
            "target": sorted({t for _, target in lines for t in target}),
        }

    @property
    def source_tokens(self):
        return self._vocabularies["source"]

    @property
    def target_tokens(self):
        return self._vocabularies["target"]

    def read_splits(self):
        source_id = {t: k for k, t in enumerate(self.source_tokens)}
        target_id = {t: 2 + k for k, t in enumerate(self.target_tokens)}
        splits = {name: Pairs([], []) for name in ("train", "val", "test")}
        for lineno, (source, target) in enumerate(self.lines(), start=1):
            unseen = [t for t in source if t not in source_id] + [
                t for t in target if t not in target_id
            ]
            if unseen:  # only a run's saved vocabulary can miss one: the file changed
                raise DataError(
                    f"{self.options['data']}: pair {lineno} has token {unseen[0]!r} that the "
                    "run's vocabulary lacks; train a new run on this file"
                )
            pairs = splits[split_of(self.source_separator.join(source))]
            pairs.sources.append(np.array([source_id[t] for t in source], np.int64))
            pairs.targets.append(np.array([target_id[t] for t in target], np.int64))
        return splits

    def split_inputs(self, text):
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise InputError("--input is empty; give one source per line")
        return lines

    def describe(self):
        return {**super().describe(), "vocabularies": dict(self._vocabularies)}


def read_pairs(path, source_level: str, target_level: str):
    """The pairs of a ``source<TAB>target`` file; DataError naming the line for bad input."""
    where = str(path)
    try:
        data = Path(path).read_bytes()[: MAX_BYTES + 1]
    except FileNotFoundError:
        raise DataError(f"data file '{where}' does not exist; check the path") from None
    except IsADirectoryError:
        raise DataError(
            f"'{where}' is a directory; give a file of source<TAB>target lines"
        ) from None
    if len(data) > MAX_BYTES:
        raise DataError(f"'{where}' is larger than 1 GiB; give a smaller file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(f"'{where}' line {line} is not UTF-8 text; save it as UTF-8") from None
    split = {"char": list, "word": str.split}
    pairs = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        sides = line.split("\t")
        if len(sides) != 2:
            what = "has no tab" if len(sides) == 1 else f"has {len(sides) - 1} tabs"
            raise DataError(f"'{where}' line {lineno} {what}; each line must be source<TAB>target")
        source, target = split[source_level](sides[0]), split[target_level](sides[1])
        if not sides[0].strip() or not sides[1].strip():  # blanks alone are no side either
            side = "source" if not sides[0].strip() else "target"
            raise DataError(f"'{where}' line {lineno} has an empty {side}; fill it or remove it")
        pairs.append((source, target))
    if not pairs:
        raise DataError(f"'{where}' has no source<TAB>target pairs; give at least a few dozen")
    return pairs


def _checked_vocabularies(saved):
    """A run's saved vocabularies, or None for a new run; CheckpointError if damaged."""
    if saved is None:
        return None
    ok = isinstance(saved, dict) and all(
        isinstance(saved.get(side), list)
        and saved[side]
        and all(isinstance(t, str) for t in saved[side])
        and len(set(saved[side])) == len(saved[side])
        for side in ("source", "target")
    )
    if not ok:
        raise CheckpointError(
            "config.json: the task's 'vocabularies' must hold 'source' and 'target' lists of "
            "distinct tokens; restore it"
        )
    return {"source": list(saved["source"]), "target": list(saved["target"])}
