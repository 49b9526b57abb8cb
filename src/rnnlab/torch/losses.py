"""The models' losses in torch, by their ModelSpec names (the NumPy twins with hand-written
gradients: :mod:`rnnlab.numpy.losses`). The one place the torch engine and its probe pick
one.

Both are returned as (sum over the counted terms, how many terms), so the mean is sum / n
and a data-parallel run can divide by the count over every rank instead.
"""

import numpy as np
import torch
import torch.nn.functional as F


def loss_sum(loss: str, out: torch.Tensor, targets, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """out (T, B, O); targets (T, B) classes or (T, B, O) values; mask (T, B) bool."""
    mask = torch.as_tensor(np.asarray(mask, bool), device=out.device)  # (T, B)
    if loss == "cross_entropy":
        targets = torch.as_tensor(np.asarray(targets), device=out.device)  # (T, B)
        targets = torch.where(mask, targets.long(), -100)  # -100: ignored by cross_entropy
        total = F.cross_entropy(
            out.reshape(-1, out.shape[-1]), targets.reshape(-1), reduction="sum"
        )
        return total, mask.sum().to(out.dtype)
    targets = torch.as_tensor(np.asarray(targets), dtype=out.dtype, device=out.device)
    diff = torch.where(mask[..., None], out - targets, 0.0)  # (T, B, O), masked -> 0
    return (diff * diff).sum(), mask.sum().to(out.dtype) * out.shape[-1]
