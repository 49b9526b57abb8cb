"""The marker task: which symbol came right after the marker? (:mod:`rnnlab.data.marker`)

A synthetic classifier test with an exact answer: the class is a function of the input, so
the optimal loss is 0 and a model that remembers gets every sequence right, where chance is
``1 / symbols``. The marker sits among the first ``window`` steps and the answer is read at
the end, so a left-to-right model (the default: one direction, ``last`` readout) must hold
the symbol across the whole rest of the sequence. The sequences are generated once from a
fixed seed (like the real data sets' split, ``--seed`` changes only initialisation and
batch order) and go through the same split, buckets and evaluation as the text classifiers.
"""

import numpy as np

from rnnlab.data.labelled import SPLIT_SEED
from rnnlab.data.marker import marker_sequences, symbol_names
from rnnlab.errors import InputError
from rnnlab.tasks.classification import ClassificationTask


class MarkerTask(ClassificationTask):
    name = "marker"
    description = "classify a sequence by the symbol after its marker (memory, exact answer)"
    defaults = {
        "num": 2000,
        "symbols": 4,
        "min_len": 8,
        "max_len": 16,
        "window": 4,
        **ClassificationTask.defaults,
    }
    option_types = {
        "num": int,
        "symbols": int,
        "min_len": int,
        "max_len": int,
        "window": int,
        **ClassificationTask.option_types,
    }
    option_help = {
        "num": "Sequences generated.",
        "symbols": "Symbols that can follow the marker: the classes.",
        "min_len": "Shortest sequence.",
        "max_len": "Longest sequence.",
        "window": "The marker sits among the first this many steps.",
        **ClassificationTask.option_help,
    }
    train_defaults = {"hidden": 32, "readout": "last", "lr": 0.01, "batch_size": 32, "epochs": 10}

    @classmethod
    def check_ranges(cls, o):
        super().check_ranges(o)
        for key in ("num", "window"):
            if o[key] < 1:
                raise InputError(f"--{key} must be a positive integer, got {o[key]!r}")
        if not 2 <= o["symbols"] <= 26:
            raise InputError(f"--symbols must be from 2 to 26, got {o['symbols']!r}")
        if not 2 <= o["min_len"] <= o["max_len"]:
            raise InputError(
                f"need 2 <= --min-len <= --max-len (a symbol follows the marker), got "
                f"{o['min_len']!r} and {o['max_len']!r}"
            )

    def __init__(self, options=None, seed=0, labels=None):
        super().__init__(options, seed, labels=labels)
        _ = self.splits

    def read(self):
        o = self.options
        rng = np.random.default_rng([SPLIT_SEED, 1])
        data = marker_sequences(
            o["num"], o["symbols"], o["min_len"], o["max_len"], o["window"], rng
        )
        names = symbol_names(o["symbols"])
        return [seq.tolist() for seq in data.sequences], [names[k] for k in data.labels]

    def label_order(self, names):
        return symbol_names(self.options["symbols"])  # every symbol a class, drawn or not

    def encode(self, sequence):
        return np.asarray(sequence, dtype=np.int64)  # (n,): the symbols are their own ids

    @property
    def input_size(self) -> int:
        return self.options["symbols"] + 1  # the symbols and the marker

    def optimal_loss(self, split):
        return 0.0  # the class is in the input: a perfect memory answers every sequence
