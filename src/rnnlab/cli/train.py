"""``rnnlab train``: flags generated from the settings (:mod:`rnnlab.cli.flags`), the
session itself in :mod:`rnnlab.train.launch`."""

import click

from rnnlab.cli import flags
from rnnlab.cli.common import TerminalVoice
from rnnlab.tasks import TASKS
from rnnlab.train.options import MODEL_FIELDS, SEQ2SEQ_FIELDS

# What this command does with a setting, beyond setting it.
EXTRA_HELP = {"cell": "A comma list (rnn,lstm) trains one run per cell and compares them."}
# Flags of the command that are no field of a ModelSpec or TrainConfig.
RUN_FLAGS = {"level", "folds", "config", "preset", "out", "overwrite", "resume", "quiet", "threads"}

_SETTINGS = [
    *flags.model_settings(MODEL_FIELDS),
    *flags.seq2seq_settings(SEQ2SEQ_FIELDS),
    *flags.training_settings(),
]
SETTINGS = [*_SETTINGS, *flags.task_settings(TASKS, {s.key for s in _SETTINGS} | RUN_FLAGS)]


def _run_flags(command):
    """The flags that say how to run, not what: no setting of a model or its training."""
    task, run = {"cls": flags.Flag, "section": "Task"}, {"cls": flags.Flag, "section": "Run"}
    options = [
        click.option(
            "--level",
            help="char | word | byte: picks the text task (classify: char | word).",
            **task,
        ),
        click.option(
            "--folds",
            type=click.IntRange(min=1),
            help="Classifiers: train K runs, one per stratified fold; mean ± std of test scores.",
            **task,
        ),
        click.option(
            "--preset",
            help="Shipped, measured settings (`rnnlab presets` lists them); --config and "
            "the flags override them.",
            **run,
        ),
        click.option("--config", "config_file", type=click.Path(), help="TOML settings.", **run),
        click.option("--out", type=click.Path(), help="Run directory [runs/TASK-TIME].", **run),
        click.option("--overwrite", is_flag=True, help="Replace an existing run directory.", **run),
        click.option("--resume", type=click.Path(), help="Continue this run directory.", **run),
        click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.", **run),
        click.option(
            "--threads",
            type=click.IntRange(min=1),
            help="BLAS and torch threads [all cores]; 1 per job when several run at once.",
            **run,
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command(cls=flags.SectionedCommand)
@click.argument("task", required=False)
@flags.add_flags(SETTINGS, EXTRA_HELP)
@_run_flags
def train(task, preset, config_file, out, overwrite, resume, quiet, threads, **settings):
    """Train a model on TASK (see `rnnlab tasks`), or continue one with --resume RUN.

    Settings come from the task's defaults, then --preset NAME, then --config FILE, then
    the flags. With --resume, the run's own settings are used; --steps/--epochs/--max-time
    extend it.
    """
    from rnnlab.threads import thread_limit
    from rnnlab.train.launch import launch

    with thread_limit(threads):  # how fast, not what: not a setting of the run
        launch(task, settings, config_file=config_file, out=out, overwrite=overwrite,
               resume=resume, quiet=quiet, voice=TerminalVoice(), preset=preset)  # fmt: skip
