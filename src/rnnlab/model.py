"""ModelSpec: one engine-neutral description of a model, from which both engines build.

A model is a composition of four parts in a row, named as in its state_dict::

    input      one-hot of token ids | embedding.weight (V × E) | dense features
    rnn.*      the recurrent stack, torch.nn's names (rnn.weight_ih_l0, ...)
    readout.*  what the head sees: every step's output, or one vector per sequence
               (:mod:`rnnlab.readouts`: per_step, last, final_state, mean, max)
    head.*     a linear layer to logits or values (head.weight, head.bias)

Each engine builds its model from this list (``rnnlab.numpy.model``, ``rnnlab.torch.model``);
a new readout adds parts to the registries, not a model class.

The spec is saved in a run's ``config.json`` and rebuilt from it, so a checkpoint written by
one engine loads into the other.
"""

import math
from dataclasses import MISSING, asdict, dataclass, fields

from rnnlab.cells import CELLS as CELL_KINDS
from rnnlab.cells import parameter_name
from rnnlab.errors import InputError
from rnnlab.readouts import readout_kind
from rnnlab.settings import check_fields, from_fields

# Derived from the one registry of cells (rnnlab.cells), kept here for the spec's readers.
CELLS = tuple(CELL_KINDS)
GATES = {name: kind.num_gates for name, kind in CELL_KINDS.items()}
EXTRA_TENSORS = {
    name: kind.extra_tensors for name, kind in CELL_KINDS.items() if kind.extra_tensors
}
INPUT_KINDS = ("onehot", "embedding", "dense")
LOSSES = ("cross_entropy", "mse")
INITS = ("torch", "xavier")
DTYPES = ("float32", "float64")
# The dropouts whose masks rnnlab.masks draws, once per batch, for both engines.
MASKED_DROPOUTS = ("embedding_dropout", "input_dropout", "locked_dropout", "weight_drop")
# The penalties on the stack's output added to the training loss (AR, TAR), their coefficients.
PENALTIES = ("activation_reg", "temporal_activation_reg")


def count_parameters(shapes: dict[str, tuple[int, ...]]) -> int:
    """The number of scalars in tensors of these shapes (a spec's ``parameter_shapes()``)."""
    return sum(math.prod(shape) for shape in shapes.values())


@dataclass(frozen=True)
class ModelSpec:
    """What a model is, independent of the engine that runs it.

    Attributes:
        input_size: vocabulary size V (onehot/embedding input) or feature width (dense).
        output_size: classes (logits, cross-entropy) or regression outputs (mse).
        cell: "lstm", "gru", "rnn", "peephole_lstm" (gates also read the cell state) or
            "layernorm_lstm" (layer normalization of the gate pre-activations and the cell).
        hidden_size: H per direction.
        num_layers: stacked recurrent layers.
        bidirectional: two directions per layer (their outputs concatenated).
        dropout: between recurrent layers and before the head, training only.
        embedding_dropout: drop whole rows of embedding.weight (every occurrence of a
            token in a batch), one mask per batch, kept rows scaled by 1/(1-p); needs
            input_kind "embedding" (AWD-LSTM's embedding dropout).
        input_dropout: locked (variational) dropout of the stack's input: one mask per
            sequence, the same at every step; needs embedding or dense input.
        locked_dropout: locked (variational) dropout of every later layer's input and of
            the stack's output: one mask per sequence, the same at every step.
        weight_drop: DropConnect on every weight_hh: one mask per batch over its
            elements, kept ones scaled by 1/(1-p) (AWD-LSTM's weight-drop).
        activation_reg: the coefficient α of activation regularisation (AR): training adds
            α times the mean square of the stack's output after locked dropout, over the
            real steps and units, to the loss (AWD-LSTM; :mod:`rnnlab.numpy.activation_reg`).
        temporal_activation_reg: the coefficient β of temporal activation regularisation
            (TAR): training adds β times the mean square of the change of the stack's
            output (before locked dropout) between consecutive real steps to the loss.
        nonlinearity: "tanh" or "relu", for the "rnn" cell.
        input_kind: "onehot", "embedding" or "dense".
        embedding_dim: E for embedding input (defaults to hidden_size).
        tie_weights: the head reuses embedding.weight (needs E == H·directions, V == outputs).
        readout: what the head sees (:mod:`rnnlab.readouts`): "per_step" (an output per
            step) or one vector per sequence (classifiers): "last", "final_state", "mean",
            "max".
        loss: "cross_entropy" (classification) or "mse" (regression).
        init: "xavier" (Xavier input weights, orthogonal recurrent) or "torch" (U(±1/√H)).
        forget_bias: initial LSTM forget-gate bias (None leaves the scheme's value);
            always None for cells without a forget gate (RNN, GRU).
        dtype: "float32" or "float64".
    """

    input_size: int
    output_size: int
    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    embedding_dropout: float = 0.0
    input_dropout: float = 0.0
    locked_dropout: float = 0.0
    weight_drop: float = 0.0
    activation_reg: float = 0.0
    temporal_activation_reg: float = 0.0
    nonlinearity: str = "tanh"
    input_kind: str = "onehot"
    embedding_dim: int | None = None
    tie_weights: bool = False
    readout: str = "per_step"
    loss: str = "cross_entropy"
    init: str = "xavier"
    forget_bias: float | None = 1.0
    dtype: str = "float32"

    def __post_init__(self):
        check_fields(self, lambda name: f"model {name}")  # types first: then ranges compare
        for name in ("input_size", "output_size", "hidden_size", "num_layers", "embedding_dim"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"model {name} must be a positive integer, got {value!r}")
        for name, allowed in [
            ("cell", CELLS),
            ("input_kind", INPUT_KINDS),
            ("loss", LOSSES),
            ("init", INITS),
            ("dtype", DTYPES),
            ("nonlinearity", ("tanh", "relu")),
        ]:
            if getattr(self, name) not in allowed:
                raise InputError(
                    f"model {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        readout_kind(self.readout)  # a registered readout (tests may register their own)
        for name in ("dropout", *MASKED_DROPOUTS):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise InputError(f"model {name} must be in [0, 1), got {getattr(self, name)!r}")
        for name in PENALTIES:
            if getattr(self, name) < 0.0:
                raise InputError(f"model {name} must be >= 0, got {getattr(self, name)!r}")
        if self.embedding_dropout and self.input_kind != "embedding":
            raise InputError("model embedding_dropout needs input_kind 'embedding'")
        if self.input_dropout and self.input_kind == "onehot":
            raise InputError(
                "model input_dropout needs input_kind 'embedding' or 'dense' (one-hot rows "
                "are dropped whole by embedding_dropout with an embedding)"
            )
        if self.embedding_dim is not None and self.input_kind != "embedding":
            raise InputError("model embedding_dim is only meaningful with input_kind 'embedding'")
        if self.input_kind == "embedding" and self.embedding_dim is None:
            object.__setattr__(self, "embedding_dim", self.hidden_size)
        if self.gates != 4:  # no forget gate: a task's LSTM default must not show up here
            object.__setattr__(self, "forget_bias", None)
        if self.tie_weights:
            width = self.hidden_size * self.directions
            if self.input_kind != "embedding" or self.embedding_dim != width:
                raise InputError(
                    f"tie_weights needs input_kind 'embedding' with embedding_dim == "
                    f"hidden_size·directions ({width}), got {self.input_kind}, {self.embedding_dim}"
                )
            if self.output_size != self.input_size:
                raise InputError(
                    f"tie_weights needs output_size == input_size, "
                    f"got {self.output_size} and {self.input_size}"
                )

    # ------------------------------------------------------------------ derived sizes
    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def gates(self) -> int:
        return GATES[self.cell]

    @property
    def masked(self) -> bool:
        """Whether training draws the masks of :mod:`rnnlab.masks` (any of its dropouts on)."""
        return any(getattr(self, name) > 0.0 for name in MASKED_DROPOUTS)

    @property
    def penalises_activations(self) -> bool:
        """Whether training adds AR or TAR to the loss (either coefficient above 0)."""
        return any(getattr(self, name) > 0.0 for name in PENALTIES)

    @property
    def one_per_sequence(self) -> bool:
        """Whether the model answers once per sequence (a classifier): outputs (1, B, O)."""
        return readout_kind(self.readout).one_per_sequence

    @property
    def rnn_input_size(self) -> int:
        """Width of what the recurrent stack reads: E for embeddings, else input_size."""
        return self.embedding_dim if self.input_kind == "embedding" else self.input_size

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor of the model's state_dict, in order, with its shape."""
        shapes: dict[str, tuple[int, ...]] = {}
        if self.input_kind == "embedding":
            shapes["embedding.weight"] = (self.input_size, self.embedding_dim)
        G, H = self.gates * self.hidden_size, self.hidden_size
        for layer in range(self.num_layers):
            width = self.rnn_input_size if layer == 0 else H * self.directions
            for d in range(self.directions):
                shapes[f"rnn.{parameter_name('weight_ih', layer, d)}"] = (G, width)
                shapes[f"rnn.{parameter_name('weight_hh', layer, d)}"] = (G, H)
                shapes[f"rnn.{parameter_name('bias_ih', layer, d)}"] = (G,)
                shapes[f"rnn.{parameter_name('bias_hh', layer, d)}"] = (G,)
                for name, units in CELL_KINDS[self.cell].extra_tensors.items():
                    shapes[f"rnn.{parameter_name(name, layer, d)}"] = (units * H,)
        for name, shape in readout_kind(self.readout).parameter_shapes(H * self.directions).items():
            shapes[f"readout.{name}"] = shape
        if not self.tie_weights:
            shapes["head.weight"] = (self.output_size, H * self.directions)
        shapes["head.bias"] = (self.output_size,)
        return shapes

    def num_parameters(self) -> int:
        return count_parameters(self.parameter_shapes())

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        return from_fields(cls, d, "model")

    def __repr__(self) -> str:
        return compact_repr(self, skip=() if self.gates == 4 else ("forget_bias",))


def compact_repr(obj, skip: tuple[str, ...] = ()) -> str:
    """``Name(field=value, ...)`` listing required fields and those that differ from defaults,
    except the fields named in ``skip``."""
    parts = [
        f"{f.name}={getattr(obj, f.name)!r}"
        for f in fields(obj)
        if f.name not in skip and (f.default is MISSING or getattr(obj, f.name) != f.default)
    ]
    return f"{type(obj).__name__}({', '.join(parts)})"
