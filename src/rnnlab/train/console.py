"""What a training run prints: a progress bar on a terminal, plain log lines otherwise.

Non-TTY output (CI, pipes, ``> log``) gets one line per log record and no control codes;
``--quiet`` prints nothing but errors.
"""

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class ConsoleReporter:
    def __init__(self, quiet: bool = False, sample=None, stream=None):
        self.quiet = quiet
        self.sample = sample  # optional callable(engine) -> str | None, shown at each eval
        stream = stream or sys.stdout
        self.interactive = stream.isatty() and not quiet
        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self.bar = None
        self.task_id = None

    def start(self, trainer) -> None:
        if self.quiet:
            return
        p = trainer.progress
        action = "resuming at step" if p.step else "training from step"
        self.console.print(
            f"{action} {p.step} to {trainer.total_steps} ({trainer.limit()}; "
            f"{trainer.batches_per_epoch} batches per epoch) → {trainer.run_dir}"
        )
        self.trainer = trainer
        if self.interactive:
            self.bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task_id = self.bar.add_task(
                "train", total=trainer.total_steps, completed=p.step, status=""
            )

    def log(self, record: dict) -> None:
        if self.quiet:
            return
        line = format_record(record)
        if self.bar is not None:
            self.bar.update(self.task_id, status=line.split("  ", 1)[-1][:60])
            if "val_loss" in record:
                self.bar.console.print(line)
        else:
            self.console.print(line)
        if "val_loss" in record and self.sample is not None:
            text = self.sample(self.trainer.engine)
            if text is not None:
                self.console.print(f"  sample: {text!r}")

    def advance(self, progress) -> None:
        if self.bar is not None:
            self.bar.update(self.task_id, completed=progress.step)

    def stop(self, progress) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if not self.quiet and progress.stop_reason:
            self.console.print(f"stopped at step {progress.step}: {progress.stop_reason}")


def format_record(record: dict) -> str:
    """One log line: step, losses, accuracy, throughput."""
    parts = [f"step {record['step']:>6}"]
    if "loss" in record:
        parts.append(f"loss {record['loss']:.4f}")
    if "bits_per_token" in record:
        parts.append(f"bpt {record['bits_per_token']:.3f}")
    if "val_loss" in record:
        parts.append(f"val {record['val_loss']:.4f}")
    if "optimal_loss" in record:
        parts.append(f"(optimum {record['optimal_loss']:.4f})")
    for key in ("val_accuracy", "val_deterministic_accuracy", "val_max_n_counted"):
        if key in record:
            value = record[key]
            label = key.removeprefix("val_").replace("_", " ")
            parts.append(f"{label} {value:.3f}" if isinstance(value, float) else f"{label} {value}")
    if "grad_norm" in record:
        parts.append(f"|g| {record['grad_norm']:.2f}")
    if "tokens_per_s" in record:
        parts.append(f"{record['tokens_per_s']:,.0f} tok/s")
    return "  ".join(parts)
