"""A training run from flags to run directory: start one, resume one, or load one.

``config.json`` records the task (name, seed, options), the ModelSpec and the TrainConfig,
so everything a run needs can be rebuilt from its directory alone — by ``--resume``,
``rnnlab evaluate``, ``rnnlab generate`` and ``rnnlab diagnose`` alike, with either engine.
"""

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass, fields
from pathlib import Path

from rnnlab.checkpoint import load_checkpoint, read_run_config, write_config, write_vocab
from rnnlab.data.vocab import Vocab
from rnnlab.engine import build_engine, distributed_world
from rnnlab.errors import CheckpointError, InputError
from rnnlab.model import ModelSpec
from rnnlab.run_files import sha256_file
from rnnlab.specs import spec_from_dict
from rnnlab.tasks import (
    TASKS,
    ClassificationTask,
    Task,
    TextClassificationTask,
    TextTask,
    build_task,
)
from rnnlab.train.config import TrainConfig, check_engine_settings, with_legacy
from rnnlab.train.lock import TrainingLock
from rnnlab.train.run_dir import MetricsLog, create_run_dir
from rnnlab.train.signals import deferred_signals
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


def build_task_from(
    described: dict, vocab: Vocab | None = None, *, run_dir=None, need_data: bool = True
) -> Task:
    """Rebuild a task from config.json's ``task`` entry (a saved vocabulary wins).

    A run records the absolute path and a fingerprint of its data file (:func:`describe_task`);
    with ``need_data`` the file must still be there, unchanged. Without it (``generate``,
    ``inspect``) a text task with a saved vocabulary never reads its data.
    """
    if not isinstance(described, dict) or not isinstance(described.get("name"), str):
        raise CheckpointError(f"config.json in '{run_dir}' has no valid 'task' entry; restore it")
    name = described["name"]
    if name not in TASKS:
        raise CheckpointError(f"run names an unknown task {name!r}; was it made by a newer rnnlab?")
    options, seed = described.get("options", {}), described.get("seed")
    if not isinstance(options, dict) or isinstance(seed, bool) or not isinstance(seed, int):
        raise CheckpointError(
            f"config.json in '{run_dir}': the task entry needs an 'options' table and an "
            f"integer 'seed', got {options!r:.60} and {seed!r}; restore it"
        )
    if need_data and isinstance(described.get("data"), dict):
        check_data(described["data"], run_dir)
    task_class = TASKS[name]
    kw = {"vocab": vocab} if issubclass(task_class, (TextTask, TextClassificationTask)) else {}
    if issubclass(task_class, ClassificationTask):  # with the vocabulary: no data to read
        kw["labels"] = _saved_labels(described, run_dir)
    if getattr(task_class, "saves_vocabularies", False):  # seq2seq: in config.json's task
        kw["vocabularies"] = described.get("vocabularies")
    try:
        return build_task(name, options, seed, **kw)
    except CheckpointError:
        raise
    except InputError as e:  # a stored option this rnnlab refuses
        raise CheckpointError(f"config.json in '{run_dir}': {e}") from e


def describe_task(task: Task) -> dict:
    """``task.describe()``, with the data file's absolute path and fingerprint, if any.

    The fingerprint (size and sha256 of the file's bytes) lets ``evaluate`` and
    ``--resume`` refuse a file that changed; a stream (``/dev/stdin``, a pipe) cannot be
    read again, so only its name is kept and those commands say so.
    """
    described = task.describe()
    path = described["options"].get("data")
    if path is None:
        return described
    absolute = os.path.abspath(path)
    try:
        regular = stat.S_ISREG(os.stat(absolute).st_mode)
    except OSError:
        regular = False
    if regular:
        described["options"] = {**described["options"], "data": absolute}
        described["data"] = {
            "path": absolute,
            "size": os.path.getsize(absolute),
            "sha256": sha256_file(absolute),
        }
    else:
        described["data"] = {"path": str(path), "stream": True}
    return described


def check_data(record: dict, run_dir) -> None:
    """The data file a run was trained on is still there and unchanged, or CheckpointError."""
    path = record.get("path")
    if record.get("stream"):
        raise CheckpointError(
            f"run '{run_dir}' was trained from a stream ({path!r}) that cannot be read again; "
            "generate works, but evaluating or resuming needs the text as a file"
        )
    if not isinstance(path, str):
        raise CheckpointError(f"config.json in '{run_dir}' has a damaged data record; restore it")
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        regular = False
    if not regular:
        raise CheckpointError(
            f"the data file '{path}' that run '{run_dir}' was trained on is missing (or is not "
            "a file any more); put it back at that path to evaluate or resume the run"
        )
    size = os.path.getsize(path)
    if size != record.get("size") or sha256_file(path) != record.get("sha256"):
        raise CheckpointError(
            f"the data file '{path}' changed since run '{run_dir}' was trained on it "
            f"({record.get('size')} bytes then, {size} now, or different content); restore it, "
            "or train a new run on the new text"
        )


def start_run(
    task: Task,
    spec: ModelSpec,
    config: TrainConfig,
    out,
    *,
    overwrite=False,
    reporter=None,
    notify=None,
):
    """Create the run directory, write config and vocabulary, and train.

    Everything that can be refused is checked before the directory is created: the data
    (one batch at least), the engine (device, backend), a directory that exists. The run is
    trained holding its :class:`~rnnlab.train.lock.TrainingLock`. ``notify(line)`` receives
    one-line remarks for the user (a stale lock taken over).

    Under torchrun (torch engine) every rank trains on its shard of each global batch and
    only rank 0 creates and writes the run directory.
    """
    task.num_batches("train", config.batch_size)
    task.num_batches("val", config.eval_batch_size)
    world = distributed_world(config.engine)
    options = config.engine_options()
    if world[1] > 1:
        options["distributed"] = True
    engine = build_engine(spec, config.engine, **options)
    entry = {"model": spec.to_dict(), "train": config.to_dict(), "task": describe_task(task)}
    if world[0] != 0:  # one voice and one writer: rank 0
        trainer = Trainer(engine, task, config, Path(out), world=world)
        trainer.fit()
        return trainer
    with deferred_signals(), open_new_run(out, overwrite=overwrite) as lock:
        _notify(notify, lock.message())
        write_config(lock.run_dir, entry)
        if task.vocab is not None:
            write_vocab(lock.run_dir, task.vocab.to_dict())
        trainer = Trainer(
            engine, task, config, lock.run_dir, reporter=reporter, world=world, run_config=entry
        )
        trainer.fit()
    return trainer


def resume_run(run_dir, overrides: dict | None = None, *, reporter=None, notify=None):
    """Continue a run from its last checkpoint; ``overrides`` may extend --steps/--epochs,
    change --max-time, the evaluation cadence, or even the engine.

    Nothing in the run directory changes until training has started: the new settings
    reach config.json with the first checkpoint this session saves, in the same atomic
    commit, so a refused resume leaves the run exactly as it was.
    """
    run_dir = Path(run_dir)
    read_run_config(run_dir)  # a run directory, before a lock file is made in it
    with deferred_signals(), TrainingLock(run_dir) as lock:
        _notify(notify, lock.message())
        run = load_run(run_dir, overrides=overrides)
        entry = {**run.checkpoint.config, "train": run.config.to_dict()}
        trainer = Trainer(
            run.engine, run.task, run.config, run.run_dir, reporter=reporter, run_config=entry
        )
        trainer.restore(run.checkpoint)
        for note in trainer.notes:
            _notify(notify, note)
        p = trainer.progress
        if p.step >= trainer.total_steps:
            raise InputError(
                f"run '{run_dir}' already finished its {trainer.total_steps} steps; "
                "pass a larger --steps or --epochs to train further"
            )
        if run.config.max_time is not None and p.elapsed >= run.config.max_time:
            raise InputError(
                f"run '{run_dir}' has trained for {p.elapsed:.1f} s, which --max-time "
                f"{run.config.max_time:g} does not extend (it counts all sessions); pass a "
                "larger --max-time"
            )
        MetricsLog(run.run_dir).truncate_after(p.step)
        trainer.fit()
    return trainer


@contextlib.contextmanager
def open_new_run(out, *, overwrite: bool = False):
    """Create the run directory ``out`` and hold its training lock (yielded).

    ``--overwrite`` removes the old run's files only once the lock is held, so a run that
    another process is training is refused, not replaced under it. A directory this call
    made is removed again if the lock cannot be had.
    """
    path = Path(out)
    existed = path.exists()
    create_run_dir(path, overwrite=False, check_only=overwrite)
    lock = TrainingLock(path)
    try:
        lock.acquire()
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                shutil.rmtree(path)
        raise
    try:
        if overwrite:
            create_run_dir(path, overwrite=True)  # checked again, now under the lock
        yield lock
    finally:
        lock.release()


def _notify(notify, line: str | None) -> None:
    if line and notify is not None:
        notify(line)


def _saved_labels(described: dict, run_dir) -> list[str] | None:
    """A classifier run's class names, in id order (None: a run that did not record them)."""
    labels = described.get("labels")
    if labels is None:
        return None
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(name, str) for name in labels)
        or len(set(labels)) != len(labels)
    ):
        raise CheckpointError(
            f"config.json in '{run_dir}': the task's 'labels' must be a list of at least two "
            f"distinct class names, got {labels!r:.60}; restore it"
        )
    return labels


def load_run(
    run_dir, *, overrides: dict | None = None, best: bool | None = False, need_data: bool = True
) -> LoadedRun:
    """Everything a run directory describes, with an engine holding its weights.

    ``overrides`` changes TrainConfig fields (``engine``, ``backend``, ``device``...);
    ``best`` loads the best validation weights instead of the last ones (None: the best
    where the run saved them, else the last — what ``generate`` uses); without
    ``need_data`` a text task does not read (or check) its data file.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise CheckpointError(f"run directory '{run_dir}' does not exist; check the path")
    if not run_dir.is_dir():
        raise CheckpointError(f"'{run_dir}' is a file, not a run directory; give a run's folder")
    spec, checkpoint = _load_checkpoint_of(run_dir)
    config = checkpoint.config
    # a run from before --anneal-over annealed over its steps, and still does
    stored = _stored(lambda: TrainConfig.from_dict(with_legacy(config["train"])), run_dir)
    train = TrainConfig.from_dict({**stored.to_dict(), **(overrides or {})})  # flags: as given
    check_engine_settings(overrides or {}, train)
    saved_vocab = checkpoint.vocab
    vocab = _stored(lambda: Vocab.from_dict(saved_vocab) if saved_vocab else None, run_dir)
    task = build_task_from(config["task"], vocab, run_dir=run_dir, need_data=need_data)
    if isinstance(task, ClassificationTask) and len(task.label_names) != spec.output_size:
        raise CheckpointError(
            f"config.json in '{run_dir}': the task names {len(task.label_names)} classes but "
            f"the model answers {spec.output_size}; restore config.json"
        )
    engine = build_engine(spec, train.engine, **train.engine_options())
    weights = checkpoint.model
    if best is None:
        best = checkpoint.best is not None
    if best:
        if checkpoint.best is None:
            raise CheckpointError(f"run '{run_dir}' has no best weights yet (no evaluation saved)")
        weights = checkpoint.best
    engine.load_state_dict(weights)
    return LoadedRun(run_dir, task, spec, train, engine, checkpoint)


def _load_checkpoint_of(run_dir: Path):
    """(ModelSpec, verified checkpoint); config.json must hold the three entries of a run."""
    config = read_run_config(run_dir)
    for key in ("model", "train", "task"):
        if not isinstance(config.get(key), dict):
            raise CheckpointError(
                f"{run_dir}/config.json lacks its '{key}' entry (a JSON object); "
                "not an rnnlab run, or a damaged one: restore it"
            )
    spec = _stored(lambda: spec_from_dict(config["model"]), run_dir)  # or a Seq2SeqSpec
    return spec, load_checkpoint(run_dir, expected_shapes=spec.parameter_shapes())


def _stored(build, run_dir: Path):
    """``build()``, with a refused setting reported as a damaged config.json or vocab.json."""
    try:
        return build()
    except CheckpointError:
        raise
    except InputError as e:
        raise CheckpointError(f"a setting stored in '{run_dir}' is refused: {e}; restore it") from e
