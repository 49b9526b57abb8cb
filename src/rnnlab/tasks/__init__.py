"""The tasks rnnlab trains on, by name: what ``rnnlab train TASK`` accepts.

Generators and exact references live in :mod:`rnnlab.data.tasks`; a task here turns them
into batches for the trainer and knows how to evaluate a model on them.
"""

from rnnlab.errors import InputError
from rnnlab.tasks.base import SPLITS, ModelIO, Task
from rnnlab.tasks.copying import CopyTask
from rnnlab.tasks.counting import AnBn, AnBnAn
from rnnlab.tasks.sine import SineTask
from rnnlab.tasks.text import Bytes, Chars, TextTask, Words

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (AnBn, AnBnAn, CopyTask, SineTask, Chars, Words, Bytes)
}


def build_task(name: str, options: dict | None = None, seed: int = 0, **kw) -> Task:
    """The task called ``name`` with its options; InputError for an unknown name."""
    if name not in TASKS:
        raise InputError(
            f"unknown task {name!r}; choose one of {', '.join(TASKS)} (see rnnlab tasks)"
        )
    return TASKS[name](options, seed, **kw)


__all__ = ["SPLITS", "TASKS", "ModelIO", "Task", "TextTask", "build_task"]
