"""Attention over the source positions and the bridge, as torch modules (the math and the
hand-derived backward passes: :mod:`rnnlab.numpy.attention`, :mod:`rnnlab.numpy.bridge`;
autograd is the reference here).

Every module's parameters are named as the NumPy parts' (``query.weight``, ``key.weight``,
``energy.weight``, ``combine.weight``; the bridge's ``hidden.weight``, ``cell.bias``, ...).
"""

import torch
from torch import nn


def masked_softmax(e: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """α (S, B): softmax of e (S, B) over the real source positions, 0 on padding."""
    return torch.softmax(torch.where(real, e, float("-inf")), dim=0)


class Attention(nn.Module):
    """keys K_j = key(h_j); scores e_j; α = masked softmax; c = Σ_j α_j h_j.

    ``kind``: "bahdanau" (e_j = v · tanh(W_s s + W_h h_j)), "dot" (e_j = s · h_j) or
    "general" (e_j = s · W_a h_j).
    """

    def __init__(self, kind, query_size, memory_width, attention_size, **factory) -> None:
        super().__init__()
        self.kind = kind
        if kind == "bahdanau":
            A = attention_size
            self.query = nn.Linear(query_size, A, bias=False, **factory)  # W_s (A, H_d)
            self.key = nn.Linear(memory_width, A, bias=False, **factory)  # W_h (A, W)
            self.energy = nn.Linear(A, 1, bias=False, **factory)  # vᵀ (1, A)
        elif kind == "general":
            self.key = nn.Linear(memory_width, query_size, bias=False, **factory)  # W_a

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return memory if self.kind == "dot" else self.key(memory)  # (S, B, K)

    def forward(self, s, memory, keys, real):
        """s (B, H_d), memory (S, B, W), keys (S, B, K), real (S, B) → c (B, W), α (S, B)."""
        if self.kind == "bahdanau":
            e = self.energy(torch.tanh(self.query(s) + keys))[..., 0]  # (S, B)
        else:
            e = (keys * s).sum(dim=-1)  # (S, B)
        alpha = masked_softmax(e, real)  # (S, B)
        return (alpha[..., None] * memory).sum(dim=0), alpha  # (B, W), (S, B)


class AttentionalLayer(nn.Module):
    """Luong's h̃ = tanh(W_c [c; s]), no bias."""

    def __init__(self, query_size: int, memory_width: int, **factory) -> None:
        super().__init__()
        self.combine = nn.Linear(memory_width + query_size, query_size, bias=False, **factory)

    def forward(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.combine(torch.cat([c, s], dim=-1)))  # (B, H_d)


class Bridge(nn.Module):
    """s_0 = tanh(W_h f + b_h), c_0 = W_c f + b_c with f = [h→_n; h←_1] of the top encoder
    layer; "zeros" (``linear=False``) starts the decoder from zeros."""

    def __init__(
        self, state_names, encoder_layers, directions, memory_width, decoder_layers,
        decoder_hidden, linear=True, **factory,
    ):  # fmt: skip
        super().__init__()
        self.state_names = tuple(state_names)
        self.top = [(encoder_layers - 1) * directions + d for d in range(directions)]
        self.shape = (decoder_layers, decoder_hidden)
        self.linear = linear
        if linear:
            for name in self.state_names:
                self.add_module(
                    name, nn.Linear(memory_width, decoder_layers * decoder_hidden, **factory)
                )

    def forward(self, encoder_state):
        parts = encoder_state if isinstance(encoder_state, tuple) else (encoder_state,)
        B = parts[0].shape[1]
        L_d, H_d = self.shape
        out = []
        for name, part in zip(self.state_names, parts, strict=True):
            if not self.linear:
                out.append(part.new_zeros(L_d, B, H_d))
                continue
            f = torch.cat([part[k] for k in self.top], dim=-1)  # (B, W)
            z = getattr(self, name)(f)  # (B, L_d·H_d)
            z = torch.tanh(z) if name == "hidden" else z
            out.append(z.reshape(B, L_d, H_d).transpose(0, 1).contiguous())  # (L_d, B, H_d)
        return tuple(out) if len(out) > 1 else out[0]
