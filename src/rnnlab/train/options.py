"""From command-line flags and config files to a task, a ModelSpec and a TrainConfig.

Every setting has one name, the flag's (``--batch-size`` ↔ ``batch_size``). A TOML config
file uses the same names, at top level or grouped in any tables (``[model]``, ``[train]``,
``[task]`` are read the same way). Precedence, lowest first: the task's own defaults, the
config file, the flags.
"""

from dataclasses import fields

from rnnlab.errors import InputError
from rnnlab.model import ModelSpec
from rnnlab.tasks import TASKS, Task, build_task
from rnnlab.train.config import TrainConfig
from rnnlab.train.session import make_spec

# flag name -> ModelSpec field, where they differ
MODEL_FLAGS = {"hidden": "hidden_size", "layers": "num_layers"}
MODEL_FIELDS = {f.name for f in fields(ModelSpec)} - {"input_size", "output_size", "loss"}
TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
RUN_FLAGS = {"out", "overwrite", "quiet", "resume", "config"}
LEVEL_TASKS = {"char": "chars", "word": "words", "byte": "bytes"}


def flatten_config(data: dict) -> dict:
    """A config file's settings with tables flattened: ``[model] hidden = 64`` → ``hidden``."""
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten_config(value))
        else:
            flat[key.replace("-", "_")] = value
    return flat


def resolve_task_name(task: str, level: str | None) -> str:
    """``--level`` picks the text task: chars, words or bytes."""
    if level is not None:
        if level not in LEVEL_TASKS:
            raise InputError(f"--level must be char, word or byte, got {level!r}")
        if task not in LEVEL_TASKS.values():
            raise InputError(
                f"--level applies to the text tasks (chars, words, bytes), not '{task}'"
            )
        return LEVEL_TASKS[level]
    return task


def build_from_settings(task_name: str, settings: dict) -> tuple[Task, ModelSpec, TrainConfig]:
    """Split merged settings into task options, model settings and training settings."""
    if task_name not in TASKS:
        raise InputError(f"unknown task {task_name!r}; choose one of {', '.join(TASKS)}")
    settings = {**TASKS[task_name].train_defaults, **settings}
    model, train, task_options = {}, {}, {}
    for key, value in settings.items():
        if key in RUN_FLAGS or key == "level":
            continue
        field = MODEL_FLAGS.get(key, key)
        if field in MODEL_FIELDS:
            model[field] = value
        elif key in TRAIN_FIELDS:
            train[key] = value
        else:
            task_options[key] = value
    config = TrainConfig.from_dict(train)
    task = build_task(task_name, task_options, seed=config.seed)
    return task, make_spec(task, model), config
