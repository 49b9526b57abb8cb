"""Activation regularisation (AR) and temporal activation regularisation (TAR) in torch
(AWD-LSTM): what they are, why ỹ for AR and y for TAR, and their hand-derived gradients are
in :mod:`rnnlab.numpy.activation_reg`; here autograd derives the gradients.

    AR  = α · Σ_{t,b} r_{t,b} Σ_u ỹ_{t,b,u}² / (N·U)
    TAR = β · Σ_{t≥1,b} q_{t,b} Σ_u (y_{t,b,u} − y_{t−1,b,u})² / (M·U),   q_t = r_t r_{t−1}

Each is kept as a :class:`Penalty` (sum, count), like :func:`rnnlab.torch.losses.loss_sum`,
so a data-parallel run divides by the count over every rank, as it does the task's loss.
"""

from typing import NamedTuple

import torch

from rnnlab.model import ModelSpec
from rnnlab.torch.readouts import real_steps


class Penalty(NamedTuple):
    """coefficient · total / count, one of the terms added to the training loss."""

    coefficient: float  # α or β
    total: torch.Tensor  # () the sum of the squares over the counted terms
    count: torch.Tensor  # () how many terms: N·U or M·U, in the activations' dtype

    def mean(self) -> torch.Tensor:
        return self.coefficient * self.total / self.count.clamp(min=1)  # no term: 0, not 0/0


def activation_penalty(y: torch.Tensor, real: torch.Tensor, alpha: float) -> Penalty:
    """AR of ỹ (T, B, U); ``real`` (T, B, 1) bool, r."""
    count = real.sum().to(y.dtype) * y.shape[-1]  # N·U
    return Penalty(alpha, (y.square() * real).sum(), count)


def temporal_penalty(y: torch.Tensor, real: torch.Tensor, beta: float) -> Penalty:
    """TAR of y (T, B, U); ``real`` (T, B, 1) bool, r."""
    d = y[1:] - y[:-1]  # (T-1, B, U) d_t for t = 1 .. T-1
    q = real[1:] & real[:-1]  # (T-1, B, 1) both ends real
    count = q.sum().to(y.dtype) * y.shape[-1]  # M·U
    return Penalty(beta, (d.square() * q).sum(), count)


def activation_penalties(
    spec: ModelSpec, y: torch.Tensor, y_tilde: torch.Tensor, lengths: torch.Tensor | None
) -> list[Penalty]:
    """The spec's TAR of y and AR of ỹ (each (T, B, U)), those switched on; ``lengths`` (B,)
    or None (every step real)."""
    real = real_steps(lengths, y)  # (T, B, 1) r
    terms = []
    if spec.temporal_activation_reg:
        terms.append(temporal_penalty(y, real, spec.temporal_activation_reg))
    if spec.activation_reg:
        terms.append(activation_penalty(y_tilde, real, spec.activation_reg))
    return terms
