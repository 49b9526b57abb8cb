"""Where a run stands (:class:`Progress`, saved in every checkpoint's state.json), and
:class:`Diverged`, the end of a run whose loss or weights stopped being finite."""

import math
from dataclasses import dataclass


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
