"""Counting tasks (anbn, anbnan): batches, and an evaluation proven with oracle models.

An oracle is a fake engine whose outputs are what an ideal model would output: the
log-probabilities of the Bayes-optimal next-token predictor, derived here from the prefix
alone. Its loss must equal the task's exact optimal loss, and it must count perfectly.
"""

import math
from collections import Counter

import numpy as np
import pytest

from rnnlab.engine import EvalResult
from rnnlab.errors import InputError
from rnnlab.tasks import AnBn, AnBnAn, build_task

LOG_FLOOR = -1e3  # the log-probability an oracle gives a token it rules out


def spelled(n, pattern, extra_b=0):
    """a^n b^(n + extra_b) [a^n] <eos>, written out independently of the library."""
    return ["a"] * n + ["b"] * (n + extra_b) + (["a"] * n if pattern == "aba" else []) + ["<eos>"]


class CountingOracle:
    """Next-token log-probabilities from a prior over n, read off the prefix.

    Before the first b, after k a's: P(b) = prior[k] / sum(prior[k:]) (the posterior that
    the a's stop here). After it, n is known and the next token is certain. With
    ``extra_b_from`` the oracle miscounts every n >= that value by one b.
    """

    def __init__(self, task, prior, extra_b_from=None):
        self.task = task
        self.prior = np.asarray(prior, dtype=float)  # (n_max + 1,) weights of n = 0..n_max
        self.extra_b_from = extra_b_from

    def next_probs(self, prefix):
        if "b" not in prefix:
            k = len(prefix)  # a's read so far
            rest = self.prior[k:].sum() if k < len(self.prior) else 0.0
            p_b = self.prior[k] / rest if rest > 0 else 0.5  # beyond the prior: a guess
            return {"a": 1.0 - p_b, "b": p_b}
        n = prefix.index("b")
        extra = int(self.extra_b_from is not None and n >= self.extra_b_from)
        return {spelled(n, self.task.pattern, extra)[len(prefix)]: 1.0}

    def evaluate(self, batch, state=None):
        T, B = batch.inputs.shape
        tokens = self.task.vocab.tokens
        logp = np.full((T, B, len(tokens)), LOG_FLOOR)  # (T, B, V)
        for b in range(B):
            prefix = [tokens[i] for i in batch.inputs[: batch.lengths[b], b]]
            for t in range(batch.lengths[b]):
                for token, p in self.next_probs(prefix[: t + 1]).items():
                    if p > 0:
                        logp[t, b, tokens.index(token)] = math.log(p)
        picked = np.take_along_axis(logp, batch.targets[..., None], axis=-1)[..., 0]  # (T, B)
        loss = -picked[batch.mask].mean()
        return EvalResult(float(loss), int(batch.mask.sum()), logp, None)


def uniform_prior(task):
    o = task.options
    return [1.0 if o["n_min"] <= n <= o["n_max"] else 0.0 for n in range(o["n_max"] + 1)]


def ns_of(sequences):
    return [s.index("b") for s in sequences]


TASKS = [AnBn, AnBnAn]


# ---------------------------------------------------------------- evaluation with oracles


@pytest.mark.parametrize("cls", TASKS)
@pytest.mark.parametrize("split", ["val", "test"])
def test_bayes_oracle_reaches_the_exact_optimal_loss_and_counts_everything(cls, split):
    task = cls({"n_min": 2, "n_max": 6}, seed=3)
    metrics = task.evaluate(CountingOracle(task, uniform_prior(task)), split, batch_size=7)
    assert metrics["loss"] == pytest.approx(task.optimal_loss(split), abs=1e-9)
    assert metrics["optimal_loss"] == task.optimal_loss(split)
    assert metrics["tokens"] == sum(len(s) - 1 for s in task.splits[split])
    assert metrics["split"] == split
    assert metrics["deterministic_accuracy"] == 1.0
    assert metrics["sequence_accuracy"] == 1.0
    assert metrics["max_n_counted"] == max(ns_of(task.splits[split]))
    assert metrics["bits_per_token"] == pytest.approx(metrics["loss"] / math.log(2))


@pytest.mark.parametrize("cls", TASKS)
def test_optimal_loss_is_the_closed_form_per_sequence_sum(cls):
    # Each sequence's Bayes losses telescope to log N (N values of n): one uniform choice.
    task = cls({"n_min": 1, "n_max": 5}, seed=0)
    for split in ("train", "val", "test"):
        seqs = task.splits[split]
        expected = len(seqs) * math.log(5) / sum(len(s) - 1 for s in seqs)
        assert task.optimal_loss(split) == pytest.approx(expected, rel=1e-12)


def test_an_oracle_that_miscounts_by_one_b_is_caught():
    task = AnBn({}, seed=1)
    wrong = CountingOracle(task, uniform_prior(task), extra_b_from=3)
    metrics = task.evaluate(wrong, "val")
    ns = ns_of(task.splits["val"])
    assert {1, 2, 3} <= set(ns)  # so the expected numbers below are the interesting ones
    # exactly one wrong deterministic target (the <eos> after n b's) per sequence with n >= 3,
    # out of n deterministic targets per sequence
    expected = 1 - sum(n >= 3 for n in ns) / sum(ns)
    assert metrics["deterministic_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert metrics["max_n_counted"] == 2
    assert metrics["max_n_in_split"] == max(ns)
    assert metrics["sequence_accuracy"] == pytest.approx(np.mean([n < 3 for n in ns]))
    # each ruled-out true token costs -LOG_FLOOR on top of the optimal loss
    wrong_tokens = sum(n >= 3 for n in ns)
    extra = -LOG_FLOOR * wrong_tokens / metrics["tokens"]
    assert metrics["loss"] == pytest.approx(task.optimal_loss("val") + extra, rel=1e-12)


def test_an_oracle_with_the_training_prior_gets_the_train_prior_loss():
    task = AnBn({}, seed=0)
    counts = np.bincount(ns_of(task.splits["train"]), minlength=6)
    assert (counts[1:] > 0).all()  # every n was seen, so no probability is floored
    metrics = task.evaluate(CountingOracle(task, counts), "val")
    assert metrics["train_prior_loss"] == pytest.approx(metrics["loss"], abs=1e-9)


@pytest.mark.parametrize("cls", TASKS)
def test_generalization_split_has_every_n_once_and_no_reference(cls):
    task = cls({"n_max": 5, "test_n_max": 30}, seed=0)
    assert ns_of(task.splits["test"]) == list(range(1, 31))
    assert task.splits["test"] == [spelled(n, task.pattern) for n in range(1, 31)]
    assert task.optimal_loss("test") is None
    assert task.optimal_loss("val") is not None
    metrics = task.evaluate(CountingOracle(task, uniform_prior(task)), "test")
    assert "optimal_loss" not in metrics and "train_prior_loss" not in metrics
    assert metrics["max_n_counted"] == 30 and metrics["max_n_in_split"] == 30
    assert metrics["deterministic_accuracy"] == 1.0
    wrong = CountingOracle(task, uniform_prior(task), extra_b_from=12)
    assert task.evaluate(wrong, "test")["max_n_counted"] == 11


# ---------------------------------------------------------------- batches


def as_multiset(sequences):
    return Counter(map(tuple, sequences))


def decode_columns(task, batch):
    """The sequences of a batch, from its inputs and the last target, as token lists."""
    tokens = task.vocab.tokens
    out = []
    for b, n in enumerate(batch.lengths):
        ids = [*batch.inputs[:n, b], batch.targets[n - 1, b]]
        out.append([tokens[i] for i in ids])
    return out


@pytest.mark.parametrize("cls", TASKS)
def test_batches_are_padded_next_token_pairs_with_a_length_mask(cls):
    task = cls({}, seed=0)
    batch = task.batch("train", 0, 8, epoch=0)
    T, B = batch.inputs.shape
    assert B == 8 and T == batch.lengths.max()
    np.testing.assert_array_equal(batch.mask, np.arange(T)[:, None] < batch.lengths[None, :])
    # the target at t is the input at t + 1, inside every sequence
    inside = batch.mask[1:] & batch.mask[:-1]
    np.testing.assert_array_equal(batch.targets[:-1][inside], batch.inputs[1:][inside])
    for seq in decode_columns(task, batch):
        assert seq == spelled(seq.index("b"), task.pattern)


@pytest.mark.parametrize("cls", TASKS)
def test_an_epoch_is_a_reproducible_shuffle_of_the_training_split(cls):
    task = cls({}, seed=0)
    size = 16
    batches = task.num_batches("train", size)
    assert batches == math.ceil(len(task.splits["train"]) / size)

    def epoch(e):
        return [
            s for i in range(batches) for s in decode_columns(task, task.batch("train", i, size, e))
        ]

    first, again, second = epoch(0), epoch(0), epoch(1)
    assert first == again
    assert first != second  # a new order ...
    assert as_multiset(first) == as_multiset(second) == as_multiset(task.splits["train"])
    a, b = task.batch("train", 2, size, 4), task.batch("train", 2, size, 4)
    for x, y in zip(a[:3], b[:3], strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("split", ["val", "test"])
def test_evaluation_batches_do_not_depend_on_the_epoch(split):
    task = AnBn({}, seed=0)
    for index in range(task.num_batches(split, 10)):
        a, b = task.batch(split, index, 10, epoch=0), task.batch(split, index, 10, epoch=7)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    whole = [
        s
        for i in range(task.num_batches(split, 10))
        for s in decode_columns(task, task.batch(split, i, 10))
    ]
    assert whole == task.splits[split]


def test_the_seed_decides_the_data_and_the_split_is_80_10_10():
    one, same, other = AnBn({}, seed=5), AnBn({}, seed=5), AnBn({}, seed=6)
    assert one.splits == same.splits
    assert one.splits != other.splits
    sizes = [len(one.splits[s]) for s in ("train", "val", "test")]
    assert sizes == [205, 25, 26] and sum(sizes) == 256


def test_model_io_is_one_hot_over_the_five_tokens():
    io = AnBnAn({}).model_io()
    assert (io.input_size, io.output_size, io.input_kind, io.loss) == (
        5,
        5,
        "onehot",
        "cross_entropy",
    )


# ---------------------------------------------------------------- bad options


def test_an_option_of_another_task_names_its_flag():
    with pytest.raises(InputError, match=r"--bits.*anbn"):
        build_task("anbn", {"bits": 8})


@pytest.mark.parametrize(
    ("options", "flag"),
    [({"n_min": 0}, "--n-min"), ({"n_min": 6, "n_max": 3}, "--n-min"),
     ({"num": 2.5}, "--num"), ({"test_n_max": 0, "n_min": 2}, "--test-n-max"),
     ({"num": 3}, "raise --num")],
)  # fmt: skip
def test_bad_counting_options_say_which_flag(options, flag):
    with pytest.raises(InputError, match=flag):
        AnBn(options)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"num": True}, "--num must be an integer, got True"),
     ({"n_max": "5"}, "--n-max must be an integer, got '5'"),
     ({"test_n_max": 2.5}, r"--test-n-max must be an integer \(or omitted\), got 2.5")],
)  # fmt: skip
def test_counting_options_of_the_wrong_type_name_their_flag(options, message):
    with pytest.raises(InputError, match=f"^{message}$"):
        AnBn(options)


def test_the_options_are_checked_before_any_sequence_is_generated(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("generated sequences for options that are refused")

    monkeypatch.setattr("rnnlab.tasks.counting.anbn_sequences", never)
    with pytest.raises(InputError, match="--n-min"):
        AnBn({"n_min": 0})
    assert AnBn.check_options({"num": 10**9})["num"] == 10**9  # checked, nothing built


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anbnan_defaults_end_within_3_percent_of_the_optimum(tmp_path, seed):
    """With its defaults (and any of three seeds) anbnan reaches the exact optimal
    validation loss within 3% (the tutorial's 256 sequences end 5-6% above it)."""
    from rnnlab.train.options import build_from_settings
    from rnnlab.train.session import start_run

    task, spec, config = build_from_settings("anbnan", {"seed": seed})
    trainer = start_run(task, spec, config, tmp_path / "run")
    metrics = trainer.task.evaluate(trainer.engine, "val")
    assert metrics["loss"] <= 1.03 * metrics["optimal_loss"], metrics
