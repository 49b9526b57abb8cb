"""Padded batches without packing: where the padding is, and time reversal within lengths.

``lengths`` (B,) make steps t ≥ lengths[b] of sequence b padding, always a suffix of the
sequence. Both paths of :class:`~rnnlab.torch.layers.ScratchRecurrent` (the step loop and
:mod:`rnnlab.torch.fast`) keep the state on padding steps, so ``state_n`` is each sequence's
state at its last real step, and give zero outputs there; the reverse direction reads each
sequence backward from its own last real step (:func:`reverse_time`). That is what torch's
packed sequences give, which :mod:`rnnlab.torch.native` uses instead.
"""

from typing import NamedTuple

import torch


class Padding(NamedTuple):
    """Where a padded batch's padding is: steps t ≥ lengths[b] of sequence b."""

    real: torch.Tensor  # (T, B, 1) bool, True on real steps
    last: torch.Tensor  # (B,) int64, lengths - 1: each sequence's last real step
    first_padded: int  # min(lengths): every sequence is real before this step
    reverse_index: torch.Tensor  # (T, B) int64, the time step that reversed step t reads


def padding(lengths: torch.Tensor | None, T: int, device) -> Padding | None:
    """The padding of ``lengths`` (B,) ints in 1..T (CPU), or None when there is none."""
    if lengths is None or int(lengths.min()) == T:
        return None
    lengths = lengths.to(device)
    t = torch.arange(T, device=device)[:, None]  # (T, 1)
    real = t < lengths[None, :]  # (T, B)
    last = lengths - 1  # (B,)
    reverse_index = torch.where(real, last[None, :] - t, t)  # (T, B), padding stays put
    return Padding(real[:, :, None], last, int(lengths.min()), reverse_index)


def reverse_time(a: torch.Tensor, pad: Padding | None) -> torch.Tensor:
    """Reverse time (axis 0) of a (T, B, ·) tensor, per sequence when there is padding.

    Per sequence, step t reads time lengths[b]-1-t and padding stays where it is; the map is
    its own inverse, so the same call turns the outputs back.
    """
    if pad is None:
        return a.flip(0)
    batch = torch.arange(a.shape[1], device=a.device)  # (B,)
    return a[pad.reverse_index, batch[None, :]]  # (T, B, ·)
