"""What every classification task shares (rnnlab.tasks.classification), shown on small
classify files: batches of shape (1, B) with lengths, each example once per epoch, a plan
fixed by (seed, epoch), a split fixed whatever the seed, the scores, the figure, the labels."""

import numpy as np
import pytest

from rnnlab.engine import EvalResult
from rnnlab.model import ModelSpec
from rnnlab.tasks import build_task
from rnnlab.tasks.classification import pad_examples

WORDS = ["good", "bad", "fine", "dull", "great", "awful", "nice", "grim"]


@pytest.fixture
def table(tmp_path):
    """200 rows: a label a/b/c and a text of 1 to 12 words, every text distinct."""
    rng = np.random.default_rng(0)
    lines = ["text,label"]
    for i in range(200):
        words = rng.choice(WORDS, size=1 + i % 12)
        lines.append(f"{' '.join(words)} n{i},{'abc'[i % 3]}")
    path = tmp_path / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def task(table, seed=0, **options):
    return build_task("classify", {"data": str(table), **options}, seed=seed)


class Oracle:
    """An engine that answers the class ``answer(target)`` with logit 5, the others 0."""

    def __init__(self, answer=lambda targets: targets, classes=3):
        self.answer, self.classes = answer, classes

    def evaluate(self, batch, state=None):
        chosen = self.answer(batch.targets[0])  # (B,)
        logits = 5.0 * np.eye(self.classes)[chosen][None]  # (1, B, K)
        log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        loss = -log_p[0, np.arange(len(chosen)), batch.targets[0]].mean()
        return EvalResult(float(loss), len(chosen), logits, None)


def test_a_batch_is_padded_ids_with_lengths_and_one_target_per_sequence():
    batch = pad_examples([np.array([4, 5, 6]), np.array([7])], np.array([2, 0]))
    np.testing.assert_array_equal(batch.inputs, [[4, 7], [5, 0], [6, 0]])
    np.testing.assert_array_equal(batch.lengths, [3, 1])
    np.testing.assert_array_equal(batch.targets, [[2, 0]])
    assert batch.mask.shape == (1, 2) and batch.mask.all()


@pytest.mark.parametrize("buckets", [1, 4])
def test_an_epoch_shows_every_training_example_once(table, buckets):
    t = task(table, buckets=buckets)
    seen = []
    for k in range(t.num_batches("train", 16)):
        batch = t.batch("train", k, 16, epoch=2)
        assert batch.inputs.shape[0] == batch.lengths.max()  # padded to its own longest
        for b, n in enumerate(batch.lengths):
            seen.append(tuple(batch.inputs[:n, b]))
    train = sorted(tuple(s) for s in t.splits["train"].ids)
    assert sorted(seen) == train


def test_batches_depend_on_seed_epoch_and_index_only_so_a_resume_sees_the_same(table):
    first = task(table, seed=3)
    for k in range(first.num_batches("train", 8)):
        first.batch("train", k, 8, epoch=0)  # a whole epoch before
    late = first.batch("train", 5, 8, epoch=4)
    fresh = task(table, seed=3).batch("train", 5, 8, epoch=4)  # straight there, as a resume
    np.testing.assert_array_equal(late.inputs, fresh.inputs)
    np.testing.assert_array_equal(late.targets, fresh.targets)
    other_epoch = first.batch("train", 5, 8, epoch=5)
    assert (
        other_epoch.inputs.shape != late.inputs.shape or (other_epoch.inputs != late.inputs).any()
    )


def test_the_seed_changes_the_batch_order_but_never_the_split(table):
    a, b = task(table, seed=0), task(table, seed=1)
    for split in ("train", "val", "test"):
        assert [s.tolist() for s in a.splits[split].ids] == [
            s.tolist() for s in b.splits[split].ids
        ]
    orders = [t.batches("train", 8, epoch=0) for t in (a, b)]
    assert any(not np.array_equal(x, y) for x, y in zip(*orders, strict=True))


def test_the_split_is_stratified_80_10_10(table):
    t = task(table)
    sizes = {split: np.bincount(t.splits[split].labels) for split in ("train", "val", "test")}
    assert [int(v.sum()) for v in sizes.values()] == [160, 20, 20]
    assert all(v.max() - v.min() <= 1 for v in (sizes["val"], sizes["test"]))


def test_bucketing_cuts_the_padding_of_training_batches(table):
    def padded_steps(t):
        batches = [t.batch("train", k, 16) for k in range(t.num_batches("train", 16))]
        return sum(b.inputs.size - b.lengths.sum() for b in batches)

    assert padded_steps(task(table, buckets=8)) < 0.5 * padded_steps(task(table, buckets=1))


def test_evaluation_scores_and_the_training_majority_baseline(table):
    t = task(table)
    perfect = t.evaluate(Oracle(), "test", batch_size=7)
    assert perfect["accuracy"] == perfect["macro_f1"] == 1.0
    assert perfect["examples"] == 20 and perfect["split"] == "test"
    assert "bits_per_token" not in perfect and "perplexity" not in perfect  # no tokens here
    assert {f"recall:{name}" for name in "abc"} <= perfect.keys()
    majority = t.majority_class()
    assert majority == int(np.bincount(t.splits["train"].labels).argmax())
    always = t.evaluate(Oracle(lambda y: np.full_like(y, majority)), "test")
    share = np.mean(t.splits["test"].labels == majority)
    assert always["accuracy"] == pytest.approx(share) == pytest.approx(always["majority_baseline"])
    assert always[f"recall:{t.label_names[majority]}"] == 1.0


def test_the_confusion_figure_is_drawn(table, tmp_path):
    plots = pytest.importorskip("rnnlab.plots")
    t = task(table)
    draw = t.figures()["confusion.png"]
    path = draw(plots, tmp_path / "confusion.png", Oracle())
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_the_run_records_the_class_names_in_id_order(table):
    described = task(table).describe()
    assert described["labels"] == ["a", "b", "c"]
    assert set(described["options"]) >= {"buckets", "fold", "num_folds"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"buckets": 0}, "--buckets must be a positive integer"),
        ({"num_folds": 2}, "--num-folds must be at least 3"),
        ({"fold": 5, "num_folds": 5}, r"--fold must be in \[0, 5\)"),
    ],
)
def test_bad_split_settings_are_refused_before_reading(table, options, message):
    with pytest.raises(ValueError, match=message):
        task(table.parent / "not-read.csv", **options)


def test_a_model_that_answers_at_every_step_is_refused(table):
    t = task(table)
    io = t.model_io()
    t.check_spec(ModelSpec(io.input_size, io.output_size, readout="mean"))
    with pytest.raises(ValueError, match="needs a readout that gives one vector per sequence"):
        t.check_spec(ModelSpec(io.input_size, io.output_size, readout="per_step"))
