"""The PyTorch engine for an encoder–decoder: :class:`~rnnlab.torch.seq2seq.TorchSeq2Seq`
with torch.optim behind the interface of :class:`rnnlab.numpy.seq2seq_engine.NumpySeq2SeqEngine`
(same weights and optimizer-state format), and its :meth:`decoder` for
:mod:`rnnlab.seq2seq.decode`."""

import numpy as np
import torch
import torch.nn.functional as F

from rnnlab.engine import EvalResult, StepResult
from rnnlab.seq2seq.batch import Seq2SeqBatch
from rnnlab.seq2seq.spec import Seq2SeqSpec
from rnnlab.torch.device import resolve_device
from rnnlab.torch.optim import (
    build_optimizer,
    export_optimizer_state,
    import_optimizer_state,
    update_after_backward,
)
from rnnlab.torch.seq2seq import TorchSeq2Seq


class TorchSeq2SeqEngine:
    name = "torch"

    def __init__(
        self, spec: Seq2SeqSpec, *, seed: int | None = 0, optimizer: str = "adam",
        lr: float = 1e-3, weight_decay: float = 0.0, momentum: float = 0.0,
        grad_clip: float | None = None, device=None,
    ):  # fmt: skip
        self.spec = spec
        self.device = resolve_device(device or "cpu")
        self.model = TorchSeq2Seq(spec, seed=seed, device=self.device)
        # dropout between layers draws from the engine's own generator (resumed bitwise)
        self.generator = torch.Generator(self.device)
        self.generator.manual_seed(0 if seed is None else int(seed))
        self.model.encoder.rnn.generator = self.generator
        self.model.decoder.rnn.generator = self.generator
        self.optimizer_name = optimizer
        self.optimizer = build_optimizer(
            optimizer, list(self.model.parameters()), lr, weight_decay, momentum
        )
        self.grad_clip = grad_clip
        self.step_count = 0

    def _tensors(self, batch: Seq2SeqBatch):
        def put(a):
            return torch.as_tensor(np.asarray(a), device=self.device)

        return put(batch.source), torch.as_tensor(batch.source_lengths), put(batch.target_inputs)

    def loss(self, batch: Seq2SeqBatch):
        """Mean cross-entropy over the real target tokens, and the logits."""
        logits, _ = self.model(*self._tensors(batch))
        mask = torch.as_tensor(batch.mask, device=self.device)
        targets = torch.as_tensor(batch.targets, device=self.device)
        nll = F.cross_entropy(logits[mask], targets[mask], reduction="sum")
        return nll / mask.sum().clamp(min=1), logits

    def train_step(self, batch: Seq2SeqBatch, state=None) -> StepResult:
        self.model.train()
        loss, _ = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm, updated = update_after_backward(
            self.model.parameters(), float(loss.detach()), self.grad_clip, self._optimizer_step
        )
        return StepResult(float(loss.detach()), norm, None, updated)

    def _optimizer_step(self) -> None:
        self.optimizer.step()
        self.step_count += 1

    @torch.no_grad()
    def evaluate(self, batch: Seq2SeqBatch, state=None) -> EvalResult:
        self.model.eval()
        loss, logits = self.loss(batch)
        return EvalResult(float(loss), batch.num_targets, logits.cpu().numpy(), None)

    def decoder(self) -> "TorchDecoder":
        return TorchDecoder(self.model, self.device)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = float(value)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.model.numpy_state_dict()

    def load_state_dict(self, arrays) -> None:
        own = self.model.state_dict()
        tensors = {k: torch.as_tensor(np.asarray(arrays[k])) for k in arrays}
        for name, value in tensors.items():
            if name in own and tuple(value.shape) != tuple(own[name].shape):
                raise ValueError(f"model expected {name} of shape {tuple(own[name].shape)}, "
                                 f"got {tuple(value.shape)}")  # fmt: skip
        self.model.load_state_dict(tensors, strict=True)

    def rng_state(self) -> dict:
        """The dropout generator's state, JSON-able, for bitwise resumption."""
        return {"dropout": self.generator.get_state().tolist()}

    def set_rng_state(self, state: dict) -> None:
        self.generator.set_state(torch.tensor(state["dropout"], dtype=torch.uint8))

    def optimizer_state(self):
        names = list(self.model.state_dict())
        return export_optimizer_state(self.optimizer, self.optimizer_name, names, self.step_count)

    def load_optimizer_state(self, tensors, meta) -> None:
        names = list(self.model.state_dict())
        self.step_count = import_optimizer_state(self.optimizer, self.optimizer_name, names,
                                                 tensors, meta)  # fmt: skip


class TorchDecoder:
    """:class:`rnnlab.numpy.seq2seq_engine.NumpyDecoder`'s interface over the torch model:
    NumPy in, NumPy out."""

    def __init__(self, model: TorchSeq2Seq, device) -> None:
        self.model, self.device = model, device

    @torch.no_grad()
    def start(self, source, lengths):
        self.model.eval()
        src = torch.as_tensor(np.asarray(source), device=self.device)
        return self.model.encode(src, torch.as_tensor(np.asarray(lengths)))

    @torch.no_grad()
    def step(self, tokens, carry):
        x = self.model.decoder.embedding(torch.as_tensor(np.asarray(tokens), device=self.device))
        out, alpha, carry = self.model.step(x, carry)
        logp = torch.log_softmax(self.model.head(out), dim=-1).cpu().numpy()
        return logp, None if alpha is None else alpha.cpu().numpy(), carry

    def select(self, carry, rows):
        return carry.select(torch.as_tensor(np.asarray(rows), device=self.device))
