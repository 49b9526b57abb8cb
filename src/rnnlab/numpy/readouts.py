"""The readouts in NumPy, forward and backward (what they compute: :mod:`rnnlab.readouts`).

Each reads the stack's outputs y (T, B, W) — zero on padding steps — with the sequences'
lengths n_b (all T when None) and gives what the head sees. With W = D·H the forward
direction's outputs are y[..., :H] and the reverse one's y[..., H:].

    per_step     r = y                                   ∂L/∂y = ∂L/∂r
    last         r_b = y_{n_b, b}                        ∂L/∂y_{n_b, b} = ∂L/∂r_b
    final_state  r_b = [y_{n_b, b, :H}, y_{1, b, H:]]    ∂L/∂y is ∂L/∂r_b at those two places
    mean         r_b = (1/n_b) Σ_{t ≤ n_b} y_{t, b}      ∂L/∂y_{t, b} = ∂L/∂r_b / n_b, t ≤ n_b
    max          r_b = max_{t ≤ n_b} y_{t, b}            ∂L/∂y flows to each element's argmax

(the max's gradient is a subgradient: on a tie the first maximum takes it, as torch's does.)

    attention    learned pooling (Bahdanau-style scores, Yang et al. 2016's pooling):
                 u_t = tanh(W y_t + b)       (B, A)    W (A, W), b (A,), A = W
                 s_t = v · u_t               (B,)      v (A,), the "context" vector
                 α_t = exp(s_t) / Σ_{τ ≤ n} exp(s_τ) on real steps, 0 on padding
                 r   = Σ_t α_t y_t           (B, W)
    its backward, from ∂L/∂r:
                 ∂L/∂α_t = ∂L/∂r · y_t
                 ∂L/∂s_t = α_t (∂L/∂α_t − Σ_τ α_τ ∂L/∂α_τ)          (softmax)
                 ∂L/∂v   = Σ_{t,b} ∂L/∂s_t u_t;   ∂L/∂z_t = ∂L/∂s_t v ⊙ (1 − u_t²)
                 ∂L/∂W   = Σ_{t,b} ∂L/∂z_t y_tᵀ;  ∂L/∂b = Σ_{t,b} ∂L/∂z_t
                 ∂L/∂y_t = α_t ∂L/∂r + Wᵀ ∂L/∂z_t
Outputs one per sequence are (1, B, W), so the head and the loss see one "step".
"""

import math
from typing import Any, NamedTuple

import numpy as np

from rnnlab.numpy.init import make_rng, uniform


def real_steps(lengths: np.ndarray | None, T: int, B: int) -> np.ndarray:
    """(T, B, 1) bool: True on each sequence's real steps."""
    if lengths is None:
        return np.ones((T, B, 1), dtype=bool)
    return (np.arange(T)[:, None] < np.asarray(lengths)[None, :])[..., None]


class PerStep:
    """r = y: the head sees every step."""

    def __init__(self, width: int, directions: int, dtype, seed: int | None = None) -> None:
        self.params: dict[str, np.ndarray] = {}

    def forward(self, y: np.ndarray, lengths=None) -> tuple[np.ndarray, Any]:
        return y, None

    def backward(self, dr: np.ndarray, cache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return dr, {}


class LastCache(NamedTuple):
    shape: tuple[int, int, int]  # (T, B, W) of y
    last: np.ndarray  # (B,) t = n_b - 1, each sequence's last real step (0-based)


def last_steps(lengths, T: int, B: int) -> np.ndarray:
    """(B,) the index of each sequence's last real step."""
    return np.full(B, T - 1) if lengths is None else np.asarray(lengths) - 1


class LastStep:
    """The output at each sequence's last real step, both directions' halves."""

    def __init__(self, width: int, directions: int, dtype, seed: int | None = None) -> None:
        self.params: dict[str, np.ndarray] = {}

    def forward(self, y: np.ndarray, lengths=None) -> tuple[np.ndarray, LastCache]:
        T, B, _ = y.shape
        last = last_steps(lengths, T, B)
        return y[last, np.arange(B)][None], LastCache(y.shape, last)  # (1, B, W)

    def backward(self, dr: np.ndarray, cache: LastCache):
        dy = np.zeros(cache.shape, dtype=dr.dtype)  # (T, B, W)
        dy[cache.last, np.arange(cache.shape[1])] = dr[0]
        return dy, {}


class FinalState:
    """Each direction's final state: forward at t = n_b, reverse at t = 1 — what
    ``torch.nn.LSTM`` on a packed batch gives as ``h_n[-2:]`` (the top layer)."""

    def __init__(self, width: int, directions: int, dtype, seed: int | None = None) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.hidden = width // directions  # H: where the reverse direction's half starts

    def forward(self, y: np.ndarray, lengths=None) -> tuple[np.ndarray, LastCache]:
        T, B, _ = y.shape
        last = last_steps(lengths, T, B)
        r = y[last, np.arange(B)]  # (B, W): both halves at the forward direction's end
        r[:, self.hidden :] = y[0, :, self.hidden :]  # the reverse direction ends at t = 1
        return r[None], LastCache(y.shape, last)  # (1, B, W)

    def backward(self, dr: np.ndarray, cache: LastCache):
        B = cache.shape[1]
        dy = np.zeros(cache.shape, dtype=dr.dtype)  # (T, B, W)
        H = self.hidden
        dy[cache.last, np.arange(B), :H] = dr[0, :, :H]
        dy[0, :, H:] += dr[0, :, H:]
        return dy, {}


class MeanCache(NamedTuple):
    weights: np.ndarray  # (T, B, 1) 1/n_b on real steps, 0 on padding


class MeanOverTime:
    """The mean of y over each sequence's real steps."""

    def __init__(self, width: int, directions: int, dtype, seed: int | None = None) -> None:
        self.params: dict[str, np.ndarray] = {}

    def forward(self, y: np.ndarray, lengths=None) -> tuple[np.ndarray, MeanCache]:
        T, B, _ = y.shape
        real = real_steps(lengths, T, B)  # (T, B, 1)
        weights = real / real.sum(axis=0, keepdims=True).astype(y.dtype)  # (T, B, 1)
        return (weights * y).sum(axis=0, keepdims=True), MeanCache(weights.astype(y.dtype))

    def backward(self, dr: np.ndarray, cache: MeanCache):
        return cache.weights * dr, {}  # (T, B, W): (1, B, W) spread over the real steps


class MaxCache(NamedTuple):
    shape: tuple[int, int, int]
    argmax: np.ndarray  # (B, W) the step holding each element's maximum


class MaxOverTime:
    """The elementwise max of y over each sequence's real steps."""

    def __init__(self, width: int, directions: int, dtype, seed: int | None = None) -> None:
        self.params: dict[str, np.ndarray] = {}

    def forward(self, y: np.ndarray, lengths=None) -> tuple[np.ndarray, MaxCache]:
        T, B, _ = y.shape
        candidates = np.where(real_steps(lengths, T, B), y, -np.inf)  # padding never wins
        argmax = candidates.argmax(axis=0)  # (B, W), the first maximum on a tie
        r = np.take_along_axis(y, argmax[None], axis=0)  # (1, B, W)
        return r, MaxCache(y.shape, argmax)

    def backward(self, dr: np.ndarray, cache: MaxCache):
        dy = np.zeros(cache.shape, dtype=dr.dtype)  # (T, B, W)
        np.put_along_axis(dy, cache.argmax[None], dr, axis=0)
        return dy, {}


class AttentionCache(NamedTuple):
    y: np.ndarray  # (T, B, W)
    u: np.ndarray  # (T, B, A) tanh(W y_t + b)
    alpha: np.ndarray  # (T, B) the attention weights, 0 on padding (kept for plots)


class AttentionPooling:
    """r = Σ_t α_t y_t with learned weights α (see the module docstring)."""

    def __init__(self, width: int, directions: int, dtype, seed: int | None = None) -> None:
        rng = make_rng(seed, None)
        bound = 1.0 / math.sqrt(width)  # torch.nn.Linear's U(±1/√in), for W, b and v
        self.params: dict[str, np.ndarray] = {
            "weight": uniform((width, width), bound, rng, dtype),  # (A, W)
            "bias": uniform((width,), bound, rng, dtype),  # (A,)
            "context": uniform((width,), bound, rng, dtype),  # (A,) v
        }

    def forward(self, y: np.ndarray, lengths=None) -> tuple[np.ndarray, AttentionCache]:
        T, B, _ = y.shape
        W, b, v = self.params["weight"], self.params["bias"], self.params["context"]
        u = np.tanh(y @ W.T + b)  # (T, B, A)
        scores = u @ v  # (T, B)
        real = real_steps(lengths, T, B)[..., 0]  # (T, B)
        scores = np.where(real, scores, -np.inf)  # padding gets no weight
        e = np.exp(scores - scores.max(axis=0, keepdims=True))  # (T, B), 0 on padding
        alpha = e / e.sum(axis=0, keepdims=True)  # (T, B), sums to 1 over real steps
        r = (alpha[..., None] * y).sum(axis=0, keepdims=True)  # (1, B, W)
        return r, AttentionCache(y, u, alpha)

    def backward(self, dr: np.ndarray, cache: AttentionCache):
        y, u, alpha = cache
        W, v = self.params["weight"], self.params["context"]
        dalpha = (y * dr).sum(axis=-1)  # (T, B)  ∂L/∂α_t = ∂L/∂r · y_t
        ds = alpha * (dalpha - (alpha * dalpha).sum(axis=0, keepdims=True))  # (T, B)
        dz = ds[..., None] * v * (1.0 - u * u)  # (T, B, A)
        A, width = W.shape
        grads = {
            "weight": dz.reshape(-1, A).T @ y.reshape(-1, width),  # (A, W)
            "bias": dz.sum(axis=(0, 1)),  # (A,)
            "context": (ds[..., None] * u).sum(axis=(0, 1)),  # (A,)
        }
        dy = alpha[..., None] * dr + dz @ W  # (T, B, W)
        return dy, grads


# name -> class(width, directions, dtype, seed); the names are those of rnnlab.readouts
NUMPY_READOUTS = {
    "per_step": PerStep,
    "last": LastStep,
    "final_state": FinalState,
    "mean": MeanOverTime,
    "max": MaxOverTime,
    "attention": AttentionPooling,
}
