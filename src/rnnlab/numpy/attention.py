"""Attention over the source positions, forward and backward side by side.

The encoder gives a memory h_j (S, B, W), j = 1..S, zero on padding; the decoder asks with
a query s (B, H_d). Every attention here is the same three steps around its own score:

    keys        K_j = key(h_j), once per source batch           (S, B, K)
    scores      e_j = score(s, K_j)                             (S, B)
    weights     α_j = exp(e_j) / Σ_{k real} exp(e_k), 0 on padding   (masked softmax)
    context     c   = Σ_j α_j h_j                               (B, W)

The scores (:class:`AdditiveScore` is Bahdanau et al. 2015, the others Luong et al. 2015):

    additive  K_j = W_h h_j;  u_j = tanh(W_s s + K_j);  e_j = v · u_j
    dot       K_j = h_j;                                e_j = s · K_j   (H_d = W)
    general   K_j = W_a h_j;                            e_j = s · K_j

Their backward passes, from ∂L/∂c (written dc, and so on):

    context   dα_j = dc · h_j;            dh_j += α_j dc
    softmax   de_j = α_j (dα_j − Σ_k α_k dα_k)      (0 on padding, where α_j = 0)
    additive  dv = Σ_{j,b} de_j u_j;  dz_j = de_j v ⊙ (1 − u_j²)
              dq = Σ_j dz_j;  dW_s = Σ_b dq sᵀ;  ds = W_sᵀ dq;  dK_j = dz_j
    dot       ds = Σ_j de_j K_j;  dK_j = de_j s
    keys      dW = Σ_{j,b} dK_j h_jᵀ;  dh_j += Wᵀ dK_j    (W_h or W_a; dot: dh_j += dK_j)

The keys are computed once per source batch and their gradient summed over all decoder
steps before one backward through the key projection, as the encoder's outputs are.

Luong's attentional state (:class:`AttentionalLayer`):

    h̃ = tanh(W_c [c; s])        dz = dh̃ ⊙ (1 − h̃²);  dW_c = Σ_b dz [c; s]ᵀ;  [dc; ds] = W_cᵀ dz

Parameter names are those of the state_dict under ``attention.`` (``query.weight`` W_s
(A, H_d), ``key.weight`` W_h (A, W) or W_a (H_d, W), ``energy.weight`` vᵀ (1, A),
``combine.weight`` W_c (H_d, W + H_d)), each shaped as the torch.nn.Linear that applies it.
"""

import math
from typing import NamedTuple

import numpy as np

from rnnlab.numpy.init import make_rng, uniform


def masked_softmax(e: np.ndarray, real: np.ndarray) -> np.ndarray:
    """α (S, B): softmax of the scores e (S, B) over the real source positions (axis 0);
    exactly 0 where ``real`` (S, B) bool is False. Every column needs one real position."""
    e = np.where(real, e, -np.inf)  # padding gets no weight
    w = np.exp(e - e.max(axis=0, keepdims=True))  # (S, B), 0 on padding
    return w / w.sum(axis=0, keepdims=True)  # (S, B), columns sum to 1


def masked_softmax_backward(dalpha: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """de_j = α_j (dα_j − Σ_k α_k dα_k): (S, B) → (S, B), 0 on padding."""
    return alpha * (dalpha - (alpha * dalpha).sum(axis=0, keepdims=True))


def context(alpha: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """c = Σ_j α_j h_j: α (S, B), h (S, B, W) → (B, W)."""
    return np.einsum("sb,sbw->bw", alpha, memory)


def context_backward(dc: np.ndarray, alpha: np.ndarray, memory: np.ndarray):
    """dc (B, W) → dα (S, B) = dc · h_j, and the memory's share dh_j = α_j dc (S, B, W)."""
    dalpha = np.einsum("bw,sbw->sb", dc, memory)  # (S, B)
    return dalpha, alpha[..., None] * dc  # (S, B), (S, B, W)


def _linear_init(shape: tuple[int, int], rng, dtype) -> np.ndarray:
    """torch.nn.Linear's U(±1/√in) for a (out, in) weight."""
    return uniform(shape, 1.0 / math.sqrt(shape[1]), rng, dtype)


class AdditiveCache(NamedTuple):
    s: np.ndarray  # (B, H_d) the query
    u: np.ndarray  # (S, B, A) tanh(W_s s + K_j)


class AdditiveScore:
    """Bahdanau's e_j = v · tanh(W_s s + W_h h_j)."""

    def __init__(self, query_size: int, memory_width: int, attention_size: int, dtype, rng):
        A = attention_size
        self.params = {
            "query.weight": _linear_init((A, query_size), rng, dtype),  # (A, H_d) W_s
            "key.weight": _linear_init((A, memory_width), rng, dtype),  # (A, W) W_h
            "energy.weight": _linear_init((1, A), rng, dtype),  # (1, A) vᵀ
        }

    def keys(self, memory: np.ndarray) -> np.ndarray:
        return memory @ self.params["key.weight"].T  # (S, B, A)

    def keys_backward(self, dK: np.ndarray, memory: np.ndarray):
        W_h = self.params["key.weight"]
        A, W = W_h.shape
        grads = {"key.weight": dK.reshape(-1, A).T @ memory.reshape(-1, W)}  # (A, W)
        return dK @ W_h, grads  # dh (S, B, W)

    def score(self, s: np.ndarray, K: np.ndarray):
        q = s @ self.params["query.weight"].T  # (B, A)
        u = np.tanh(q + K)  # (S, B, A)
        e = u @ self.params["energy.weight"][0]  # (S, B)
        return e, AdditiveCache(s.copy(), u)

    def score_backward(self, de: np.ndarray, cache: AdditiveCache):
        s, u = cache
        v, W_s = self.params["energy.weight"][0], self.params["query.weight"]
        dz = de[..., None] * v * (1.0 - u * u)  # (S, B, A)
        dq = dz.sum(axis=0)  # (B, A)
        grads = {
            "query.weight": dq.T @ s,  # (A, H_d)
            "energy.weight": np.einsum("sb,sba->a", de, u)[None],  # (1, A)
        }
        return dq @ W_s, dz, grads  # ds (B, H_d), dK (S, B, A)


class DotCache(NamedTuple):
    s: np.ndarray  # (B, H_d)
    K: np.ndarray  # (S, B, H_d)


class DotScore:
    """Luong's e_j = s · h_j: the keys are the memory itself."""

    def __init__(self, query_size: int, memory_width: int, attention_size, dtype, rng):
        self.params: dict[str, np.ndarray] = {}

    def keys(self, memory: np.ndarray) -> np.ndarray:
        return memory  # (S, B, W)

    def keys_backward(self, dK: np.ndarray, memory: np.ndarray):
        return dK, {}

    def score(self, s: np.ndarray, K: np.ndarray):
        return np.einsum("bh,sbh->sb", s, K), DotCache(s, K)  # (S, B)

    def score_backward(self, de: np.ndarray, cache: DotCache):
        s, K = cache
        ds = np.einsum("sb,sbh->bh", de, K)  # (B, H_d)
        return ds, de[..., None] * s, {}  # dK_j = de_j s  (S, B, H_d)


class GeneralScore(DotScore):
    """Luong's e_j = s · (W_a h_j): a dot product with projected keys."""

    def __init__(self, query_size: int, memory_width: int, attention_size, dtype, rng):
        self.params = {"key.weight": _linear_init((query_size, memory_width), rng, dtype)}

    def keys(self, memory: np.ndarray) -> np.ndarray:
        return memory @ self.params["key.weight"].T  # (S, B, H_d)

    def keys_backward(self, dK: np.ndarray, memory: np.ndarray):
        W_a = self.params["key.weight"]
        H_d, W = W_a.shape
        grads = {"key.weight": dK.reshape(-1, H_d).T @ memory.reshape(-1, W)}  # (H_d, W)
        return dK @ W_a, grads  # dh (S, B, W)


SCORES = {"bahdanau": AdditiveScore, "dot": DotScore, "general": GeneralScore}


class Memory(NamedTuple):
    """What every decoder step attends to: one source batch, prepared once."""

    memory: np.ndarray  # (S, B, W) the encoder outputs h_j, zero on padding
    keys: np.ndarray  # (S, B, K) key(h_j)
    real: np.ndarray  # (S, B) bool, True on real source positions

    def select(self, rows: np.ndarray) -> "Memory":
        """The same memory for the batch rows ``rows`` (beam search repeats and reorders)."""
        return Memory(self.memory[:, rows], self.keys[:, rows], self.real[:, rows])


class AttendCache(NamedTuple):
    score: object  # the score's own cache
    alpha: np.ndarray  # (S, B)


class Attention:
    """Scores, masked softmax and context for one kind of score (see the module docstring).

    Args:
        kind: "bahdanau", "dot" or "general".
        query_size: H_d; memory_width: W; attention_size: A (Bahdanau only).
    """

    def __init__(self, kind, query_size, memory_width, attention_size, dtype, seed=None):
        rng = make_rng(seed, None)
        self.scorer = SCORES[kind](query_size, memory_width, attention_size, dtype, rng)
        self.params = self.scorer.params

    def prepare(self, memory: np.ndarray, real: np.ndarray) -> Memory:
        return Memory(memory, self.scorer.keys(memory), real)

    def prepare_backward(self, dmemory: np.ndarray, dkeys: np.ndarray, mem: Memory):
        """∂L/∂h_j in total: the context's share plus the keys' share; the key grads."""
        dh, grads = self.scorer.keys_backward(dkeys, mem.memory)
        return dmemory + dh, grads

    def forward(self, s: np.ndarray, mem: Memory):
        """s (B, H_d) → c (B, W), α (S, B), cache."""
        e, score_cache = self.scorer.score(s, mem.keys)  # (S, B)
        alpha = masked_softmax(e, mem.real)  # (S, B)
        return context(alpha, mem.memory), alpha, AttendCache(score_cache, alpha)

    def backward(self, dc: np.ndarray, cache: AttendCache, mem: Memory):
        """dc (B, W) → ds (B, H_d), this step's dh (S, B, W) and dK (S, B, K), grads."""
        dalpha, dmemory = context_backward(dc, cache.alpha, mem.memory)
        de = masked_softmax_backward(dalpha, cache.alpha)  # (S, B)
        ds, dkeys, grads = self.scorer.score_backward(de, cache.score)
        return ds, dmemory, dkeys, grads


class CombineCache(NamedTuple):
    cs: np.ndarray  # (B, W + H_d) [c; s]
    h_tilde: np.ndarray  # (B, H_d)


class AttentionalLayer:
    """Luong's h̃ = tanh(W_c [c; s]), W_c (H_d, W + H_d), no bias (as in the paper)."""

    def __init__(self, query_size: int, memory_width: int, dtype, seed=None):
        rng = make_rng(seed, None)
        self.memory_width = memory_width
        shape = (query_size, memory_width + query_size)
        self.params = {"combine.weight": _linear_init(shape, rng, dtype)}  # (H_d, W + H_d)

    def forward(self, c: np.ndarray, s: np.ndarray):
        cs = np.concatenate([c, s], axis=-1)  # (B, W + H_d)
        h_tilde = np.tanh(cs @ self.params["combine.weight"].T)  # (B, H_d)
        return h_tilde, CombineCache(cs, h_tilde)

    def backward(self, dh_tilde: np.ndarray, cache: CombineCache):
        """dh̃ (B, H_d) → dc (B, W), ds (B, H_d), grads."""
        dz = dh_tilde * (1.0 - cache.h_tilde**2)  # (B, H_d)
        dcs = dz @ self.params["combine.weight"]  # (B, W + H_d)
        grads = {"combine.weight": dz.T @ cache.cs}  # (H_d, W + H_d)
        W = self.memory_width
        return dcs[:, :W], dcs[:, W:], grads
