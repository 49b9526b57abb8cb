"""The readouts as torch modules (what they compute: :mod:`rnnlab.readouts`; the NumPy twins
with their gradients: :mod:`rnnlab.numpy.readouts`).

Each is ``forward(y, lengths) -> r``: y (T, B, W) the stack's outputs (zero on padding),
lengths (B,) int64 on the CPU or None; r (T, B, W) for ``per_step``, else (1, B, W).
Autograd gives the backward passes.
"""

import torch
from torch import nn


def real_steps(lengths: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
    """(T, B, 1) bool on y's device: True on each sequence's real steps."""
    T, B, _ = y.shape
    if lengths is None:
        return torch.ones(T, B, 1, dtype=torch.bool, device=y.device)
    steps = torch.arange(T, device=y.device)[:, None]
    return (steps < lengths.to(y.device)[None, :])[..., None]


class PerStep(nn.Module):
    def __init__(self, width: int, directions: int, **factory) -> None:
        super().__init__()

    def forward(self, y: torch.Tensor, lengths=None) -> torch.Tensor:
        return y


def at_last_steps(y: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """(B, W): y at each sequence's last real step."""
    B = y.shape[1]
    if lengths is None:
        return y[-1]
    index = (lengths.to(y.device) - 1).view(1, B, 1).expand(1, B, y.shape[-1])
    return y.gather(0, index)[0]


class LastStep(nn.Module):
    """The output at each sequence's last real step."""

    def __init__(self, width: int, directions: int, **factory) -> None:
        super().__init__()

    def forward(self, y: torch.Tensor, lengths=None) -> torch.Tensor:
        return at_last_steps(y, lengths)[None]  # (1, B, W)


class FinalState(nn.Module):
    """Forward direction at t = n_b, reverse direction at t = 1 (h_n[-2:] of torch.nn)."""

    def __init__(self, width: int, directions: int, **factory) -> None:
        super().__init__()
        self.hidden = width // directions

    def forward(self, y: torch.Tensor, lengths=None) -> torch.Tensor:
        last = at_last_steps(y, lengths)  # (B, W)
        r = torch.cat([last[:, : self.hidden], y[0, :, self.hidden :]], dim=-1)
        return r[None]  # (1, B, W)


class MeanOverTime(nn.Module):
    def __init__(self, width: int, directions: int, **factory) -> None:
        super().__init__()

    def forward(self, y: torch.Tensor, lengths=None) -> torch.Tensor:
        real = real_steps(lengths, y).to(y.dtype)  # (T, B, 1)
        weights = real / real.sum(dim=0, keepdim=True)  # (T, B, 1): 1/n_b on real steps
        return (weights * y).sum(dim=0, keepdim=True)  # (1, B, W)


class MaxOverTime(nn.Module):
    def __init__(self, width: int, directions: int, **factory) -> None:
        super().__init__()

    def forward(self, y: torch.Tensor, lengths=None) -> torch.Tensor:
        candidates = torch.where(real_steps(lengths, y), y, float("-inf"))  # padding never wins
        return candidates.max(dim=0, keepdim=True).values  # (1, B, W)


class AttentionPooling(nn.Module):
    """r = Σ_t α_t y_t, α = softmax over real steps of vᵀ tanh(W y_t + b). The last
    forward's weights stay in ``weights`` (T, B), for plots and explanations."""

    def __init__(self, width: int, directions: int, **factory) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(width, width, **factory))  # (A, W)
        self.bias = nn.Parameter(torch.empty(width, **factory))  # (A,)
        self.context = nn.Parameter(torch.empty(width, **factory))  # (A,) v
        self.weights: torch.Tensor | None = None
        bound = 1.0 / width**0.5
        for p in (self.weight, self.bias, self.context):
            nn.init.uniform_(p, -bound, bound)

    def forward(self, y: torch.Tensor, lengths=None) -> torch.Tensor:
        u = torch.tanh(y @ self.weight.T + self.bias)  # (T, B, A)
        scores = u @ self.context  # (T, B)
        scores = torch.where(real_steps(lengths, y)[..., 0], scores, float("-inf"))
        alpha = torch.softmax(scores, dim=0)  # (T, B), 0 on padding
        self.weights = alpha.detach()
        return (alpha[..., None] * y).sum(dim=0, keepdim=True)  # (1, B, W)


# name -> module class(width, directions, device=, dtype=); names as in rnnlab.readouts
TORCH_READOUTS = {
    "per_step": PerStep,
    "last": LastStep,
    "final_state": FinalState,
    "mean": MeanOverTime,
    "max": MaxOverTime,
    "attention": AttentionPooling,
}
