"""Corpus: the default text, reading files (and every bad file), stream splits and batches."""

import errno
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.corpus import StreamBatches, default_corpus, read_text, split_stream
from rnnlab.errors import DataError

# ---------------------------------------------------------------- default corpus


def test_default_corpus_is_every_pydoc_topic_in_sorted_key_order():
    from pydoc_data.topics import topics

    corpus = default_corpus()
    assert corpus == default_corpus() and len(corpus) > 100_000
    cursor = 0
    for key in sorted(topics):  # each topic follows the previous one after a newline
        assert corpus.startswith(topics[key], cursor), key
        cursor += len(topics[key]) + 1
    assert cursor == len(corpus) + 1


# ---------------------------------------------------------------- read_text


def write(tmp_path, content: bytes):
    path = tmp_path / "data.txt"
    path.write_bytes(content)
    return path


def test_read_text_decodes_utf8_and_normalizes_line_endings(tmp_path):
    text = "héllo wörld €\n"
    assert read_text(write(tmp_path, text.encode()), "char") == text
    assert read_text(write(tmp_path, b"a\r\nb\rc\n"), "word") == "a\nb\nc\n"
    assert read_text(write(tmp_path, b"\xef\xbb\xbfhi"), "char") == "hi"  # BOM dropped


def test_read_text_byte_level_returns_the_raw_bytes(tmp_path):
    raw = b"\x00\xff\r\n\xef\xbb\xbfabc"
    assert read_text(write(tmp_path, raw), "byte") == raw


@pytest.mark.parametrize(
    ("content", "level", "match"),
    [
        (None, "char", "does not exist"),
        ("dir", "char", "is a directory"),
        (b"", "byte", "is empty"),
        (b"\xef\xbb\xbf", "char", "is empty"),
        (b"ab\x00cd", "char", r"looks binary \(NUL byte at offset 2\); use --level byte"),
        (b"abc\xffdef", "word", r"not valid UTF-8 \(byte 0xff at offset 3\); use --level byte"),
        (b"ab\xc3", "char", r"byte 0xc3 at offset 2"),  # truncated 2-byte character
        (b"\xef\xbb\xbfab\xfe", "char", r"byte 0xfe at offset 5"),  # offset counts the BOM
    ],
)
def test_read_text_bad_files_raise_one_line_data_error(tmp_path, content, level, match):
    path = tmp_path / "data.txt"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=match) as err:
        read_text(path, level)
    assert f"'{path}'" in str(err.value) and "\n" not in str(err.value)


def read_error(path) -> str:
    with pytest.raises(DataError) as err:
        read_text(path, "char")
    message = str(err.value)
    assert f"data file '{path}'" in message and "\n" not in message
    return message


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and FIFOs")
def test_a_directory_a_link_loop_a_broken_link_and_a_missing_file_each_say_what_they_are(
    tmp_path,
):
    (tmp_path / "folder").mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")  # resolves to itself: ELOOP
    (tmp_path / "broken").symlink_to(tmp_path / "gone.txt")
    messages = {
        name: read_error(tmp_path / name) for name in ("folder", "loop", "broken", "missing")
    }
    assert "is a directory; pass a text file" in messages["folder"]
    assert "Too many levels of symbolic links" in messages["loop"]
    assert "is a symbolic link loop" in messages["loop"]
    assert f"symbolic link to '{tmp_path / 'gone.txt'}', which does not exist" in messages["broken"]
    assert messages["missing"].endswith("does not exist; check the path given to --data")
    assert not any("permission" in m for m in messages.values()), messages


def test_a_path_through_a_file_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("abc")
    message = read_error(tmp_path / "notes.txt" / "data.txt")
    assert "Not a directory" in message and "a part of that path is a file" in message


def test_an_unreadable_file_points_to_its_permissions(tmp_path, monkeypatch):
    path = write(tmp_path, b"abc")

    def refused(self):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "read_bytes", refused)  # root reads a chmod 000 file anyway
    message = read_error(path)
    assert "cannot be read (Permission denied); check the permissions" in message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_fifo_is_read_like_a_file_so_a_pipe_can_feed_training(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b"streamed text\n"))
    writer.start()
    try:
        assert read_text(fifo, "char") == "streamed text\n"
    finally:
        writer.join(timeout=10)


def test_read_text_rejects_unknown_levels(tmp_path):
    with pytest.raises(ValueError, match="level"):
        read_text(write(tmp_path, b"abc"), "token")


# ---------------------------------------------------------------- split_stream


@pytest.mark.parametrize(("n", "fraction", "n_val"), [(10, 0.1, 1), (25, 0.1, 2), (7, 0.0, 0)])
def test_split_stream_takes_the_tail_for_validation(n, fraction, n_val):
    ids = np.arange(n) * 3
    train, val = split_stream(ids, fraction)
    np.testing.assert_array_equal(train, ids[: n - n_val])
    np.testing.assert_array_equal(val, ids[n - n_val :])


def test_split_stream_rejects_bad_fractions():
    with pytest.raises(ValueError, match="val_fraction"):
        split_stream(np.arange(10), 1.0)


# ---------------------------------------------------------------- StreamBatches


def reference_rows(ids, B):
    """Row b of the epoch, input and target at step s, by walking positions one at a time."""
    L = (len(ids) - 1) // B
    inputs = np.empty((L, B), dtype=np.int64)
    targets = np.empty((L, B), dtype=np.int64)
    for b in range(B):
        for s in range(L):
            inputs[s, b] = ids[b * L + s]
            targets[s, b] = ids[b * L + s + 1]
    return inputs, targets


@settings(max_examples=80, deadline=None)
@given(
    ids=st.lists(st.integers(0, 50), min_size=1, max_size=150),
    B=st.integers(1, 6),
    T=st.integers(1, 9),
)
def test_stream_batches_are_contiguous_rows_cut_into_bptt_windows(ids, B, T):
    ids = np.array(ids)
    if len(ids) < B * T + 1:
        with pytest.raises(DataError, match=rf"text of {len(ids)} tokens .* = {B * T + 1}\)"):
            StreamBatches(ids, B, T)
        return
    stream = StreamBatches(ids, B, T)
    batches = list(stream)
    ref_inputs, ref_targets = reference_rows(ids, B)
    L = len(ref_inputs)
    assert len(batches) == stream.num_batches == len(stream) == -(-L // T)
    assert stream.num_tokens == B * L
    assert [x.shape for x, _ in batches[:-1]] == [(T, B)] * (len(batches) - 1)
    assert batches[-1][0].shape == (L - T * (len(batches) - 1), B)  # kept, maybe shorter
    inputs = np.concatenate([x for x, _ in batches])  # (L, B)
    targets = np.concatenate([y for _, y in batches])  # (L, B)
    assert inputs.dtype == targets.dtype == np.int64
    np.testing.assert_array_equal(inputs, ref_inputs)
    np.testing.assert_array_equal(targets, ref_targets)
    for k in range(len(batches) - 1):  # row b of batch k+1 continues row b of batch k
        np.testing.assert_array_equal(batches[k + 1][0][0], batches[k][1][-1])


def test_stream_batches_on_a_counting_stream():
    # ids 0..22, B=2, T=4: L = 11, rows start at 0 and 11; batches of 4, 4 and 3 steps
    stream = StreamBatches(np.arange(23), batch_size=2, seq_len=4)
    x, y = stream.batch(2)
    np.testing.assert_array_equal(x, [[8, 19], [9, 20], [10, 21]])
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(stream.batch(0)[0][:, 1], [11, 12, 13, 14])


def test_stream_batches_return_fresh_arrays():
    ids = np.arange(30)
    stream = StreamBatches(ids, 2, 5)
    x, _ = stream.batch(0)
    x[:] = -1
    ids[:] = -1
    np.testing.assert_array_equal(stream.batch(0)[0][:, 0], [0, 1, 2, 3, 4])
    with pytest.raises(IndexError):
        stream.batch(stream.num_batches)


def test_stream_shorter_than_one_batch_names_sizes_and_flags():
    with pytest.raises(DataError) as err:
        StreamBatches(np.arange(40), batch_size=4, seq_len=10)
    assert str(err.value) == (
        "text of 40 tokens is shorter than one batch (batch_size*seq_len+1 = 41); "
        "use a smaller --batch-size/--seq-len or a longer file"
    )
