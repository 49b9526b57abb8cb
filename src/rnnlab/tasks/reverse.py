"""The reversal task: write a random symbol string backwards (a known alignment).

Source x_1..x_n, target y_t = x_{n+1-t}: output step t should attend to the mirrored source
position n + 1 − t, and :func:`rnnlab.seq2seq.reverse.mirror_attention` measures how much
of the attention weight lands there. The strings are generated once from a fixed seed (like
the marker task, ``--seed`` changes only initialisation and batch order); validation and
test strings never occur in training, so an exact answer there is no memorised one.

Why the defaults (measured, 1,500 steps, exact match and mean weight on the mirrored
position over 2,000 held-out strings; the other setups with 16 symbols; see the README's
encoder–decoder section): every setup reverses almost exactly, but only one attends where
the alignment says.

    bidirectional encoder, Luong general    exact 0.999, mirrored weight 0.93
    unidirectional encoder, Luong general   exact 0.999, mirrored weight 0.81
    bidirectional encoder, Luong dot        exact 0.998, mirrored weight 0.79
    bidirectional encoder, Bahdanau         exact 1.000, mirrored weight 0.68

A likely reason (our reading, not proven): output step t needs x_{n+1-t}, whose position
counted from the *end* is t — what the
decoder knows by counting its own steps. The backward half of a bidirectional h_j has
read x_n .. x_j, so it can hold exactly that count, and ``general`` attention's W_a can
match the decoder's count against it alone (``dot`` must compare the whole vectors;
a forward-only encoder holds the position from the start, n − t + 1 to the decoder, which
needs n). Bahdanau's additive scores reach the answer while spreading over neighbours,
whose states hold the needed symbol too. More symbols (12 rather than 6) make each h_j
more about its own x_j, and a cosine schedule settles the weights that a constant rate
of 0.01 keeps shaking (exact 0.97 without it).
"""

import numpy as np

from rnnlab.data.labelled import SPLIT_SEED
from rnnlab.errors import InputError
from rnnlab.seq2seq.reverse import mirror_attention, reverse_pairs
from rnnlab.tasks.seq2seq import Pairs, Seq2SeqTask

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


class ReverseTask(Seq2SeqTask):
    name = "reverse"
    description = "write a random string backwards (encoder–decoder, a known alignment)"
    defaults = {"num": 20000, "symbols": 12, "min_len": 4, "max_len": 8,
                **Seq2SeqTask.defaults}  # fmt: skip
    option_types = {"num": int, "symbols": int, "min_len": int, "max_len": int,
                    **Seq2SeqTask.option_types}  # fmt: skip
    option_help = {
        "num": "Sequences generated.",  # for training; a tenth as many more for val and test
        "symbols": "Distinct symbols in the strings.",
        "min_len": "Shortest sequence.",
        "max_len": "Longest sequence.",
        **Seq2SeqTask.option_help,
    }
    train_defaults = {
        "hidden": 32,
        "bidirectional": True,
        "attention": "general",
        "lr": 0.01,
        "schedule": "cosine",
        "grad_clip": 1.0,
        "batch_size": 32,
        "steps": 1500,
        "eval_every": 500,
    }

    @classmethod
    def check_ranges(cls, o):
        super().check_ranges(o)
        if o["num"] < 10:
            raise InputError(f"--num must be at least 10, got {o['num']!r}")
        if not 2 <= o["symbols"] <= len(ALPHABET):
            raise InputError(f"--symbols must be from 2 to 26, got {o['symbols']!r}")
        if not 1 <= o["min_len"] <= o["max_len"]:
            raise InputError(
                f"need 1 <= --min-len <= --max-len, got {o['min_len']!r} and {o['max_len']!r}"
            )

    @property
    def source_tokens(self):
        return list(ALPHABET[: self.options["symbols"]])

    @property
    def target_tokens(self):
        return self.source_tokens

    def read_splits(self):
        o = self.options
        rng = np.random.default_rng([SPLIT_SEED, 15])
        sources, targets = reverse_pairs(o["num"], o["symbols"], o["min_len"], o["max_len"], rng)
        seen = {tuple(s) for s in sources}
        splits = {"train": _pairs(sources, targets)}
        held = max(o["num"] // 10, 5)
        for split in ("val", "test"):
            # draw until `held` strings that training never saw (or give up: a tiny space)
            kept_s, kept_t = [], []
            for _ in range(20):
                more_s, more_t = reverse_pairs(held, o["symbols"], o["min_len"], o["max_len"], rng)
                for s, t in zip(more_s, more_t, strict=True):
                    if tuple(s) not in seen and len(kept_s) < held:
                        seen.add(tuple(s))
                        kept_s.append(s)
                        kept_t.append(t)
                if len(kept_s) == held:
                    break
            splits[split] = _pairs(kept_s, kept_t)
        return splits

    def decoded_metrics(self, found, hypotheses, sources):
        metrics = super().decoded_metrics(found, hypotheses, sources)
        if any(h.attention is not None for h in hypotheses):
            lengths = [len(s) for s in sources]
            metrics["mirror_attention"] = mirror_attention(hypotheses, lengths)
        return metrics

    def max_output_length(self, source_length):
        return source_length + 5


def _pairs(sources, targets) -> Pairs:
    return Pairs([np.asarray(s, dtype=np.int64) for s in sources],
                 [np.asarray(t, dtype=np.int64) for t in targets])  # fmt: skip
