"""The tasks rnnlab trains on, by name: what ``rnnlab train TASK`` accepts.

Generators and exact references live in :mod:`rnnlab.data.synthetic`; a task here turns them
into batches for the trainer and knows how to evaluate a model on them.
"""

from rnnlab.errors import InputError
from rnnlab.tasks.base import SPLITS, ModelIO, Task
from rnnlab.tasks.classification import ClassificationTask
from rnnlab.tasks.classify import ClassifyTask, TextClassificationTask
from rnnlab.tasks.copying import CopyTask
from rnnlab.tasks.counting import AnBn, AnBnAn
from rnnlab.tasks.g2p import G2PTask
from rnnlab.tasks.marker import MarkerTask
from rnnlab.tasks.pairs_file import PairsFileTask
from rnnlab.tasks.reverse import ReverseTask
from rnnlab.tasks.sentiment import SentimentTask
from rnnlab.tasks.seq2seq import Seq2SeqTask
from rnnlab.tasks.sine import SineTask
from rnnlab.tasks.text import Bytes, Chars, TextTask, Words

_PER_STEP = (AnBn, AnBnAn, CopyTask, SineTask, Chars, Words, Bytes)
_CLASSIFIERS = (MarkerTask, SentimentTask, ClassifyTask)  # one answer per sequence
_SEQ2SEQ = (ReverseTask, G2PTask, PairsFileTask)  # a target sequence per source (encoder–decoder)
TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (*_PER_STEP, *_CLASSIFIERS, *_SEQ2SEQ)}


def build_task(name: str, options: dict | None = None, seed: int = 0, **kw) -> Task:
    """The task called ``name`` with its options; InputError for an unknown name."""
    if name not in TASKS:
        raise InputError(
            f"unknown task {name!r}; choose one of {', '.join(TASKS)} (see rnnlab tasks)"
        )
    return TASKS[name](options, seed, **kw)


__all__ = [
    "SPLITS",
    "TASKS",
    "ClassificationTask",
    "ModelIO",
    "Seq2SeqTask",
    "Task",
    "TextClassificationTask",
    "TextTask",
    "build_task",
]
