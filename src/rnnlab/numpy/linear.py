"""Linear (affine) layer: y = x Wᵀ + b, forward and backward.

The output head of every model here: hidden states (T, B, H) -> logits (T, B, V).

Backward, from y_n = W x_n + b for every leading position n (flattened to N rows):
    ∂L/∂x_n = Wᵀ ∂L/∂y_n         ->  dx = dy W             (..., in)
    ∂L/∂W   = Σ_n ∂L/∂y_n x_nᵀ   ->  dW = dy₂ᵀ x₂          (out, in), one GEMM
    ∂L/∂b   = Σ_n ∂L/∂y_n        ->  db = dy₂.sum(0)       (out,)
where x₂ (N, in) and dy₂ (N, out) are x and dy with all leading dims flattened.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rnnlab.numpy.init import make_rng, uniform


class LinearCache(NamedTuple):
    """What backward needs from forward."""

    x: np.ndarray  # (..., in) the layer's input


class Linear:
    """y = x Wᵀ + b over any leading dims: (..., in) -> (..., out).

    Parameters (torch.nn.Linear's names, shapes and initial distribution):
        weight: (out, in) ~ U(-1/√in, 1/√in)  (torch's kaiming_uniform(a=√5) works out to this)
        bias:   (out,)    ~ U(-1/√in, 1/√in), present when ``bias=True``
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype=np.float32,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear needs in_features and out_features >= 1, got {in_features}, {out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        rng = make_rng(seed, rng)
        bound = 1.0 / math.sqrt(in_features)
        self.params: dict[str, np.ndarray] = {
            "weight": uniform((out_features, in_features), bound, rng, dtype)  # (out, in)
        }
        if bias:
            self.params["bias"] = uniform((out_features,), bound, rng, dtype)  # (out,)

    def forward(self, x: np.ndarray, train: bool = True) -> tuple[np.ndarray, LinearCache]:
        """x (..., in) -> y (..., out). ``train`` is accepted for the common layer interface."""
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear expected input of width {self.in_features} (in_features), got {x.shape}"
            )
        W = self.params["weight"]  # (out, in)
        y = x @ W.T  # (..., out)
        if "bias" in self.params:
            y += self.params["bias"]  # (..., out)
        return y, LinearCache(x=x)

    def backward(
        self, dy: np.ndarray, cache: LinearCache
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dy (..., out) -> dx (..., in) and grads {"weight": (out, in), "bias": (out,)}."""
        W = self.params["weight"]  # (out, in)
        x2 = cache.x.reshape(-1, self.in_features)  # (N, in)
        dy2 = dy.reshape(-1, self.out_features)  # (N, out)
        dx = dy @ W  # (..., in)
        grads = {"weight": dy2.T @ x2}  # (out, in)
        if "bias" in self.params:
            grads["bias"] = dy2.sum(axis=0)  # (out,)
        return dx, grads
