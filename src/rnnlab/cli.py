"""The ``rnnlab`` command.

Every command answers bad input with one line on stderr — what is wrong, where, what to do —
and exit code 2; a failed check or run exits 1; success exits 0. Long work shows a progress
bar on a terminal and plain lines otherwise (``--quiet`` silences both).
"""

import json
import math
import os
import sys
import traceback
import warnings
from pathlib import Path

import click

from rnnlab.errors import InputError, describe_os_error, one_line
from rnnlab.optimizers import OPTIMIZERS

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def fail(message: str) -> None:
    """Stop with a one-line bad-input error (exit 2)."""
    raise InputError(message)


class _StdoutClosed(Exception):
    """Whoever read our stdout went away (`rnnlab generate RUN | head`): not an error."""


class _Commands(click.Group):
    def invoke(self, ctx):
        # click turns a BrokenPipeError into exit 1; main() makes it a quiet exit 0 instead.
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _StdoutClosed from exc


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="rnnlab")
def cli() -> None:
    """rnnlab: recurrent neural networks (RNN, LSTM, GRU) from first principles.

    Two engines (NumPy with hand-derived gradients, and PyTorch) behind one trainer,
    one checkpoint format and this command.
    """


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one line and an exit code.

    Python warnings (a NumPy overflow, a library's deprecation) are one line each too,
    ``rnnlab: warning: <message>``, for the duration of the command.
    """
    try:
        with warnings.catch_warnings():  # restores warnings.showwarning afterwards
            warnings.showwarning = _show_warning
            code = cli.main(args=argv, prog_name="rnnlab", standalone_mode=False)
    except _StdoutClosed:  # `rnnlab generate RUN | head`: the reader has all it wanted
        _discard_stdout()
        return EXIT_OK
    except click.UsageError as exc:
        if type(exc).__name__.startswith("NoArgsIsHelp") and exc.ctx:  # bare `rnnlab`
            click.echo(exc.ctx.get_help())
            return EXIT_USAGE
        where = exc.ctx.command_path if exc.ctx else "rnnlab"
        message = _one_line(exc.format_message())
        click.echo(f"rnnlab: error: {message} (see '{where} --help')", err=True)
        return EXIT_USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("rnnlab: aborted", err=True)
        return 130
    except InputError as exc:
        click.echo(f"rnnlab: error: {_one_line(exc)}", err=True)
        return EXIT_USAGE
    except OSError as exc:  # unreadable file, full disk, ...: the environment, not a bug
        click.echo(f"rnnlab: error: {describe_os_error(exc)}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("rnnlab: interrupted", err=True)
        return 130
    except Exception:  # not bad input but a bug in rnnlab: show where, ask for a report
        traceback.print_exc()
        click.echo(
            "rnnlab: internal error (a bug in rnnlab, not in your input); "
            "please report it with the traceback above",
            err=True,
        )
        return EXIT_FAILURE
    return code if isinstance(code, int) else EXIT_OK  # a command's click Exit(code)


def _one_line(exc: BaseException | str) -> str:
    return one_line(exc) if isinstance(exc, BaseException) else " ".join(exc.split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """warnings.showwarning for the CLI: one line instead of the message and its source."""
    click.echo(f"rnnlab: warning: {_one_line(str(message))}", err=True)


def _discard_stdout() -> None:
    """Point stdout at os.devnull, so the interpreter's last flush of what is still buffered
    finds no closed pipe (it would print "Exception ignored ... BrokenPipeError")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


# --------------------------------------------------------------------------- gradcheck
@cli.command()
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
        from rnnlab.report import print_gradcheck_table

        print_gradcheck_table(rows, bound=bound, verbose=verbose)
    if not all(r.passed for r in rows):
        sys.exit(EXIT_FAILURE)


# --------------------------------------------------------------------------- inspect
@cli.command()
@click.argument("target", required=False)
@click.option("--cell", default=None, help="lstm | gru | rnn (with no TARGET).")
@click.option("--input-size", type=int, default=None, help="Vocabulary size or input width.")
@click.option("--output-size", type=int, default=None, help="Classes or outputs (default: input).")
@click.option("--hidden", type=int, default=None)
@click.option("--layers", type=int, default=None)
@click.option("--bidirectional/--unidirectional", default=None)
@click.option("--input-kind", default=None, help="onehot | embedding | dense.")
@click.option("--embedding-dim", type=int, default=None)
@click.option("--dropout", type=float, default=None)
def inspect(target, **flags):
    """Summarize a model: each layer, its output shape and parameter count.

    TARGET is a run directory, or a .toml/.json file whose [model] table (or top level)
    holds ModelSpec fields; with no TARGET the flags describe the model.
    """
    from rnnlab.model import ModelSpec
    from rnnlab.report import print_summary
    from rnnlab.summary import summarize

    overrides = {
        key: value
        for key, value in {
            "cell": flags["cell"],
            "input_size": flags["input_size"],
            "output_size": flags["output_size"],
            "hidden_size": flags["hidden"],
            "num_layers": flags["layers"],
            "bidirectional": flags["bidirectional"],
            "input_kind": flags["input_kind"],
            "embedding_dim": flags["embedding_dim"],
            "dropout": flags["dropout"],
        }.items()
        if value is not None
    }
    model = _load_model_settings(target) if target else {}
    model.update(overrides)
    if "input_size" not in model:
        fail("inspect needs a run directory, a config file, or --input-size (see --help)")
    model.setdefault("output_size", model["input_size"])
    spec = ModelSpec.from_dict(model)
    print_summary(spec, summarize(spec), title=str(target or "model"))


def _load_model_settings(target: str) -> dict:
    """ModelSpec fields from a run directory or a .toml/.json config file."""
    path = Path(target)
    if path.is_dir():
        from rnnlab.checkpoint import read_config

        model = read_config(path).get("model")
        if not isinstance(model, dict):
            fail(f"config.json in '{target}' has no 'model' table (a JSON object); restore it")
        return dict(model)
    if not path.is_file():
        fail(f"'{target}' is neither a run directory nor a config file")
    from rnnlab.config import read_config_file

    data = read_config_file(path)
    model = data.get("model", data)
    if not isinstance(model, dict):
        fail(f"config file '{target}': 'model' must be a table of ModelSpec settings")
    return dict(model)


# --------------------------------------------------------------------------- train
def _train_options(f):
    """The flags of ``rnnlab train`` (all default to None: unset means 'task default')."""
    opts = [
        # model
        click.option("--cell", help="lstm | gru | rnn; a comma list (rnn,lstm) trains each."),
        click.option("--hidden", type=int, help="Hidden units per direction."),
        click.option("--layers", type=int, help="Stacked recurrent layers."),
        click.option("--bidirectional/--unidirectional", default=None),
        click.option("--dropout", type=float, help="Between layers and before the head."),
        click.option("--nonlinearity", type=click.Choice(["tanh", "relu"]), help="For --cell rnn."),
        click.option("--input-kind", type=click.Choice(["onehot", "embedding", "dense"])),
        click.option("--embedding-dim", type=int),
        click.option("--tie-weights/--no-tie-weights", default=None),
        click.option("--init", type=click.Choice(["xavier", "torch"])),
        click.option("--forget-bias", type=float),
        click.option("--dtype", type=click.Choice(["float32", "float64"])),
        # training
        click.option("--engine", type=click.Choice(["numpy", "torch"])),
        click.option("--backend", type=click.Choice(["scratch", "native"]), help="Torch engine."),
        click.option("--device", help="cpu | cuda | auto (torch engine)."),
        click.option("--compile/--no-compile", default=None, help="torch.compile (torch engine)."),
        click.option("--steps", type=int, help="Optimizer steps in total."),
        click.option("--epochs", type=int, help="Passes over the training split."),
        click.option(
            "--max-time", type=float, help="Stop (and checkpoint) after this many seconds."
        ),
        click.option("--batch-size", type=int),
        click.option("--optimizer", type=click.Choice(OPTIMIZERS)),
        click.option("--lr", type=float, help="Learning rate."),
        click.option("--weight-decay", type=float),
        click.option("--momentum", type=float, help="SGD momentum."),
        click.option("--grad-clip", type=float, help="Global gradient-norm clip."),
        click.option("--schedule", type=click.Choice(["constant", "cosine", "plateau"])),
        click.option("--warmup-steps", type=int),
        click.option("--min-lr", type=float),
        click.option("--plateau-patience", type=int),
        click.option("--plateau-factor", type=float),
        click.option("--early-stopping", type=int, help="Evaluations without improvement."),
        click.option("--eval-every", type=int),
        click.option("--save-every", type=int),
        click.option("--log-every", type=int),
        click.option("--eval-batch-size", type=int),
        click.option("--seed", type=int),
        # task
        click.option(
            "--data", type=click.Path(dir_okay=True), help="Text file (chars/words/bytes)."
        ),
        click.option("--level", help="char | word | byte: picks the text task."),
        click.option("--seq-len", type=int, help="Truncated-BPTT length (text tasks)."),
        click.option("--top-k", type=int, help="Vocabulary: the k most frequent tokens."),
        click.option("--num", type=int, help="Sequences generated (anbn, anbnan)."),
        click.option("--n-min", type=int),
        click.option("--n-max", type=int),
        click.option("--test-n-max", type=int, help="Test counting up to this n."),
        click.option("--bits", type=int, help="Bits to remember (copy)."),
        click.option("--delay", type=int, help="Blank steps before recall (copy)."),
        click.option("--num-points", type=int, help="Samples of the sine."),
        click.option("--noise", type=float, help="Noise amplitude (sine)."),
        click.option("--window", type=int, help="Input window (sine)."),
        # run
        click.option("--config", "config_file", type=click.Path(), help="TOML settings."),
        click.option("--out", type=click.Path(), help="Run directory [runs/TASK-TIME]."),
        click.option("--overwrite", is_flag=True, help="Replace an existing run directory."),
        click.option("--resume", type=click.Path(), help="Continue this run directory."),
        click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors."),
        click.option(
            "--threads",
            type=click.IntRange(min=1),
            help="BLAS and torch threads [all cores]; 1 per job when several run at once.",
        ),
    ]
    for option in reversed(opts):
        f = option(f)
    return f


@cli.command()
@click.argument("task", required=False)
@_train_options
def train(task, config_file, out, overwrite, resume, quiet, threads, **flags):
    """Train a model on TASK (see `rnnlab tasks`), or continue one with --resume RUN.

    Settings come from the task's defaults, then --config FILE, then the flags. With
    --resume, the run's own settings are used; --steps/--epochs/--max-time extend it.
    """
    from rnnlab.threads import thread_limit

    with thread_limit(threads):  # how fast, not what: not a setting of the run
        _train(task, config_file, out, overwrite, resume, quiet, flags)


def _train(task, config_file, out, overwrite, resume, quiet, flags):
    given = {k: v for k, v in flags.items() if v is not None}
    if config_file:  # each value checked against its setting's type, named as in the file
        from rnnlab.train.options import settings_from_file

        given = {**settings_from_file(config_file), **given}
    quiet = quiet or given.pop("quiet", False)
    if resume:
        return _resume(resume, given, quiet)
    if not task:
        fail("train needs a TASK (see `rnnlab tasks`) or --resume RUN")
    file_out, file_overwrite = given.pop("out", None), given.pop("overwrite", False)
    out, overwrite = out or file_out, overwrite or file_overwrite  # the flags win
    cells = [c.strip() for c in str(given.pop("cell", "")).split(",") if c.strip()] or [None]
    if len(cells) > 1:
        return _train_several(task, cells, given, out, overwrite, quiet)
    if cells[0]:
        given["cell"] = cells[0]
    _train_one(task, given, out, overwrite, quiet)


def _train_one(task_name, given, out, overwrite, quiet, show_summary=True):
    from rnnlab.train.options import build_from_settings, resolve_task_name
    from rnnlab.train.run_dir import default_run_name
    from rnnlab.train.session import start_run

    quiet = quiet or os.environ.get("RANK", "0") != "0"  # under torchrun, rank 0 speaks
    task_name = resolve_task_name(task_name, given.pop("level", None))
    task, spec, config = build_from_settings(task_name, given)
    out = out or str(Path("runs") / default_run_name(task.name))
    if not quiet and show_summary:
        click.echo(f"task {task.name}: {task.description}")
        click.echo(f"model {spec!r}: {spec.num_parameters():,} parameters; {config!r}")
    reporter = _reporter(quiet)
    trainer = _run_guarded(
        lambda: start_run(
            task, spec, config, out, overwrite=overwrite, reporter=reporter, notify=_note
        ),
        out,
    )
    _finish(trainer, quiet)
    return trainer


def _resume(run_dir, given, quiet):
    from rnnlab.train.session import resume_run

    allowed = {"steps", "epochs", "max_time", "eval_every", "save_every", "log_every",
               "engine", "backend", "device", "compile", "early_stopping"}  # fmt: skip
    ignored = sorted(set(given) - allowed)
    if ignored:
        fail(
            f"--resume continues a run with its own settings; these cannot change: "
            f"{', '.join('--' + k.replace('_', '-') for k in ignored)}"
        )
    reporter = _reporter(quiet)
    trainer = _run_guarded(
        lambda: resume_run(run_dir, given, reporter=reporter, notify=_note), run_dir
    )
    _finish(trainer, quiet)


def _note(line: str) -> None:
    click.echo(f"rnnlab: note: {line}", err=True)


def _run_guarded(run, run_dir):
    """Run training. A divergence is a failure (exit 1) that keeps the last good checkpoint;
    a signal (Ctrl-C, SIGTERM, SIGHUP) saves and exits 128 + its number (130, 143, 129)."""
    from rnnlab.train.signals import Interrupted
    from rnnlab.train.trainer import Diverged

    try:
        return run()
    except Diverged as exc:
        if exc.saved_step is None:
            kept = (
                f"no checkpoint was saved, so '{run_dir}' cannot be resumed: start again "
                "with --overwrite"
            )
        else:
            kept = f"the last good checkpoint (step {exc.saved_step}) in '{run_dir}' is kept"
        click.echo(f"rnnlab: {exc}; {kept}; try a lower --lr or a --grad-clip", err=True)
        raise click.exceptions.Exit(EXIT_FAILURE) from None
    except Interrupted as exc:
        click.echo(f"rnnlab: {exc}", err=True)
        raise click.exceptions.Exit(exc.exit_code) from None


def _reporter(quiet):
    """The terminal reporter; at each evaluation of a text task it prints a short sample."""
    from rnnlab.train.console import ConsoleReporter

    reporter = ConsoleReporter(quiet=quiet)

    def sample(engine):
        from rnnlab.generate import generate
        from rnnlab.tasks import TextTask

        task = reporter.trainer.task
        if not isinstance(task, TextTask):
            return None
        return "".join(generate(engine, task.vocab, length=80, temperature=0.8, seed=0))

    reporter.sample = sample
    return reporter


def _finish(trainer, quiet):
    """Plots and a closing summary after training (rank 0 only, under torchrun).

    Plots are a by-product: one that cannot be drawn is a warning, never a failure (that
    matplotlib is not installed at all is said only without --quiet)."""
    from rnnlab.train.artifacts import NO_MATPLOTLIB, write_plots

    if trainer.rank != 0:
        return
    written, problem = write_plots(trainer.run_dir, trainer.task, trainer.engine)
    if problem and not (quiet and problem == NO_MATPLOTLIB):
        _warn_plots(problem)
    if not quiet:
        p = trainer.progress
        best = (
            f"best val loss {p.best_val:.4f} at step {p.best_step}"
            if p.best_step
            else "not evaluated yet: see --eval-every"
        )
        click.echo(f"run directory: {trainer.run_dir}  ({best})")
        if written:
            click.echo("plots: " + ", ".join(str(w.name) for w in written))


def _train_several(task, cells, given, out, overwrite, quiet):
    """`--cell rnn,lstm`: train each cell with the same settings, then compare them.
    Every cell's settings are checked before the first one trains."""
    from rnnlab.train.options import check_cells, resolve_task_name
    from rnnlab.train.run_dir import default_run_name

    twice = sorted({cell for cell in cells if cells.count(cell) > 1})
    if twice:
        fail(f"--cell lists {', '.join(twice)} more than once; each cell trains once")
    settings = dict(given)
    check_cells(resolve_task_name(task, settings.pop("level", None)), settings, cells)
    base = Path(out or Path("runs") / default_run_name(task))
    results = {}
    for cell in cells:
        if not quiet:
            click.echo(f"=== {cell}")
        trainer = _train_one(task, {**given, "cell": cell}, str(base / cell), overwrite, quiet)
        results[cell] = trainer.task.evaluate(trainer.engine, "val", trainer.config.eval_batch_size)
    from rnnlab.report import print_comparison

    if not quiet:
        print_comparison(results, title=f"{task}: validation")
    from rnnlab.train.artifacts import NO_MATPLOTLIB, plot_comparison

    problem = plot_comparison(base, {cell: base / cell for cell in cells}).problem
    if problem and problem != NO_MATPLOTLIB:  # _finish has said that once per cell already
        _warn_plots(problem)


def _warn_plots(problem: str) -> None:
    click.echo(f"rnnlab: warning: {problem} (the run itself is saved)", err=True)


# --------------------------------------------------------------------------- evaluate
@cli.command()
@click.argument("run", type=click.Path())
@click.option("--split", default="val", show_default=True, help="train | val | test")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--best", is_flag=True, help="Use the best validation weights.")
@click.option("--engine", type=click.Choice(["numpy", "torch"]), default=None)
@click.option("--backend", type=click.Choice(["scratch", "native"]), default=None)
@click.option("--device", default=None)
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
def evaluate(run, split, as_json, best, engine, backend, device, batch_size):
    """Evaluate a run: mean loss per target, bits per token, accuracy, the optimum if known."""
    from rnnlab.train.session import load_run

    overrides = {
        k: v for k, v in {"engine": engine, "backend": backend, "device": device}.items() if v
    }
    loaded = load_run(run, overrides=overrides, best=best)
    metrics = loaded.task.evaluate(
        loaded.engine, split, batch_size or loaded.config.eval_batch_size
    )
    metrics = {"run": str(run), "engine": loaded.config.engine, **metrics}
    if as_json:
        click.echo(json.dumps(metrics))
    else:
        from rnnlab.report import print_metrics

        print_metrics(metrics, title=f"{run} ({split})")


# --------------------------------------------------------------------------- generate
@cli.command()
@click.argument("run", type=click.Path())
@click.option("--prime", default="", help="Text the model reads before it writes.")
@click.option("--length", default=500, show_default=True, help="Tokens to generate.")
@click.option("--temperature", default=1.0, show_default=True, type=float)
@click.option("--top-k", type=int, default=None, help="Sample among the k most likely.")
@click.option("--seed", type=click.IntRange(min=0), default=None)
@click.option("--argmax", is_flag=True, help="Always take the most likely token.")
@click.option("--until-eos/--no-until-eos", default=None, help="Stop at <eos> [on for a^n b^n].")
@click.option("--strict", is_flag=True, help="Unseen prime tokens are an error, not <unk>.")
@click.option("--best", is_flag=True, help="Use the best validation weights.")
@click.option("--engine", type=click.Choice(["numpy", "torch"]), default=None)
@click.option("--backend", type=click.Choice(["scratch", "native"]), default=None)
def generate(
    run, prime, length, temperature, top_k, seed, argmax, until_eos, strict, best, engine, backend
):
    """Write text (or a sequence) with a trained model, streaming to stdout."""
    from rnnlab.generate import check_prime
    from rnnlab.generate import generate as generate_tokens
    from rnnlab.tasks import TextTask
    from rnnlab.train.session import load_run

    overrides = {k: v for k, v in {"engine": engine, "backend": backend}.items() if v}
    loaded = load_run(run, overrides=overrides, best=best, need_data=False)  # the vocab suffices
    task = loaded.task
    if task.vocab is None:
        fail(f"task '{task.name}' has no vocabulary to write with; generate works with "
             "chars, words, bytes, anbn and anbnan runs")  # fmt: skip
    if length < 1:
        fail(f"--length must be positive, got {length}")
    if until_eos is None:
        until_eos = not isinstance(task, TextTask)
    if not prime and not isinstance(task, TextTask):
        prime = "a"  # every a^n b^n sequence starts with an a: the model writes the rest
    unseen = check_prime(task.vocab, prime)
    if unseen and strict:
        fail(f"the prime has tokens the model never saw in training: {' '.join(map(repr, unseen))}")
    if unseen:
        shown = " ".join(repr(u) for u in unseen[:10])
        click.echo(f"rnnlab: warning: unseen prime tokens read as <unk>: {shown}", err=True)
    stream = generate_tokens(
        loaded.engine, task.vocab, prime=prime, length=length, temperature=temperature,
        top_k=top_k, argmax=argmax, seed=seed, stop_at_eos=until_eos,
        on_unknown="error" if strict else "unk",
    )  # fmt: skip
    import numpy as np

    click.echo(prime, nl=False)
    # Overflow is expected and handled here: diverged weights give non-finite logits, which
    # the sampler refuses in one line, and a tiny --temperature sends (z - max) / T to -inf,
    # a probability of exactly 0 (the limit is argmax).
    with np.errstate(over="ignore", invalid="ignore"):
        for piece in stream:
            click.echo(piece, nl=False)
            sys.stdout.flush()
    click.echo()


# --------------------------------------------------------------------------- tasks
@cli.command()
def tasks():
    """List the tasks and their default settings."""
    from rnnlab.report import print_tasks
    from rnnlab.tasks import TASKS

    print_tasks(TASKS)


# --------------------------------------------------------------------------- demo
@cli.command()
@click.option("--seconds", default=110.0, show_default=True, help="Training time.")
@click.option("--out", type=click.Path(), default=None)
@click.option("--engine", type=click.Choice(["numpy", "torch"]), default="numpy", show_default=True)
def demo(seconds, out, engine):
    """Train a small character LSTM on Python's own documentation, then write with it."""
    from rnnlab.generate import generate as generate_tokens

    given = {"cell": "lstm", "hidden": 128, "max_time": seconds, "epochs": 100, "engine": engine,
             "eval_every": 300, "save_every": 300, "log_every": 50, "seq_len": 50,
             "lr": 0.005}  # fmt: skip
    trainer = _train_one("chars", given, out, False, False)
    click.echo("\nsamples (temperature 0.7):")
    for k, prime in enumerate(["The ", "def ", "A list "]):
        text = "".join(generate_tokens(trainer.engine, trainer.task.vocab, prime=prime,
                                       length=160, temperature=0.7, seed=k))  # fmt: skip
        click.echo(f"--- {prime!r}\n{prime}{text}\n")
    click.echo(f"next: rnnlab generate {trainer.run_dir} --prime 'The ' --length 400")


# --------------------------------------------------------------------------- registered
def _register() -> None:
    """Commands defined beside the code they drive."""
    from rnnlab.bench import bench_command
    from rnnlab.diagnostics.command import diagnose_command

    cli.add_command(diagnose_command)
    cli.add_command(bench_command)


_register()
