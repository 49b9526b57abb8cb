"""The batch masks of :mod:`rnnlab.masks` applied in the torch engine (autograd derives the
backward passes that :mod:`rnnlab.numpy.locked_dropout` writes by hand).

    embedding dropout   ẽ = F.embedding(ids, W ⊙ s[:, None])     s (V,): whole rows dropped
    locked dropout      x̃_t = x_t ⊙ s                            s (B, I), the same for all t
    weight-drop         W̃_hh = W_hh ⊙ S                          in the stack (layers, native)

The masks are NumPy arrays drawn by :class:`rnnlab.masks.MaskSource`, the same ones the
NumPy engine uses; :func:`to_torch` moves them to the model's device and dtype.
"""

import numpy as np
import torch
import torch.nn.functional as F

from rnnlab.masks import Masks


def to_torch(masks: Masks | None, device, dtype) -> Masks | None:
    """The masks as tensors on ``device`` in ``dtype`` (None stays None)."""
    if masks is None:
        return None
    return masks.map(lambda a: torch.as_tensor(np.asarray(a), device=device, dtype=dtype))


def embed(embedding: torch.nn.Embedding, ids: torch.Tensor, masks: Masks | None) -> torch.Tensor:
    """ids (T, B) → (T, B, E), each vocabulary row scaled by ``masks.embedding`` if given."""
    if masks is None or masks.embedding is None:
        return embedding(ids)
    return F.embedding(ids, embedding.weight * masks.embedding[:, None])  # (T, B, E)


def locked(x: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    """x (T, B, I) ⊙ scale (B, I) at every step; x itself when there is no mask."""
    return x if scale is None else x * scale  # (T, B, I), broadcast over T


def dropped_hh(w_hh: torch.Tensor, masks: Masks | None, name: str) -> torch.Tensor:
    """W̃_hh = W_hh ⊙ S under weight-drop, else W_hh itself."""
    if masks is None or name not in masks.weight_hh:
        return w_hh
    return w_hh * masks.weight_hh[name]  # (G·H, H)
