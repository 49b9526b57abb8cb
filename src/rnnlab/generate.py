"""Sampling from a trained model, one token at a time (engine-neutral: ``engine.forward``,
and ``engine.stepper()`` where an engine has it).

How a sample is written:

1. The prime is encoded and read in **one** forward call of shape (T, 1); the state it leaves
   after its last token is carried on. An empty prime starts from ``<eos>``: a language model
   trained on a stream of text has seen ``<eos>`` as the boundary before a new piece of text,
   so it is the natural "nothing written yet" input. (Token-level tasks such as a^n b^n pass
   their first token as the prime instead, e.g. ``prime="a"``.)
2. Each next id is drawn from softmax(logits / temperature), among the ``top_k`` most likely
   only when given, and within the nucleus of probability ``top_p`` when given, or taken
   greedily with ``argmax`` (:class:`Sampler`); it is fed back
   with ``engine.forward([[id]], state)``, or with the engine's stepper where it has one: the
   NumPy engine's :class:`~rnnlab.numpy.inference.Stepper` runs one step without the general
   machinery of ``forward`` (same logits up to rounding, several times faster).
3. Its text is yielded as soon as it exists, so a caller can stream it (:class:`StreamDecoder`).

``<pad>`` is never generated; neither is ``<unk>``, unless the vocabulary holds nothing but
the three specials. ``<eos>`` is generated like any token, and shown as ``<eos>`` as in
:meth:`Vocab.decode`, unless ``stop_at_eos`` ends the sample there (without yielding it).
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

from rnnlab.data.vocab import Vocab
from rnnlab.errors import CheckpointError, InputError

ON_UNKNOWN = ("unk", "error")
_NOUNS = {"char": "character", "word": "word", "byte": "byte", "token": "token"}


def sample_next(
    logits: np.ndarray,
    rng: np.random.Generator | None,
    temperature: float = 1.0,
    top_k: int | None = None,
    argmax: bool = False,
    banned: Sequence[int] = (),
    top_p: float | None = None,
) -> int:
    """One token id drawn from ``logits`` (V,): :class:`Sampler` for a single draw.

    p_i ∝ exp(z_i / temperature) over the allowed ids: not ``banned`` and, with ``top_k``,
    among the k largest logits (equal logits at the cut: the lower ids are kept, so the choice
    never depends on sort internals). ``top_p`` (nucleus sampling, Holtzman et al. 2020) then
    keeps the fewest most likely ids whose probabilities sum to at least ``top_p`` and
    renormalises over them (ties as for top_k). ``argmax`` takes the largest allowed logit
    (the lowest id among equal maxima) and ignores ``temperature``, ``top_k``, ``top_p`` and
    ``rng``.

    Raises:
        InputError (a ValueError): temperature <= 0, top_k < 1, top_p not in (0, 1], every
            id banned, or logits that are not finite (a diverged model).
    """
    logits = np.asarray(logits)
    if logits.ndim != 1:
        raise ValueError(f"sample_next expected logits of shape (V,), got {logits.shape}")
    sampler = Sampler(len(logits), temperature, top_k, argmax, banned, top_p=top_p)
    return sampler(logits, rng)


class Sampler:
    """Draws ids from logits (V,) again and again with the same options (see :func:`sample_next`).

    A draw is the inverse CDF of p: ``cdf = cumsum(p)``, normalized so that it ends at exactly
    1, and the id is the first whose cdf exceeds one ``u = rng.random()`` (ids with p = 0 are
    never drawn: their cdf equals their predecessor's). That is what
    ``rng.choice(V, p=p)`` computes, step for step, so the same seed writes the same text as
    before this class existed, and every engine and code path that hands it the same logits
    draws the same ids: each draw consumes exactly one ``rng.random()`` (``argmax`` none).
    ``rng.choice`` itself is not called: its argument checks and copies cost ten times the
    draw. The banned ids and three (V,) buffers are prepared once, in ``__init__``.

    Raises:
        InputError (a ValueError): as :func:`sample_next`; the options are checked here,
            the logits at each call.
    """

    def __init__(
        self,
        vocab_size: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        argmax: bool = False,
        banned: Sequence[int] = (),
        top_p: float | None = None,
    ):
        self.allowed = np.ones(vocab_size, dtype=bool)  # (V,)
        self.allowed[list(banned)] = False
        if not self.allowed.any():
            raise ValueError(f"sample_next: all {vocab_size} ids are banned; nothing to sample")
        self.argmax, self.temperature, self.top_k, self.top_p = argmax, temperature, None, None
        if not argmax:
            _check_sampling(temperature, top_k, top_p)
            if top_k is not None and top_k < vocab_size:  # k >= V cuts nothing
                self.top_k = int(top_k)
            if top_p is not None and top_p < 1.0:  # the whole distribution: nothing cut
                self.top_p = float(top_p)
        # z holds the logits being drawn from: banned ids are -inf once and for all (each call
        # writes the allowed ids only); p and the cdf are rewritten whole at every draw.
        self.z = np.full(vocab_size, -np.inf)  # (V,) float64
        self.p = np.empty(vocab_size)  # (V,)
        self.cdf = np.empty(vocab_size)  # (V,)

    def __call__(self, logits: np.ndarray, rng: np.random.Generator | None) -> int:
        """One id drawn from ``logits`` (V,) of any float dtype, with ``rng``."""
        allowed, z, p = self.allowed, self.z, self.p
        if not _extremes_finite(logits) and not np.isfinite(logits[allowed]).all():
            raise InputError(
                "the model's outputs are not finite (NaN or inf); its weights have diverged: "
                "use an earlier checkpoint or retrain with a lower --lr"
            )
        np.copyto(z, logits, where=allowed)  # (V,) float64, banned ids left at -inf
        if self.argmax:
            return int(np.argmax(z))  # the first (lowest) id among equal maxima
        p = self._distribution()
        cdf = np.add.accumulate(p, out=self.cdf)  # (V,) np.cumsum, without its dispatch
        cdf /= cdf[-1]  # ends at exactly 1 > u
        return int(cdf.searchsorted(rng.random(), side="right"))

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """The distribution (V,) that a draw from ``logits`` samples (a copy), for tests and
        for anyone who wants to see what the options leave."""
        np.copyto(self.z, logits, where=self.allowed)
        return self._distribution().copy()

    def _distribution(self) -> np.ndarray:
        """p (V,) from the logits in ``self.z``: top-k cut, temperature, softmax, top-p cut."""
        z, p = self.z, self.p
        if self.top_k is not None:
            order = np.argsort(-z, kind="stable")  # (V,) largest first, ties by lower id
            z[order[self.top_k :]] = -np.inf  # allowed ids only: rewritten at the next call
        # Shift before dividing: (z - max) / T <= 0 cannot overflow however small T is, and the
        # maximum keeps exp(0) = 1, so T -> 0 tends to argmax instead of producing NaN.
        np.subtract(z, z[z.argmax()], out=p)  # z[argmax] is z.max(), without a reduction
        if self.temperature != 1.0:  # dividing by 1 changes no bit
            np.divide(p, self.temperature, out=p)
        np.exp(p, out=p)  # exp(-inf) = 0: banned and cut ids get no mass
        # Normalized twice, as rng.choice(V, p=p / p.sum()) does it, so its ids come out.
        np.divide(p, np.add.reduce(p), out=p)  # p (V,), sums to 1 up to rounding
        if self.top_p is not None:
            _nucleus(p, self.top_p)
        return p


def _nucleus(p: np.ndarray, top_p: float) -> None:
    """Keep, in place, the fewest most likely ids whose mass reaches ``top_p``; renormalise.

    Sorted by probability, largest first (equal ones: lower id first, a stable sort); the
    kept count is one more than the number of ids whose running sum is still below top_p.
    """
    order = np.argsort(-p, kind="stable")  # (V,)
    running = np.cumsum(p[order])  # (V,)
    kept = min(int(np.searchsorted(running, top_p, side="left")) + 1, p.size)
    p[order[kept:]] = 0.0
    np.divide(p, np.add.reduce(p), out=p)


def _extremes_finite(logits: np.ndarray) -> bool:
    """All of ``logits`` finite? Checked on its extremes, since argmin and argmax return the
    first NaN if there is one: faster than ``np.isfinite(logits).all()``. Only when it fails
    are the banned ids, whose logits do not matter (even NaN), left out of the check."""
    return math.isfinite(logits[logits.argmin()]) and math.isfinite(logits[logits.argmax()])


def _check_sampling(temperature: float, top_k: int | None, top_p: float | None = None) -> None:
    if not 0 < temperature < np.inf:  # also refuses NaN
        raise InputError(
            f"--temperature must be a positive number, got {temperature}; "
            "use --argmax for greedy decoding"
        )
    if top_k is not None and (isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1):
        raise InputError(f"--top-k must be a positive integer, got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not 0.0 < top_p <= 1.0):
        raise InputError(f"--top-p must be in (0, 1] (the nucleus' probability), got {top_p!r}")


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
    top_p: float | None = None,
) -> Iterator[str]:
    """Continue ``prime`` by up to ``length`` tokens, yielding each one's text as it is drawn.

    Args:
        engine: anything with ``forward(ids (T, 1) int64, state) -> (logits (T, 1, V), state)``
            (state ``None`` = zeros); see :mod:`rnnlab.engine`. One that also has
            ``stepper()`` writes each token after the prime with it (see :func:`_one_step`).
        vocab: the model's vocabulary (V tokens).
        prime: text read before writing; "" starts from ``<eos>`` (see the module docstring).
            The prime itself is not yielded.
        length: how many tokens to draw (>= 0).
        temperature, top_k, argmax, top_p: see :func:`sample_next`.
        seed: seeds the sampler (``None``: a fresh one each call); same seed, same text. The
            draws depend only on the seed and the logits, so engines and code paths agree
            wherever their logits do (in float32 they differ in the last bits, which can
            very rarely move a draw across a boundary; see :class:`Sampler`).
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
        _check_sampling(temperature, top_k, top_p)
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
    sampler = Sampler(len(vocab), temperature, top_k, argmax, banned, top_p=top_p)
    pick = partial(sampler, rng=np.random.default_rng(seed))
    return _stream(engine, vocab, ids, length, pick, StreamDecoder(vocab, prime), stop_at_eos)


def _stream(engine, vocab, ids, length, pick, decoder, stop_at_eos) -> Iterator[str]:
    """The sampling loop behind :func:`generate` (its arguments already checked)."""
    if length == 0:
        return
    logits, state = engine.forward(ids.reshape(-1, 1), None)  # (T, 1, V): the whole prime
    if logits.shape[-1] != len(vocab):
        raise CheckpointError(
            f"the model writes {logits.shape[-1]} logits per step but the vocabulary has "
            f"{len(vocab)} tokens; load the vocab.json of the same run"
        )
    step = _one_step(engine)
    last = logits[-1, 0]  # (V,)
    for i in range(length):
        token = pick(last)
        if stop_at_eos and token == Vocab.EOS_ID:
            break
        text = decoder.decode(token)
        if text:
            yield text  # before the next step is computed: the caller can show it at once
        if i + 1 < length:
            last, state = step(token, state)
    tail = decoder.flush()
    if tail:
        yield tail


def _one_step(engine) -> Callable[[int, Any], tuple[np.ndarray, Any]]:
    """``(token, state) -> (logits (V,), state)``: the engine's fast stepper where it has one.

    An engine may offer ``stepper()``, returning an object whose ``step(ids (B,), state)
    -> (logits (B, V), state)`` takes and returns states in ``forward``'s format, or None
    for a model it cannot run (:class:`rnnlab.numpy.inference.Stepper`); otherwise each token
    is one ``engine.forward`` call of shape (1, 1). Both give the same logits up to rounding.
    """
    make_stepper = getattr(engine, "stepper", None)
    stepper = make_stepper() if make_stepper is not None else None
    if stepper is None:

        def step(token: int, state):
            logits, state = engine.forward(np.array([[token]], dtype=np.int64), state)
            return logits[0, 0], state  # (V,) of (1, 1, V)

    else:

        def step(token: int, state):
            logits, state = stepper.step(np.array([token], dtype=np.int64), state)
            return logits[0], state  # (V,) of (1, V)

    return step


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
        if vocab.level == "char":
            return vocab.tokens[token]  # vocab.decode([token]), without its checks
        if self.previous is None:
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
