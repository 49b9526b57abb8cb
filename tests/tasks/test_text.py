"""Text tasks (chars, words, bytes): contiguous streams, splits by position, the vocabulary."""

import numpy as np
import pytest

from rnnlab.data.vocab import Vocab
from rnnlab.engine import EvalResult
from rnnlab.errors import DataError, InputError
from rnnlab.tasks import Bytes, Chars, Words

TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(40))


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_splits_are_by_position_90_5_5(text_file):
    task = Chars({"data": str(text_file)})
    ids = task.vocab.encode(TEXT)
    n = len(ids)
    assert n == len(TEXT)
    np.testing.assert_array_equal(task.ids["train"], ids[: int(0.9 * n)])
    np.testing.assert_array_equal(task.ids["val"], ids[int(0.9 * n) : int(0.95 * n)])
    np.testing.assert_array_equal(task.ids["test"], ids[int(0.95 * n) :])
    assert task.vocab.decode(task.ids["test"]) == TEXT[int(0.95 * n) :]


def test_rows_continue_from_one_batch_to_the_next(text_file):
    B, T = 4, 7
    task = Chars({"data": str(text_file), "seq_len": T})
    train = task.ids["train"]
    batches = [task.batch("train", k, B) for k in range(task.num_batches("train", B))]
    assert all(b.mask.all() and b.lengths is None for b in batches)
    assert all(b.inputs.shape[0] == T for b in batches[:-1])
    inputs = np.concatenate([b.inputs for b in batches])  # (L, B)
    targets = np.concatenate([b.targets for b in batches])  # (L, B)
    L = (len(train) - 1) // B
    assert inputs.shape == (L, B)
    for row in range(B):  # row b reads one contiguous stretch; targets are one step ahead
        np.testing.assert_array_equal(inputs[:, row], train[row * L : (row + 1) * L])
        np.testing.assert_array_equal(targets[:, row], train[row * L + 1 : (row + 1) * L + 1])
    for k in range(len(batches) - 1):  # the next batch starts where the last one's targets end
        np.testing.assert_array_equal(batches[k + 1].inputs[0], batches[k].targets[-1])
    assert task.stateful


def test_the_same_batch_index_gives_the_same_batch_in_every_epoch(text_file):
    task = Chars({"data": str(text_file), "seq_len": 5})
    for split in ("train", "val"):
        a, b = task.batch(split, 1, 2, epoch=0), task.batch(split, 1, 2, epoch=3)
        np.testing.assert_array_equal(a.inputs, b.inputs)
        np.testing.assert_array_equal(a.targets, b.targets)


def test_a_vocabulary_passed_in_wins(text_file):
    built = Chars({"data": str(text_file)}).vocab
    saved = Vocab([*Vocab.SPECIALS, "#", *reversed(built.tokens[3:])], level="char")
    saved = Vocab([t for t in saved.tokens if t != "z"], level="char")  # 'z' unseen: <unk>
    task = Chars({"data": str(text_file)}, vocab=saved)
    assert task.vocab is saved
    assert task.model_io().input_size == task.model_io().output_size == len(saved)
    ids = np.concatenate([task.ids[s] for s in ("train", "val", "test")])
    np.testing.assert_array_equal(ids, saved.encode(TEXT))
    assert (ids == Vocab.UNK_ID).sum() == TEXT.count("z")


def test_stateful_evaluation_carries_the_state_across_batches(text_file):
    task = Chars({"data": str(text_file), "seq_len": 6})

    class Recorder:  # returns the number of batches seen as its state
        def __init__(self):
            self.states = []

        def evaluate(self, batch, state=None):
            self.states.append(state)
            logits = np.zeros((*batch.inputs.shape, len(task.vocab)))  # (T, B, V)
            count = batch.num_targets
            return EvalResult(float(np.log(len(task.vocab))), count, logits, len(self.states))

    recorder = Recorder()
    metrics = task.evaluate(recorder, "val", batch_size=2)
    assert recorder.states == [None, *range(1, len(recorder.states))]
    assert metrics["loss"] == pytest.approx(np.log(len(task.vocab)))
    assert metrics["perplexity"] == pytest.approx(len(task.vocab))


def test_text_shorter_than_one_batch_names_the_split_and_the_sizes(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("hello world, hello rnn\n", encoding="utf-8")  # 23 chars, 20 in train
    task = Chars({"data": str(path), "seq_len": 25})
    with pytest.raises(DataError, match=r"train split of .*short\.txt.* 20 tokens .* 801"):
        task.num_batches("train", 32)


def test_a_validation_split_too_short_for_one_sequence_names_the_split(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text("abcdefghij" * 10, encoding="utf-8")  # 100 chars: val and test hold 5
    task = Chars({"data": str(path), "seq_len": 8})
    assert task.num_batches("train", 2) > 0
    with pytest.raises(DataError, match=r"val split of .*small\.txt.* 5 tokens"):
        task.num_batches("val", 2)


def test_non_utf8_text_suggests_the_byte_level_which_reads_it(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait, crème brûlée. ".encode("latin-1") * 20)
    with pytest.raises(DataError, match="--level byte"):
        Chars({"data": str(path)})
    task = Bytes({"data": str(path)})
    assert len(task.vocab) == 3 + 256
    assert bytes((task.ids["train"][:4] - 3).tolist()) == b"caf\xe9"  # byte b has id b + 3


def test_word_level_keeps_the_top_k_words(text_file):
    task = Words({"data": str(text_file), "top_k": 5})
    assert len(task.vocab) == 3 + 5
    assert "the" in task.vocab and "line" in task.vocab
    assert (task.ids["train"] == Vocab.UNK_ID).any()


def test_without_data_the_embedded_corpus_is_used():
    task = Chars({"seq_len": 10})
    assert "pydoc_data" in task.source
    assert sum(len(task.ids[s]) for s in ("train", "val", "test")) > 100_000


@pytest.mark.parametrize(
    ("options", "flag"),
    [({"seq_len": 0}, "--seq-len"), ({"bits": 8}, "--bits"), ({"n_max": 3}, "--n-max")],
)
def test_bad_text_options_name_their_flag(text_file, options, flag):
    with pytest.raises(InputError, match=flag):
        Chars({"data": str(text_file), **options})


@pytest.mark.parametrize(
    ("options", "message"),
    [({"data": 5}, r"--data must be a string \(or omitted\), got 5"),
     ({"top_k": True}, r"--top-k must be an integer \(or omitted\), got True"),
     ({"seq_len": 2.0}, "--seq-len must be an integer, got 2.0")],
)  # fmt: skip
def test_text_options_of_the_wrong_type_name_their_flag(options, message):
    with pytest.raises(InputError, match=f"^{message}$"):
        Chars(options)
