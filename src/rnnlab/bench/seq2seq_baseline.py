"""The plain PyTorch encoder–decoder that ``rnnlab bench --seq2seq`` measures against.

Written the way a PyTorch user would write the model of a
:class:`~rnnlab.seq2seq.spec.Seq2SeqSpec`, with nothing of rnnlab's in it: ``nn.Embedding``,
``nn.LSTM`` / ``nn.GRU`` for both stacks (time-major; the source packed with
``pack_padded_sequence``, so each direction ends at the sequence's real end), ``nn.Linear``
bridges, the attention, ``nn.Linear`` head, ``F.cross_entropy`` over the real target tokens,
``clip_grad_norm_`` and ``torch.optim.Adam``. Its modules carry rnnlab's names
(``encoder.rnn.weight_ih_l0``, ``bridge.hidden.weight``, ``attention.key.weight``, ...), so an
rnnlab model's weights load into it, and ``tests/bench/test_seq2seq_baseline.py`` proves that
a step does the work of an rnnlab step: the same loss, gradients and update.

Where nothing of step t feeds back into the decoder's input (Luong attention without input
feeding, the g2p default), the decoder stack runs over the whole target in one ``nn.LSTM``
call and the attention over all steps in two batched products, as a PyTorch user would
write it; Bahdanau attention and input feeding make step t read step t − 1's attention, so
the decoder is stepped then, one ``nn.LSTM`` call per target position.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.seq2seq.batch import Seq2SeqBatch
from rnnlab.seq2seq.spec import Seq2SeqSpec

LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU}


class Half(nn.Module):
    def __init__(self, vocab: int, embedding_dim: int, rnn: nn.Module):
        super().__init__()
        self.embedding, self.rnn = nn.Embedding(vocab, embedding_dim), rnn


class Attention(nn.Module):
    """Scores e_tj of decoder states s_t (T, B, H_d) over encoder outputs h_j (S, B, W)."""

    def __init__(self, kind: str, H_d: int, W: int, A: int | None):
        super().__init__()
        self.kind = kind
        if kind == "bahdanau":
            self.query = nn.Linear(H_d, A, bias=False)  # W_s
            self.key = nn.Linear(W, A, bias=False)  # W_h
            self.energy = nn.Linear(A, 1, bias=False)  # vᵀ
        elif kind == "general":
            self.key = nn.Linear(W, H_d, bias=False)  # W_a
        if kind in ("dot", "general"):
            self.combine = nn.Linear(W + H_d, H_d, bias=False)  # W_c

    def keys(self, memory):
        return memory if self.kind == "dot" else self.key(memory)  # (S, B, K)

    def forward(self, s, memory, keys, pad):
        """s (T, B, H_d) → context (T, B, W), α (T, B, S); ``pad`` (B, S) True on padding."""
        if self.kind == "bahdanau":
            e = self.energy(torch.tanh(self.query(s)[:, :, None] + keys.transpose(0, 1)))[..., 0]
        else:
            e = torch.einsum("tbk,sbk->tbs", s, keys)  # (T, B, S)
        alpha = torch.softmax(e.masked_fill(pad, float("-inf")), dim=-1)  # (T, B, S)
        return torch.einsum("tbs,sbw->tbw", alpha, memory), alpha  # (T, B, W)


class TorchNNSeq2Seq(nn.Module):
    """embedding → nn.LSTM/GRU encoder → bridge → embedding → nn.LSTM/GRU decoder with
    attention → nn.Linear head, for ``spec`` (float32)."""

    def __init__(self, spec: Seq2SeqSpec):
        super().__init__()
        if spec.cell not in LAYERS:
            raise ValueError(f"the plain PyTorch encoder–decoder has lstm and gru, got {spec.cell}")
        self.spec = spec
        E, H, W, H_d, L_d = (spec.embedding_dim, spec.hidden_size, spec.memory_width,
                             spec.decoder_hidden_size, spec.decoder_layers)  # fmt: skip
        rnn = LAYERS[spec.cell]
        self.encoder = Half(spec.source_vocab, E, rnn(E, H, spec.num_layers,
                            bidirectional=spec.bidirectional, dropout=spec.dropout))  # fmt: skip
        if spec.bridge == "linear":
            self.bridge = nn.ModuleDict({n: nn.Linear(W, L_d * H_d) for n in spec.state_names})
        self.decoder = Half(
            spec.target_vocab, E, rnn(spec.decoder_input_size, H_d, L_d, dropout=spec.dropout)
        )
        if spec.attention != "none":
            self.attention = Attention(spec.attention, H_d, W, spec.attention_size)
        self.head = nn.Linear(H_d, spec.target_vocab)

    def encode(self, source, lengths):
        """memory (S, B, W) zero on padding, and the decoder's initial state."""
        packed = pack_padded_sequence(self.encoder.embedding(source), lengths, enforce_sorted=False)
        memory, final = self.encoder.rnn(packed)
        memory, _ = pad_packed_sequence(memory, total_length=source.shape[0])  # (S, B, W)
        parts = final if isinstance(final, tuple) else (final,)  # (L·D, B, H) each
        B, L_d, H_d = source.shape[1], self.spec.decoder_layers, self.spec.decoder_hidden_size
        top = parts[0].shape[0] - self.spec.directions  # the top layer's first direction
        state = []
        for name, part in zip(self.spec.state_names, parts, strict=True):
            if self.spec.bridge == "zeros":
                state.append(part.new_zeros(L_d, B, H_d))
                continue
            z = self.bridge[name](torch.cat(list(part[top:]), dim=-1))  # (B, L_d·H_d)
            z = torch.tanh(z) if name == "hidden" else z
            state.append(z.reshape(B, L_d, H_d).transpose(0, 1).contiguous())  # (L_d, B, H_d)
        return memory, tuple(state) if len(state) > 1 else state[0]

    def forward(self, source, lengths, target_inputs):
        """logits (T, B, V_t) for ids (S, B), lengths (B,) on the CPU, ids (T, B)."""
        memory, state = self.encode(source, lengths)
        y = self.decoder.embedding(target_inputs)  # (T, B, E)
        spec = self.spec
        if spec.attention == "none":
            return self.head(self.decoder.rnn(y, state)[0])
        pad = torch.arange(source.shape[0])[None, :] >= lengths[:, None]  # (B, S)
        keys = self.attention.keys(memory)  # (S, B, K)
        if spec.luong and not spec.input_feeding:  # the whole target at once
            s, _ = self.decoder.rnn(y, state)  # (T, B, H_d)
            c, _ = self.attention(s, memory, keys, pad)  # (T, B, W)
            return self.head(torch.tanh(self.attention.combine(torch.cat([c, s], dim=-1))))
        outs, feed = [], y.new_zeros(y.shape[1], spec.decoder_hidden_size)
        for t in range(y.shape[0]):  # step t reads step t − 1's attention
            inputs = [y[t]]
            if spec.attention == "bahdanau":
                h = state[0] if isinstance(state, tuple) else state
                inputs.append(self.attention(h[-1:], memory, keys, pad)[0][0])  # c_t (B, W)
            if spec.input_feeding:
                inputs.append(feed)
            s, state = self.decoder.rnn(torch.cat(inputs, dim=-1)[None], state)  # (1, B, H_d)
            if spec.luong:
                c, _ = self.attention(s, memory, keys, pad)
                s = torch.tanh(self.attention.combine(torch.cat([c, s], dim=-1)))  # h̃_t
            outs.append(feed := s[0])  # (B, H_d)
        return self.head(torch.stack(outs))  # (T, B, V_t)


def training_step(model: TorchNNSeq2Seq, batch: Seq2SeqBatch, lr: float, grad_clip: float | None):
    """A function running one training step of ``model`` on ``batch`` (Adam at ``lr``, its
    moments from zero; gradients clipped to norm ``grad_clip``); it returns the loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    source, target_inputs = torch.from_numpy(batch.source), torch.from_numpy(batch.target_inputs)
    lengths = torch.from_numpy(batch.source_lengths)
    mask = torch.from_numpy(batch.mask)
    targets = torch.from_numpy(batch.targets)[mask]  # (N,) the real target tokens

    def step() -> float:
        model.train()
        logits = model(source, lengths, target_inputs)  # (T, B, V_t)
        loss = F.cross_entropy(logits[mask], targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        return loss.item()

    return step
