"""The PyTorch engine: a :class:`~rnnlab.torch.model.TorchModel`, its loss and a torch.optim
optimizer behind the interface of :mod:`rnnlab.engine` — the same one as
:class:`rnnlab.numpy.engine.NumpyEngine`, with the same loss, clipping, skipping rule and
checkpoint formats, so a run moves between the engines:

* loss: the mean over the batch's counted positions of cross-entropy, or of the squared
  error of every output value there (mse);
* clipping: ``torch.nn.utils.clip_grad_norm_`` (the rule the NumPy engine copies); an update
  is skipped, and ``updated=False`` reported, when the loss or the gradient norm is not finite;
* ``state_dict()`` in NumPy arrays named as the NumPy model's; ``optimizer_state()`` in
  rnnlab.numpy.optim's format (``exp_avg.<name>``, ``exp_avg_sq.<name>``,
  ``momentum_buffer.<name>`` and meta ``{"optimizer", "step", "lr", ...}``).

Batches arrive as NumPy arrays; recurrent states are torch tensors on the engine's device.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from rnnlab.batch import Batch
from rnnlab.checkpoint import check_optimizer_state
from rnnlab.engine import EvalResult, StepResult
from rnnlab.errors import InputError
from rnnlab.model import ModelSpec
from rnnlab.optimizers import BUFFERS, HYPERPARAMETERS, OPTIMIZERS
from rnnlab.torch.model import TorchModel, check_backend

DEVICES = ("cpu", "cuda", "cuda:N", "auto")
HYPER = HYPERPARAMETERS


def resolve_device(device: str | torch.device) -> torch.device:
    """ "cpu", "cuda", "cuda:N" or "auto" (cuda when available) as a torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"device {device!r} asked for, but this PyTorch ({torch.__version__}) sees no "
                "CUDA GPU; use device 'cpu' (or 'auto', which falls back to the CPU)"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise InputError(
                f"device {device!r} asked for, but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible"
            )
    return resolved


def build_optimizer(name: str, params, lr: float, weight_decay: float, momentum: float):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")


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

    def _run(self, batch_inputs, state, lengths):
        inputs = self._inputs(batch_inputs)
        if lengths is not None:
            lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.int64)  # stays on CPU
        try:
            return self.module(inputs, self._state(state), lengths)
        except Exception as exc:
            if self.compiled and not isinstance(exc, (ValueError, TypeError)):
                raise RuntimeError(
                    f"torch.compile could not run this model ({type(exc).__name__}: {exc}); "
                    "train with compile=False"
                ) from exc
            raise

    def _loss_sum(self, out: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum of the loss over counted positions, how many terms it has) — mean = sum / n."""
        mask = torch.as_tensor(np.asarray(batch.mask, bool), device=self.device)  # (T, B)
        if self.spec.loss == "cross_entropy":
            targets = torch.as_tensor(np.asarray(batch.targets), device=self.device)  # (T, B)
            targets = torch.where(mask, targets.long(), -100)  # -100: ignored by cross_entropy
            total = F.cross_entropy(
                out.reshape(-1, out.shape[-1]), targets.reshape(-1), reduction="sum"
            )
            return total, mask.sum().to(out.dtype)
        targets = torch.as_tensor(np.asarray(batch.targets), dtype=out.dtype, device=self.device)
        diff = torch.where(mask[..., None], out - targets, 0.0)  # (T, B, O), masked -> 0
        return (diff * diff).sum(), mask.sum().to(out.dtype) * out.shape[-1]

    def _mean_loss(self, out, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(the loss to differentiate, the batch's mean loss to report).

        In data-parallel training every rank divides its sum by the *global* count and
        DistributedDataParallel averages the gradients over the ranks, so their sum is the
        gradient of the whole batch's mean even when the ranks count different numbers of
        positions; ``world_size`` undoes that average.
        """
        total, n = self._loss_sum(out, batch)
        if self.world_size == 1:
            mean = total / n.clamp(min=1)  # no counted position: loss 0, not 0/0
            return mean, mean.detach()
        from rnnlab.torch.distributed import all_reduce_sum

        n_all = all_reduce_sum(n.detach()).clamp(min=1)
        reported = all_reduce_sum(total.detach()) / n_all
        return total * (self.world_size / n_all), reported

    # ------------------------------------------------------------------ training
    def train_step(self, batch: Batch, state=None) -> StepResult:
        self.module.train()
        out, state_n = self._run(batch.inputs, state, batch.lengths)
        loss, reported = self._mean_loss(out, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for p in self.model.parameters() if p.grad is not None]
        if self.grad_clip:
            norm = torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        loss_value, norm_value = float(reported), float(norm)
        updated = math.isfinite(loss_value) and math.isfinite(norm_value)
        if updated:  # a non-finite step would poison every weight: skip it, report it
            self.optimizer.step()
            self.step_count += 1
        return StepResult(loss_value, norm_value, self.detach(state_n), updated)

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
        group = self.optimizer.param_groups[0]
        tensors = {}
        for kind in BUFFERS[self.optimizer_name]:  # kind-major, as rnnlab.numpy.optim
            for name, param in zip(self.param_names, group["params"], strict=True):
                buffer = self.optimizer.state.get(param, {}).get(kind)
                if buffer is not None:
                    tensors[f"{kind}.{name}"] = buffer.detach().cpu().numpy().copy()
        meta = {"optimizer": self.optimizer_name, "step": self.step_count, "lr": float(self.lr)}
        for key in HYPER[self.optimizer_name]:
            value = group[key]
            if isinstance(value, tuple):
                value = [float(v) for v in value]
            elif not isinstance(value, bool):
                value = float(value)  # torch keeps some as ints (dampening=0)
            meta[key] = value
        return tensors, meta

    def load_optimizer_state(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        """Restore an ``optimizer_state()`` from either engine: buffers, step, hyperparameters."""
        kind_name = self.optimizer_name
        index = {name: i for i, name in enumerate(self.param_names)}
        shapes = dict(
            zip(self.param_names, (tuple(p.shape) for p in self.model.parameters()), strict=True)
        )
        # From a checkpoint: a CheckpointError for anything that does not fit.
        check_optimizer_state(
            kind_name, BUFFERS[kind_name], HYPER[kind_name], shapes, tensors, meta
        )
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            kind, _, name = key.partition(".")
            state.setdefault(index[name], {})[kind] = torch.tensor(np.asarray(value))
        step = meta["step"]
        if kind_name != "sgd":  # torch's Adam keeps the step count per parameter
            for entry in state.values():
                entry["step"] = torch.tensor(float(step))
        torch_state = self.optimizer.state_dict()
        torch_state["state"] = state  # torch casts the buffers to each parameter's dtype/device
        group = torch_state["param_groups"][0]
        group["lr"] = float(meta["lr"])
        for key in HYPER[kind_name]:
            value = meta[key]
            group[key] = tuple(value) if isinstance(value, list) else value
        self.optimizer.load_state_dict(torch_state)
        self.step_count = step

    def rng_state(self) -> dict:
        """The dropout generators' states as lists of ints (JSON-able), for bitwise resumption.

        ``dropout``: the engine's own generator (the head's dropout, and the scratch layer's
        between layers). ``torch_cpu`` (native backend): torch's global generator, which
        torch.nn's dropout between layers draws from on the CPU (cuDNN keeps its own dropout
        state on a GPU, which PyTorch does not expose: that case does not resume bitwise).
        """
        state = {"dropout": self.generator.get_state().tolist()}
        if self.model.backend == "native":
            state["torch_cpu"] = torch.get_rng_state().tolist()
        return state

    def set_rng_state(self, state: dict) -> None:
        self.generator.set_state(torch.tensor(state["dropout"], dtype=torch.uint8))
        if "torch_cpu" in state:
            torch.set_rng_state(torch.tensor(state["torch_cpu"], dtype=torch.uint8))


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
