"""Embedding: a lookup table from token ids to vectors, forward and backward.

Forward is row selection, y[n] = W[ids[n]], which is the same as a one-hot matrix product
y = onehot(ids) W, only without building the (N, V) one-hot matrix.

Backward follows from the product form: ∂L/∂W = onehot(ids)ᵀ dy, i.e. row v of the gradient
is the sum of dy[n] over every position n where ids[n] == v. A token that appears twice in
a batch receives both contributions; an assignment ``dW[ids] = dy`` would keep only one of
them, which is why the sum goes through ``np.add.at`` (unbuffered, repeated indices add up).
Ids are integers, so there is no gradient with respect to the input.

Embedding dropout (:mod:`rnnlab.masks`) scales each row by s_v = m_v/(1-p) before the
lookup, y[n] = s[ids[n]] W[ids[n]]: a dropped token is zero wherever it occurs in the batch.
It is linear in W, so row v of ∂L/∂W is s_v Σ_{n: ids[n] = v} dy[n].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.numpy.init import make_rng


class EmbeddingCache(NamedTuple):
    """What backward needs from forward."""

    ids: np.ndarray  # (...) int, the looked-up rows
    row_scale: np.ndarray | None = None  # (V,) embedding dropout's s = m/(1-p), if any


class Embedding:
    """ids (...) int in [0, V) -> vectors (..., E).

    Parameters (torch.nn.Embedding's name, shape and initial distribution):
        weight: (V, E) ~ N(0, 1)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        dtype=np.float32,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(
                "Embedding needs num_embeddings and embedding_dim >= 1, "
                f"got {num_embeddings}, {embedding_dim}"
            )
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        rng = make_rng(seed, rng)
        weight = rng.standard_normal((num_embeddings, embedding_dim))  # (V, E)
        self.params: dict[str, np.ndarray] = {"weight": weight.astype(dtype, copy=False)}

    def forward(
        self, ids: np.ndarray, train: bool = True, row_scale: np.ndarray | None = None
    ) -> tuple[np.ndarray, EmbeddingCache]:
        """ids (...) int -> y (..., E). ``train`` is accepted for the common layer interface;
        ``row_scale`` (V,) multiplies each row (embedding dropout's mask), used as given."""
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"Embedding expects integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(
                f"Embedding ids must lie in [0, {self.num_embeddings}) (num_embeddings), "
                f"got values from {ids.min()} to {ids.max()}"
            )
        y = self.params["weight"][ids]  # (..., E)
        if row_scale is not None:
            y = y * row_scale[ids][..., None]  # (..., E) s[ids[n]] W[ids[n]]
        return y, EmbeddingCache(ids=ids, row_scale=row_scale)

    def backward(self, dy: np.ndarray, cache: EmbeddingCache) -> tuple[None, dict[str, np.ndarray]]:
        """dy (..., E) -> (None, {"weight": dW (V, E)}); repeated ids accumulate."""
        dW = np.zeros_like(self.params["weight"])  # (V, E)
        rows = cache.ids.reshape(-1)  # (N,)
        np.add.at(dW, rows, dy.reshape(-1, self.embedding_dim))  # dW[rows[n]] += dy[n]
        if cache.row_scale is not None:
            dW *= cache.row_scale[:, None]  # (V, E) row v: s_v Σ dy[n]
        return None, {"weight": dW}
