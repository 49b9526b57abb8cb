"""A vocabulary: tokens <-> integer ids, at the char, word, byte or token level.

Ids 0, 1, 2 are always ``<pad>``, ``<unk>``, ``<eos>``; the data's tokens follow, ranked by
frequency (most frequent first, ties broken by first appearance), so ``top_k`` keeps a prefix
of the ranking and every other token encodes as ``<unk>``.

Levels:

- ``"char"``:  a token per Unicode character of a ``str``.
- ``"word"``:  the regex :data:`WORD_PATTERN` splits a ``str`` into words (letters, digits,
  ``_`` and inner apostrophes as in ``it's``), single punctuation characters and newlines;
  other whitespace separates tokens and is dropped. :meth:`Vocab.decode` puts one space between
  tokens, none around a newline, none before ``.,;:!?)]}%`` and none after ``([{``, so that
  tokenizing the decoded text gives back the same tokens.
- ``"byte"``:  all 256 byte values, always (``top_k`` is ignored). Byte ``b`` is stored as the
  one-character string ``chr(b)`` (its latin-1 character) and has id ``b + 3``.
- ``"token"``: the data is a list of token lists (e.g. ``["a", "a", "b", "b", "<eos>"]``);
  a ``str`` is split on whitespace.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.errors import DataError

LEVELS = ("char", "word", "byte", "token")
WORD_PATTERN = re.compile(r"\w+(?:'\w+)*|\n|[^\w\s]")
_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%\n")
_NO_SPACE_AFTER = frozenset("([{\n")
_FORMAT = "rnnlab.vocab"
_VERSION = 1


class Vocab:
    """A fixed mapping between tokens and ids ``0 .. len(vocab) - 1``.

    Attributes:
        tokens: id -> token; ``tokens[:3] == ["<pad>", "<unk>", "<eos>"]``.
        level: ``"char"``, ``"word"``, ``"byte"`` or ``"token"`` (see the module docstring).
    """

    PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
    PAD_ID, UNK_ID, EOS_ID = 0, 1, 2
    SPECIALS = (PAD, UNK, EOS)

    def __init__(self, tokens: Sequence[str], level: str) -> None:
        _check_level(level)
        tokens = list(tokens)
        if tuple(tokens[:3]) != self.SPECIALS:
            raise ValueError(f"a vocabulary starts with {list(self.SPECIALS)}, got {tokens[:3]}")
        if level == "byte" and tokens[3:] != _BYTE_TOKENS:
            raise ValueError("a byte-level vocabulary holds exactly the 256 byte values in order")
        self.tokens = tokens
        self.level = level
        self._ids = {token: i for i, token in enumerate(tokens)}
        if len(self._ids) != len(tokens):
            repeated = [t for t, n in Counter(tokens).items() if n > 1]
            raise ValueError(f"a vocabulary lists each token once, got repeats {repeated[:10]}")

    @classmethod
    def build(
        cls, data: str | bytes | Sequence[Sequence[str]], level: str, top_k: int | None = None
    ) -> Vocab:
        """Build the vocabulary of ``data``, keeping its ``top_k`` most frequent tokens.

        Args:
            data: a ``str`` (char, word level), ``bytes`` (byte level) or a list of token lists
                (token level). Special tokens found in the data keep their fixed ids.
            level: ``"char"``, ``"word"``, ``"byte"`` or ``"token"``.
            top_k: keep this many tokens besides the three specials (all when ``None``);
                ignored at byte level, which always holds all 256 bytes.
        """
        _check_level(level)
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be a positive number of tokens or None, got {top_k}")
        if level == "byte":
            return cls([*cls.SPECIALS, *_BYTE_TOKENS], level)
        if level == "token" and not isinstance(data, str):
            tokens = [token for seq in data for token in seq]
        else:
            tokens = _tokenize(data, level)  # type: ignore[arg-type]
        if not tokens:
            raise DataError(f"cannot build a {level}-level vocabulary from empty data; pass text")
        counts = Counter(t for t in tokens if t not in cls.SPECIALS)  # keys in first-seen order
        ranked = [token for token, _ in counts.most_common(top_k)]  # stable: ties by first seen
        return cls([*cls.SPECIALS, *ranked], level)

    def tokenize(self, text: str | bytes | Sequence[str]) -> list[str]:
        """Split ``text`` into this level's tokens (a list of tokens is returned as a copy)."""
        if isinstance(text, str | bytes | bytearray):
            return _tokenize(text, self.level)
        return list(text)

    def encode(
        self, text_or_tokens: str | bytes | Sequence[str], on_unknown: str = "unk"
    ) -> np.ndarray:
        """Map text (or a list of tokens) to ids, shape ``(N,)`` int64.

        Args:
            on_unknown: ``"unk"`` maps unseen tokens to ``<unk>``; ``"error"`` raises
                :class:`DataError` naming them.
        """
        if on_unknown not in ("unk", "error"):
            raise ValueError(f"on_unknown must be 'unk' or 'error', got {on_unknown!r}")
        if self.level == "byte" and isinstance(text_or_tokens, bytes | bytearray):
            return np.frombuffer(text_or_tokens, dtype=np.uint8).astype(np.int64) + 3  # (N,)
        tokens = self.tokenize(text_or_tokens)
        if on_unknown == "error":
            unknown = self._unknown(tokens)
            if unknown:
                shown = ", ".join(repr(t) for t in unknown[:10])
                more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
                raise DataError(
                    f"{len(unknown)} {self.level}-level token(s) not in the vocabulary of "
                    f"{len(self)}: {shown}{more}; remove them or build the vocabulary from "
                    "data that contains them"
                )
        get, unk = self._ids.get, self.UNK_ID
        return np.fromiter((get(t, unk) for t in tokens), dtype=np.int64, count=len(tokens))

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """Turn ids back into text: ``<pad>`` is dropped, ``<eos>`` and ``<unk>`` are shown."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)  # (N,)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(
                f"ids must lie in [0, {len(self)}) for this vocabulary, "
                f"got min {ids.min()} max {ids.max()}"
            )
        tokens = [self.tokens[i] for i in ids.tolist() if i != self.PAD_ID]
        if self.level == "char":
            return "".join(tokens)
        if self.level == "token":
            return " ".join(tokens)
        if self.level == "word":
            return _join_words(tokens)
        return _join_bytes(tokens)

    def unknown_tokens(self, text: str | bytes | Sequence[str]) -> list[str]:
        """The distinct tokens of ``text`` missing from the vocabulary, in order of appearance."""
        return self._unknown(self.tokenize(text))

    def _unknown(self, tokens: list[str]) -> list[str]:
        return list(dict.fromkeys(t for t in tokens if t not in self._ids))

    def __len__(self) -> int:
        return len(self.tokens)

    def index(self, token: str) -> int:
        """The id of ``token``; raises ``KeyError`` if it is not in the vocabulary."""
        try:
            return self._ids[token]
        except KeyError:
            raise KeyError(f"{token!r} is not in the {self.level}-level vocabulary") from None

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self.level == other.level and self.tokens == other.tokens

    __hash__ = None  # type: ignore[assignment]  # mutable list inside

    def __repr__(self) -> str:
        return f"Vocab(level={self.level!r}, size={len(self)})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description; :meth:`from_dict` restores exactly this vocabulary."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "level": self.level,
            "tokens": list(self.tokens),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocab:
        """Inverse of :meth:`to_dict`; raises :class:`DataError` if ``d`` is not one."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            raise DataError(f"not an rnnlab vocabulary (expected format {_FORMAT!r})")
        if d.get("version") != _VERSION:
            raise DataError(
                f"vocabulary version {d.get('version')!r} is not supported (expected {_VERSION})"
            )
        tokens = d.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise DataError("vocabulary 'tokens' must be a list of strings")
        try:
            return cls(tokens, d.get("level"))  # type: ignore[arg-type]
        except ValueError as err:
            raise DataError(f"invalid vocabulary: {err}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON, atomically (temp file, fsync, rename)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, ensure_ascii=True, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a file written by :meth:`save`; :class:`DataError` if it is missing or bad."""
        where = f"vocabulary file '{path}'"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(
                f"{where} does not exist; check the path or the run directory"
            ) from None
        except IsADirectoryError:
            raise DataError(f"{where} is a directory; pass the vocab.json file inside it") from None
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"{where} cannot be read ({err}); restore or rebuild it") from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{where} is not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
                "it may be truncated: restore or rebuild it"
            ) from None
        try:
            return cls.from_dict(d)
        except DataError as err:
            raise DataError(f"{where}: {err}; restore or rebuild it") from None


_BYTE_TOKENS = [chr(b) for b in range(256)]


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")


def _tokenize(text: str | bytes | bytearray, level: str) -> list[str]:
    if level == "byte":
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return list(data.decode("latin-1"))  # byte b -> the 1-char token chr(b)
    if not isinstance(text, str):
        raise TypeError(f"{level}-level text must be a str, got {type(text).__name__}")
    if level == "char":
        return list(text)
    if level == "word":
        return WORD_PATTERN.findall(text)
    return text.split()


def _join_words(tokens: list[str]) -> str:
    parts = tokens[:1]
    for prev, token in pairwise(tokens):
        if prev not in _NO_SPACE_AFTER and token not in _NO_SPACE_BEFORE:
            parts.append(" ")
        parts.append(token)
    return "".join(parts)


def _join_bytes(tokens: list[str]) -> str:
    """Byte tokens are latin-1 characters; decode runs of them as UTF-8, keep specials as text."""
    out, run = [], []
    for token in tokens:
        if len(token) == 1:
            run.append(token)
            continue
        out.append("".join(run).encode("latin-1").decode("utf-8", errors="replace"))
        out.append(token)
        run = []
    out.append("".join(run).encode("latin-1").decode("utf-8", errors="replace"))
    return "".join(out)
