"""From command-line flags and config files to a task, a ModelSpec and a TrainConfig.

Every setting has one name, the flag's (``--batch-size`` ↔ ``batch_size``). A TOML config
file uses the same names, at top level or grouped in any tables (``[model]``, ``[train]``,
``[task]`` are read the same way). Precedence, lowest first: the task's own defaults, the
config file, the flags.

Every setting is checked before anything is built or allocated: its type (a file's
``lr = "x"`` is refused naming the key as the file writes it), its range, that it applies
(``--device cuda`` would be ignored by the NumPy engine, so it is refused), and that the run
fits in memory (:mod:`rnnlab.train.memory`).
"""

from dataclasses import fields

from rnnlab.errors import InputError
from rnnlab.model import ModelSpec
from rnnlab.seq2seq.spec import Seq2SeqSpec
from rnnlab.settings import expected_type, read_config_file, tomllib
from rnnlab.tasks import TASKS, Seq2SeqTask, Task, build_task
from rnnlab.train import memory, tensorboard_log
from rnnlab.train.config import TrainConfig, check_engine_settings
from rnnlab.train.session import make_spec

# flag name -> ModelSpec field, where they differ
MODEL_FLAGS = {"hidden": "hidden_size", "layers": "num_layers"}
MODEL_FIELDS = {f.name for f in fields(ModelSpec)} - {"input_size", "output_size", "loss"}
# An encoder–decoder's own model settings (--attention, --input-feeding, --bridge, ...)
SEQ2SEQ_FIELDS = {f.name for f in fields(Seq2SeqSpec)} - MODEL_FIELDS - {
    "source_vocab", "target_vocab"
}  # fmt: skip
TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
RUN_FLAGS = {"out", "overwrite", "quiet", "resume", "config"}
LEVEL_TASKS = {"char": "chars", "word": "words", "byte": "bytes"}
# Every setting a config file may hold and its type: model (by flag and by field name),
# training, every task's options, and the run's own.
SETTING_TYPES = {
    **{f.name: f.type for f in fields(ModelSpec) if f.name in MODEL_FIELDS},
    **{name: ModelSpec.__dataclass_fields__[field].type for name, field in MODEL_FLAGS.items()},
    **{f.name: f.type for f in fields(Seq2SeqSpec) if f.name in SEQ2SEQ_FIELDS},
    **{f.name: f.type for f in fields(TrainConfig)},
    **{key: kind for task in TASKS.values() for key, kind in task.option_types.items()},
    "out": str,
    "overwrite": bool,
    "quiet": bool,
    "level": str,
    "folds": int,
}
# Settings a config file cannot hold, and where they go instead.
NOT_IN_FILES = {
    "resume": "pass --resume RUN",
    "config": "pass --config FILE",
    "preset": "pass --preset NAME",
    "threads": "pass --threads N (how fast, not what: it is not a setting of the run)",
}


# The torch engine's settings, and their values that ask nothing of the NumPy engine.
def flatten_config(data: dict) -> dict:
    """A config file's settings with tables flattened: ``[model] hidden = 64`` → ``hidden``."""
    return {key: value for _, key, value in _leaves(data)}


def settings_from_file(path) -> dict:
    """A config file's settings, flattened, each value checked against its setting's type;
    InputError naming the file and the key as the file writes it (``train.batch-size``).
    A ``[preset]`` table (:mod:`rnnlab.train.presets`) is skipped: a preset's file is a
    config file to start from."""
    data = read_config_file(path)
    if isinstance(data.get("preset"), dict):  # a preset's own file (rnnlab presets NAME)
        data.pop("preset")  # says what the preset is; no setting of the run
    return settings_from_data(data, f"config file '{path}'")


def settings_from_data(data: dict, source: str) -> dict:
    """:func:`settings_from_file` for contents already read; ``source`` names them in errors."""
    settings = {}
    for where, key, value in _leaves(data):
        if key in NOT_IN_FILES:
            raise InputError(
                f"{source}: {where} cannot be set in a config file; {NOT_IN_FILES[key]}"
            )
        expected = expected_type(value, SETTING_TYPES[key]) if key in SETTING_TYPES else None
        if expected is not None:
            hint = " (write it without quotes)" if _unquoted_fits(value, key) else ""
            raise InputError(f"{source}: {where} must be {expected}, got {value!r}{hint}")
        settings[key] = value
    return settings


def _unquoted_fits(value, key: str) -> bool:
    """Whether a string value (``"true"``, ``"3"``) would be right without its quotes."""
    if not isinstance(value, str):
        return False
    try:
        unquoted = tomllib.loads(f"v = {value}")["v"]
    except (tomllib.TOMLDecodeError, KeyError):
        return False
    return expected_type(unquoted, SETTING_TYPES[key]) is None


def _leaves(data: dict, table: str = ""):
    """``(key as written, with its tables; setting name; value)`` for every non-table value."""
    for key, value in data.items():
        where = f"{table}.{key}" if table else str(key)
        if isinstance(value, dict):
            yield from _leaves(value, where)
        else:
            yield where, str(key).replace("-", "_"), value


def resolve_task_name(task: str, settings: dict) -> str:
    """The task that ``settings`` name with ``--level``: the text task it picks (char →
    chars, word → words, byte → bytes; ``level`` is then taken out of ``settings``), or
    ``task`` itself when it has a ``level`` option of its own (classify: char or word)."""
    if task in TASKS and "level" in TASKS[task].option_types:
        return task
    level = settings.pop("level", None)
    if level is not None:
        if level not in LEVEL_TASKS:
            raise InputError(f"--level must be char, word or byte, got {level!r}")
        if task not in LEVEL_TASKS.values():
            raise InputError(
                f"--level applies to the text tasks (chars, words, bytes) and classify, "
                f"not '{task}'"
            )
        return LEVEL_TASKS[level]
    return task


def build_from_settings(
    task_name: str, settings: dict, *, available: int | None = None
) -> tuple[Task, ModelSpec, TrainConfig]:
    """Split merged settings into task options, model settings and training settings, check
    them all, and build the task (its data) only once the run is known to fit in memory
    (``available`` bytes; by default what the machine has, see :mod:`rnnlab.train.memory`)."""
    model, config, options = _checked_settings(task_name, settings, available)
    task = build_task(task_name, options, seed=config.seed)
    return task, _checked_spec(task, model, config, available), config


def check_cells(task_name: str, settings: dict, cells: list[str], *, available=None) -> None:
    """InputError if any cell of a ``--cell rnn,lstm`` list cannot run with ``settings``
    (an unknown cell, a setting it refuses, too little memory): checked before the first
    one trains. The task is built once, for the first."""
    task, _, _ = build_from_settings(task_name, {**settings, "cell": cells[0]}, available=available)
    for cell in cells[1:]:
        model, config, _ = _checked_settings(task_name, {**settings, "cell": cell}, available)
        _checked_spec(task, model, config, available)


LIMITS = ("steps", "epochs")


def task_defaults(task_class, settings: dict) -> dict:
    """The task's training defaults, less its step limits where the user set one.

    A limit the user gives is never cut by a default they did not give: ``--steps 2400``
    on a task whose default is 5 epochs trains 2,400 steps. When the user gives both, the
    first reached wins (see ``Trainer.planned_steps``).
    """
    defaults = task_class.training_defaults(settings)
    if any(settings.get(k) is not None for k in LIMITS):
        for key in LIMITS:
            defaults.pop(key, None)
    return defaults


def _checked_settings(task_name: str, settings: dict, available) -> tuple[dict, TrainConfig, dict]:
    """(model settings, TrainConfig, task options), all checked; nothing built yet."""
    if task_name not in TASKS:
        raise InputError(f"unknown task {task_name!r}; choose one of {', '.join(TASKS)}")
    task_class = TASKS[task_name]
    model, train, task_options = {}, {}, {}
    for key, value in {**task_defaults(task_class, settings), **settings}.items():
        if key in RUN_FLAGS or (key == "level" and "level" not in task_class.option_types):
            continue
        field = MODEL_FLAGS.get(key, key)
        if field in MODEL_FIELDS or field in SEQ2SEQ_FIELDS:
            model[field] = value
        elif key in TRAIN_FIELDS:
            train[key] = value
        else:
            task_options[key] = value
    config = TrainConfig.from_dict(train)
    check_engine_settings(settings, config)
    if config.tensorboard:  # an optional extra: refused now, not once the run exists
        tensorboard_log.require()
    options = task_class.check_options(task_options)
    # The task's data alone first: building the task generates (or reads) it.
    memory.check_memory(memory.estimate_memory(task_name, options, config), available)
    return model, config, options


def _checked_spec(task: Task, model: dict, config: TrainConfig, available) -> ModelSpec:
    if isinstance(task, Seq2SeqTask):  # an encoder–decoder (rnnlab.tasks.seq2seq)
        spec = task.make_spec(model)
        task.check_spec(spec)
        memory.check_memory(memory.estimate_memory(task.name, task.options, config), available)
        return spec
    spec = make_spec(task, model)
    task.check_spec(spec)  # e.g. a per-step readout on a task that answers once
    estimate = memory.estimate_memory(task.name, task.options, config, spec)
    memory.check_memory(estimate, available)
    return spec
