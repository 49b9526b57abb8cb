"""The encoder–decoder with attention in PyTorch: the twin of
:class:`rnnlab.numpy.seq2seq.Seq2SeqModel`, built from the same
:class:`~rnnlab.seq2seq.spec.Seq2SeqSpec` with the same state_dict names (so checkpoints
interchange), the same initial weights for a seed, and autograd for the backward pass.

The recurrent stacks are :class:`~rnnlab.torch.layers.ScratchRecurrent` (``encoder.rnn``,
``decoder.rnn``: torch.nn.LSTM/GRU/RNN's names, strict-loadable into them); the decoder is
stepped one target position at a time, exactly as the NumPy model's
(:meth:`Seq2SeqModel.step`).
"""

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from rnnlab.seq2seq.spec import Seq2SeqSpec
from rnnlab.torch.attention import Attention, AttentionalLayer, Bridge
from rnnlab.torch.layers import ScratchRecurrent


class Memory(NamedTuple):
    memory: torch.Tensor  # (S, B, W) encoder outputs, zero on padding
    keys: torch.Tensor  # (S, B, K)
    real: torch.Tensor  # (S, B) bool


class Carry(NamedTuple):
    state: Any  # h (L_d, B, H_d) or (h, c)
    feed: torch.Tensor | None  # (B, H_d) h̃_{t-1}, input feeding only
    mem: Memory | None

    def select(self, rows: torch.Tensor) -> "Carry":
        """The carry of the batch rows ``rows`` (beam search repeats and reorders them)."""
        parts = self.state if isinstance(self.state, tuple) else (self.state,)
        picked = tuple(p[:, rows] for p in parts)
        mem = self.mem
        if mem is not None:
            mem = Memory(mem.memory[:, rows], mem.keys[:, rows], mem.real[:, rows])
        return Carry(
            picked if len(picked) > 1 else picked[0],
            None if self.feed is None else self.feed[rows],
            mem,
        )


def _stack(spec, **factory) -> ScratchRecurrent:
    return ScratchRecurrent(
        spec.cell, spec.rnn_input_size, spec.hidden_size, num_layers=spec.num_layers,
        bidirectional=spec.bidirectional, dropout=spec.dropout,
        nonlinearity=spec.nonlinearity, **factory,
    )  # fmt: skip


class Half(nn.Module):
    """An embedding and a recurrent stack: ``{encoder,decoder}.embedding``, ``.rnn``."""

    def __init__(self, vocab: int, embedding_dim: int, model_spec, **factory) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding_dim, **factory)
        self.rnn = _stack(model_spec, **factory)


class TorchSeq2Seq(nn.Module):
    """An encoder–decoder with attention; ``seed`` gives the NumPy model's initial weights.

    ``forward(source, source_lengths, target_inputs) -> (logits (T, B, V_t), α (T, S, B)
    or None)``: ids int64 time-major, lengths (B,) int64 on the CPU.
    """

    def __init__(self, spec: Seq2SeqSpec, *, seed: int | None = 0, device=None) -> None:
        super().__init__()
        self.spec = spec
        factory = {"device": device, "dtype": getattr(torch, spec.dtype)}
        E, W, H_d = spec.embedding_dim, spec.memory_width, spec.decoder_hidden_size
        self.encoder = Half(spec.source_vocab, E, spec.encoder_spec(), **factory)
        self.bridge = Bridge(
            spec.state_names, spec.num_layers, spec.directions, W, spec.decoder_layers, H_d,
            linear=spec.bridge == "linear", **factory,
        )  # fmt: skip
        self.decoder = Half(spec.target_vocab, E, spec.decoder_spec(), **factory)
        self.attention = None
        if spec.attention != "none":
            self.attention = Attention(spec.attention, H_d, W, spec.attention_size, **factory)
        if spec.luong:  # W_c lives beside the scores, as attention.combine.weight
            self.attention.attentional = AttentionalLayer(H_d, W, **factory)
        self.head = nn.Linear(H_d, spec.target_vocab, **factory)
        self.load_numpy_init(seed)

    def state_dict(self, *args, **kwargs):
        """Named as the NumPy model: W_c is ``attention.combine.weight``."""
        sd = super().state_dict(*args, **kwargs)
        return type(sd)((k.replace("attentional.", ""), v) for k, v in sd.items())

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        renamed = {
            k.replace("attention.combine.", "attention.attentional.combine."): v
            for k, v in state_dict.items()
        }
        return super().load_state_dict(renamed, strict=strict, assign=assign)

    @torch.no_grad()
    def load_numpy_init(self, seed: int | None) -> None:
        from rnnlab.engine import initial_weights  # the init schemes are defined once

        arrays = initial_weights(self.spec, seed)
        self.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})

    # ------------------------------------------------------------------ the steps
    def encode(self, source: torch.Tensor, lengths: torch.Tensor) -> Carry:
        memory, final = self.encoder.rnn(self.encoder.embedding(source), None, lengths)
        state0 = self.bridge(final)
        mem = None
        if self.attention is not None:
            S = source.shape[0]
            real = torch.arange(S, device=source.device)[:, None] < lengths.to(source.device)[None]
            mem = Memory(memory, self.attention.keys(memory), real)
        feed = None
        if self.spec.input_feeding:
            feed = memory.new_zeros(source.shape[1], self.spec.decoder_hidden_size)
        return Carry(state0, feed, mem)

    def step(self, x: torch.Tensor, carry: Carry):
        """x (B, E) the embedded previous token → out (B, H_d), α (S, B) or None, carry."""
        alpha, inputs, mem = None, [x], carry.mem
        if self.spec.attention == "bahdanau":
            h = carry.state[0] if isinstance(carry.state, tuple) else carry.state
            c, alpha = self.attention(h[-1], mem.memory, mem.keys, mem.real)  # query s_{t-1}
            inputs.append(c)
        if carry.feed is not None:
            inputs.append(carry.feed)
        y, state = self.decoder.rnn(torch.cat(inputs, dim=-1)[None], carry.state)
        out = y[0]  # (B, H_d)
        if self.spec.luong:
            c, alpha = self.attention(out, mem.memory, mem.keys, mem.real)
            out = self.attention.attentional(c, out)  # h̃_t
        return out, alpha, Carry(state, out if self.spec.input_feeding else None, mem)

    def forward(self, source, source_lengths, target_inputs):
        carry = self.encode(source, source_lengths)
        xt = self.decoder.embedding(target_inputs)  # (T, B, E)
        outs, alphas = [], []
        for t in range(xt.shape[0]):
            out, alpha, carry = self.step(xt[t], carry)
            outs.append(out)
            alphas.append(alpha)
        logits = self.head(torch.stack(outs))  # (T, B, V_t)
        return logits, (torch.stack(alphas) if self.attention is not None else None)

    def numpy_state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.state_dict().items()}
