"""TrainConfig: how a model is trained, one field per ``rnnlab train`` flag.

``--batch-size`` ↔ ``batch_size``: a config file (TOML) uses the same names, flags override
it, and a task's own defaults fill whatever neither gives. ``repr`` shows only the fields
that differ from the defaults.
"""

from dataclasses import asdict, dataclass

from rnnlab.errors import InputError
from rnnlab.model import compact_repr
from rnnlab.optimizers import OPTIMIZERS
from rnnlab.settings import check_fields, from_fields

SCHEDULES = ("constant", "cosine", "plateau")
ANNEAL_OVER = ("steps", "time")


@dataclass(frozen=True)
class TrainConfig:
    """Everything about *how* to train (the model is a ModelSpec, the data a task).

    Training stops at the first of its limits it reaches: ``steps``, ``epochs``, ``max_time``.

    Attributes:
        engine: "numpy" (hand-written gradients) or "torch".
        backend: torch engine: "scratch" (from basic tensor ops) or "native" (torch.nn).
        device: torch engine: "cpu", "cuda", "cuda:N" or "auto".
        compile: torch engine: compile the model with torch.compile.
        steps: stop after this many optimizer steps.
        epochs: stop after this many passes over the training split.
        max_time: stop (and checkpoint) after this many seconds.
        batch_size: sequences per optimizer step.
        optimizer: "sgd", "adam" or "adamw".
        lr: the learning rate (the peak of a schedule).
        weight_decay: L2 penalty (decoupled for adamw).
        momentum: SGD momentum, in [0, 1).
        grad_clip: clip the global gradient norm to this (None: no clipping).
        schedule: learning rate over time: "constant", "cosine" or "plateau".
        warmup_steps: linear warm-up from 0 to lr over this many steps.
        min_lr: the floor of the cosine schedule.
        anneal_over: what the cosine schedule ends with: "steps" (the planned steps) or
            "time" (also the steps that the measured speed predicts --max-time allows,
            whichever is fewer); unset: "time" when --max-time is given.
        plateau_factor: the plateau schedule multiplies the LR by this, in (0, 1).
        plateau_patience: evaluations without improvement before the plateau schedule
            lowers the LR.
        early_stopping: stop after this many evaluations without improvement.
        stop_when_solved: stop at the first evaluation at which the task counts as solved
            (copy: every bit of every validation sequence recalled); tasks without such a
            criterion train on.
        ema_decay: evaluate, keep as best and save an exponential moving average of the
            weights, θ̄ ← d·θ̄ + (1-d)·θ after each step, with this decay d (e.g. 0.999);
            0 keeps the last weights (rnnlab.train.averaging).
        eval_every: evaluate on the validation split every this many steps.
        save_every: checkpoint every this many steps.
        log_every: log the training loss every this many steps.
        eval_batch_size: sequences per evaluation batch.
        seed: the seed of the initialisation, the generated data, dropout and batches.
        tensorboard: also write TensorBoard event files into the run directory (scalars,
            histograms of weights, gradients and gates, samples); needs the tensorboard
            package (rnnlab.train.tensorboard_log).
    """

    engine: str = "numpy"
    backend: str = "scratch"
    device: str = "cpu"
    compile: bool = False
    steps: int | None = None
    epochs: int | None = None
    max_time: float | None = None
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    grad_clip: float | None = 5.0
    schedule: str = "constant"
    warmup_steps: int = 0
    min_lr: float = 0.0
    anneal_over: str | None = None
    plateau_factor: float = 0.5
    plateau_patience: int = 3
    early_stopping: int | None = None
    stop_when_solved: bool = False
    ema_decay: float = 0.0
    eval_every: int = 200
    save_every: int = 500
    log_every: int = 20
    eval_batch_size: int = 64
    seed: int = 0
    tensorboard: bool = False

    def __post_init__(self):
        check_fields(self, flag)  # every value of its field's type (floats finite); then ranges

        def whole(name, least):  # an integer >= least, or None where the field allows it
            value = getattr(self, name)
            if value is not None and value < least:
                kind = "a positive" if least == 1 else "a non-negative"
                raise InputError(f"{flag(name)} must be {kind} integer, got {value!r}")

        for name in ("steps", "epochs", "batch_size", "eval_every", "save_every", "log_every",
                     "eval_batch_size", "plateau_patience", "early_stopping"):  # fmt: skip
            whole(name, least=1)
        if self.optimizer not in OPTIMIZERS:
            raise InputError(
                f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.schedule not in SCHEDULES:
            raise InputError(
                f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"
            )
        if self.anneal_over is not None and self.anneal_over not in ANNEAL_OVER:
            raise InputError(
                f"--anneal-over must be one of {', '.join(ANNEAL_OVER)}, got {self.anneal_over!r}"
            )
        if not 0 <= self.ema_decay < 1:
            raise InputError(f"--ema-decay must be in [0, 1) (0: off), got {self.ema_decay!r}")
        if not self.lr > 0:
            raise InputError(f"--lr must be positive, got {self.lr!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise InputError(f"--grad-clip must be positive (or omitted), got {self.grad_clip!r}")
        if self.max_time is not None and not self.max_time > 0:
            raise InputError(f"--max-time must be positive seconds, got {self.max_time!r}")
        if self.engine not in ("numpy", "torch"):
            raise InputError(f"--engine must be numpy or torch, got {self.engine!r}")
        if self.backend not in ("scratch", "native"):
            raise InputError(f"--backend must be scratch or native, got {self.backend!r}")
        if not _is_device(self.device):
            raise InputError(f"--device must be cpu, cuda, cuda:N or auto, got {self.device!r}")
        for name in ("weight_decay", "min_lr"):
            if not getattr(self, name) >= 0:
                raise InputError(f"{flag(name)} must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.momentum < 1:
            raise InputError(f"--momentum must be in [0, 1), got {self.momentum!r}")
        if not 0 < self.plateau_factor < 1:
            raise InputError(
                f"--plateau-factor must be in (0, 1) (the LR is multiplied by it), "
                f"got {self.plateau_factor!r}"
            )
        whole("warmup_steps", least=0)
        whole("seed", least=0)  # NumPy's generators take no negative seed

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return from_fields(cls, d, "training")

    def __repr__(self) -> str:
        return compact_repr(self)

    @property
    def anneals_over_time(self) -> bool:
        """Whether the cosine schedule ends with the --max-time budget (see anneal_over)."""
        return self.max_time is not None and (self.anneal_over or "time") == "time"

    def engine_options(self) -> dict:
        """The keyword arguments both engines take from this config."""
        options = dict(
            seed=self.seed,
            optimizer=self.optimizer,
            lr=self.lr,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
            grad_clip=self.grad_clip,
        )
        if self.engine == "torch":
            options.update(backend=self.backend, device=self.device, compile=self.compile)
        return options


def with_legacy(stored):
    """A stored training config as this version reads it: a run saved before
    ``anneal_over`` existed annealed over its steps, and keeps doing so when resumed."""
    if isinstance(stored, dict) and "anneal_over" not in stored:
        return {**stored, "anneal_over": "steps"}
    return stored


def flag(name: str) -> str:
    """The command-line flag of a setting: ``batch_size`` → ``--batch-size``."""
    return "--" + name.replace("_", "-")


def _is_device(device: str) -> bool:
    """cpu, cuda, cuda:N or auto (whether CUDA is there is the torch engine's question)."""
    kind, _, index = device.partition(":")
    if not index:
        return device in ("cpu", "cuda", "auto")
    return kind == "cuda" and index.isdigit()


# Settings that only the torch engine reads, and the values that do nothing elsewhere.
TORCH_ONLY = {"device": ("cpu", "auto"), "backend": ("scratch",), "compile": (False,)}


def check_engine_settings(given: dict, config: TrainConfig) -> None:
    """The torch engine's settings, given with the NumPy engine, would be silently ignored."""
    if config.engine != "numpy":
        return
    for key, inert in TORCH_ONLY.items():
        if key in given and given[key] not in inert:
            shown = flag(key) if isinstance(given[key], bool) else f"{flag(key)} {given[key]}"
            raise InputError(f"{shown} applies to the torch engine; drop it or add --engine torch")
