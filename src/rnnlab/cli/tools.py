"""The commands around training: gradcheck, inspect, tasks, demo; and those defined beside
the code they drive (bench, diagnose)."""

import json
import math
import sys
from pathlib import Path

import click

from rnnlab.bench import bench_command
from rnnlab.cli import flags
from rnnlab.cli.common import EXIT_FAILURE, TerminalVoice, fail
from rnnlab.diagnostics.command import diagnose_command
from rnnlab.train.options import MODEL_FLAGS


@click.command()
@click.option("--cell", "cells", multiple=True, help="Check only this cell (repeatable).")
@click.option(
    "--input-size", default=3, type=click.IntRange(min=1), show_default=True, help="Input width I."
)
@click.option(
    "--hidden", default=4, type=click.IntRange(min=1), show_default=True, help="Hidden width H."
)
@click.option(
    "--seq-len", default=5, type=click.IntRange(min=1), show_default=True, help="Sequence length T."
)
@click.option(
    "--batch-size", default=3, type=click.IntRange(min=1), show_default=True, help="Batch size B."
)
@click.option("--bound", default=1e-6, show_default=True, help="Largest relative error allowed.")
@click.option("--seed", default=0, type=click.IntRange(min=0), show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="One row per tensor instead of per layer.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def gradcheck(cells, input_size, hidden, seq_len, batch_size, bound, seed, verbose, as_json):
    """Prove the NumPy engine's backward passes with finite differences (float64).

    For every cell × layers {1, 2} × directions {1, 2} (and padded variable-length batches)
    every parameter, the input x and the initial states are checked; exits 1 if any relative
    error exceeds the bound.
    """
    from rnnlab.numpy import gradcheck_configs, run_gradchecks  # the engine's public API

    if not (math.isfinite(bound) and bound > 0):  # NaN would fail every check, inf none
        fail(f"--bound must be a finite positive number (a relative error, e.g. 1e-6), got {bound}")
    configs = gradcheck_configs(cells or None)
    rows = run_gradchecks(configs, input_size, hidden, seq_len, batch_size, bound=bound, seed=seed)
    if as_json:
        click.echo(json.dumps([r._asdict() for r in rows], indent=1))
    else:
        from rnnlab.tables import print_gradcheck_table

        print_gradcheck_table(rows, bound=bound, verbose=verbose)
    if not all(r.passed for r in rows):
        sys.exit(EXIT_FAILURE)


@click.command(cls=flags.SectionedCommand)
@click.argument("target", required=False)
@flags.add_flags(flags.model_settings(), {"output_size": "Default: the input size."})
def inspect(target, **given):
    """Summarize a model: each layer, its output shape and parameter count.

    TARGET is a run directory, or a .toml/.json file whose [model] table (or top level)
    holds ModelSpec fields; the flags describe the model, or change TARGET's.
    """
    from rnnlab.model import ModelSpec
    from rnnlab.summary import summarize
    from rnnlab.tables import print_summary

    model = _load_model_settings(target) if target else {}
    if model.get("kind") == "seq2seq":  # an encoder–decoder run (rnnlab.seq2seq.summary)
        from rnnlab.seq2seq.spec import Seq2SeqSpec
        from rnnlab.seq2seq.summary import summarize_seq2seq

        if any(v is not None for v in given.values()):
            fail("the model flags describe a ModelSpec; inspect an encoder–decoder run alone")
        spec = Seq2SeqSpec.from_dict(model)
        print_summary(spec, summarize_seq2seq(spec), title=str(target))
        return
    model.update({MODEL_FLAGS.get(k, k): v for k, v in given.items() if v is not None})
    if "input_size" not in model:
        fail("inspect needs a run directory, a config file, or --input-size (see --help)")
    model.setdefault("output_size", model["input_size"])
    spec = ModelSpec.from_dict(model)
    print_summary(spec, summarize(spec), title=str(target or "model"))


def _load_model_settings(target: str) -> dict:
    """ModelSpec fields from a run directory or a .toml/.json config file."""
    path = Path(target)
    if path.is_dir():
        from rnnlab.checkpoint import read_run_config

        model = read_run_config(path).get("model")
        if not isinstance(model, dict):
            fail(f"config.json in '{target}' has no 'model' table (a JSON object); restore it")
        return dict(model)
    if not path.is_file():
        fail(f"'{target}' is neither a run directory nor a config file")
    from rnnlab.settings import read_config_file

    data = read_config_file(path)
    model = data.get("model", data)
    if not isinstance(model, dict):
        fail(f"config file '{target}': 'model' must be a table of ModelSpec settings")
    return dict(model)


@click.command()
def tasks():
    """List the tasks and their default settings."""
    from rnnlab.tables import print_tasks
    from rnnlab.tasks import TASKS

    print_tasks(TASKS)


@click.command()
@click.argument("name", required=False)
def presets(name):
    """List the shipped presets, or print preset NAME's file (a --config file to start from)."""
    from rnnlab.train import presets as shipped

    if name is None:
        from rnnlab.tables import print_presets

        print_presets([shipped.read_preset(n) for n in shipped.preset_names()])
        return
    shipped.read_preset(name)  # an unknown name: one line listing the known ones
    click.echo(shipped.preset_text(name), nl=False)


@click.command()
@click.option("--seconds", default=110.0, show_default=True, help="Training time.")
@click.option("--out", type=click.Path(), default=None)
@click.option("--engine", type=click.Choice(["numpy", "torch"]), default="numpy", show_default=True)
def demo(seconds, out, engine):
    """Train a small character LSTM on Python's own documentation, then write with it."""
    from rnnlab.generate import generate as generate_tokens
    from rnnlab.train.launch import train_one

    given = {"cell": "lstm", "hidden": 128, "max_time": seconds, "epochs": 100, "engine": engine,
             "eval_every": 300, "save_every": 300, "log_every": 50, "seq_len": 50,
             "lr": 0.005}  # fmt: skip
    trainer = train_one("chars", given, out, False, False, TerminalVoice())
    click.echo("\nsamples (temperature 0.7):")
    for k, prime in enumerate(["The ", "def ", "A list "]):
        text = "".join(generate_tokens(trainer.engine, trainer.task.vocab, prime=prime,
                                       length=160, temperature=0.7, seed=k))  # fmt: skip
        click.echo(f"--- {prime!r}\n{prime}{text}\n")
    click.echo(f"next: rnnlab generate {trainer.run_dir} --prime 'The ' --length 400")


COMMANDS = (gradcheck, inspect, tasks, presets, demo, bench_command, diagnose_command)
