"""The NumPy model: input (one-hot | embedding | dense) → recurrent stack → dropout → head.

Built from a :class:`~rnnlab.model.ModelSpec`. ``params`` is one flat dict whose names are
the model's state_dict names (``embedding.weight``, ``rnn.weight_ih_l0``, ``head.weight``,
``head.bias``); its arrays *are* the layers' arrays, so an optimizer stepping ``params``
updates the layers, and ``load_state_dict`` copies in place.
"""

from typing import NamedTuple

import numpy as np

from rnnlab.model import ModelSpec
from rnnlab.numpy.dropout import Dropout, DropoutCache
from rnnlab.numpy.embedding import Embedding, EmbeddingCache
from rnnlab.numpy.gru import GRU
from rnnlab.numpy.layernorm_lstm import LayerNormLSTM
from rnnlab.numpy.linear import Linear, LinearCache
from rnnlab.numpy.lstm import LSTM
from rnnlab.numpy.peephole_lstm import PeepholeLSTM
from rnnlab.numpy.rnn import RNN
from rnnlab.numpy.stack import StackCache


class ModelCache(NamedTuple):
    embedding: EmbeddingCache | None
    rnn: StackCache
    dropout: DropoutCache
    head: LinearCache


def build_recurrent(spec: ModelSpec, seed: int | None):
    """The recurrent stack a spec describes (time-major)."""
    kw = dict(
        num_layers=spec.num_layers,
        bidirectional=spec.bidirectional,
        dropout=spec.dropout,
        dtype=np.dtype(spec.dtype),
        seed=seed,
        init=spec.init,
        forget_bias=spec.forget_bias,  # None for cells without a forget gate (ModelSpec)
    )
    if spec.cell == "rnn":
        return RNN(spec.rnn_input_size, spec.hidden_size, nonlinearity=spec.nonlinearity, **kw)
    cls = {
        "lstm": LSTM,
        "gru": GRU,
        "peephole_lstm": PeepholeLSTM,
        "layernorm_lstm": LayerNormLSTM,
    }[spec.cell]
    return cls(spec.rnn_input_size, spec.hidden_size, **kw)


class Model:
    """A whole recurrent model in NumPy; see the module docstring."""

    def __init__(self, spec: ModelSpec, seed: int | None = None):
        self.spec = spec
        self.dtype = np.dtype(spec.dtype)
        seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(4)]
        self.embedding = None
        if spec.input_kind == "embedding":
            self.embedding = Embedding(
                spec.input_size, spec.embedding_dim, dtype=self.dtype, seed=seeds[0]
            )
        self.rnn = build_recurrent(spec, seeds[1])
        self.dropout = Dropout(spec.dropout, seed=seeds[2])
        self.head = Linear(
            spec.hidden_size * spec.directions, spec.output_size, dtype=self.dtype, seed=seeds[3]
        )
        if spec.tie_weights:  # one array, two uses: the head reads the embedding matrix
            self.head.params["weight"] = self.embedding.params["weight"]
        self.params: dict[str, np.ndarray] = {}
        if self.embedding is not None:
            self.params["embedding.weight"] = self.embedding.params["weight"]
        self.params.update({f"rnn.{k}": v for k, v in self.rnn.params.items()})
        if not spec.tie_weights:
            self.params["head.weight"] = self.head.params["weight"]
        self.params["head.bias"] = self.head.params["bias"]

    def forward(self, inputs: np.ndarray, state=None, train: bool = True, lengths=None):
        """inputs (T, B) ids or (T, B, I) features → outputs (T, B, O), final state, cache."""
        spec = self.spec
        embedding_cache = None
        if spec.input_kind == "onehot":
            x = np.asarray(inputs)  # (T, B) ids: the stack gathers rows of W_ih, no one-hot
            if x.dtype.kind not in "iu":
                raise TypeError(f"one-hot input expects integer ids, got dtype {x.dtype}")
        elif spec.input_kind == "embedding":
            x, embedding_cache = self.embedding.forward(inputs)  # (T, B, E)
        else:
            x = np.asarray(inputs, dtype=self.dtype)  # (T, B, I)
        h, state_n, rnn_cache = self.rnn.forward(x, state, train=train, lengths=lengths)
        h, dropout_cache = self.dropout.forward(h, train=train)  # (T, B, D·H)
        out, head_cache = self.head.forward(h)  # (T, B, O)
        return out, state_n, ModelCache(embedding_cache, rnn_cache, dropout_cache, head_cache)

    def backward(self, d_out: np.ndarray, cache: ModelCache, dstate_n=None):
        """∂L/∂outputs (T, B, O) → gradients named like ``params``, and ∂L/∂initial state."""
        dh, head_grads = self.head.backward(d_out, cache.head)
        dh = self.dropout.backward(dh, cache.dropout)
        dx, dstate0, rnn_grads = self.rnn.backward(
            dh, dstate_n, cache.rnn, input_grad=self.embedding is not None
        )
        grads: dict[str, np.ndarray] = {}
        if self.embedding is not None:
            _, embedding_grads = self.embedding.backward(dx, cache.embedding)
            grads["embedding.weight"] = embedding_grads["weight"]
        grads.update({f"rnn.{k}": v for k, v in rnn_grads.items()})
        if self.spec.tie_weights:  # both uses of the shared matrix contribute
            grads["embedding.weight"] = grads["embedding.weight"] + head_grads["weight"]
        else:
            grads["head.weight"] = head_grads["weight"]
        grads["head.bias"] = head_grads["bias"]
        return grads, dstate0

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        """Copy weights in place; names and shapes must be exactly those of ``params``."""
        missing = sorted(set(self.params) - set(state_dict))
        extra = sorted(set(state_dict) - set(self.params))
        if missing or extra:
            raise ValueError(f"model state_dict mismatch: missing {missing}, unexpected {extra}")
        for name, target in self.params.items():
            value = np.asarray(state_dict[name])
            if value.shape != target.shape:
                raise ValueError(
                    f"model expected {name} of shape {target.shape}, got {value.shape}"
                )
            np.copyto(target, value, casting="same_kind")
