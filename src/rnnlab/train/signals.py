"""Signals during training: finish the step, save, then stop.

Python turns SIGINT into a ``KeyboardInterrupt`` raised wherever the interpreter happens to
be, and by default SIGTERM and SIGHUP kill the process outright. Neither fits a training
step: an optimizer updates its moments and the weights in place, one array after another,
so an exception between two of them leaves a state that no uninterrupted run ever had,
and a kill loses everything since the last checkpoint.

While :func:`deferred_signals` is active, SIGINT, SIGTERM and SIGHUP are only *noted*. The
trainer looks at the note between steps: it finishes the step it is in, saves a checkpoint
and raises :class:`Interrupted`, which the CLI turns into one line and exit code 128 + the
signal number (130, 143, 129), the shell's convention. A second signal while the trainer
saves is noted too, so nothing interrupts the save; ``kill -9`` cannot be caught, and the
save journal covers it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

CAUGHT = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(Exception):
    """Training stopped at a signal after saving; ``exit_code`` is 128 + the signal."""

    def __init__(self, signum: int, step: int, run_dir) -> None:
        self.signum, self.step, self.run_dir = signum, step, run_dir
        self.exit_code = 128 + signum
        super().__init__(
            f"stopped by {signal_name(signum)} after step {step}; the checkpoint in "
            f"'{run_dir}' holds it; continue with: rnnlab train --resume {run_dir}"
        )


class SignalNote:
    """The first signal received while deferred (None until one arrives) and a count."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0

    def __bool__(self) -> bool:
        return self.signum is not None

    def __call__(self, signum, frame) -> None:  # the handler: note it and return
        if self.signum is None:
            self.signum = signum
        self.count += 1


_active: SignalNote | None = None  # the note of the outermost deferred_signals, if any


@contextlib.contextmanager
def deferred_signals() -> Iterator[SignalNote]:
    """Note SIGINT, SIGTERM and SIGHUP instead of acting on them; restore on exit.

    Re-entrant: inside an active one (a session defers from the moment it holds the run's
    lock, the trainer again around its loop) the same note is yielded, so a signal that
    arrived while the run was being loaded still stops the loop before its first step.
    Handlers can only be installed from the main thread; elsewhere (a trainer run in a
    worker thread) the note stays empty and signals keep their usual effect.
    """
    global _active
    if _active is not None:
        yield _active
        return
    note = SignalNote()
    if threading.current_thread() is not threading.main_thread():
        yield note
        return
    previous = {}
    try:
        for signum in CAUGHT:
            previous[signum] = signal.signal(signum, note)
        _active = note
        yield note
    finally:
        _active = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
