"""The NumPy model: input (one-hot | embedding | dense) → recurrent stack → dropout →
readout → head, a list of parts (:mod:`rnnlab.numpy.parts`) run forward in order and
backward in reverse. In training, the AR and TAR parts (:mod:`rnnlab.numpy.activation_reg`)
around the output's locked dropout add their penalties to ``caches["flow"].penalty``.

Built from a :class:`~rnnlab.model.ModelSpec`. ``params`` is one flat dict whose names are
the model's state_dict names (``embedding.weight``, ``rnn.weight_ih_l0``, ``head.weight``,
``head.bias``); its arrays *are* the layers' arrays, so an optimizer stepping ``params``
updates the layers, and ``load_state_dict`` copies in place.
"""

import numpy as np

from rnnlab.model import ModelSpec
from rnnlab.numpy.activation_reg import PenaltyPart
from rnnlab.numpy.dropout import Dropout
from rnnlab.numpy.embedding import Embedding
from rnnlab.numpy.gru import GRU
from rnnlab.numpy.layernorm_lstm import LayerNormLSTM
from rnnlab.numpy.linear import Linear
from rnnlab.numpy.locked_dropout import EmbeddingPart, LockedDropoutPart
from rnnlab.numpy.lstm import LSTM
from rnnlab.numpy.parts import (
    DenseInput,
    DropoutPart,
    Flow,
    LayerPart,
    Part,
    ReadoutPart,
    RecurrentPart,
    TokenInput,
)
from rnnlab.numpy.peephole_lstm import PeepholeLSTM
from rnnlab.numpy.readouts import NUMPY_READOUTS
from rnnlab.numpy.rnn import RNN


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
    """A whole recurrent model in NumPy: a list of parts run in order; see the module
    docstring and :mod:`rnnlab.numpy.parts`."""

    def __init__(self, spec: ModelSpec, seed: int | None = None):
        self.spec = spec
        self.dtype = np.dtype(spec.dtype)
        # one seed per part; children 0-3 are the original four, so a seed's weights stay
        # those it always gave (the torch engine's dropout generator is child 4)
        seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(6)]
        width = spec.hidden_size * spec.directions  # what the stack gives, per step
        self.embedding = None
        if spec.input_kind == "embedding":
            self.embedding = Embedding(
                spec.input_size, spec.embedding_dim, dtype=self.dtype, seed=seeds[0]
            )
            first = ("embedding", EmbeddingPart(self.embedding))  # embedding dropout
        elif spec.input_kind == "onehot":
            first = ("input", TokenInput())
        else:
            first = ("input", DenseInput(self.dtype))
        self.rnn = build_recurrent(spec, seeds[1])
        self.dropout = Dropout(spec.dropout, seed=seeds[2])
        self.readout = NUMPY_READOUTS[spec.readout](
            width, spec.directions, self.dtype, seed=seeds[5]
        )
        self.head = Linear(width, spec.output_size, dtype=self.dtype, seed=seeds[3])
        self.parts: list[tuple[str, Part]] = [
            first,
            ("input_dropout", LockedDropoutPart("input")),  # the identity without masks
            ("rnn", RecurrentPart(self.rnn)),
            ("tar", PenaltyPart("tar", spec.temporal_activation_reg)),  # reads y
            ("output_dropout", LockedDropoutPart("output")),
            ("ar", PenaltyPart("ar", spec.activation_reg)),  # reads ỹ, y after locked dropout
            ("dropout", DropoutPart(self.dropout)),
            ("readout", ReadoutPart(self.readout)),
            ("head", LayerPart(self.head)),
        ]
        # tied weights: one array, two uses; the head reads the embedding matrix
        self.tied = {"head.weight": "embedding.weight"} if spec.tie_weights else {}
        if spec.tie_weights:
            self.head.params["weight"] = self.embedding.params["weight"]
        self.params: dict[str, np.ndarray] = {
            f"{prefix}.{name}": array
            for prefix, part in self.parts
            for name, array in part.params.items()
            if f"{prefix}.{name}" not in self.tied
        }

    def forward(self, inputs: np.ndarray, state=None, train: bool = True, lengths=None, masks=None):
        """inputs (T, B) ids or (T, B, I) features → outputs (T, B, O) — (1, B, O) for a
        readout with one vector per sequence — the final state, and the caches.

        ``masks``: the :class:`rnnlab.masks.Masks` of this batch (training only)."""
        flow = Flow(train=train, lengths=lengths, state=state, masks=masks if train else None)
        x, caches = inputs, {}
        for prefix, part in self.parts:
            x, caches[prefix] = part.forward(x, flow)
        caches["flow"] = flow
        return x, flow.state_n, caches

    def backward(self, d_out: np.ndarray, caches: dict, dstate_n=None):
        """∂L/∂outputs → gradients named like ``params``, and ∂L/∂initial state."""
        flow = caches["flow"]
        flow.dstate_n = dstate_n
        grads: dict[str, np.ndarray] = {}
        dy = d_out
        for k in reversed(range(len(self.parts))):
            prefix, part = self.parts[k]
            flow.need_dx = any(p.params for _, p in self.parts[:k])  # stop where none learns
            dy, part_grads = part.backward(dy, caches[prefix], flow)
            for name, grad in part_grads.items():
                full = self.tied.get(f"{prefix}.{name}", f"{prefix}.{name}")
                # both uses of a tied array contribute to its gradient
                grads[full] = grads[full] + grad if full in grads else grad
            if not flow.need_dx:
                break
        return {name: grads[name] for name in self.params}, flow.dstate0

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        """Copy weights in place; names and shapes must be exactly those of ``params``."""
        copy_into(self.params, state_dict)


def copy_into(params: dict[str, np.ndarray], state_dict: dict[str, np.ndarray]) -> None:
    """Copy ``state_dict`` into the arrays of ``params`` in place; names and shapes must be
    exactly those of ``params`` (ValueError naming what differs)."""
    missing = sorted(set(params) - set(state_dict))
    extra = sorted(set(state_dict) - set(params))
    if missing or extra:
        raise ValueError(f"model state_dict mismatch: missing {missing}, unexpected {extra}")
    for name, target in params.items():
        value = np.asarray(state_dict[name])
        if value.shape != target.shape:
            raise ValueError(f"model expected {name} of shape {target.shape}, got {value.shape}")
        np.copyto(target, value, casting="same_kind")
