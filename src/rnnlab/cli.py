"""The ``rnnlab`` command.

Every command answers bad input with one line on stderr — what is wrong, where, what to do —
and exit code 2; a failed check or run exits 1; success exits 0. Long work shows a progress
bar on a terminal and plain lines otherwise (``--quiet`` silences both).
"""

import json
import sys
from pathlib import Path

import click

from rnnlab.errors import InputError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def fail(message: str) -> None:
    """Stop with a one-line bad-input error (exit 2)."""
    raise InputError(message)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="rnnlab")
def cli() -> None:
    """rnnlab: recurrent neural networks (RNN, LSTM, GRU) from first principles.

    Two engines (NumPy with hand-derived gradients, and PyTorch) behind one trainer,
    one checkpoint format and this command.
    """


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one line and an exit code."""
    try:
        cli.main(args=argv, prog_name="rnnlab", standalone_mode=False)
    except click.UsageError as exc:
        if type(exc).__name__.startswith("NoArgsIsHelp") and exc.ctx:  # bare `rnnlab`
            click.echo(exc.ctx.get_help())
            return EXIT_USAGE
        where = exc.ctx.command_path if exc.ctx else "rnnlab"
        click.echo(f"{where}: error: {exc.format_message()} (see '{where} --help')", err=True)
        return EXIT_USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("rnnlab: aborted", err=True)
        return 130
    except (InputError, ValueError, TypeError) as exc:
        click.echo(f"rnnlab: error: {_one_line(exc)}", err=True)
        return EXIT_USAGE
    except OSError as exc:  # unreadable file, full disk, ...: the environment, not a bug
        click.echo(f"rnnlab: error: {exc.strerror or exc} ({exc.filename or ''})", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("rnnlab: interrupted", err=True)
        return 130
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --------------------------------------------------------------------------- gradcheck
@cli.command()
@click.option("--cell", "cells", multiple=True, help="Check only this cell (repeatable).")
@click.option("--input-size", default=3, show_default=True, help="Input width I.")
@click.option("--hidden", default=4, show_default=True, help="Hidden width H.")
@click.option("--seq-len", default=5, show_default=True, help="Sequence length T.")
@click.option("--batch-size", default=3, show_default=True, help="Batch size B.")
@click.option("--bound", default=1e-6, show_default=True, help="Largest relative error allowed.")
@click.option("--seed", default=0, show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="One row per tensor instead of per layer.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def gradcheck(cells, input_size, hidden, seq_len, batch_size, bound, seed, verbose, as_json):
    """Prove the NumPy engine's backward passes with finite differences (float64).

    For every cell × layers {1, 2} × directions {1, 2} (and padded variable-length batches)
    every parameter, the input x and the initial states are checked; exits 1 if any relative
    error exceeds the bound.
    """
    from rnnlab.numpy.gradcheck import gradcheck_configs, run_gradchecks

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

        return dict(read_config(path)["model"])
    if not path.is_file():
        fail(f"'{target}' is neither a run directory nor a config file")
    from rnnlab.config import read_config_file

    data = read_config_file(path)
    return dict(data.get("model", data))
