"""Learning-rate schedules: constant, cosine decay, reduce-on-plateau; each with warmup.

A schedule is a small object with JSON-able state, so a resumed run continues with the
learning rate it would have had:

* ``lr_at(step)`` gives the rate for the optimizer step ``step`` (1-based);
* ``observe(val_loss)`` feeds a validation result (only the plateau schedule reacts).

Warmup: for step ≤ warmup_steps the rate grows linearly, base · step / warmup_steps.
Cosine: base → min_lr over the steps after warmup, min_lr + ½(base - min_lr)(1 + cos πp).
Plateau: the rate is multiplied by ``factor`` after ``patience`` evaluations without a new
best validation loss (like torch's ReduceLROnPlateau in 'min' mode with threshold 0).

A time budget (``max_time``, seconds): cosine must end when the time does, though how many
steps fit in it is only known as training goes. After n steps in ``elapsed`` seconds the
measured speed predicts N = max_time · n / elapsed steps in all, so step n + 1 anneals over
min(total_steps, N) steps: at the last step the time allows, the rate is min_lr. The
prediction is re-made every step (evaluations and a slower machine after a resume count),
and it needs no state of its own: ``elapsed`` and the step are the trainer's progress.
"""

import math


class Schedule:
    def __init__(
        self,
        kind: str,
        base_lr: float,
        total_steps: int,
        warmup_steps: int = 0,
        min_lr: float = 0.0,
        factor: float = 0.5,
        patience: int = 3,
        max_time: float | None = None,
    ):
        self.kind = kind
        self.max_time = max_time  # anneal cosine within this many seconds, too
        self.base_lr = base_lr
        self.total_steps = max(1, total_steps)
        self.warmup_steps = warmup_steps
        self.min_lr = min_lr
        self.factor = factor
        self.patience = patience
        self.scale = 1.0  # the plateau schedule's accumulated reductions
        self.best = math.inf
        self.bad_evals = 0

    def lr_at(self, step: int, elapsed: float | None = None) -> float:
        """The rate of step ``step``; ``elapsed``: seconds the ``step - 1`` before it took."""
        if self.warmup_steps and step <= self.warmup_steps:
            return self.base_lr * step / self.warmup_steps
        if self.kind == "cosine":
            total = min(self.total_steps, self.predicted_steps(step, elapsed))
            span = max(1, total - self.warmup_steps)
            progress = min(1.0, (step - self.warmup_steps) / span)
            return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (
                1 + math.cos(math.pi * progress)
            )
        return self.base_lr * self.scale

    def predicted_steps(self, step: int, elapsed: float | None) -> float:
        """N = max_time · n / elapsed, the steps the budget allows at the speed measured
        over the n = step - 1 steps done; infinite without a budget or a measurement."""
        done = step - 1
        if self.max_time is None or elapsed is None or elapsed <= 0.0 or done < 1:
            return math.inf
        return self.max_time * done / elapsed

    def observe(self, val_loss: float) -> None:
        if self.kind != "plateau":
            return
        if val_loss < self.best:
            self.best, self.bad_evals = val_loss, 0
            return
        self.bad_evals += 1
        if self.bad_evals > self.patience:
            self.scale *= self.factor
            self.bad_evals = 0

    def state_dict(self) -> dict:
        return {"scale": self.scale, "best": self.best, "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict) -> None:
        self.scale = float(state["scale"])
        self.best = float(state["best"])
        self.bad_evals = int(state["bad_evals"])
