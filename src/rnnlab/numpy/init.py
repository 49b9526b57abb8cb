"""Weight initialisation: the random starting points a network learns from.

Two schemes for a recurrent stack (``init_recurrent``):

- ``"torch"``: every tensor ~ U(-1/√H, 1/√H), exactly the distribution ``torch.nn.RNN``,
  ``LSTM`` and ``GRU`` use by default (H = hidden size).
- ``"xavier"``: each gate's block of ``weight_ih`` Xavier/Glorot-uniform, each gate's (H, H)
  block of ``weight_hh`` orthogonal, biases zero. Orthogonal recurrent blocks keep the
  singular values of the linear part of h_{t-1} -> h_t at 1, so at the start of training a
  signal neither explodes nor vanishes through that matrix alone.

All functions draw from an explicit ``np.random.Generator``: the same seed gives the same
weights, whatever else the program does with randomness.
"""

from __future__ import annotations

import math
import re

import numpy as np

SCHEMES = ("torch", "xavier")

# weight_ih_l0, bias_hh_l2_reverse, ... optionally behind a prefix such as "rnn."
_RECURRENT_NAME = re.compile(r"(?:^|\.)(weight|bias)_(ih|hh)_l\d+(?:_reverse)?$")


def make_rng(
    seed: int | None = None, rng: np.random.Generator | None = None
) -> np.random.Generator:
    """The generator a layer draws from: ``rng`` if given, else a new one seeded with ``seed``.

    Passing both is an error: it would be unclear which one decides the weights.
    """
    if rng is not None and seed is not None:
        raise ValueError("pass either seed or rng, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed)


def uniform(
    shape: tuple[int, ...], bound: float, rng: np.random.Generator, dtype=np.float32
) -> np.ndarray:
    """Samples of U(-bound, bound) with the given shape and dtype (drawn in float64, then cast)."""
    if bound < 0:
        raise ValueError(f"uniform bound must be >= 0, got {bound}")
    return rng.uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def xavier_uniform(
    shape: tuple[int, int], rng: np.random.Generator, dtype=np.float32, gain: float = 1.0
) -> np.ndarray:
    """Glorot & Bengio (2010): W ~ U(-a, a) with a = gain·√(6 / (fan_in + fan_out)).

    For a weight W of shape (fan_out, fan_in) used as y = x Wᵀ, Var(W) = a²/3 =
    gain²·2/(fan_in + fan_out): the compromise between keeping the variance of activations
    (forward, wants 1/fan_in) and of gradients (backward, wants 1/fan_out).
    """
    if len(shape) != 2:
        raise ValueError(f"xavier_uniform expects a 2-D shape (fan_out, fan_in), got {shape}")
    fan_out, fan_in = shape
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, bound, rng, dtype)


def orthogonal(
    shape: tuple[int, int], rng: np.random.Generator, dtype=np.float32, gain: float = 1.0
) -> np.ndarray:
    """A random (semi-)orthogonal matrix, uniformly distributed (Haar measure), times ``gain``.

    Take A ~ N(0, 1) of shape (max(R, C), min(R, C)) and factor A = QR. Q alone is not
    uniformly distributed (its columns' signs follow the signs LAPACK chooses for diag(R)),
    so flip each column of Q by sign(R_jj): Q·diag(sign(diag R)) is Haar-distributed.
    Result: rows orthonormal if R <= C (W Wᵀ = I), columns orthonormal if R >= C (Wᵀ W = I).
    """
    if len(shape) != 2:
        raise ValueError(f"orthogonal expects a 2-D shape, got {shape}")
    rows, cols = shape
    tall = rows >= cols
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))  # (max, min)
    q, r = np.linalg.qr(a)  # q: (max, min), r: (min, min)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)  # (min,), a zero diagonal counts as +
    q = q * signs  # (max, min), columns flipped
    w = q if tall else q.T  # (rows, cols)
    return (gain * w).astype(dtype, copy=False)


def _recurrent_kind(name: str) -> tuple[str, str] | None:
    """("weight" | "bias", "ih" | "hh") for a torch-named recurrent tensor, else None."""
    match = _RECURRENT_NAME.search(name)
    return None if match is None else match.group(1, 2)


def _check_recurrent_shape(name: str, w: np.ndarray, hidden_size: int, gates: int) -> None:
    GH = gates * hidden_size
    expected = {
        ("weight", "ih"): (GH, w.shape[-1] if w.ndim == 2 else "I"),  # I is free
        ("weight", "hh"): (GH, hidden_size),
        ("bias", "ih"): (GH,),
        ("bias", "hh"): (GH,),
    }[_recurrent_kind(name)]
    if w.shape != expected:
        raise ValueError(
            f"{name} should have shape {expected} for hidden_size={hidden_size} and "
            f"gates={gates}, got {w.shape}"
        )


def _fill_xavier(kind: tuple[str, str], w: np.ndarray, hidden_size: int, gates: int, rng) -> None:
    """One recurrent tensor under the "xavier" scheme, gate block by gate block."""
    H = hidden_size
    if kind[0] == "bias":
        w[...] = 0.0
        return
    for k in range(gates):
        rows = slice(k * H, (k + 1) * H)  # gate k's rows
        if kind[1] == "ih":
            w[rows] = xavier_uniform((H, w.shape[1]), rng, np.float64)  # (H, I)
        else:
            w[rows] = orthogonal((H, H), rng, np.float64)  # (H, H)


def init_recurrent(
    params: dict[str, np.ndarray],
    hidden_size: int,
    gates: int,
    scheme: str,
    rng: np.random.Generator,
    forget_bias: float | None = None,
) -> None:
    """Fill a recurrent stack's parameters in place.

    Args:
        params: torch-named tensors ``weight_ih_l{l}{sfx}`` (G·H, I_l), ``weight_hh_l{l}{sfx}``
            (G·H, H), ``bias_ih_l{l}{sfx}`` (G·H,), ``bias_hh_l{l}{sfx}`` (G·H,), with sfx ''
            or '_reverse' (a prefix such as ``rnn.`` is allowed). Arrays keep their dtype
            and identity: values are written into them.
        hidden_size: H.
        gates: G (1 RNN, 3 GRU, 4 LSTM).
        scheme: ``"torch"`` (all ~ U(±1/√H); any extra tensor gets this too, as in torch)
            or ``"xavier"`` (per gate block: Xavier-uniform W_ih, orthogonal W_hh, zero
            biases; extra tensors are refused because the scheme does not define them).
        rng: the generator drawn from, tensors in sorted-name order, so the result depends
            only on the seed and the names, not on the dict's insertion order.
        forget_bias: LSTM only (G = 4, gate order i, f, g, o): bias_ih[H:2H] = forget_bias
            and bias_hh[H:2H] = 0, so the forget gate starts at σ(forget_bias + W·...).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; valid schemes: {', '.join(SCHEMES)}")
    if hidden_size < 1 or gates < 1:
        raise ValueError(f"hidden_size and gates must be >= 1, got {hidden_size} and {gates}")
    if forget_bias is not None and gates != 4:
        raise ValueError(f"forget_bias applies to an LSTM (gates=4), got gates={gates}")
    H = hidden_size
    for name in sorted(params):
        w = params[name]
        kind = _recurrent_kind(name)
        if kind is not None:
            _check_recurrent_shape(name, w, H, gates)
        if scheme == "torch":
            w[...] = uniform(w.shape, 1.0 / math.sqrt(H), rng, np.float64)
        elif kind is not None:
            _fill_xavier(kind, w, H, gates, rng)
        else:
            raise ValueError(
                f"scheme 'xavier' does not know how to initialise {name!r}; it covers "
                "weight_ih/weight_hh/bias_ih/bias_hh tensors only"
            )
    if forget_bias is not None:
        for name, w in params.items():
            kind = _recurrent_kind(name)
            if kind == ("bias", "ih"):
                w[H : 2 * H] = forget_bias  # forget gate f: rows H..2H in order i, f, g, o
            elif kind == ("bias", "hh"):
                w[H : 2 * H] = 0.0
