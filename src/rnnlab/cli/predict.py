"""``rnnlab predict``: a trained classifier's label and class probabilities for new texts."""

import json
import sys

import click

from rnnlab.cli.common import fail


@click.command()
@click.argument("run", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--file", "file_", type=click.Path(), help="One text a line ('-': stdin).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a text, a line each.")
@click.option("--explain", is_flag=True, help="Show the attention readout's token weights.")
@click.option("--save", type=click.Path(), help="With --explain: write them as .html or .png.")
@click.option("--best", is_flag=True, help="Use the best validation weights.")
@click.option("--engine", type=click.Choice(["numpy", "torch"]), default=None)
def predict(run, texts, file_, as_json, explain, save, best, engine):
    """Classify TEXTS (or --file's lines) with the classifier trained in RUN.

    Prints each text's label and every class's probability; --explain (attention readout)
    shades each token by the weight the model gave it.
    """
    from rnnlab.predict import check_classifier, texts_from_file
    from rnnlab.predict import predict as classify
    from rnnlab.train.session import load_run

    if file_ is not None and texts:
        fail("give texts as arguments or --file FILE, not both")
    if file_ is None and not texts:
        fail('give a text to classify: rnnlab predict RUN "some text" (or --file FILE)')
    if save is not None and not explain:
        fail("--save writes the --explain rendering; add --explain")
    overrides = {"engine": engine} if engine else {}
    loaded = load_run(run, overrides=overrides, best=best, need_data=False)
    check_classifier(loaded.task, loaded.spec, run)
    if explain and loaded.spec.readout != "attention":
        fail(f"--explain shows the attention readout's weights; {run} reads out with "
             f"{loaded.spec.readout!r} (train with --readout attention)")  # fmt: skip
    texts = texts_from_file(file_, sys.stdin) if file_ is not None else list(texts)
    predictions = classify(loaded.engine, loaded.task, texts)
    separator = " " if loaded.task.text_level == "word" else ""
    if as_json:
        for p in predictions:
            d = p.to_dict()
            if not explain:
                d.pop("attention", None)
            click.echo(json.dumps(d))
    else:
        _show(predictions, explain, separator)
    if save is not None:
        from rnnlab.explain import save_explanation

        path = save_explanation(save, predictions, separator, title=f"{run}: attention")
        click.echo(f"rnnlab: wrote {path}", err=True)


def _show(predictions, explain: bool, separator: str) -> None:
    """A line per text: its label, every class's probability, the text; with ``explain``
    the text's tokens shaded by their weights and the most weighted ones listed below."""
    from rnnlab.explain import terminal_text, top_line
    from rnnlab.tables import console

    out = console()
    for p in predictions:
        chances = "  ".join(f"{name} {q:.1%}" for name, q in p.probabilities.items())
        if not explain:
            click.echo(f"{p.label}\t({chances})\t{p.text}")  # tabs kept: a line to cut
            continue
        out.print(f"{p.label} ({chances})", markup=False, highlight=False)
        out.print(terminal_text(p, separator))
        out.print(top_line(p), markup=False, highlight=False)


COMMANDS = (predict,)
