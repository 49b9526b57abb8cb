"""The measuring stick of every gradient check: central differences, the relative error,
and what one check reports.

A backward pass is right when, for a scalar loss L, every analytic gradient equals the
central difference ``(L(θ + ε) - L(θ - ε)) / 2ε`` element by element; the error is taken
per tensor against the tensor's own scale (see :func:`relative_error`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``f()`` with respect to every element of ``array``.

    ``array`` is perturbed in place and restored; ``f`` must read it on each call.
    """
    if not array.flags.c_contiguous:  # a flat copy would be perturbed, not the array f reads
        raise ValueError("numerical_gradient perturbs the array in place: pass a C-contiguous one")
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        original = flat[k]
        flat[k] = original + eps
        plus = f()
        flat[k] = original - eps
        minus = f()
        flat[k] = original
        gflat[k] = (plus - minus) / (2.0 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a - n| / max(max|a|, max|n|, 1e-12): the worst element against the tensor's scale."""
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0), 1e-12)
    return float(np.abs(analytic - numeric).max(initial=0.0) / scale)


@dataclass(frozen=True)
class GradcheckResult:
    """One tensor's check: its name, the relative error and whether it is within ``bound``."""

    name: str
    error: float
    bound: float

    @property
    def passed(self) -> bool:
        return self.error <= self.bound


class GradcheckRow(NamedTuple):
    cell: str
    num_layers: int
    directions: int
    lengths: bool
    tensors: int
    worst: str
    error: float
    passed: bool
    details: dict  # tensor name -> relative error
