"""The copy task (seed 004's memory test): K random bits, a delay, a go signal, recall.

Input: the K bits, ``delay`` blanks, a delimiter, then K blanks during which the model must
output the K bits in order. Only the K recall positions count, so chance is log 2 nats per
bit. A vanilla RNN must carry the bits through ``delay`` steps of repeated multiplication by
its recurrent Jacobian and forgets them; an LSTM's additive cell state can hold them.
Training draws fresh sequences for every batch (seeded by epoch and index); validation
and test are fixed sets.
"""

import math

import numpy as np

from rnnlab.batch import Batch
from rnnlab.data.synthetic import COPY_VOCAB_SIZE, copy_sequences
from rnnlab.errors import InputError
from rnnlab.tasks.base import ModelIO, Task, correct_predictions

_SPLIT_ID = {"train": 0, "val": 1, "test": 2}


class CopyTask(Task):
    name = "copy"
    description = "remember K random bits over a delay, repeat them after a go signal"
    defaults = {"bits": 8, "delay": 10, "eval_sequences": 512, "batches_per_epoch": 100}
    # At delay 10 a forget-gate bias of 3 (σ(3) ≈ 0.95) starts the LSTM's cells remembering
    # for ~20 steps instead of ~4 (σ(1) ≈ 0.73). Longer delays get more: see
    # training_defaults.
    train_defaults = {
        "batch_size": 64,
        "lr": 0.002,
        "steps": 3000,
        "hidden": 128,
        "grad_clip": 1.0,
        "forget_bias": 3.0,
    }

    option_types = {"bits": int, "delay": int, "eval_sequences": int, "batches_per_epoch": int}
    option_help = {
        "bits": "Bits to remember.",
        "delay": "Blank steps before recall.",
        "eval_sequences": "Sequences in the validation and the test split.",
        "batches_per_epoch": "Freshly drawn training batches per epoch.",
    }

    @classmethod
    def training_defaults(cls, settings):
        """The defaults scaled with the delay D, so that an LSTM needs no hand-tuned flags.

        A cell keeps σ(b) of its content per step, so it remembers for about
        1/(1 − σ(b)) = 1 + e^b steps: the forget bias b = ln D + 0.5 (at least 3) starts
        every cell remembering for about 1.6·D steps. Longer delays also start slower (the
        loss sits near chance for thousands of steps before it falls), so the step budget
        grows with D too: 100·D steps, at least 3,000. With ``--stop-when-solved`` a run
        ends as soon as it recalls every validation bit (``rnnlab study copy`` does that).
        """
        defaults = dict(cls.train_defaults)
        delay = settings.get("delay")
        delay = cls.defaults["delay"] if delay is None else delay
        if isinstance(delay, int) and delay > 0:  # a bad --delay is refused by check_ranges
            defaults["forget_bias"] = round(max(3.0, math.log(delay) + 0.5), 2)
            defaults["steps"] = max(3000, 100 * delay)
        return defaults

    def solved(self, val_metrics):
        """Every bit of every validation sequence recalled."""
        return val_metrics.get("sequence_accuracy") == 1.0

    @classmethod
    def check_ranges(cls, options):
        for key in ("bits", "eval_sequences", "batches_per_epoch"):
            if options[key] < 1:
                flag = "--" + key.replace("_", "-")
                raise InputError(f"{flag} must be a positive integer, got {options[key]!r}")
        if options["delay"] < 0:
            raise InputError(f"--delay must be a non-negative integer, got {options['delay']!r}")

    def model_io(self) -> ModelIO:
        # Inputs are the 4 symbols (bit 0, bit 1, blank, delimiter); outputs the 2 bits.
        return ModelIO(COPY_VOCAB_SIZE, 2, "onehot", "cross_entropy")

    def num_batches(self, split, batch_size):
        if split == "train":
            return self.options["batches_per_epoch"]
        return -(-self.options["eval_sequences"] // batch_size)

    def batch(self, split, index, batch_size, epoch=0) -> Batch:
        self.check_split(split)
        if split != "train":  # fixed evaluation sets, the last batch possibly smaller
            epoch = 0
            batch_size = min(batch_size, self.options["eval_sequences"] - index * batch_size)
        rng = self.rng(_SPLIT_ID[split], epoch, index)
        data = copy_sequences(batch_size, self.options["bits"], self.options["delay"], rng)
        targets = np.where(data.mask, data.targets, 0)  # off-recall targets are never read
        return Batch(data.inputs, targets, data.mask)

    def optimal_loss(self, split):
        return 0.0  # the bits are in the input: a perfect memory recalls them all

    def evaluate(self, engine, split="val", batch_size=32) -> dict:
        """Adds ``chance_loss`` (log 2) and the fraction of sequences recalled entirely."""
        metrics = super().evaluate(engine, split, batch_size)
        whole = total = 0
        for batch, result in self.run_split(engine, split, batch_size):
            right = correct_predictions(result.outputs, batch) | ~batch.mask
            whole += int(right.all(axis=0).sum())
            total += batch.mask.shape[1]
        metrics["recall_accuracy"] = metrics["accuracy"]
        metrics["sequence_accuracy"] = whole / total
        metrics["chance_loss"] = math.log(2)
        return metrics
