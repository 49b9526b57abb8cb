"""One training loop for both engines.

Each step: pick the batch at ``(epoch, index)``, set the learning rate from the schedule,
``engine.train_step`` (forward, loss, backward, clipping, update), carry the recurrent
state to the next batch when the task is a stream. Every ``log_every`` steps a metrics
record is appended to ``metrics.jsonl``; every ``eval_every`` steps the validation split is
evaluated (best weights kept, plateau schedule and early stopping fed); every
``save_every`` steps, at the end, on ``--max-time`` and on a signal (Ctrl-C, SIGTERM, SIGHUP:
the step in flight finishes first, see :mod:`rnnlab.train.signals`) a checkpoint is saved.

The position in the data is just ``(epoch, index)`` and batches are a pure function of it,
so with the optimizer moments, the schedule, the dropout RNG and the carried state in the
checkpoint a resumed run continues bitwise as if it had never stopped.

A step whose loss or gradients are not finite is not applied: training stops, the last good
checkpoint stays as it is, and the run reports it (:class:`Diverged`). Weights that became
non-finite anyway (an infinite learning rate, say) are never saved.
"""

import contextlib
import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from rnnlab.batch import shard
from rnnlab.checkpoint import save_checkpoint
from rnnlab.engine import any_rank
from rnnlab.errors import CheckpointError
from rnnlab.train.averaging import WEIGHTS_PREFIX, WeightAverage
from rnnlab.train.config import TrainConfig
from rnnlab.train.probe_file import write_probe
from rnnlab.train.run_dir import MetricsLog
from rnnlab.train.schedule import Schedule
from rnnlab.train.signals import Interrupted, deferred_signals, signal_name


class Diverged(RuntimeError):
    """Training produced a non-finite loss or weights; the run keeps its last good checkpoint.

    ``saved_step`` is the step of that checkpoint, or None when none was ever saved.
    """

    def __init__(self, message: str, saved_step: int | None = None):
        super().__init__(message)
        self.saved_step = saved_step


@dataclass
class Progress:
    """Where training stands; saved in state.json and restored on resume."""

    step: int = 0  # optimizer steps taken
    epoch: int = 0
    index: int = 0  # next batch index within the epoch
    tokens: int = 0  # counted target positions seen in training
    elapsed: float = 0.0  # seconds of training, summed over sessions
    best_val: float = math.inf
    best_step: int = 0
    evals_since_best: int = 0
    last_val: float | None = None
    stop_reason: str = ""


class Trainer:
    def __init__(
        self,
        engine,
        task,
        config: TrainConfig,
        run_dir,
        *,
        progress=None,
        reporter=None,
        world=(0, 1),
        run_config: dict | None = None,
    ):
        self.engine = engine
        # Data-parallel training (torchrun): every rank takes its shard of each global batch
        # and only rank 0 writes the run directory.
        self.rank, self.world_size = world
        self.task = task
        self.config = config
        self.run_dir = run_dir
        self.progress = progress or Progress()
        self.reporter = reporter  # callbacks for the terminal (see rnnlab.train.console)
        self.metrics = MetricsLog(run_dir)
        self.batches_per_epoch = task.num_batches("train", config.batch_size)
        self.total_steps = self.planned_steps()
        self.schedule = Schedule(
            config.schedule,
            config.lr,
            self.total_steps,
            warmup_steps=config.warmup_steps,
            min_lr=config.min_lr,
            factor=config.plateau_factor,
            patience=config.plateau_patience,
            max_time=config.max_time if config.anneals_over_time else None,
        )
        # --ema-decay: evaluated, kept as best and saved instead of the last weights
        self.average = WeightAverage(config.ema_decay) if config.ema_decay else None
        self.carry = None  # the recurrent state carried between stream batches
        self.best_weights = None  # weights of a new best, waiting for the next save
        self.saved_step: int | None = None  # the step of the last checkpoint on disk
        self.run_config = run_config  # config.json's content, saved with every checkpoint
        self.notes: list[str] = []  # one-line remarks for the user (e.g. a cross-engine resume)
        self.last_metrics: dict = {}  # the latest validation metrics

    def planned_steps(self) -> int:
        """--steps, or --epochs × batches per epoch, whichever ends first."""
        limits = []
        if self.config.steps:
            limits.append(self.config.steps)
        if self.config.epochs:
            limits.append(self.config.epochs * self.batches_per_epoch)
        return min(limits) if limits else self.batches_per_epoch

    def limit(self) -> str:
        """Which limit ends the run, for the start line: the first of --steps and --epochs
        to be reached, and --max-time, which may stop it sooner."""
        cfg, bpe = self.config, self.batches_per_epoch
        limits = []
        if cfg.steps is not None:
            limits.append((cfg.steps, f"--steps {cfg.steps}"))
        if cfg.epochs is not None:
            limits.append((cfg.epochs * bpe, f"--epochs {cfg.epochs}"))
        if not limits:
            limits.append((bpe, "one epoch"))
        limits.sort(key=lambda limit: limit[0])
        text = limits[0][1]
        if len(limits) > 1:
            text += f", before {limits[1][1]} ({limits[1][0]} steps)"
        if cfg.max_time is not None:
            text += f", or --max-time {cfg.max_time:g}s if that comes first"
        return text

    # ------------------------------------------------------------------ the loop
    def fit(self) -> Progress:
        """Train to the planned end; SIGINT/SIGTERM/SIGHUP end it cleanly after a step.

        A signal is only noted (:mod:`rnnlab.train.signals`): the step in flight finishes,
        a checkpoint is saved, and :class:`~rnnlab.train.signals.Interrupted` is raised.
        """
        p = self.progress
        self.started = time.perf_counter()
        self.elapsed0 = p.elapsed
        if self.reporter:
            self.reporter.start(self)
        try:
            with deferred_signals() as signalled:
                self._loop(signalled)
            if self.average is not None and self.average.weights is not None:
                self.engine.load_state_dict(self.average.weights)  # the model it saved
            if p.stop_reason.startswith("interrupted"):
                raise Interrupted(signalled.signum, p.step, self.run_dir)
        finally:
            if self.reporter:
                self.reporter.stop(p)
        return p

    def _loop(self, signalled) -> None:
        p, cfg = self.progress, self.config
        window = _Window()
        if self._stop_signalled(signalled):  # it came while the run was being loaded
            p.stop_reason = f"interrupted by {signal_name(signalled.signum)}"
            if self.saved_step != p.step:  # a new run: make it resumable
                self.save()
            return
        while p.step < self.total_steps:
            result, batch = self._step()
            window.add(result, _positions(batch))
            last = p.step == self.total_steps
            record = None
            if p.step % cfg.log_every == 0 or last:
                record = self.train_record(window)
                window = _Window()
            evaluated = p.step % cfg.eval_every == 0 or last
            if evaluated:
                record = {**(record or self.base_record()), **self.validate()}
            if record is not None and self.rank == 0:
                self.metrics.append(record)
                if self.reporter:
                    self.reporter.log(record)
            if evaluated and self.rank == 0:  # after the log: a run that cannot log writes none
                self.write_probe()
            if self.reporter:
                self.reporter.advance(p)
            if self._stop_signalled(signalled):
                p.stop_reason = f"interrupted by {signal_name(signalled.signum)}"
            elif cfg.early_stopping and p.evals_since_best >= cfg.early_stopping:
                p.stop_reason = (
                    f"early stopping: no improvement in {p.evals_since_best} evaluations"
                )
            elif evaluated and cfg.stop_when_solved and self.task.solved(self.last_metrics):
                p.stop_reason = "solved"
            elif cfg.max_time is not None and p.elapsed >= cfg.max_time:
                p.stop_reason = f"--max-time {cfg.max_time:g}s reached"
            if p.stop_reason or last or p.step % cfg.save_every == 0:
                self.save()
            if p.stop_reason:
                return
        p.stop_reason = "finished"

    def _step(self):
        """One optimizer step on the next batch: (StepResult, batch)."""
        p, cfg = self.progress, self.config
        if p.index >= self.batches_per_epoch:  # a new epoch: streams restart at zero
            p.epoch, p.index, self.carry = p.epoch + 1, 0, None
        batch = self.task.batch("train", p.index, cfg.batch_size, p.epoch)
        if self.world_size > 1:
            batch = shard(batch, self.rank, self.world_size)
        self.engine.lr = self.schedule.lr_at(p.step + 1, p.elapsed)
        result = self.engine.train_step(batch, self.carry)
        if not result.updated:
            p.stop_reason = "diverged"
            raise Diverged(
                f"training diverged at step {p.step + 1} (loss {result.loss}, gradient "
                f"norm {result.grad_norm}); the update was not applied",
                saved_step=self.saved_step,
            )
        if self.task.stateful:
            self.carry = self.engine.detach(result.state)
        if self.average is not None:
            self.average.update(self.engine.state_dict())
        p.step, p.index = p.step + 1, p.index + 1
        p.tokens += batch.num_targets
        p.elapsed = self.elapsed0 + time.perf_counter() - self.started
        return result, batch

    def _stop_signalled(self, signalled) -> bool:
        """Whether a signal asks to stop now (on any rank, under torchrun)."""
        if self.world_size > 1:
            return any_rank(bool(signalled))
        return bool(signalled)

    # ------------------------------------------------------------------ records
    def base_record(self) -> dict:
        p = self.progress
        return {
            "step": p.step,
            "epoch": p.epoch,
            "lr": self.engine.lr,
            "elapsed": round(p.elapsed, 3),
        }

    def train_record(self, window: "_Window") -> dict:
        record = self.base_record()
        record["loss"] = window.loss()
        record["grad_norm"] = window.grad_norm()
        record["tokens_per_s"] = window.tokens / max(window.seconds(), 1e-9)  # steps processed
        if self.task.model_io().loss == "cross_entropy" and not self.engine.spec.one_per_sequence:
            record["bits_per_token"] = record["loss"] / math.log(2)
            record["perplexity"] = math.exp(min(record["loss"], 700.0))
        return record

    def validate(self) -> dict:
        p = self.progress
        with self._averaged_weights():
            metrics = self.task.evaluate(self.engine, "val", self.config.eval_batch_size)
        self.last_metrics = metrics  # what --stop-when-solved asks the task about
        val_loss = metrics["loss"]
        p.last_val = val_loss
        if not math.isfinite(val_loss):
            p.stop_reason = "diverged"
            raise Diverged(
                f"validation loss is {val_loss} at step {p.step}", saved_step=self.saved_step
            )
        if val_loss < p.best_val:
            p.best_val, p.best_step, p.evals_since_best = val_loss, p.step, 0
            self.best_weights = self._model_weights()
        else:
            p.evals_since_best += 1
        self.schedule.observe(val_loss)
        out = {f"val_{k}": v for k, v in metrics.items() if k not in ("split", "optimal_loss")}
        if "optimal_loss" in metrics:
            out["optimal_loss"] = metrics["optimal_loss"]
        return out

    def write_probe(self) -> None:
        """Gates and a sample for the dashboard (probe.json), of the model just evaluated."""
        with self._averaged_weights():
            step, size = self.progress.step, self.config.eval_batch_size
            write_probe(self.run_dir, self.engine, self.task, step, size)

    # ------------------------------------------------------------------ averaging
    def _model_weights(self) -> dict:
        """The model training has made: the weights' average with --ema-decay, else them."""
        if self.average is not None and self.average.weights is not None:
            return self.average.snapshot()
        return self.engine.state_dict()

    @contextlib.contextmanager
    def _averaged_weights(self):
        """The engine holds the averaged weights inside (nothing changes without them)."""
        if self.average is None or self.average.weights is None:
            yield
            return
        training = self.engine.state_dict()
        self.engine.load_state_dict(self.average.weights)
        try:
            yield
        finally:
            self.engine.load_state_dict(training)

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> None:
        if self.rank != 0:
            return
        weights = self.engine.state_dict()
        for name, value in {**weights, **(self.best_weights or {})}.items():
            if not np.isfinite(value).all():
                self.progress.stop_reason = "diverged"
                raise Diverged(
                    f"the weights became non-finite by step {self.progress.step} ('{name}'); "
                    "they were not saved",
                    saved_step=self.saved_step,
                )
        tensors, meta = self.engine.optimizer_state()
        state_tensors = {f"optim.{k}": np.asarray(v) for k, v in tensors.items()}
        if self.carry is not None:
            for k, part in enumerate(self.engine.export_state(self.carry)):
                state_tensors[f"carry.{k}"] = part
        averaged = self.average is not None and self.average.weights is not None
        if averaged:  # model.safetensors: the average; training continues from these weights
            state_tensors |= {WEIGHTS_PREFIX + k: v for k, v in weights.items()}
            weights = self.average.snapshot()
        state = {
            **asdict(self.progress),
            "optimizer": meta,
            "schedule": self.schedule.state_dict(),
            "rng": self.engine.rng_state(),
            "has_carry": self.carry is not None,
        }
        if averaged:
            state["average"] = self.average.state()
        save_checkpoint(
            self.run_dir,
            model=weights,
            state_tensors=state_tensors,
            state=state,
            best=self.best_weights,
            config=self.run_config,
        )
        self.saved_step = self.progress.step
        self.best_weights = None  # saved; later saves keep it until a new best arrives

    def restore(self, checkpoint) -> None:
        """Continue from a loaded checkpoint (weights, optimizer, schedule, RNG, carry).

        A checkpoint of the other engine restores everything but the dropout generators,
        whose states are engine-specific: they start afresh from the seed, so the model and
        the optimizer continue exactly, while dropout masks (and float rounding) differ from
        a resume with the same engine. ``self.notes`` says so.
        """
        state = checkpoint.state
        where = f"the checkpoint in '{self.run_dir}'"
        needed = ("optimizer", "rng", "schedule")
        missing = [k for k in needed if not isinstance(state.get(k), dict)]
        if missing:
            raise CheckpointError(
                f"{where} lacks its {', '.join(missing)} state (state.json); it cannot be "
                "resumed; evaluate and generate still work"
            )
        self.engine.load_state_dict(checkpoint.model)
        if isinstance(state.get("average"), dict):  # model.safetensors holds an average
            with _damaged(where, "weight average"):
                training = {
                    k.removeprefix(WEIGHTS_PREFIX): v
                    for k, v in checkpoint.state_tensors.items()
                    if k.startswith(WEIGHTS_PREFIX)
                }
                self.engine.load_state_dict(training)
                if self.average is not None:
                    self.average.load(checkpoint.model, state["average"])
        optim = {
            k.removeprefix("optim."): v
            for k, v in checkpoint.state_tensors.items()
            if k.startswith("optim.")
        }
        with _damaged(where, "optimizer state"):
            self.engine.load_optimizer_state(optim, state["optimizer"])
        if set(state["rng"]) == set(self.engine.rng_state()):
            with _damaged(where, "dropout generator state"):
                self.engine.set_rng_state(state["rng"])
        else:
            self.notes.append(
                f"{where} was written by another engine: weights and optimizer continue "
                "exactly; dropout masks and float rounding differ from a same-engine resume"
            )
        with _damaged(where, "schedule state"):
            self.schedule.load_state_dict(state["schedule"])
        fields = {f for f in Progress.__dataclass_fields__}
        self.progress = Progress(**{k: v for k, v in state.items() if k in fields})
        self.progress.stop_reason = ""
        self.saved_step = self.progress.step
        if state.get("has_carry"):
            self.carry = self._restore_carry(checkpoint.state_tensors, where)

    def _restore_carry(self, tensors: dict, where: str):
        """The carried recurrent state of a stream task, checked against the model."""
        spec = self.engine.spec
        shape = (spec.num_layers * spec.directions, self.config.batch_size, spec.hidden_size)
        count = 2 if spec.gates == 4 else 1  # (h, c) for the LSTMs, h for the others
        parts = [tensors[f"carry.{k}"] for k in range(2) if f"carry.{k}" in tensors]

        def fits(p) -> bool:  # under torchrun each rank carries its shard of the batch
            return p.ndim == 3 and (p.shape == shape or self.world_size > 1)

        if len(parts) != count or not all(fits(p) for p in parts):
            found = [tuple(p.shape) for p in parts]
            raise CheckpointError(
                f"{where} carries a recurrent state of shapes {found}, the model needs "
                f"{count} of {shape}; restore state.safetensors or start a new run"
            )
        return self.engine.import_state(parts)


@contextlib.contextmanager
def _damaged(where: str, what: str):
    """Values from state.json / state.safetensors that an engine cannot take: one line."""
    try:
        yield
    except CheckpointError as e:
        if where in str(e):
            raise
        raise CheckpointError(f"{where}: {e}") from e  # the engine's check, with the place
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RuntimeError) as e:
        why = " ".join(str(e).split())[:200]
        raise CheckpointError(
            f"{where} has a damaged {what} ({why}); restore state.json and "
            "state.safetensors from a backup, or start a new run"
        ) from e


def _positions(batch) -> int:
    """Time steps the model processed in a batch (real steps only, for padded batches)."""
    if batch.lengths is not None:
        return int(batch.lengths.sum())
    return int(batch.inputs.shape[0] * batch.inputs.shape[1])


class _Window:
    """Running means over the steps since the last log record."""

    def __init__(self):
        self.loss_sum = self.norm_sum = 0.0
        self.steps = self.tokens = 0
        self.start = time.perf_counter()

    def add(self, result, tokens: int) -> None:
        self.loss_sum += result.loss
        self.norm_sum += result.grad_norm
        self.steps += 1
        self.tokens += tokens

    def loss(self) -> float:
        return self.loss_sum / max(self.steps, 1)

    def grad_norm(self) -> float:
        return self.norm_sum / max(self.steps, 1)

    def seconds(self) -> float:
        return time.perf_counter() - self.start
