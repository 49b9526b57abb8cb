"""g2p: pronounce an English word from its spelling (the CMU Pronouncing Dictionary).

Source: the word's letters (a–z and the apostrophe); target: its phones, 39 without stress
(``--stress``: 69, the vowels marked 0, 1 or 2). The entries, the stress rule and the
90/5/5 split by a hash of the word are :mod:`rnnlab.data.cmudict`'s; a word with several
pronunciations trains on each, and is judged against all of them:

    WER  the share of words whose top hypothesis matches none of its pronunciations;
    PER  Σ edit distance to the closest pronunciation / Σ that pronunciation's length.

The closest published comparisons (the full current dictionary, a random split): about
34% WER for Phonetisaurus and 31% for a 2-layer Transformer (CMU Sphinx g2p-seq2seq).
"""

import numpy as np

from rnnlab.data import cmudict
from rnnlab.errors import InputError
from rnnlab.tasks.seq2seq import Pairs, Seq2SeqTask

LETTERS = list("abcdefghijklmnopqrstuvwxyz'")
VOWELS = "AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split()
CONSONANTS = "B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH".split()
PHONES = sorted(VOWELS + CONSONANTS)  # the 39 of ARPAbet as CMUdict uses it
STRESSED = sorted([v + s for v in VOWELS for s in "012"] + CONSONANTS)  # 69


class G2PTask(Seq2SeqTask):
    name = "g2p"
    description = "pronounce English words (CMU Pronouncing Dictionary; WER and PER)"
    defaults = {"stress": False, **Seq2SeqTask.defaults}
    option_types = {"stress": bool, **Seq2SeqTask.option_types}
    option_help = {
        "stress": "g2p: keep the stress digits of vowels (69 symbols instead of 39 phones).",
        **Seq2SeqTask.option_help,
    }
    target_separator = " "
    train_defaults = {
        "hidden": 128,
        "bidirectional": True,
        "embedding_dim": 64,
        "attention": "general",
        "lr": 0.003,
        "schedule": "cosine",
        "grad_clip": 1.0,
        "batch_size": 64,
        "epochs": 10,
        "eval_every": 2000,
        "save_every": 500,
        "eval_batch_size": 256,
    }

    @property
    def source_tokens(self):
        return LETTERS

    @property
    def target_tokens(self):
        return STRESSED if self.options["stress"] else PHONES

    def read_splits(self):
        entries = cmudict.g2p_entries(cmudict.load_entries(), stress=self.options["stress"])
        letter = {c: k for k, c in enumerate(LETTERS)}
        phone = {p: 2 + k for k, p in enumerate(self.target_tokens)}
        splits = {name: Pairs([], []) for name in ("train", "val", "test")}
        for word, phones in entries:
            pairs = splits[cmudict.split_of(word)]
            pairs.sources.append([letter[c] for c in word])
            pairs.targets.append([phone[p] for p in phones])
        return {
            name: Pairs([np.array(s, np.int64) for s in p.sources],
                        [np.array(t, np.int64) for t in p.targets])
            for name, p in splits.items()
        }  # fmt: skip

    def decoded_metrics(self, found, hypotheses, sources):
        return {"wer": 1.0 - found.exact_match, "per": found.token_error_rate}

    def split_inputs(self, text: str) -> list[str]:
        words = text.lower().split()
        if not words:
            raise InputError("--input has no word to pronounce; give words, e.g. --input 'rhythm'")
        return words

    def source_description(self) -> str:
        return "the letters a-z and the apostrophe"
