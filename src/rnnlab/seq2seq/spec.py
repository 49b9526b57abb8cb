"""Seq2SeqSpec: one engine-neutral description of an encoder–decoder with attention.

The model, named as in its state_dict::

    encoder.embedding.weight   (V_s, E)       source tokens → vectors
    encoder.rnn.*              the encoder stack over the source (any cell, layers,
                               bidirectional), torch.nn's names: W = D·H wide outputs h_j
    bridge.*                   the decoder's initial state from the encoder's final states
                               (forward ‖ backward), or zeros: :mod:`rnnlab.numpy.bridge`
    decoder.embedding.weight   (V_t, E)       target tokens → vectors
    decoder.rnn.*              the decoder stack (one direction), H_d wide states s_t
    attention.*                scores over the source positions, the context c_t and, for
                               Luong, the attentional state h̃_t: :mod:`rnnlab.numpy.attention`
    head.weight, head.bias     (V_t, H_d)     logits over the target vocabulary

Attention (``attention``):

    bahdanau   e_tj = vᵀ tanh(W_s s_{t-1} + W_h h_j); c_t joins the input of step t:
               s_t = cell([emb(y_{t-1}); c_t], s_{t-1}); logits_t = head(s_t)
    dot        e_tj = s_tᵀ h_j            (needs H_d = W)
    general    e_tj = s_tᵀ W_a h_j
               for both: s_t = cell(x_t, s_{t-1}), x_t = emb(y_{t-1}) — or [emb(y_{t-1}); h̃_{t-1}]
               with ``input_feeding`` — then h̃_t = tanh(W_c [c_t; s_t]), logits_t = head(h̃_t)
    none       no attention: a plain encoder–decoder, logits_t = head(s_t)

Each model half is described by a :class:`~rnnlab.model.ModelSpec` (:meth:`encoder_spec`,
:meth:`decoder_spec`) so both engines build the recurrent stacks exactly as for every
other model. The spec is saved in a run's ``config.json`` (:meth:`to_dict`) and rebuilt
from it (:meth:`from_dict`).
"""

from dataclasses import asdict, dataclass

from rnnlab.cells import CELLS as CELL_KINDS
from rnnlab.errors import InputError
from rnnlab.model import (
    CELLS,
    DTYPES,
    GATES,
    INITS,
    ModelSpec,
    compact_repr,
    count_parameters,
)
from rnnlab.settings import check_fields, from_fields

ATTENTIONS = ("bahdanau", "dot", "general", "none")
BRIDGES = ("linear", "zeros")


@dataclass(frozen=True)
class Seq2SeqSpec:
    """What an encoder–decoder is, independent of the engine that runs it.

    Attributes:
        source_vocab: V_s, source token ids in [0, V_s).
        target_vocab: V_t, target token ids in [0, V_t) (with the <bos> and <eos> ids).
        cell: the recurrent cell of both stacks (a ModelSpec cell).
        hidden_size: H, the encoder's width per direction.
        num_layers: encoder layers.
        bidirectional: a two-direction encoder, outputs h_j = [h→_j; h←_j] of width W = 2H.
        decoder_hidden_size: H_d (default W = H·directions, so ``dot`` attention fits).
        decoder_layers: decoder layers (default ``num_layers``).
        embedding_dim: E of both embeddings (default H).
        attention: "bahdanau" (additive), "dot" or "general" (Luong), or "none" (a plain
            encoder–decoder): see :mod:`rnnlab.seq2seq.spec`.
        attention_size: A, the width of Bahdanau's tanh layer (default H_d; None for the
            other attentions).
        input_feeding: Luong attention only: h̃_{t-1} joins the decoder input at step t.
        bridge: "linear" (the final encoder states mapped to every decoder layer) or "zeros".
        dropout: between recurrent layers of each stack, training only.
        nonlinearity, init, forget_bias, dtype: as in :class:`~rnnlab.model.ModelSpec`.
    """

    source_vocab: int
    target_vocab: int
    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    decoder_hidden_size: int | None = None
    decoder_layers: int | None = None
    embedding_dim: int | None = None
    attention: str = "bahdanau"
    attention_size: int | None = None
    input_feeding: bool = False
    bridge: str = "linear"
    dropout: float = 0.0
    nonlinearity: str = "tanh"
    init: str = "xavier"
    forget_bias: float | None = 1.0
    dtype: str = "float32"

    one_per_sequence = False  # not a field: it answers at every target step, as the trainer asks

    def __post_init__(self):
        check_fields(self, lambda name: f"model {name}")
        sizes = ("source_vocab", "target_vocab", "hidden_size", "num_layers")
        for name in (*sizes, "decoder_hidden_size", "decoder_layers", "embedding_dim"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"model {name} must be a positive integer, got {value!r}")
        if self.attention_size is not None and self.attention_size < 1:
            raise InputError(
                f"model attention_size must be a positive integer, got {self.attention_size!r}"
            )
        for name, allowed in [
            ("cell", CELLS),
            ("attention", ATTENTIONS),
            ("bridge", BRIDGES),
            ("init", INITS),
            ("dtype", DTYPES),
            ("nonlinearity", ("tanh", "relu")),
        ]:
            if getattr(self, name) not in allowed:
                raise InputError(
                    f"model {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"model dropout must be in [0, 1), got {self.dropout!r}")
        defaults = {
            "decoder_hidden_size": self.hidden_size * self.directions,
            "decoder_layers": self.num_layers,
            "embedding_dim": self.hidden_size,
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.attention == "bahdanau" and self.attention_size is None:
            object.__setattr__(self, "attention_size", self.decoder_hidden_size)
        if self.attention != "bahdanau":  # only Bahdanau's tanh layer has a width
            object.__setattr__(self, "attention_size", None)
        if self.input_feeding and not self.luong:
            raise InputError(
                "model input_feeding needs Luong attention ('dot' or 'general'), "
                f"got attention {self.attention!r}"
            )
        if self.attention == "dot" and self.decoder_hidden_size != self.memory_width:
            raise InputError(
                f"dot attention needs decoder_hidden_size == hidden_size·directions "
                f"({self.memory_width}), got {self.decoder_hidden_size}; use 'general'"
            )
        if GATES[self.cell] != 4:  # no forget gate (GRU, RNN): a default must not show
            object.__setattr__(self, "forget_bias", None)

    # ------------------------------------------------------------------ derived sizes
    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def memory_width(self) -> int:
        """W = H·directions: the width of the encoder outputs h_j the decoder attends to."""
        return self.hidden_size * self.directions

    @property
    def luong(self) -> bool:
        return self.attention in ("dot", "general")

    @property
    def decoder_input_size(self) -> int:
        """What the decoder stack reads at each step: E, plus c_t (Bahdanau) or h̃_{t-1}
        (input feeding)."""
        extra = {"bahdanau": self.memory_width}.get(self.attention, 0)
        if self.input_feeding:
            extra = self.decoder_hidden_size
        return self.embedding_dim + extra

    def encoder_spec(self) -> ModelSpec:
        """The encoder half as a ModelSpec: embedding → stack (its head is unused)."""
        return ModelSpec(
            input_size=self.source_vocab,
            output_size=1,
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            nonlinearity=self.nonlinearity,
            input_kind="embedding",
            embedding_dim=self.embedding_dim,
            init=self.init,
            forget_bias=self.forget_bias,
            dtype=self.dtype,
        )

    def decoder_spec(self) -> ModelSpec:
        """The decoder stack as a ModelSpec reading dense inputs of
        :attr:`decoder_input_size` (the embedding and context are joined before it)."""
        return ModelSpec(
            input_size=self.decoder_input_size,
            output_size=self.target_vocab,
            cell=self.cell,
            hidden_size=self.decoder_hidden_size,
            num_layers=self.decoder_layers,
            dropout=self.dropout,
            nonlinearity=self.nonlinearity,
            input_kind="dense",
            init=self.init,
            forget_bias=self.forget_bias,
            dtype=self.dtype,
        )

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor of the model's state_dict, in order, with its shape."""
        W, H_d, L_d = self.memory_width, self.decoder_hidden_size, self.decoder_layers
        shapes = {"encoder.embedding.weight": (self.source_vocab, self.embedding_dim)}
        shapes |= _stack_shapes("encoder", self.encoder_spec())
        if self.bridge == "linear":
            for state in self.state_names:  # "hidden" (h) and, for LSTMs, "cell" (c)
                shapes[f"bridge.{state}.weight"] = (L_d * H_d, W)
                shapes[f"bridge.{state}.bias"] = (L_d * H_d,)
        shapes["decoder.embedding.weight"] = (self.target_vocab, self.embedding_dim)
        shapes |= _stack_shapes("decoder", self.decoder_spec())
        if self.attention == "bahdanau":
            A = self.attention_size
            shapes["attention.query.weight"] = (A, H_d)  # W_s
            shapes["attention.key.weight"] = (A, W)  # W_h
            shapes["attention.energy.weight"] = (1, A)  # vᵀ
        if self.attention == "general":
            shapes["attention.key.weight"] = (H_d, W)  # W_a
        if self.luong:
            shapes["attention.combine.weight"] = (H_d, W + H_d)  # W_c
        shapes["head.weight"] = (self.target_vocab, H_d)
        shapes["head.bias"] = (self.target_vocab,)
        return shapes

    @property
    def state_names(self) -> tuple[str, ...]:
        """The bridge's names of the recurrent state: ("hidden",) or ("hidden", "cell")."""
        return tuple({"h": "hidden", "c": "cell"}[s] for s in CELL_KINDS[self.cell].states)

    def num_parameters(self) -> int:
        return count_parameters(self.parameter_shapes())

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        return {"kind": "seq2seq", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "Seq2SeqSpec":
        return from_fields(cls, {k: v for k, v in d.items() if k != "kind"}, "model")

    def __repr__(self) -> str:
        return compact_repr(self)


def _stack_shapes(prefix: str, spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """The recurrent stack's tensors of a half's ModelSpec, as ``{prefix}.rnn.*``."""
    return {
        f"{prefix}.{name}": shape
        for name, shape in spec.parameter_shapes().items()
        if name.startswith("rnn.")
    }
