"""Text corpora: the embedded default text, reading files, and stateful stream batches.

For a language model the corpus is one long stream of ids. :class:`StreamBatches` cuts it
into ``B`` contiguous rows so that row ``b`` of batch ``k + 1`` continues exactly where row
``b`` of batch ``k`` ended: the hidden state can be carried from batch to batch (truncated
BPTT), and the model sees every position once per epoch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from rnnlab.errors import DataError, os_error_advice

_LEVELS = ("char", "word", "byte")
_BOM = b"\xef\xbb\xbf"


def default_corpus() -> str:
    """The built-in text for character models, no download needed (~465 kB of English).

    CPython's reference documentation of statements, operators and built-in types
    (``pydoc_data.topics.topics``), its entries joined by newlines in sorted-key order.
    It is deterministic for a given Python version (the text changes between versions).
    """
    from pydoc_data.topics import topics

    return "\n".join(topics[key] for key in sorted(topics))


def read_text(path: str | os.PathLike[str], level: str) -> str | bytes:
    """Read a data file: ``bytes`` at byte level, else UTF-8 text as ``str``.

    Text is decoded strictly (a leading byte-order mark is dropped) and line endings
    ``\\r\\n`` and ``\\r`` become ``\\n``, as Python's text mode does. Raises :class:`DataError`
    with one line for a missing file, a broken or looping symbolic link, a directory, a file
    that cannot be read (the reason and the remedy by errno), an empty file, and — for char
    and word level — NUL bytes (binary content) or bytes that are not UTF-8.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}; got {level!r}")
    where = f"data file '{path}'"
    try:
        data = Path(path).read_bytes()  # a FIFO or /dev/stdin is read too: training from a pipe
    except OSError as err:
        raise DataError(f"{where} {_why_unreadable(path, err)}") from None
    if not data:
        raise DataError(f"{where} is empty; pass a file with some text in it")
    if level == "byte":
        return data
    offset = data.find(b"\x00")
    if offset >= 0:
        raise DataError(
            f"{where} looks binary (NUL byte at offset {offset}); "
            "use --level byte to train on raw bytes"
        )
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = skip + err.start
        raise DataError(
            f"{where} is not valid UTF-8 (byte 0x{data[offset]:02x} at offset {offset}); "
            "use --level byte to train on raw bytes, or convert the file to UTF-8"
        ) from None
    if not text:
        raise DataError(f"{where} is empty; pass a file with some text in it")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _why_unreadable(path: str | os.PathLike[str], err: OSError) -> str:
    """Why a data file could not be read, and what to do, for each errno."""
    if isinstance(err, FileNotFoundError):
        if os.path.islink(path):
            return (
                f"is a symbolic link to '{os.readlink(path)}', which does not exist; "
                "point --data at a real file"
            )
        return "does not exist; check the path given to --data"
    if isinstance(err, IsADirectoryError):
        return "is a directory; pass a text file to --data"
    advice = os_error_advice(err) or "check the path given to --data"
    return f"cannot be read ({err.strerror or err}); {advice}"


def split_stream(ids: ArrayLike, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Split a stream by position: ``(ids[:n - m], ids[n - m:])`` with ``m = floor(n * f)``.

    The tail is the validation stream, so validation text was never seen in training.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"split_stream expected a 1-D id stream, got shape {ids.shape}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    cut = len(ids) - math.floor(len(ids) * val_fraction)
    return ids[:cut], ids[cut:]


class StreamBatches:
    """Contiguous (stateful) batches of a 1-D id stream for truncated BPTT.

    With ``n`` ids, row length ``L = (n - 1) // B``: row ``b`` reads ``ids[b*L : (b+1)*L]``
    and predicts ``ids[b*L + 1 : (b+1)*L + 1]``; the remaining ids are dropped. Batch ``k``
    holds steps ``k*T .. min((k+1)*T, L) - 1`` of every row, so the last batch of an epoch is
    shorter than ``T`` when ``T`` does not divide ``L``; it is kept, so every position is
    trained on. ``num_batches = ceil(L / T)``.

    Args:
        ids: (n,) integer token ids.
        batch_size: ``B``, the number of rows (independent streams, one hidden state each).
        seq_len: ``T``, the number of steps per batch (the BPTT truncation length).
    """

    def __init__(self, ids: ArrayLike, batch_size: int, seq_len: int) -> None:
        ids = np.asarray(ids)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(f"StreamBatches expected a 1-D integer id stream, got {ids.shape}")
        if batch_size < 1 or seq_len < 1:
            raise ValueError(f"batch_size and seq_len must be >= 1, got {batch_size}, {seq_len}")
        needed = batch_size * seq_len + 1
        if len(ids) < needed:
            raise DataError(
                f"text of {len(ids)} tokens is shorter than one batch "
                f"(batch_size*seq_len+1 = {needed}); "
                "use a smaller --batch-size/--seq-len or a longer file"
            )
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.row_length = (len(ids) - 1) // batch_size  # L
        used = batch_size * self.row_length
        self._inputs = ids[:used].astype(np.int64).reshape(batch_size, -1)  # (B, L)
        self._targets = ids[1 : used + 1].astype(np.int64).reshape(batch_size, -1)  # (B, L)

    @property
    def num_batches(self) -> int:
        """Batches per epoch, ``ceil(L / T)``."""
        return -(-self.row_length // self.seq_len)

    @property
    def num_tokens(self) -> int:
        """Targets per epoch, ``B * L``."""
        return self.batch_size * self.row_length

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``k`` as ``(inputs, targets)``, each (T_k, B) int64, fresh arrays."""
        if not 0 <= k < self.num_batches:
            raise IndexError(f"batch index {k} out of range for {self.num_batches} batches")
        steps = slice(k * self.seq_len, (k + 1) * self.seq_len)
        inputs = np.ascontiguousarray(self._inputs[:, steps].T)  # (T_k, B)
        targets = np.ascontiguousarray(self._targets[:, steps].T)  # (T_k, B)
        return inputs, targets

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches of one epoch in order (``batch(0)``, ``batch(1)``, ...)."""
        return (self.batch(k) for k in range(self.num_batches))
