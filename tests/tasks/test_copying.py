"""The copy task: batch layout, determinism, and evaluation with oracle models."""

import math

import numpy as np
import pytest

from rnnlab.data.synthetic import COPY_BLANK, COPY_DELIM
from rnnlab.engine import EvalResult
from rnnlab.errors import InputError
from rnnlab.tasks import CopyTask


def cross_entropy(logits, batch):
    """Mean -log softmax(logits)[target] over the counted positions."""
    z = logits - logits.max(axis=-1, keepdims=True)  # (T, B, 2)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))  # (T, B, 2)
    picked = np.take_along_axis(logp, batch.targets[..., None], axis=-1)[..., 0]  # (T, B)
    return float(-picked[batch.mask].mean())


class PerfectMemory:
    """Reads the K bits at the start of the input and writes them at the recall positions."""

    def evaluate(self, batch, state=None):
        K = int(batch.mask[:, 0].sum())
        bits = batch.inputs[:K]  # (K, B)
        logits = np.zeros((*batch.inputs.shape, 2))  # (T, B, 2)
        logits[-K:] = np.where(bits[..., None] == np.arange(2), 1e3, -1e3)
        return EvalResult(cross_entropy(logits, batch), batch.num_targets, logits, None)


class Chance:
    """Knows nothing: equal logits for both bits."""

    def evaluate(self, batch, state=None):
        logits = np.zeros((*batch.inputs.shape, 2))  # (T, B, 2)
        return EvalResult(cross_entropy(logits, batch), batch.num_targets, logits, None)


def test_batch_layout_bits_delay_delimiter_recall():
    K, delay = 5, 7
    batch = CopyTask({"bits": K, "delay": delay}, seed=0).batch("train", 0, 6)
    T = 2 * K + delay + 1
    assert batch.inputs.shape == batch.targets.shape == batch.mask.shape == (T, 6)
    assert set(np.unique(batch.inputs[:K])) <= {0, 1}
    assert (batch.inputs[K : K + delay] == COPY_BLANK).all()
    assert (batch.inputs[K + delay] == COPY_DELIM).all()
    assert (batch.inputs[K + delay + 1 :] == COPY_BLANK).all()
    expected_mask = np.zeros((T, 6), dtype=bool)
    expected_mask[T - K :] = True  # exactly the K recall positions
    np.testing.assert_array_equal(batch.mask, expected_mask)
    np.testing.assert_array_equal(batch.targets[T - K :], batch.inputs[:K])
    assert batch.lengths is None


def test_perfect_memory_scores_perfectly():
    task = CopyTask({"bits": 4, "delay": 3, "eval_sequences": 50}, seed=1)
    metrics = task.evaluate(PerfectMemory(), "val", batch_size=32)
    assert metrics["accuracy"] == metrics["recall_accuracy"] == 1.0
    assert metrics["sequence_accuracy"] == 1.0
    assert metrics["loss"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["optimal_loss"] == 0.0
    assert metrics["tokens"] == 50 * 4  # only recall positions count, the last batch of 18 too


def test_chance_scores_log_2():
    task = CopyTask({"bits": 6, "delay": 2, "eval_sequences": 40}, seed=1)
    metrics = task.evaluate(Chance(), "test", batch_size=16)
    assert metrics["loss"] == pytest.approx(math.log(2), abs=1e-12)
    assert metrics["chance_loss"] == pytest.approx(math.log(2), abs=1e-15)
    assert metrics["bits_per_token"] == pytest.approx(1.0)
    # argmax of equal logits is bit 0: right exactly where the bit is 0
    zeros = sum(
        int((task.batch("test", i, 16).targets[-6:] == 0).sum())
        for i in range(task.num_batches("test", 16))
    )
    assert metrics["accuracy"] == pytest.approx(zeros / (40 * 6))


def test_training_draws_fresh_reproducible_sequences():
    task = CopyTask({}, seed=0)
    a, again = task.batch("train", 3, 8, epoch=2), task.batch("train", 3, 8, epoch=2)
    np.testing.assert_array_equal(a.inputs, again.inputs)
    assert not np.array_equal(a.inputs, task.batch("train", 3, 8, epoch=1).inputs)
    assert not np.array_equal(a.inputs, task.batch("train", 4, 8, epoch=2).inputs)
    assert not np.array_equal(a.inputs, CopyTask({}, seed=1).batch("train", 3, 8, epoch=2).inputs)
    assert task.num_batches("train", 8) == task.options["batches_per_epoch"]


@pytest.mark.parametrize("split", ["val", "test"])
def test_evaluation_sets_are_fixed_and_differ_from_each_other(split):
    task = CopyTask({"eval_sequences": 20}, seed=0)
    assert task.num_batches(split, 8) == 3
    sizes = [task.batch(split, i, 8).inputs.shape[1] for i in range(3)]
    assert sizes == [8, 8, 4]
    for i in range(3):
        np.testing.assert_array_equal(
            task.batch(split, i, 8, epoch=0).inputs, task.batch(split, i, 8, epoch=9).inputs
        )
    other = "test" if split == "val" else "val"
    assert not np.array_equal(task.batch(split, 0, 8).inputs, task.batch(other, 0, 8).inputs)


@pytest.mark.parametrize(
    ("options", "flag"),
    [({"bits": 0}, "--bits"), ({"delay": -1}, "--delay"), ({"eval_sequences": 0},
     "--eval-sequences"), ({"n_max": 5}, "--n-max")],
)  # fmt: skip
def test_bad_copy_options_name_their_flag(options, flag):
    with pytest.raises(InputError, match=flag):
        CopyTask(options)


@pytest.mark.slow
def test_the_lstm_recalls_every_bit_after_fifty_blank_steps(tmp_path):
    """The README's copy table at delay 50 with the task's defaults (3,000 steps)."""
    from rnnlab.train.options import build_from_settings
    from rnnlab.train.session import start_run

    task, spec, config = build_from_settings("copy", {"cell": "lstm", "delay": 50})
    trainer = start_run(task, spec, config, tmp_path / "lstm")
    assert task.evaluate(trainer.engine, "test")["recall_accuracy"] >= 0.99


@pytest.mark.parametrize(
    ("options", "message"),
    [({"bits": 2.0}, "--bits must be an integer, got 2.0"),
     ({"delay": True}, "--delay must be an integer, got True"),
     ({"delay": "5"}, "--delay must be an integer, got '5'"),
     ({"batches_per_epoch": None}, "--batches-per-epoch must be an integer, got None")],
)  # fmt: skip
def test_copy_options_of_the_wrong_type_name_their_flag(options, message):
    with pytest.raises(InputError, match=f"^{message}$"):
        CopyTask(options)


def test_the_options_are_checked_without_building_anything():
    assert CopyTask.check_options({"delay": 10**9}) == {**CopyTask.defaults, "delay": 10**9}


@pytest.mark.parametrize(
    ("delay", "forget_bias", "steps"),
    [(None, 3.0, 3000), (10, 3.0, 3000), (50, round(math.log(50) + 0.5, 2), 5000),
     (100, round(math.log(100) + 0.5, 2), 10000), (200, round(math.log(200) + 0.5, 2), 20000)],
)  # fmt: skip
def test_the_defaults_scale_with_the_delay(delay, forget_bias, steps):
    """b = ln D + 0.5 (at least 3): a cell remembers ~1 + e^b ≈ 1.6·D steps from the start."""
    settings = {} if delay is None else {"delay": delay}
    defaults = CopyTask.training_defaults(settings)
    assert defaults["forget_bias"] == forget_bias
    assert defaults["steps"] == steps
    assert 1 + math.exp(defaults["forget_bias"]) >= 1.5 * (delay or 10)
    assert {k: v for k, v in defaults.items() if k not in ("forget_bias", "steps")} == {
        k: v for k, v in CopyTask.train_defaults.items() if k not in ("forget_bias", "steps")
    }


def test_the_scaled_defaults_reach_a_run_and_a_flag_still_wins():
    from rnnlab.train.options import build_from_settings

    _, spec, config = build_from_settings("copy", {"cell": "lstm", "delay": 100})
    assert (spec.forget_bias, config.steps) == (round(math.log(100) + 0.5, 2), 10000)
    _, spec, config = build_from_settings(
        "copy", {"cell": "lstm", "delay": 100, "forget_bias": 1.0, "epochs": 2}
    )
    assert (spec.forget_bias, config.steps, config.epochs) == (1.0, None, 2)


def test_solved_means_every_validation_sequence_recalled():
    task = CopyTask({"delay": 2, "eval_sequences": 8})
    assert task.solved(task.evaluate(PerfectMemory(), "val"))
    assert not task.solved(task.evaluate(Chance(), "val"))
    assert not task.solved({"sequence_accuracy": 0.999})
