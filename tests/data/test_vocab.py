"""Vocab: fixed specials, frequency ranking and top-k, round trips at every level, files."""

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from rnnlab.data.vocab import Vocab
from rnnlab.errors import DataError

SPECIALS = ["<pad>", "<unk>", "<eos>"]
FAST = settings(max_examples=60, deadline=None)

# Text that exercises the word tokenizer: words, apostrophes, punctuation, newlines, unicode.
word_text = st.text(alphabet=st.sampled_from(list("ab zé_1'.,!?()[]{}%-\n\t\r\u0301")), max_size=60)
word_text |= st.text(max_size=60)


def ranked_by_hand(tokens):
    """Distinct tokens by descending count, ties by first position: an independent reference."""
    first, count = {}, {}
    for i, token in enumerate(tokens):
        first.setdefault(token, i)
        count[token] = count.get(token, 0) + 1
    return sorted(count, key=lambda t: (-count[t], first[t]))


# ---------------------------------------------------------------- building


@pytest.mark.parametrize(
    ("data", "level"),
    [("hello", "char"), ("hello world", "word"), (b"\x00", "byte"), ([["x", "y"]], "token")],
)
def test_specials_have_ids_0_1_2_at_every_level(data, level):
    vocab = Vocab.build(data, level)
    assert vocab.tokens[:3] == SPECIALS
    assert [vocab.index(t) for t in SPECIALS] == [0, 1, 2]
    assert (Vocab.PAD_ID, Vocab.UNK_ID, Vocab.EOS_ID) == (0, 1, 2)


def test_char_tokens_are_ranked_by_frequency_then_first_appearance():
    # a:5, b:2, r:2 (b seen first), c:1, d:1 (c seen first)
    vocab = Vocab.build("abracadabra", "char")
    assert vocab.tokens == [*SPECIALS, "a", "b", "r", "c", "d"]
    np.testing.assert_array_equal(vocab.encode("cab"), [6, 3, 4])


def test_top_k_maps_the_rest_to_unk_and_breaks_ties_by_first_appearance():
    vocab = Vocab.build("abracadabra", "char", top_k=2)
    assert vocab.tokens == [*SPECIALS, "a", "b"]  # r ties with b but appears later
    np.testing.assert_array_equal(vocab.encode("bard"), [4, 3, 1, 1])
    assert Vocab.build("zyx", "char", top_k=2).tokens == [*SPECIALS, "z", "y"]


@FAST
@given(text=st.text(alphabet="abcdefg", min_size=1, max_size=60), k=st.integers(1, 9))
def test_top_k_keeps_exactly_the_k_most_frequent(text, k):
    vocab = Vocab.build(text, "char", top_k=k)
    expected = ranked_by_hand(list(text))[:k]
    assert vocab.tokens == [*SPECIALS, *expected]
    kept = {c: text.count(c) for c in expected}
    dropped = {c: text.count(c) for c in set(text) - set(expected)}
    assert not dropped or min(kept.values()) >= max(dropped.values())
    assert Vocab.build(text, "char").tokens[: 3 + k] == vocab.tokens  # a prefix of the ranking


def test_token_level_keeps_eos_at_its_fixed_id():
    vocab = Vocab.build([["a", "a", "b", "b", "<eos>"], ["a", "b", "<eos>"]], "token")
    assert vocab.tokens == [*SPECIALS, "a", "b"]
    np.testing.assert_array_equal(vocab.encode(["a", "b", "<eos>"]), [3, 4, 2])
    np.testing.assert_array_equal(vocab.encode("a b <eos>"), [3, 4, 2])  # str: whitespace split
    assert vocab.decode([3, 4, 2, 0]) == "a b <eos>"


def test_byte_level_holds_all_256_bytes_and_ignores_top_k():
    vocab = Vocab.build(b"aaa", "byte", top_k=1)
    assert len(vocab) == 259
    assert vocab.tokens[3:] == [chr(b) for b in range(256)]
    np.testing.assert_array_equal(vocab.encode(b"\x00A\xff"), [3, 3 + 65, 3 + 255])


@pytest.mark.parametrize(("data", "level"), [("", "char"), (" \t ", "word"), ([], "token")])
def test_empty_data_raises_data_error(data, level):
    with pytest.raises(DataError, match="empty"):
        Vocab.build(data, level)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="level"):
        Vocab.build("abc", "sentence")
    with pytest.raises(ValueError, match="top_k"):
        Vocab.build("abc", "char", top_k=0)
    with pytest.raises(ValueError, match="on_unknown"):
        Vocab.build("abc", "char").encode("a", on_unknown="skip")
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        Vocab.build("abc", "char").decode([6])


# ---------------------------------------------------------------- encode / decode


@FAST
@given(data=st.data())
def test_char_decode_encode_round_trips_text_from_the_vocab(data):
    corpus = data.draw(st.text(min_size=1, max_size=50), label="corpus")
    vocab = Vocab.build(corpus, "char")
    text = data.draw(st.text(alphabet=sorted(set(corpus)), max_size=50), label="text")
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text


def test_decode_drops_pad_and_shows_eos_and_unk():
    vocab = Vocab.build("ab", "char")
    assert vocab.decode([3, 0, 4, 2, 0, 1]) == "ab<eos><unk>"


def test_word_tokenizer_keeps_punctuation_newlines_and_contractions():
    text = "Hello, world!\nIt's 42 (yes).\n\n"
    vocab = Vocab.build(text, "word")
    tokens = ["Hello", ",", "world", "!", "\n", "It's", "42", "(", "yes", ")", ".", "\n", "\n"]
    assert vocab.tokenize(text) == tokens
    assert vocab.decode(vocab.encode(text)) == text


@FAST
@given(text=word_text)
@example(text="it 's a 'quote' (x) 50 % .\n\n,")
def test_word_decode_re_tokenizes_to_the_same_tokens(text):
    vocab = Vocab.build(text + " x", "word")
    decoded = vocab.decode(vocab.encode(text))
    assert vocab.tokenize(decoded) == vocab.tokenize(text)


@FAST
@given(text=st.text(max_size=60))
def test_byte_level_round_trips_any_valid_utf8(text):
    vocab = Vocab.build(b"", "byte")
    data = text.encode("utf-8")
    ids = vocab.encode(data)
    np.testing.assert_array_equal(ids, np.frombuffer(data, dtype=np.uint8).astype(np.int64) + 3)
    np.testing.assert_array_equal(vocab.encode(text), ids)  # a str is encoded as UTF-8 first
    assert vocab.decode(ids) == text


def test_byte_level_decode_replaces_invalid_utf8_and_keeps_specials():
    vocab = Vocab.build(b"", "byte")
    assert vocab.decode([3 + 0xFF, 2, 3 + ord("A")]) == "\ufffd<eos>A"


def test_unknown_tokens_are_unk_or_an_error_that_names_them():
    vocab = Vocab.build("abc", "char")
    np.testing.assert_array_equal(vocab.encode("axbyx"), [3, 1, 4, 1, 1])
    assert vocab.unknown_tokens("axbyx") == ["x", "y"]
    with pytest.raises(DataError) as err:
        vocab.encode("axbyx", on_unknown="error")
    message = str(err.value)
    assert "'x', 'y'" in message and "\n" not in message


def test_index_and_contains():
    vocab = Vocab.build("ba", "char")
    assert vocab.index("b") == 3 and "a" in vocab and "z" not in vocab
    with pytest.raises(KeyError):
        vocab.index("z")


# ---------------------------------------------------------------- serialization


vocab_inputs = st.one_of(
    st.tuples(st.text(min_size=1, max_size=40), st.sampled_from(["char", "word"])),
    st.tuples(st.lists(st.lists(st.text(max_size=5), min_size=1), min_size=1), st.just("token")),
    st.tuples(st.binary(max_size=5), st.just("byte")),
)


def _vocab_or_none(data, level):
    try:
        return Vocab.build(data, level)
    except DataError:
        return None


@FAST
@given(source=vocab_inputs)
def test_to_dict_from_dict_and_save_load_round_trip_exactly(source):
    vocab = _vocab_or_none(*source)
    assume(vocab is not None)
    d = json.loads(json.dumps(vocab.to_dict()))  # through JSON text
    assert Vocab.from_dict(d) == vocab
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab.json"
        vocab.save(path)
        loaded = Vocab.load(path)
        assert list(Path(tmp).iterdir()) == [path]  # no temp file left behind
    assert loaded == vocab and loaded.tokens == vocab.tokens and loaded.level == vocab.level


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "does not exist"),
        ("dir", "is a directory"),
        ('{"format": "rnnlab.vocab", "tok', "not valid JSON"),
        ('{"tokens": ["a"]}', "not an rnnlab vocabulary"),
        ('{"format": "rnnlab.vocab", "version": 1, "level": "char", "tokens": ["a"]}', "starts"),
        ('{"format": "rnnlab.vocab", "version": 1, "level": "x", "tokens": []}', "level"),
        (b"\xff\xfe", "cannot be read"),
    ],
)
def test_load_raises_one_line_data_error_naming_the_file(tmp_path, content, match):
    path = tmp_path / "vocab.json"
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=match) as err:
        Vocab.load(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
