"""Sampling from a trained model, one token at a time (engine-neutral: only ``engine.forward``).

How a sample is written:

1. The prime is encoded and read in **one** forward call of shape (T, 1); the state it leaves
   after its last token is carried on. An empty prime starts from ``<eos>``: a language model
   trained on a stream of text has seen ``<eos>`` as the boundary before a new piece of text,
   so it is the natural "nothing written yet" input. (Token-level tasks such as a^n b^n pass
   their first token as the prime instead, e.g. ``prime="a"``.)
2. Each next id is drawn from softmax(logits / temperature), among the ``top_k`` most likely
   only when given, or taken greedily with ``argmax`` (:func:`sample_next`); it is fed back
   with ``engine.forward([[id]], state)``.
3. Its text is yielded as soon as it exists, so a caller can stream it (:class:`StreamDecoder`).

``<pad>`` is never generated; neither is ``<unk>``, unless the vocabulary holds nothing but
the three specials. ``<eos>`` is generated like any token, and shown as ``<eos>`` as in
:meth:`Vocab.decode`, unless ``stop_at_eos`` ends the sample there (without yielding it).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

from rnnlab.data.vocab import Vocab
from rnnlab.errors import InputError

ON_UNKNOWN = ("unk", "error")
_NOUNS = {"char": "character", "word": "word", "byte": "byte", "token": "token"}


def sample_next(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    argmax: bool = False,
    banned: Sequence[int] = (),
) -> int:
    """One token id drawn from ``logits`` (V,).

    p_i ∝ exp(z_i / temperature) over the allowed ids: not ``banned`` and, with ``top_k``,
    among the k largest logits (equal logits at the cut: the lower ids are kept, so the choice
    never depends on sort internals). ``argmax`` takes the largest allowed logit (the lowest id
    among equal maxima) and ignores ``temperature``, ``top_k`` and ``rng``.

    Raises:
        InputError (a ValueError): temperature <= 0, top_k < 1, every id banned, or logits
            that are not finite (a diverged model).
    """
    logits = np.array(logits, dtype=np.float64)  # (V,) a copy: banned ids are overwritten
    if logits.ndim != 1:
        raise ValueError(f"sample_next expected logits of shape (V,), got {logits.shape}")
    allowed = np.ones(logits.shape, dtype=bool)  # (V,)
    allowed[list(banned)] = False
    if not allowed.any():
        raise ValueError(f"sample_next: all {len(logits)} ids are banned; nothing to sample")
    if not np.isfinite(logits[allowed]).all():
        raise InputError(
            "the model's outputs are not finite (NaN or inf); its weights have diverged: "
            "use an earlier checkpoint or retrain with a lower --lr"
        )
    logits[~allowed] = -np.inf
    if argmax:
        return int(np.argmax(logits))  # the first (lowest) id among equal maxima
    _check_sampling(temperature, top_k)
    if top_k is not None:
        order = np.argsort(-logits, kind="stable")  # (V,) largest first, ties by lower id
        logits[order[int(top_k) :]] = -np.inf
    # Shift before dividing: (z - max) / T <= 0 cannot overflow however small T is, and the
    # maximum keeps exp(0) = 1, so T -> 0 tends to argmax instead of producing NaN.
    scaled = (logits - logits.max()) / temperature  # (V,)
    p = np.exp(scaled)  # (V,) exp(-inf) = 0: banned and cut ids get no mass
    return int(rng.choice(len(p), p=p / p.sum()))


def _check_sampling(temperature: float, top_k: int | None) -> None:
    if not 0 < temperature < np.inf:  # also refuses NaN
        raise InputError(
            f"--temperature must be a positive number, got {temperature}; "
            "use --argmax for greedy decoding"
        )
    if top_k is not None and (isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1):
        raise InputError(f"--top-k must be a positive integer, got {top_k!r}")


def check_prime(vocab: Vocab, prime: str) -> list[str]:
    """The prime's tokens the vocabulary lacks, in order of first appearance (for a warning).

    :func:`generate` reads them as ``<unk>`` (``on_unknown="unk"``) or refuses the prime
    (``on_unknown="error"``).
    """
    return vocab.unknown_tokens(prime) if prime else []


def generate(
    engine: Any,
    vocab: Vocab,
    prime: str = "",
    length: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    argmax: bool = False,
    seed: int | None = None,
    stop_at_eos: bool = False,
    on_unknown: str = "unk",
) -> Iterator[str]:
    """Continue ``prime`` by up to ``length`` tokens, yielding each one's text as it is drawn.

    Args:
        engine: anything with ``forward(ids (T, 1) int64, state) -> (logits (T, 1, V), state)``
            (state ``None`` = zeros); see :mod:`rnnlab.engine`.
        vocab: the model's vocabulary (V tokens).
        prime: text read before writing; "" starts from ``<eos>`` (see the module docstring).
            The prime itself is not yielded.
        length: how many tokens to draw (>= 0).
        temperature, top_k, argmax: see :func:`sample_next`.
        seed: seeds the sampler (``None``: a fresh one each call); same seed, same text.
        stop_at_eos: end when ``<eos>`` is drawn; the ``<eos>`` itself is not yielded.
        on_unknown: ``"unk"`` reads prime tokens missing from the vocabulary as ``<unk>`` (call
            :func:`check_prime` to warn about them); ``"error"`` raises :class:`InputError`.

    Returns:
        An iterator of text pieces whose concatenation is the continuation. Arguments are
        checked here, when it is created, not at the first ``next()``.
    """
    if on_unknown not in ON_UNKNOWN:
        raise ValueError(f"on_unknown must be one of {', '.join(ON_UNKNOWN)}, got {on_unknown!r}")
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 0:
        raise InputError(f"--length must be a non-negative integer, got {length!r}")
    if not argmax:
        _check_sampling(temperature, top_k)
    unseen = check_prime(vocab, prime)
    if unseen and on_unknown == "error":
        shown = ", ".join(repr(u) for u in unseen[:10])
        more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
        raise InputError(
            f"the prime has {len(unseen)} {_NOUNS[vocab.level]}(s) the model never saw in "
            f"training: {shown}{more}; drop them from --prime, or retrain on text that has them"
        )
    ids = vocab.encode(prime) if prime else np.empty(0, dtype=np.int64)  # (T,)
    if ids.size == 0:  # "" or only whitespace at word/token level
        ids = np.array([Vocab.EOS_ID], dtype=np.int64)  # (1,)
    has_words = len(vocab) > len(Vocab.SPECIALS)
    banned = (Vocab.PAD_ID, Vocab.UNK_ID) if has_words else (Vocab.PAD_ID,)
    pick = partial(
        sample_next,
        rng=np.random.default_rng(seed),
        temperature=temperature,
        top_k=top_k,
        argmax=argmax,
        banned=banned,
    )
    return _stream(engine, vocab, ids, length, pick, StreamDecoder(vocab, prime), stop_at_eos)


def _stream(engine, vocab, ids, length, pick, decoder, stop_at_eos) -> Iterator[str]:
    """The sampling loop behind :func:`generate` (its arguments already checked)."""
    if length == 0:
        return
    logits, state = engine.forward(ids.reshape(-1, 1), None)  # (T, 1, V): the whole prime
    if logits.shape[-1] != len(vocab):
        raise ValueError(
            f"the model writes {logits.shape[-1]} logits per step but the vocabulary has "
            f"{len(vocab)} tokens; load the vocab.json of the same run"
        )
    for i in range(length):
        token = pick(logits[-1, 0])
        if stop_at_eos and token == Vocab.EOS_ID:
            break
        text = decoder.decode(token)
        if text:
            yield text  # before the next step is computed: the caller can show it at once
        if i + 1 < length:
            logits, state = engine.forward(np.array([[token]], dtype=np.int64), state)  # (1, 1, V)
    tail = decoder.flush()
    if tail:
        yield tail


class StreamDecoder:
    """Token ids to text one at a time, such that the pieces join to :meth:`Vocab.decode`.

    - char level: each token is its text.
    - word and token level: the separator rule of :meth:`Vocab.decode` depends only on the
      previous token, so each piece is ``decode([previous, token])`` minus ``decode([previous])``
      (e.g. " cat", or "." with no space). The first piece after a prime that ends in
      whitespace drops its leading space, since the prime already shows one.
    - byte level: a UTF-8 character may span up to 4 byte tokens. The bytes go through an
      incremental UTF-8 decoder (:func:`codecs.getincrementaldecoder`), which returns text only
      once a character is complete and holds the bytes of an unfinished one back, so a stream
      never shows half a character. Invalid bytes become U+FFFD, as in :meth:`Vocab.decode`;
      a special token (``<eos>``) first flushes what is held back, as an unfinished character
      cannot continue across it.
    """

    def __init__(self, vocab: Vocab, prime: str = "") -> None:
        self.vocab = vocab
        prime_ids = vocab.encode(prime) if prime else []
        self.previous = int(prime_ids[-1]) if len(prime_ids) else None  # id before the next
        self.after_space = bool(prime) and prime[-1].isspace()
        self.utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def decode(self, token: int) -> str:
        """The text that ``token`` adds to the stream ("" while a character is incomplete)."""
        vocab, token = self.vocab, int(token)
        if token == Vocab.PAD_ID:
            return ""
        if vocab.level == "byte":
            if token < len(Vocab.SPECIALS):
                return self.flush() + vocab.tokens[token]
            return self.utf8.decode(vocab.tokens[token].encode("latin-1"))  # 1 byte in
        if vocab.level == "char" or self.previous is None:
            text = vocab.decode([token])
        else:
            text = vocab.decode([self.previous, token])[len(vocab.decode([self.previous])) :]
            if self.after_space and text.startswith(" "):
                text = text[1:]
        self.previous, self.after_space = token, False
        return text

    def flush(self) -> str:
        """The end of the stream: bytes of an unfinished character become U+FFFD."""
        return self.utf8.decode(b"", final=True)
