"""A training run from flags to run directory: start one, resume one, or load one.

``config.json`` records the task (name, seed, options), the ModelSpec and the TrainConfig,
so everything a run needs can be rebuilt from its directory alone — by ``--resume``,
``rnnlab evaluate``, ``rnnlab generate`` and ``rnnlab diagnose`` alike, with either engine.
"""

import os
from dataclasses import dataclass, fields
from pathlib import Path

from rnnlab.checkpoint import (
    load_checkpoint,
    read_config,
    read_vocab,
    write_config,
    write_vocab,
)
from rnnlab.data.vocab import Vocab
from rnnlab.engine import build_engine
from rnnlab.errors import CheckpointError, InputError
from rnnlab.model import ModelSpec
from rnnlab.tasks import TASKS, Task, TextTask, build_task
from rnnlab.train.config import TrainConfig
from rnnlab.train.run_dir import MetricsLog, create_run_dir
from rnnlab.train.trainer import Trainer

# What a user may set about the model; the task decides input_size, output_size and loss.
MODEL_KEYS = tuple(
    f.name for f in fields(ModelSpec) if f.name not in ("input_size", "output_size", "loss")
)


@dataclass
class LoadedRun:
    run_dir: Path
    task: Task
    spec: ModelSpec
    config: TrainConfig
    engine: object
    checkpoint: object


def make_spec(task: Task, model_settings: dict) -> ModelSpec:
    """The ModelSpec for ``task``: its input/output sizes, plus the user's model settings."""
    unknown = sorted(set(model_settings) - set(MODEL_KEYS))
    if unknown:
        raise InputError(f"unknown model setting(s) {unknown}; known: {', '.join(MODEL_KEYS)}")
    io = task.model_io()
    settings = dict(model_settings)
    kind = settings.setdefault("input_kind", io.input_kind)
    if (kind == "dense") != (io.input_kind == "dense"):
        raise InputError(f"task '{task.name}' needs --input-kind {io.input_kind}, got {kind}")
    return ModelSpec(input_size=io.input_size, output_size=io.output_size, loss=io.loss, **settings)


def build_task_from(described: dict, vocab: Vocab | None = None) -> Task:
    """Rebuild a task from config.json's ``task`` entry (a saved vocabulary wins)."""
    name = described["name"]
    if name not in TASKS:
        raise CheckpointError(f"run names an unknown task {name!r}; was it made by a newer rnnlab?")
    kw = {"vocab": vocab} if issubclass(TASKS[name], TextTask) else {}
    return build_task(name, described["options"], described["seed"], **kw)


def distributed_world(config: TrainConfig) -> tuple[int, int]:
    """(rank, world size): > 1 processes when launched by torchrun with the torch engine."""
    if config.engine != "torch" or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    from rnnlab.torch.distributed import init_from_env

    return init_from_env()


def start_run(
    task: Task, spec: ModelSpec, config: TrainConfig, out, *, overwrite=False, reporter=None
):
    """Create the run directory, write config and vocabulary, and train.

    Under torchrun (torch engine) every rank trains on its shard of each global batch and
    only rank 0 creates and writes the run directory.
    """
    # Data too short for one batch fails here, before a run directory is created.
    task.num_batches("train", config.batch_size)
    task.num_batches("val", config.eval_batch_size)
    world = distributed_world(config)
    options = config.engine_options()
    if world[1] > 1:
        options["distributed"] = True
    run_dir = Path(out)
    if world[0] == 0:
        run_dir = create_run_dir(out, overwrite=overwrite)
        entry = {"model": spec.to_dict(), "train": config.to_dict(), "task": task.describe()}
        write_config(run_dir, entry)
        if task.vocab is not None:
            write_vocab(run_dir, task.vocab.to_dict())
    else:
        reporter = None  # one voice: rank 0 reports
    engine = build_engine(spec, config.engine, **options)
    trainer = Trainer(engine, task, config, run_dir, reporter=reporter, world=world)
    trainer.fit()
    return trainer


def resume_run(run_dir, overrides: dict | None = None, *, reporter=None):
    """Continue a run from its last checkpoint; ``overrides`` may extend --steps/--epochs,
    change --max-time, the evaluation cadence, or even the engine."""
    run = load_run(run_dir, overrides=overrides)
    settings = run.config.to_dict()
    write_config(run.run_dir, {**read_config(run.run_dir), "train": settings})
    trainer = Trainer(run.engine, run.task, run.config, run.run_dir, reporter=reporter)
    trainer.restore(run.checkpoint)
    if trainer.progress.step >= trainer.total_steps:
        raise InputError(
            f"run '{run_dir}' already finished its {trainer.total_steps} steps; "
            "pass a larger --steps or --epochs to train further"
        )
    MetricsLog(run.run_dir).truncate_after(trainer.progress.step)
    trainer.fit()
    return trainer


def load_run(run_dir, *, overrides: dict | None = None, best: bool = False) -> LoadedRun:
    """Everything a run directory describes, with an engine holding its weights.

    ``overrides`` changes TrainConfig fields (``engine``, ``backend``, ``device``...);
    ``best`` loads the best validation weights instead of the last ones.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory '{run_dir}' does not exist")
    config = read_config(run_dir)
    for key in ("model", "train", "task"):
        if key not in config:
            raise CheckpointError(
                f"{run_dir}/config.json lacks its '{key}' entry; not an rnnlab run?"
            )
    spec = ModelSpec.from_dict(config["model"])
    train = TrainConfig.from_dict({**config["train"], **(overrides or {})})
    vocab_dict = read_vocab(run_dir)
    vocab = Vocab.from_dict(vocab_dict) if vocab_dict else None
    task = build_task_from(config["task"], vocab)
    checkpoint = load_checkpoint(run_dir, expected_shapes=spec.parameter_shapes())
    engine = build_engine(spec, train.engine, **train.engine_options())
    weights = checkpoint.model
    if best:
        if checkpoint.best is None:
            raise CheckpointError(f"run '{run_dir}' has no best weights yet (no evaluation saved)")
        weights = checkpoint.best
    engine.load_state_dict(weights)
    return LoadedRun(run_dir, task, spec, train, engine, checkpoint)
