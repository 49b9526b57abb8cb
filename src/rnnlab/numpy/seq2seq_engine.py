"""The NumPy engine for an encoder–decoder: :class:`~rnnlab.numpy.seq2seq.Seq2SeqModel`,
its loss and its optimizer behind the training interface of :mod:`rnnlab.engine`
(``train_step`` / ``evaluate`` on a :class:`~rnnlab.seq2seq.batch.Seq2SeqBatch`, weights and
optimizer state as plain arrays), and a :meth:`decoder` for :mod:`rnnlab.seq2seq.decode`."""

import numpy as np

from rnnlab.engine import EvalResult, StepResult
from rnnlab.numpy.clip import global_norm, scale_grads
from rnnlab.numpy.optim import build_optimizer
from rnnlab.numpy.seq2seq import Seq2SeqModel
from rnnlab.seq2seq.batch import Seq2SeqBatch
from rnnlab.seq2seq.spec import Seq2SeqSpec
from rnnlab.update import apply_update


class NumpySeq2SeqEngine:
    name = "numpy"

    def __init__(
        self, spec: Seq2SeqSpec, *, seed: int | None = 0, optimizer: str = "adam",
        lr: float = 1e-3, weight_decay: float = 0.0, momentum: float = 0.0,
        grad_clip: float | None = None,
    ):  # fmt: skip
        self.spec = spec
        self.model = Seq2SeqModel(spec, seed=seed)
        kw = {"weight_decay": weight_decay}
        if optimizer == "sgd":
            kw["momentum"] = momentum
        self.optimizer = build_optimizer(optimizer, self.model.params, lr, **kw)
        self.grad_clip = grad_clip

    def loss_and_grads(self, batch: Seq2SeqBatch, train: bool = True):
        logits, cache = self.model.forward(batch, train=train)
        loss, dlogits = self.model.loss(logits, batch)
        return loss, self.model.backward(dlogits, cache), logits

    def train_step(self, batch: Seq2SeqBatch, state=None) -> StepResult:
        with np.errstate(over="ignore", invalid="ignore"):  # divergence: see rnnlab.update
            loss, grads, _ = self.loss_and_grads(batch, train=True)
            norm = global_norm(grads)
            updated = apply_update(
                loss, norm, self.grad_clip,
                scale_gradients=lambda factor: scale_grads(grads, factor),
                step=lambda: self.optimizer.step(grads),
            )  # fmt: skip
        return StepResult(float(loss), float(norm), None, updated)

    def evaluate(self, batch: Seq2SeqBatch, state=None) -> EvalResult:
        with np.errstate(over="ignore", invalid="ignore"):
            logits, _ = self.model.forward(batch, train=False)
            loss, _ = self.model.loss(logits, batch)
        return EvalResult(float(loss), batch.num_targets, logits, None)

    def decoder(self) -> "NumpyDecoder":
        return NumpyDecoder(self.model)

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = float(value)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_state_dict(self, state_dict) -> None:
        self.model.load_state_dict(state_dict)

    def rng_state(self) -> dict:
        """The dropout generators' states of both stacks, JSON-able, for bitwise resumption."""
        return {
            "encoder_dropout": self.model.encoder.dropout_layer.get_state(),
            "decoder_dropout": self.model.decoder.dropout_layer.get_state(),
        }

    def set_rng_state(self, state: dict) -> None:
        self.model.encoder.dropout_layer.set_state(state["encoder_dropout"])
        self.model.decoder.dropout_layer.set_state(state["decoder_dropout"])

    def optimizer_state(self):
        return self.optimizer.state_dict()

    def load_optimizer_state(self, tensors, meta) -> None:
        self.optimizer.load_state_dict(tensors, meta)


class NumpyDecoder:
    """The step interface of :mod:`rnnlab.seq2seq.decode`, over NumPy arrays:

    ``start(source, lengths) -> carry``; ``step(tokens (B,), carry) -> (log p (B, V_t),
    α (S, B) or None, carry)``; ``select(carry, rows) -> carry``.
    """

    def __init__(self, model: Seq2SeqModel) -> None:
        self.model = model

    def start(self, source: np.ndarray, lengths: np.ndarray):
        return self.model.encode(np.asarray(source), np.asarray(lengths), train=False)[0]

    def step(self, tokens: np.ndarray, carry):
        from rnnlab.numpy.losses import log_softmax

        x, _ = self.model.target_embedding.forward(np.asarray(tokens))  # (B, E)
        out, alpha, carry, _ = self.model.step(x, carry, train=False)
        logits, _ = self.model.head.forward(out)  # (B, V_t)
        return log_softmax(logits), alpha, carry

    def select(self, carry, rows: np.ndarray):
        return carry.select(rows)
