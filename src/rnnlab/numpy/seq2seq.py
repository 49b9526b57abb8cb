"""The encoder–decoder with attention in NumPy (what it is: :mod:`rnnlab.seq2seq.spec`).

Forward, teacher forcing, for a batch of source ids x (S, B) and shifted targets (T, B):

    h_{1..S}, final = encoder(emb_s(x), lengths)       (S, B, W), zero on padding
    state_0         = bridge(final)                    (L_d, B, H_d) per state part
    for t = 1..T:   decoder_step (below), out_t        (B, H_d)
    logits_t        = head(out_t)                      (T, B, V_t)
    L               = mean cross-entropy over the real target tokens

one decoder step, with x_t = emb_t(y_{t-1}) (B, E) and s_{t-1} the top layer's state:

    bahdanau   c_t, α_t = attend(s_{t-1});  s_t = cell([x_t; c_t], state);  out_t = s_t
    dot/general          s_t = cell([x_t; h̃_{t-1}] or x_t, state);
               c_t, α_t = attend(s_t);  h̃_t = tanh(W_c [c_t; s_t]);        out_t = h̃_t
    none                 s_t = cell(x_t, state);                              out_t = s_t

Backward runs the steps in reverse with the parts' own backward passes: ∂L/∂state flows
from step t to t − 1 through the decoder stack (plus, for Bahdanau, the query's share at
the top layer's h); ∂L/∂h̃_{t-1} comes back from step t's input (input feeding); the
memory's and keys' gradients are summed over the steps, then go once through the key
projection and the encoder; the decoder's initial state's through the bridge into the
encoder's final state.

``params`` is one flat dict named like the state_dict (``encoder.rnn.weight_ih_l0``, ...);
its arrays are the parts' arrays, so an optimizer stepping them updates the model.
"""

from typing import Any, NamedTuple

import numpy as np

from rnnlab.numpy.attention import Attention, AttentionalLayer, Memory
from rnnlab.numpy.bridge import LinearBridge, ZeroBridge
from rnnlab.numpy.embedding import Embedding
from rnnlab.numpy.linear import Linear
from rnnlab.numpy.losses import softmax_cross_entropy
from rnnlab.numpy.model import build_recurrent, copy_into
from rnnlab.seq2seq.batch import Seq2SeqBatch
from rnnlab.seq2seq.spec import Seq2SeqSpec


class Carry(NamedTuple):
    """What one decoder step hands the next: the recurrent state and h̃_{t-1} (input
    feeding; None otherwise), with the memory it attends to."""

    state: Any  # h (L_d, B, H_d), or (h, c)
    feed: np.ndarray | None  # (B, H_d)
    mem: Memory | None

    def select(self, rows: np.ndarray) -> "Carry":
        """The carry of the batch rows ``rows`` (beam search repeats and reorders them)."""
        parts = self.state if isinstance(self.state, tuple) else (self.state,)
        picked = tuple(np.ascontiguousarray(p[:, rows]) for p in parts)
        return Carry(
            picked if len(picked) > 1 else picked[0],
            None if self.feed is None else self.feed[rows],
            None if self.mem is None else self.mem.select(rows),
        )


class StepCache(NamedTuple):
    decoder: Any  # the decoder stack's cache for this one step
    attend: Any  # the attention's cache, or None
    combine: Any  # the attentional layer's cache, or None


class Seq2SeqCache(NamedTuple):
    source_embedding: Any
    encoder: Any
    bridge: Any
    mem: Memory | None
    target_embedding: Any
    steps: list  # StepCache per target step
    head: Any
    alphas: np.ndarray | None  # (T, S, B) the attention weights, for plots


def _top_hidden(state) -> np.ndarray:
    """s: the top decoder layer's hidden state (B, H_d)."""
    return (state[0] if isinstance(state, tuple) else state)[-1]


def _add_to_top_hidden(dstate, ds: np.ndarray):
    h = dstate[0] if isinstance(dstate, tuple) else dstate
    h[-1] += ds
    return dstate


def _add(total: dict, grads: dict, prefix: str) -> None:
    for name, g in grads.items():
        key = f"{prefix}.{name}"
        total[key] = total[key] + g if key in total else g


class Seq2SeqModel:
    """An encoder–decoder with attention; see the module docstring."""

    def __init__(self, spec: Seq2SeqSpec, seed: int | None = None):
        self.spec = spec
        dtype = self.dtype = np.dtype(spec.dtype)
        seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(7)]
        E, W, H_d = spec.embedding_dim, spec.memory_width, spec.decoder_hidden_size
        self.source_embedding = Embedding(spec.source_vocab, E, dtype=dtype, seed=seeds[0])
        self.encoder = build_recurrent(spec.encoder_spec(), seeds[1])
        if spec.bridge == "linear":
            self.bridge = LinearBridge(
                spec.state_names, spec.num_layers, spec.directions, W, spec.decoder_layers,
                H_d, dtype, seed=seeds[2],
            )  # fmt: skip
        else:
            self.bridge = ZeroBridge(spec.state_names, spec.decoder_layers, H_d, dtype)
        self.target_embedding = Embedding(spec.target_vocab, E, dtype=dtype, seed=seeds[3])
        self.decoder = build_recurrent(spec.decoder_spec(), seeds[4])
        self.attention = None
        if spec.attention != "none":
            self.attention = Attention(
                spec.attention, H_d, W, spec.attention_size, dtype, seed=seeds[5]
            )
        self.combine = AttentionalLayer(H_d, W, dtype, seed=seeds[5] + 1) if spec.luong else None
        self.head = Linear(H_d, spec.target_vocab, dtype=dtype, seed=seeds[6])
        attention_params = {
            **(self.attention.params if self.attention else {}),
            **(self.combine.params if self.combine else {}),
        }
        groups = [
            ("encoder.embedding", self.source_embedding.params),
            ("encoder.rnn", self.encoder.params),
            ("bridge", self.bridge.params),
            ("decoder.embedding", self.target_embedding.params),
            ("decoder.rnn", self.decoder.params),
            ("attention", attention_params),
            ("head", self.head.params),
        ]
        self.params: dict[str, np.ndarray] = {
            f"{prefix}.{name}": array for prefix, params in groups for name, array in params.items()
        }

    # ------------------------------------------------------------------ encoding
    def encode(self, source: np.ndarray, lengths: np.ndarray, train: bool = False):
        """source (S, B) ids, lengths (B,) → the first decoder Carry and the caches."""
        xs, emb_cache = self.source_embedding.forward(source)  # (S, B, E)
        memory, final, enc_cache = self.encoder.forward(xs, None, train=train, lengths=lengths)
        state0, bridge_cache = self.bridge.forward(final)
        mem = None
        if self.attention is not None:
            real = np.arange(source.shape[0])[:, None] < np.asarray(lengths)[None, :]  # (S, B)
            mem = self.attention.prepare(memory, real)
        feed = None
        if self.spec.input_feeding:
            feed = np.zeros((source.shape[1], self.spec.decoder_hidden_size), self.dtype)
        return Carry(state0, feed, mem), (emb_cache, enc_cache, bridge_cache)

    # ------------------------------------------------------------------ one decoder step
    def step(self, x: np.ndarray, carry: Carry, train: bool = False):
        """x (B, E) the embedded previous token → out (B, H_d), α (S, B) or None, the next
        carry and this step's cache."""
        attend = combine = alpha = None
        inputs = [x]
        if self.spec.attention == "bahdanau":
            c, alpha, attend = self.attention.forward(_top_hidden(carry.state), carry.mem)
            inputs.append(c)  # c_t joins the input of step t
        if carry.feed is not None:
            inputs.append(carry.feed)  # h̃_{t-1}
        x_in = np.concatenate(inputs, axis=-1)[None]  # (1, B, I_d)
        y, state, dec_cache = self.decoder.forward(x_in, carry.state, train=train)
        out = y[0]  # (B, H_d) s_t
        if self.spec.luong:
            c, alpha, attend = self.attention.forward(out, carry.mem)
            out, combine = self.combine.forward(c, out)  # h̃_t
        feed = out if self.spec.input_feeding else None
        return out, alpha, Carry(state, feed, carry.mem), StepCache(dec_cache, attend, combine)

    def step_backward(self, dout, dcarry_state, dfeed, cache: StepCache, mem, grads, dmem):
        """One step in reverse: ∂L/∂out_t (+ ∂L/∂h̃_t from the next step's input) and
        ∂L/∂state_t → ∂L/∂x_t, ∂L/∂state_{t-1}, ∂L/∂h̃_{t-1}; the parameter, memory and
        key gradients are added to ``grads`` and ``dmem`` ([dmemory, dkeys])."""
        spec = self.spec
        if dfeed is not None:
            dout = dout + dfeed
        ds = dout
        if spec.luong:
            dc, ds, g = self.combine.backward(dout, cache.combine)
            _add(grads, g, "attention")
            ds_attend, dmemory, dkeys, g = self.attention.backward(dc, cache.attend, mem)
            _add(grads, g, "attention")
            dmem[0] += dmemory
            dmem[1] += dkeys
            ds = ds + ds_attend
        dx, dstate, g = self.decoder.backward(ds[None], dcarry_state, cache.decoder)
        _add(grads, g, "decoder.rnn")
        dx = dx[0]  # (B, I_d)
        E = spec.embedding_dim
        dx_emb, rest = dx[:, :E], dx[:, E:]
        dfeed_prev = None
        if spec.attention == "bahdanau":
            dc = rest[:, : spec.memory_width]
            dq, dmemory, dkeys, g = self.attention.backward(dc, cache.attend, mem)
            _add(grads, g, "attention")
            dmem[0] += dmemory
            dmem[1] += dkeys
            dstate = _add_to_top_hidden(dstate, dq)  # the query was s_{t-1}
        elif spec.input_feeding:
            dfeed_prev = rest
        return dx_emb, dstate, dfeed_prev

    # ------------------------------------------------------------------ whole batches
    def forward(self, batch: Seq2SeqBatch, train: bool = True):
        """Teacher forcing: logits (T, B, V_t) and the caches."""
        carry, (emb_cache, enc_cache, bridge_cache) = self.encode(
            batch.source, batch.source_lengths, train=train
        )
        xt, tgt_cache = self.target_embedding.forward(batch.target_inputs)  # (T, B, E)
        outs, steps, alphas = [], [], []
        for t in range(xt.shape[0]):
            out, alpha, carry, cache = self.step(xt[t], carry, train=train)
            outs.append(out)
            steps.append(cache)
            alphas.append(alpha)
        logits, head_cache = self.head.forward(np.stack(outs))  # (T, B, V_t)
        mem = carry.mem
        kept = np.stack(alphas) if self.attention is not None else None  # (T, S, B)
        cache = Seq2SeqCache(
            emb_cache, enc_cache, bridge_cache, mem, tgt_cache, steps, head_cache, kept
        )
        return logits, cache

    def loss(self, logits: np.ndarray, batch: Seq2SeqBatch):
        """Mean cross-entropy over the real target tokens, and ∂L/∂logits."""
        return softmax_cross_entropy(logits, batch.targets, batch.mask)

    def backward(self, dlogits: np.ndarray, cache: Seq2SeqCache) -> dict[str, np.ndarray]:
        """∂L/∂logits (T, B, V_t) → gradients named like ``params``."""
        grads: dict[str, np.ndarray] = {}
        douts, g = self.head.backward(dlogits, cache.head)  # (T, B, H_d)
        _add(grads, g, "head")
        mem = cache.mem
        dmem = [np.zeros_like(mem.memory), np.zeros_like(mem.keys)] if mem else [None, None]
        dxt = np.zeros((*douts.shape[:2], self.spec.embedding_dim), self.dtype)  # (T, B, E)
        dstate = dfeed = None
        for t in reversed(range(douts.shape[0])):
            dxt[t], dstate, dfeed = self.step_backward(
                douts[t], dstate, dfeed, cache.steps[t], mem, grads, dmem
            )
        _add(
            grads,
            self.target_embedding.backward(dxt, cache.target_embedding)[1],
            "decoder.embedding",
        )
        dfinal, g = self.bridge.backward(dstate, cache.bridge)
        _add(grads, g, "bridge")
        dmemory = None
        if mem is not None:
            dmemory, g = self.attention.prepare_backward(dmem[0], dmem[1], mem)
            _add(grads, g, "attention")
        dxs, _, g = self.encoder.backward(dmemory, dfinal, cache.encoder)
        _add(grads, g, "encoder.rnn")
        _add(
            grads,
            self.source_embedding.backward(dxs, cache.source_embedding)[1],
            "encoder.embedding",
        )
        return {name: grads[name] for name in self.params}

    # ------------------------------------------------------------------ weights
    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        """Copy weights in place; names and shapes must be exactly those of ``params``."""
        copy_into(self.params, state_dict)
