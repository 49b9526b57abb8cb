"""The PyTorch engine: a :class:`~rnnlab.torch.model.TorchModel`, its loss and a torch.optim
optimizer behind the interface of :mod:`rnnlab.engine` — the same one as
:class:`rnnlab.numpy.engine.NumpyEngine`, with the same loss, clipping, skipping rule and
checkpoint formats, so a run moves between the engines:

* loss: the mean over the batch's counted positions of cross-entropy, or of the squared
  error of every output value there (mse) — :mod:`rnnlab.torch.losses`; in training plus
  the spec's AR and TAR penalties (:mod:`rnnlab.torch.activation_reg`);
* clipping and skipping: :mod:`rnnlab.update`'s rule, shared with the NumPy engine (torch's
  clip_grad_norm_ rule); an update is skipped, and ``updated=False`` reported, when the loss
  or the gradient norm is not finite;
* ``state_dict()`` in NumPy arrays named as the NumPy model's; ``optimizer_state()`` in
  rnnlab.numpy.optim's format (``exp_avg.<name>``, ``exp_avg_sq.<name>``,
  ``momentum_buffer.<name>`` and meta ``{"optimizer", "step", "lr", ...}``).

Batches arrive as NumPy arrays; recurrent states are torch tensors on the engine's device.
"""

from collections.abc import Sequence

import numpy as np
import torch

from rnnlab.batch import Batch
from rnnlab.engine import EvalResult, StepResult
from rnnlab.masks import MaskSource
from rnnlab.model import ModelSpec
from rnnlab.optimizers import OPTIMIZERS
from rnnlab.torch.activation_reg import Penalty
from rnnlab.torch.device import resolve_device
from rnnlab.torch.losses import loss_sum
from rnnlab.torch.masked import to_torch
from rnnlab.torch.model import TorchModel, check_backend
from rnnlab.torch.optim import (
    build_optimizer,
    export_optimizer_state,
    import_optimizer_state,
    update_after_backward,
)


class TorchEngine:
    """The engine interface of :mod:`rnnlab.engine` in PyTorch.

    Args:
        spec: the model to build; its initial weights are the NumPy engine's for ``seed``.
        seed: initial weights and the dropout generator.
        optimizer: "sgd", "adam" or "adamw" (torch.optim's); lr, weight_decay, momentum (sgd).
        grad_clip: clip the global gradient norm to this value (None: no clipping).
        backend: "scratch" (rnnlab's cells) or "native" (torch.nn / cuDNN).
        device: "cpu", "cuda", "cuda:N" or "auto".
        compile: wrap the model with ``torch.compile`` (True, or a backend name such as
            "aot_eager"); a model that fails to compile raises a ``RuntimeError`` saying so.
        distributed: data-parallel training with DistributedDataParallel; needs a process
            group (see :mod:`rnnlab.torch.distributed`), feed each rank its shard of a batch.
    """

    name = "torch"

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
        backend: str = "scratch",
        device: str = "cpu",
        compile: bool | str = False,
        distributed: bool = False,
    ):
        check_backend(backend)
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}"
            )
        if grad_clip is not None and not grad_clip > 0.0:
            raise ValueError(f"grad_clip must be > 0 or None, got {grad_clip!r}")
        self.spec = spec
        self.device = resolve_device(device)
        self.dtype = getattr(torch, spec.dtype)
        self.world_size = 1
        if distributed:
            from rnnlab.torch.distributed import local_device, require_process_group

            self.world_size = require_process_group()
            self.device = local_device(self.device)
        self.model = TorchModel(spec, backend, seed=seed, device=self.device)
        dropout_seed = np.random.SeedSequence(seed).spawn(5)[4].generate_state(1)[0]
        self.generator = torch.Generator(device=self.device).manual_seed(int(dropout_seed))
        self.model.generator = self.generator
        self.masks = MaskSource(spec, seed)  # the NumPy engine's masks, for the same seed
        self.module = self.model  # what forward runs: the model, or a DDP/compiled wrapper
        if distributed:
            from rnnlab.torch.distributed import wrap_ddp

            self.module = wrap_ddp(self.model, self.device)
        self.compiled = False
        if compile:
            self.module = _compile(self.module, compile)
            self.compiled = True
        self.optimizer_name = optimizer
        self.param_names = [n for n, _ in self.model.named_parameters()]
        self.optimizer = build_optimizer(
            optimizer, list(self.model.parameters()), lr, weight_decay, momentum
        )
        self.grad_clip = grad_clip
        self.step_count = 0  # applied updates, as rnnlab.numpy.optim counts them

    # ------------------------------------------------------------------ batches
    def _inputs(self, inputs: np.ndarray) -> torch.Tensor:
        inputs = np.asarray(inputs)
        if self.spec.input_kind == "dense":
            return torch.as_tensor(inputs, dtype=self.dtype, device=self.device)  # (T, B, I)
        if inputs.dtype.kind not in "iu":
            raise TypeError(f"model expected integer token ids, got dtype {inputs.dtype}")
        V = self.spec.input_size
        if inputs.size and (inputs.min() < 0 or inputs.max() >= V):
            raise ValueError(
                f"model expected token ids in [0, {V}), got min {inputs.min()} max {inputs.max()}"
            )
        return torch.as_tensor(inputs, dtype=torch.int64, device=self.device)  # (T, B)

    def _state(self, state):
        """A state from the caller (torch tensors, or NumPy arrays) on this engine's device."""
        if state is None:
            return None
        if isinstance(state, (tuple, list)):
            return tuple(self._state(s) for s in state)
        return torch.as_tensor(state, dtype=self.dtype, device=self.device)

    def _run(self, batch_inputs, state, lengths, masks=None, penalties=None):
        inputs = self._inputs(batch_inputs)
        if lengths is not None:
            lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.int64)  # stays on CPU
        masked = {} if masks is None else {"masks": to_torch(masks, self.device, self.dtype)}
        if penalties is not None:  # the model appends AR and TAR to it
            masked["penalties"] = penalties
        try:
            return self.module(inputs, self._state(state), lengths, **masked)
        except Exception as exc:
            if self.compiled and not isinstance(exc, (ValueError, TypeError)):
                raise RuntimeError(
                    f"torch.compile could not run this model ({type(exc).__name__}: {exc}); "
                    "train with compile=False"
                ) from exc
            raise

    def _mean_loss(
        self, out, batch: Batch, penalties: Sequence[Penalty] = ()
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the loss to differentiate, the batch's mean loss to report): the task's mean
        loss plus each penalty's coefficient · mean (AR, TAR; training only).

        In data-parallel training every rank divides its sums by the *global* counts and
        DistributedDataParallel averages the gradients over the ranks, so their sum is the
        gradient of the whole batch's mean even when the ranks count different numbers of
        positions; ``world_size`` undoes that average.
        """
        total, n = loss_sum(self.spec.loss, out, batch.targets, batch.mask)
        if self.world_size == 1:
            mean = total / n.clamp(min=1)  # no counted position: loss 0, not 0/0
            for penalty in penalties:
                mean = mean + penalty.mean()
            return mean, mean.detach()
        from rnnlab.torch.distributed import all_reduce_sum

        terms = [Penalty(1.0, total, n), *penalties]  # the task's loss: coefficient 1
        loss = reported = 0.0
        for term in terms:
            count = all_reduce_sum(term.count.detach()).clamp(min=1)
            loss = loss + term.coefficient * term.total * (self.world_size / count)
            reported = reported + term.coefficient * all_reduce_sum(term.total.detach()) / count
        return loss, reported

    # ------------------------------------------------------------------ training
    def train_step(self, batch: Batch, state=None) -> StepResult:
        self.module.train()
        masks = self.masks.draw(np.shape(batch.inputs)[1])  # rnnlab.masks; None if unused
        penalties = [] if self.spec.penalises_activations else None  # AR, TAR
        out, state_n = self._run(batch.inputs, state, batch.lengths, masks, penalties)
        loss, reported = self._mean_loss(out, batch, penalties or ())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        loss_value = float(reported)
        norm_value, updated = update_after_backward(
            self.model.parameters(), loss_value, self.grad_clip, self._optimizer_step
        )
        return StepResult(loss_value, norm_value, self.detach(state_n), updated)

    def _optimizer_step(self) -> None:
        self.optimizer.step()
        self.step_count += 1

    @torch.no_grad()
    def evaluate(self, batch: Batch, state=None) -> EvalResult:
        self.module.eval()
        out, state_n = self._run(batch.inputs, state, batch.lengths)
        _, reported = self._mean_loss(out, batch)
        return EvalResult(float(reported), batch.num_targets, out.cpu().numpy(), state_n)

    @torch.no_grad()
    def forward(self, inputs: np.ndarray, state=None):
        """Inference: (T, B) ids or (T, B, I) features → (outputs (T, B, O), final state)."""
        self.module.eval()
        out, state_n = self._run(inputs, state, None)
        return out.cpu().numpy(), state_n

    @torch.no_grad()
    def answer(self, inputs: np.ndarray, lengths: np.ndarray):
        """Logits (B, O) of a one-per-sequence readout, and attention weights (T, B) or None."""
        self.module.eval()
        out, _ = self._run(inputs, None, lengths)
        weights = getattr(self.model.readout, "weights", None)  # set by AttentionPooling only
        return out[0].cpu().numpy(), None if weights is None else weights.cpu().numpy()

    def probe(self, batch: Batch):
        """States, gates, cells and the total ∂L/∂h_t (:mod:`rnnlab.torch.probe`)."""
        from rnnlab.torch.probe import probe_torch

        return probe_torch(self.spec, self.state_dict(), batch)

    @staticmethod
    def detach(state):
        """The state cut from its graph (between truncated-BPTT chunks)."""
        if state is None:
            return None
        if isinstance(state, (tuple, list)):
            return tuple(s.detach() for s in state)
        return state.detach()

    @staticmethod
    def export_state(state) -> list[np.ndarray]:
        """The recurrent state as NumPy arrays ([h] or [h, c]), for checkpoints."""
        parts = state if isinstance(state, (tuple, list)) else (state,)
        return [s.detach().cpu().numpy().copy() for s in parts]

    def import_state(self, parts: list[np.ndarray]):
        """The inverse of :meth:`export_state`, on this engine's device."""
        state = tuple(self._state(np.asarray(p)) for p in parts)
        return state if len(state) > 1 else state[0]

    # ------------------------------------------------------------------ persistence
    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = float(value)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.model.numpy_state_dict()

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        self.model.load_numpy_state_dict(state_dict)

    def optimizer_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """(tensors, meta) exactly as ``rnnlab.numpy.optim.Optimizer.state_dict()`` gives."""
        return export_optimizer_state(
            self.optimizer, self.optimizer_name, self.param_names, self.step_count
        )

    def load_optimizer_state(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        """Restore an ``optimizer_state()`` from either engine: buffers, step, hyperparameters."""
        self.step_count = import_optimizer_state(
            self.optimizer, self.optimizer_name, self.param_names, tensors, meta
        )

    def rng_state(self) -> dict:
        """The dropout generators' states as lists of ints (JSON-able), for bitwise resumption.

        ``dropout``: the engine's own generator (the head's dropout, and the scratch layer's
        between layers). ``torch_cpu`` (native backend): torch's global generator, which
        torch.nn's dropout between layers draws from on the CPU (cuDNN keeps its own dropout
        state on a GPU, which PyTorch does not expose: that case does not resume bitwise).
        ``masks`` (a model with masked dropouts only): the :class:`rnnlab.masks.MaskSource`
        generator, a NumPy one, whose masks are the NumPy engine's for the same seed.
        """
        state = {"dropout": self.generator.get_state().tolist()}
        if self.model.backend == "native":
            state["torch_cpu"] = torch.get_rng_state().tolist()
        if self.masks.active:  # only then: older checkpoints keep their exact set of keys
            state["masks"] = self.masks.get_state()
        return state

    def set_rng_state(self, state: dict) -> None:
        self.generator.set_state(torch.tensor(state["dropout"], dtype=torch.uint8))
        if "torch_cpu" in state:
            torch.set_rng_state(torch.tensor(state["torch_cpu"], dtype=torch.uint8))
        if "masks" in state:
            self.masks.set_state(state["masks"])


def _compile(module, how: bool | str):
    """torch.compile(module), or a RuntimeError that says why it is not available here."""
    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        raise RuntimeError(
            f"torch.compile is not supported on this platform (PyTorch {torch.__version__}); "
            "run with compile=False"
        )
    backend = how if isinstance(how, str) else "inductor"
    return torch.compile(module, backend=backend)
