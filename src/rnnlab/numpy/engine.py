"""The NumPy engine: a :class:`~rnnlab.numpy.model.Model`, its loss and its optimizer behind
the interface of :mod:`rnnlab.engine`."""

import numpy as np

from rnnlab.batch import Batch
from rnnlab.engine import EvalResult, StepResult
from rnnlab.masks import MaskSource
from rnnlab.model import ModelSpec
from rnnlab.numpy.clip import global_norm, scale_grads
from rnnlab.numpy.inference import Stepper, unsupported_reason
from rnnlab.numpy.losses import model_loss
from rnnlab.numpy.model import Model
from rnnlab.numpy.optim import build_optimizer
from rnnlab.update import apply_update


class NumpyEngine:
    name = "numpy"

    def __init__(
        self,
        spec: ModelSpec,
        *,
        seed: int | None = 0,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        grad_clip: float | None = None,
    ):
        self.spec = spec
        self.model = Model(spec, seed=seed)
        self.masks = MaskSource(spec, seed)  # locked / embedding dropout, weight-drop
        kw = {"weight_decay": weight_decay}
        if optimizer == "sgd":
            kw["momentum"] = momentum
        self.optimizer = build_optimizer(optimizer, self.model.params, lr, **kw)
        self.grad_clip = grad_clip

    # ------------------------------------------------------------------ training
    def loss_and_grads(self, batch: Batch, state=None, train: bool = True):
        """Forward, loss and backward: (loss, grads, final state, outputs); in training the
        loss is the task's plus the spec's AR and TAR penalties."""
        masks = self.masks.draw(np.shape(batch.inputs)[1]) if train else None  # (T, B, ...)
        out, state_n, cache = self.model.forward(
            batch.inputs, state, train=train, lengths=batch.lengths, masks=masks
        )
        loss, d_out = self.loss(out, batch)
        loss = loss + cache["flow"].penalty  # AR + TAR (0 without them, or in evaluation)
        grads, _ = self.model.backward(d_out, cache)  # their parts add ∂penalty/∂y
        return loss, grads, state_n, out

    def loss(self, out: np.ndarray, batch: Batch):
        """The spec's loss, mean over the counted positions: (loss, ∂loss/∂out)."""
        return model_loss(self.spec.loss, out, batch.targets, batch.mask)

    def train_step(self, batch: Batch, state=None) -> StepResult:
        # A diverging run overflows somewhere; that is detected from the loss and the
        # gradient norm (rnnlab.update) and reported through ``updated``, not NumPy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads, state_n, _ = self.loss_and_grads(batch, state, train=True)
            norm = global_norm(grads)
            updated = apply_update(
                loss,
                norm,
                self.grad_clip,
                scale_gradients=lambda factor: scale_grads(grads, factor),
                step=lambda: self.optimizer.step(grads),
            )
        return StepResult(float(loss), float(norm), state_n, updated)

    def evaluate(self, batch: Batch, state=None) -> EvalResult:
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite loss is reported
            out, state_n, _ = self.model.forward(
                batch.inputs, state, train=False, lengths=batch.lengths
            )
            loss, _ = self.loss(out, batch)
        return EvalResult(float(loss), batch.num_targets, out, state_n)

    def forward(self, inputs: np.ndarray, state=None):
        """Inference: (T, B) ids or (T, B, I) features → (outputs (T, B, O), final state)."""
        with np.errstate(over="ignore", invalid="ignore"):  # callers check what comes out
            out, state_n, _ = self.model.forward(inputs, state, train=False)
        return out, state_n

    def answer(self, inputs: np.ndarray, lengths: np.ndarray):
        """Logits (B, O) of a one-per-sequence readout, and attention weights (T, B) or None."""
        with np.errstate(over="ignore", invalid="ignore"):  # callers check what comes out
            out, _, caches = self.model.forward(inputs, None, train=False, lengths=lengths)
        return out[0], getattr(caches["readout"], "alpha", None)  # AttentionCache.alpha

    def probe(self, batch: Batch):
        """States, gates, cells and the total ∂L/∂h_t (:mod:`rnnlab.numpy.probe`)."""
        from rnnlab.numpy.probe import probe_numpy

        return probe_numpy(self.spec, self.state_dict(), batch)

    def stepper(self) -> Stepper | None:
        """A :class:`~rnnlab.numpy.inference.Stepper`: one token at a time, for generation.

        None where the model needs ``forward`` (bidirectional, peephole or LayerNorm LSTM;
        see :func:`~rnnlab.numpy.inference.unsupported_reason`). It copies the weights: ask
        for a new one after they change (:func:`rnnlab.generate.generate` does, per sample).
        """
        if unsupported_reason(self.spec) is not None:
            return None
        return Stepper(self.model)

    @staticmethod
    def detach(state):
        return state  # NumPy keeps no graph between calls

    @staticmethod
    def export_state(state) -> list[np.ndarray]:
        """The recurrent state as a list of arrays ([h] or [h, c]), for checkpoints."""
        return [np.array(s) for s in (state if isinstance(state, tuple) else (state,))]

    @staticmethod
    def import_state(parts: list[np.ndarray]):
        """The inverse of :meth:`export_state`."""
        parts = [np.array(p) for p in parts]
        return tuple(parts) if len(parts) > 1 else parts[0]

    # ------------------------------------------------------------------ persistence
    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = float(value)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict(state_dict)

    def optimizer_state(self):
        return self.optimizer.state_dict()

    def load_optimizer_state(self, tensors, meta) -> None:
        self.optimizer.load_state_dict(tensors, meta)

    def rng_state(self) -> dict:
        """The dropout generators' states (JSON-able), for bitwise resumption."""
        state = {
            "rnn_dropout": self.model.rnn.dropout_layer.get_state(),
            "head_dropout": self.model.dropout.get_state(),
        }
        if self.masks.active:  # only then: older checkpoints keep their exact set of keys
            state["masks"] = self.masks.get_state()
        return state

    def set_rng_state(self, state: dict) -> None:
        self.model.rnn.dropout_layer.set_state(state["rnn_dropout"])
        self.model.dropout.set_state(state["head_dropout"])
        if "masks" in state:
            self.masks.set_state(state["masks"])
