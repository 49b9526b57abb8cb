"""What a checkpoint of a training run holds beyond its weights, and how a resume restores it.

A run continues bitwise after a resume only if everything that shapes the next step is
saved: the optimizer's moments, the position in the data and the other counters
(:class:`~rnnlab.train.progress.Progress`), the schedule's state, the dropout generators,
the recurrent state a stream task carries between batches and, with ``--ema-decay``, both
the average (saved as the model) and the training weights (in state.safetensors). The
trainer calls :func:`save_training` and :func:`restore_training`; they read and set its
attributes, so that this one concept — the resumable state — reads in one place.
"""

import contextlib
from dataclasses import asdict

import numpy as np

from rnnlab.checkpoint import save_checkpoint
from rnnlab.errors import CheckpointError
from rnnlab.train.averaging import WEIGHTS_PREFIX
from rnnlab.train.progress import Diverged, Progress


def save_training(trainer) -> None:
    """Save the trainer's run: weights (the average with --ema-decay), optimizer moments,
    the carried state, progress, schedule and dropout RNG, and the best weights if new."""
    weights = trainer.engine.state_dict()
    for name, value in {**weights, **(trainer.best_weights or {})}.items():
        if not np.isfinite(value).all():
            trainer.progress.stop_reason = "diverged"
            raise Diverged(
                f"the weights became non-finite by step {trainer.progress.step} ('{name}'); "
                "they were not saved",
                saved_step=trainer.saved_step,
            )
    tensors, meta = trainer.engine.optimizer_state()
    state_tensors = {f"optim.{k}": np.asarray(v) for k, v in tensors.items()}
    if trainer.carry is not None:
        for k, part in enumerate(trainer.engine.export_state(trainer.carry)):
            state_tensors[f"carry.{k}"] = part
    averaged = trainer.average is not None and trainer.average.weights is not None
    if averaged:  # model.safetensors: the average; training continues from these weights
        state_tensors |= {WEIGHTS_PREFIX + k: v for k, v in weights.items()}
        weights = trainer.average.snapshot()
    state = {
        **asdict(trainer.progress),
        "optimizer": meta,
        "schedule": trainer.schedule.state_dict(),
        "rng": trainer.engine.rng_state(),
        "has_carry": trainer.carry is not None,
    }
    if averaged:
        state["average"] = trainer.average.state()
    save_checkpoint(
        trainer.run_dir,
        model=weights,
        state_tensors=state_tensors,
        state=state,
        best=trainer.best_weights,
        config=trainer.run_config,
    )
    trainer.saved_step = trainer.progress.step
    trainer.best_weights = None  # saved; later saves keep it until a new best arrives


def restore_training(trainer, checkpoint) -> None:
    """Continue from a loaded checkpoint (weights, optimizer, schedule, RNG, carry).

    A checkpoint of the other engine restores everything but the dropout generators,
    whose states are engine-specific: they start afresh from the seed, so the model and
    the optimizer continue exactly, while dropout masks (and float rounding) differ from
    a resume with the same engine. ``trainer.notes`` says so.
    """
    state = checkpoint.state
    where = f"the checkpoint in '{trainer.run_dir}'"
    needed = ("optimizer", "rng", "schedule")
    missing = [k for k in needed if not isinstance(state.get(k), dict)]
    if missing:
        raise CheckpointError(
            f"{where} lacks its {', '.join(missing)} state (state.json); it cannot be "
            "resumed; evaluate and generate still work"
        )
    trainer.engine.load_state_dict(checkpoint.model)
    if isinstance(state.get("average"), dict):  # model.safetensors holds an average
        with _damaged(where, "weight average"):
            training = {
                k.removeprefix(WEIGHTS_PREFIX): v
                for k, v in checkpoint.state_tensors.items()
                if k.startswith(WEIGHTS_PREFIX)
            }
            trainer.engine.load_state_dict(training)
            if trainer.average is not None:
                trainer.average.load(checkpoint.model, state["average"])
    optim = {
        k.removeprefix("optim."): v
        for k, v in checkpoint.state_tensors.items()
        if k.startswith("optim.")
    }
    with _damaged(where, "optimizer state"):
        trainer.engine.load_optimizer_state(optim, state["optimizer"])
    if set(state["rng"]) == set(trainer.engine.rng_state()):
        with _damaged(where, "dropout generator state"):
            trainer.engine.set_rng_state(state["rng"])
    else:
        trainer.notes.append(
            f"{where} was written by another engine: weights and optimizer continue "
            "exactly; dropout masks and float rounding differ from a same-engine resume"
        )
    with _damaged(where, "schedule state"):
        trainer.schedule.load_state_dict(state["schedule"])
    fields = {f for f in Progress.__dataclass_fields__}
    trainer.progress = Progress(**{k: v for k, v in state.items() if k in fields})
    trainer.progress.stop_reason = ""
    trainer.saved_step = trainer.progress.step
    if state.get("has_carry"):
        trainer.carry = _restore_carry(trainer, checkpoint.state_tensors, where)


def _restore_carry(trainer, tensors: dict, where: str):
    """The carried recurrent state of a stream task, checked against the model."""
    spec = trainer.engine.spec
    shape = (spec.num_layers * spec.directions, trainer.config.batch_size, spec.hidden_size)
    count = 2 if spec.gates == 4 else 1  # (h, c) for the LSTMs, h for the others
    parts = [tensors[f"carry.{k}"] for k in range(2) if f"carry.{k}" in tensors]

    def fits(p) -> bool:  # under torchrun each rank carries its shard of the batch
        return p.ndim == 3 and (p.shape == shape or trainer.world_size > 1)

    if len(parts) != count or not all(fits(p) for p in parts):
        found = [tuple(p.shape) for p in parts]
        raise CheckpointError(
            f"{where} carries a recurrent state of shapes {found}, the model needs "
            f"{count} of {shape}; restore state.safetensors or start a new run"
        )
    return trainer.engine.import_state(parts)


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
