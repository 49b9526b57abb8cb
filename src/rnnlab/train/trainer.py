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

from rnnlab.batch import shard
from rnnlab.engine import any_rank
from rnnlab.train.artifacts import write_eval_figures
from rnnlab.train.averaging import WeightAverage
from rnnlab.train.config import TrainConfig
from rnnlab.train.probe_file import write_probe
from rnnlab.train.progress import Diverged, Progress
from rnnlab.train.resume_state import restore_training, save_training
from rnnlab.train.run_dir import MetricsLog
from rnnlab.train.schedule import Schedule
from rnnlab.train.signals import Interrupted, deferred_signals, signal_name
from rnnlab.train.tensorboard_log import OFF, open_log


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
        self.tensorboard = OFF  # --tensorboard: the event log, opened by fit()

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
        self.tensorboard = open_log(self)
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
            self.tensorboard.close()
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
                self.tensorboard.scalars(record)
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
        """Gates and a sample for the dashboard (probe.json), and the task's per-evaluation
        figures (a seq2seq run's attention.png), of the model just evaluated."""
        with self._averaged_weights():
            step, size = self.progress.step, self.config.eval_batch_size
            write_probe(self.run_dir, self.engine, self.task, step, size)
            write_eval_figures(self.run_dir, self.task, self.engine)  # never raises
            self.tensorboard.evaluation(self)  # after probe.json: its sample is logged too

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
        """Checkpoint the run (rank 0 only): :func:`rnnlab.train.resume_state.save_training`."""
        if self.rank == 0:
            save_training(self)

    def restore(self, checkpoint) -> None:
        """Continue from a loaded checkpoint: :func:`rnnlab.train.resume_state.restore_training`."""
        restore_training(self, checkpoint)


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
