"""``rnnlab evaluate`` and ``rnnlab generate``: what a trained run does."""

import json
import sys

import click

from rnnlab.cli.common import fail
from rnnlab.tasks import TASKS, Seq2SeqTask

# What generate does unless told, by task (the tasks know: Task.default_prime, until_eos).
_PRIMES = ", ".join(f"{name}: {t.default_prime!r}" for name, t in TASKS.items() if t.default_prime)
_STOP_AT_EOS = ", ".join(name for name, task in TASKS.items() if task.until_eos)


# Beam search's length normalisation, one option for evaluate and generate.
LENGTH_PENALTY = click.option(
    "--length-penalty",
    type=click.FloatRange(min=0.0, max=10.0),
    default=None,
    help="With --beam: rank by the log-probability sum / length^this (0: none) [1].",
)


@click.command()
@click.argument("run", type=click.Path())
@click.option("--split", default="val", show_default=True, help="train | val | test")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--best", is_flag=True, help="Use the best validation weights.")
@click.option("--engine", type=click.Choice(["numpy", "torch"]), default=None)
@click.option("--backend", type=click.Choice(["scratch", "native"]), default=None)
@click.option("--device", default=None)
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option(
    "--data",
    "other",
    type=click.Path(),
    default=None,
    help="Text runs: measure on this text file instead (the run's vocabulary; unseen → <unk>).",
)
@click.option(
    "--beam",
    type=click.IntRange(min=1),
    default=None,
    help="Encoder–decoder runs: decode with beam search of this width [greedy].",
)
@LENGTH_PENALTY
def evaluate(
    run, split, as_json, best, engine, backend, device, batch_size, other, beam, length_penalty
):  # fmt: skip
    """Evaluate a run: mean loss per target, bits per token, accuracy, the optimum if known.

    A classifier's evaluation gives accuracy, macro-F1, each class's precision and recall,
    the majority baseline, and writes the split's confusion matrix into the run directory
    (confusion.png for val, confusion-SPLIT.png for the others).
    """
    from rnnlab.train.session import load_run

    _check_length_penalty(length_penalty, beam)
    overrides = {
        k: v for k, v in {"engine": engine, "backend": backend, "device": device}.items() if v
    }
    loaded = load_run(run, overrides=overrides, best=best, need_data=other is None)
    batch_size = batch_size or loaded.config.eval_batch_size
    if other is not None:
        _evaluate_other_text(loaded, run, other, batch_size, as_json)
        return
    if loaded.spec.one_per_sequence:
        _evaluate_classifier(loaded, split, batch_size, as_json, best)
        return
    seq2seq = isinstance(loaded.task, Seq2SeqTask)  # an encoder–decoder decodes: --beam
    if beam is not None and not seq2seq:
        fail(f"--beam is for encoder–decoder runs (g2p, seq2seq, reverse), not {run}")
    options = {"beam": beam} if beam else {}
    if length_penalty is not None:
        options["length_penalty"] = length_penalty
    metrics = loaded.task.evaluate(loaded.engine, split, batch_size, **options)
    metrics = {"run": str(run), "engine": loaded.config.engine, **metrics}
    if as_json:
        click.echo(json.dumps(metrics))
    else:
        from rnnlab.tables import print_metrics

        print_metrics(metrics, title=f"{run} ({split})")


def _evaluate_other_text(loaded, run, other: str, batch_size: int, as_json: bool) -> None:
    """``--data OTHER.txt``: the run's model on another text (rnnlab.tasks.other_text)."""
    from rnnlab.tasks.other_text import evaluate_other_text

    metrics = evaluate_other_text(loaded.task, loaded.engine, other, batch_size)
    metrics = {"run": str(run), "engine": loaded.config.engine, "split": "data", **metrics}
    if as_json:
        click.echo(json.dumps(metrics))
        return
    from rnnlab.tables import print_metrics

    shown = ", ".join(repr(t) for t in metrics.pop("unknown_tokens"))
    print_metrics(metrics, title=f"{run} on {other}")
    if metrics["unknown"]:
        line = f"{metrics['unknown']} token(s) unseen in training read as <unk>: {shown}"
        click.echo(f"rnnlab: {line}; {metrics['unscored']} target(s) not scored", err=True)


def _evaluate_classifier(loaded, split: str, batch_size: int, as_json: bool, best: bool) -> None:
    task, run = loaded.task, loaded.run_dir
    metrics, confusion = task.evaluate_with_confusion(loaded.engine, split, batch_size)
    metrics = {"run": str(run), "engine": loaded.config.engine, **metrics}
    figure = _confusion_figure(loaded, split, confusion, best)
    if as_json:
        click.echo(json.dumps({**metrics, "confusion": confusion.tolist()}))
    else:
        from rnnlab.tables import print_classification

        print_classification(metrics, task.label_names, title=f"{run} ({split})")
    if figure:
        click.echo(f"rnnlab: {figure}", err=True)


def _confusion_figure(loaded, split: str, confusion, best: bool) -> str:
    """Draw the confusion matrix into the run directory; what happened, in one line (a
    figure is a by-product: a run that cannot take it is no error)."""
    from rnnlab.train.artifacts import NO_MATPLOTLIB, plots_available

    if not plots_available():
        return "warning: " + NO_MATPLOTLIB
    from rnnlab import plots
    from rnnlab.errors import describe_os_error

    name = "confusion.png" if split == "val" else f"confusion-{split}.png"
    weights = "best weights" if best else "last weights"
    try:
        path = plots.plot_confusion(loaded.run_dir / name, confusion, loaded.task.label_names,
                                    title=f"{loaded.task.name}, {split} ({weights})")  # fmt: skip
    except OSError as exc:
        return f"warning: {name} not written: {describe_os_error(exc)}"
    return f"wrote {path}"


@click.command()
@click.argument("run", type=click.Path())
@click.option("--prime", default=None, help=f"Text the model reads before it writes [{_PRIMES}].")
@click.option("--length", default=500, show_default=True, help="Tokens to generate.")
@click.option("--temperature", default=1.0, show_default=True, type=float)
@click.option("--top-k", type=int, default=None, help="Sample among the k most likely.")
@click.option(
    "--top-p", type=float, default=None, help="Sample within the nucleus of this probability."
)
@click.option("--seed", type=click.IntRange(min=0), default=None)
@click.option("--argmax", is_flag=True, help="Always take the most likely token.")
@click.option(
    "--until-eos/--no-until-eos", default=None, help=f"Stop at <eos> [on for {_STOP_AT_EOS}]."
)
@click.option("--strict", is_flag=True, help="Unseen prime tokens are an error, not <unk>.")
@click.option(
    "--best/--last",
    default=None,
    help="The best validation weights, or the last ones [best, where the run saved them].",
)
@click.option("--engine", type=click.Choice(["numpy", "torch"]), default=None)
@click.option("--backend", type=click.Choice(["scratch", "native"]), default=None)
@click.option(
    "--input",
    "source",
    default=None,
    help="Encoder–decoder runs: what to decode (g2p: words; seq2seq: one per line).",
)
@click.option(
    "--beam",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Encoder–decoder runs: beam search of this width (1: greedy).",
)
@LENGTH_PENALTY
def generate(
    run, prime, length, temperature, top_k, top_p, seed, argmax, until_eos, strict, best, engine,
    backend, source, beam, length_penalty
):  # fmt: skip
    """Write text (or a sequence) with a trained model, streaming to stdout."""
    from rnnlab.generate import check_prime
    from rnnlab.generate import generate as generate_tokens
    from rnnlab.train.session import load_run

    overrides = {k: v for k, v in {"engine": engine, "backend": backend}.items() if v}
    loaded = load_run(run, overrides=overrides, best=best, need_data=False)  # the vocab suffices
    task = loaded.task
    if isinstance(task, Seq2SeqTask):  # an encoder–decoder: it decodes --input
        _check_length_penalty(length_penalty, beam)
        _translate(task, loaded.engine, source, beam, length_penalty)
        return
    if source is not None or length_penalty is not None:
        flag = "--input" if source is not None else "--length-penalty"
        fail(f"{flag} is for encoder–decoder runs (g2p, seq2seq, reverse); {run} writes "
             "text from --prime")  # fmt: skip
    if loaded.engine.spec.one_per_sequence:
        fail(f"{run} is a classifier (readout {loaded.engine.spec.readout!r}): it answers "
             "once per sequence and writes no text; use rnnlab predict or evaluate")  # fmt: skip
    if task.vocab is None:
        fail(f"task '{task.name}' has no vocabulary to write with; generate works with "
             "chars, words, bytes, anbn and anbnan runs")  # fmt: skip
    if length < 1:
        fail(f"--length must be positive, got {length}")
    until_eos = task.until_eos if until_eos is None else until_eos
    prime = prime or task.default_prime
    unseen = check_prime(task.vocab, prime)
    if unseen and strict:
        fail(f"the prime has tokens the model never saw in training: {' '.join(map(repr, unseen))}")
    if unseen:
        shown = " ".join(repr(u) for u in unseen[:10])
        click.echo(f"rnnlab: warning: unseen prime tokens read as <unk>: {shown}", err=True)
    stream = generate_tokens(
        loaded.engine, task.vocab, prime=prime, length=length, temperature=temperature,
        top_k=top_k, argmax=argmax, seed=seed, stop_at_eos=until_eos,
        on_unknown="error" if strict else "unk", top_p=top_p,
    )  # fmt: skip
    _write(prime, stream)


def _check_length_penalty(length_penalty: float | None, beam: int | None) -> None:
    """--length-penalty ranks a beam's outputs; greedy decoding has nothing to rank."""
    if length_penalty is not None and (beam or 1) < 2:
        fail("--length-penalty ranks the outputs of a beam search; add --beam N (N > 1)")


def _translate(task, engine, source, beam: int, length_penalty: float | None) -> None:
    """Each source of ``--input`` and its output, one line each, tab-separated."""
    from rnnlab.seq2seq.translate import translate

    if source is None:
        fail(f"task '{task.name}' decodes what --input gives, e.g. --input 'rhythm pneumonia'")
    penalty = 1.0 if length_penalty is None else length_penalty
    for item, output in translate(task, engine, source, beam, penalty):
        click.echo(f"{item}\t{output}")


def _write(prime: str, stream) -> None:
    """Echo the prime, then each piece as it comes."""
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


COMMANDS = (evaluate, generate)
