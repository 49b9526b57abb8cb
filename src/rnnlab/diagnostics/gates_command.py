"""``rnnlab gates RUN --text FILE | --prime TEXT``: read a text through a trained model and
show what its units do — the text coloured by one unit's gate, the units that track simple
features of the text, and the characters at which the forget gates close.

The activations come from the engine's probe (:mod:`rnnlab.diagnostics.probe`): no forward
pass of its own. The analysis is :mod:`~rnnlab.diagnostics.text_features`, the drawing
:mod:`~rnnlab.diagnostics.gates_render`. Writes ``gates.html`` and (with matplotlib)
``gates.png`` into ``--out``; never into the run directory.
"""

from __future__ import annotations

import html
import importlib.util
import json
from pathlib import Path

import click
import numpy as np

from rnnlab.batch import Batch
from rnnlab.diagnostics.gates import GATE_NAMES, split_gates
from rnnlab.diagnostics.gates_render import write_html, write_png
from rnnlab.diagnostics.text_features import (
    closing_characters,
    correlations,
    strongest_units,
    text_features,
)
from rnnlab.errors import InputError

# The gate that decides what the cell keeps: the LSTM's f; the GRU's z keeps h_{t-1} at 1.
KEEP_GATE = {"lstm": "f", "peephole_lstm": "f", "layernorm_lstm": "f", "gru": "z"}


@click.command("gates")
@click.argument("run", type=click.Path())
@click.option("--text", "text_file", type=click.Path(), help="A text file to read.")
@click.option("--prime", default=None, help="Or the text itself.")
@click.option("--gate", default=None, help="i, f, g, o (LSTM), r, z, n (GRU), c or h [f; h].")
@click.option("--unit", type=click.IntRange(min=0), default=None,
              help="The unit coloured [the one most correlated with a feature].")  # fmt: skip
@click.option("--layer", type=click.IntRange(min=0), default=None, help="[the top layer]")
@click.option("--max-tokens", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--out", type=click.Path(), default=".", show_default=True,
              help="Folder for gates.html and gates.png.")  # fmt: skip
@click.option("--best", is_flag=True, help="Use the best validation weights.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def gates_command(run, text_file, prime, gate, unit, layer, max_tokens, out, best, as_json):
    """Colour a text by a unit's gate; find the units that track quotes, brackets, lines,
    words; and the characters at which the forget gates close."""
    from rnnlab.train.session import load_run

    loaded = load_run(run, best=best, need_data=False)
    vocab, spec = loaded.task.vocab, loaded.spec
    if vocab is None or spec.input_kind == "dense" or spec.one_per_sequence:
        raise InputError(f"run '{run}' does not read text token by token; gates needs a text model")
    ids = _read_ids(vocab, text_file, prime)[:max_tokens]  # (T,)
    tokens = [vocab.tokens[i] for i in ids.tolist()]
    probe = loaded.engine.probe(_batch(ids))
    layer = spec.num_layers - 1 if layer is None else layer
    if layer >= spec.num_layers:
        raise InputError(f"--layer {layer}: the model has {spec.num_layers} layer(s)")
    kinds = _activations(probe, layer)  # name -> (T, H)
    gate = gate or ("f" if "f" in kinds else "h")
    if gate not in kinds:
        raise InputError(f"--gate {gate}: this {spec.cell} has {', '.join(kinds)}")
    r = correlations(kinds[gate], text_features(tokens))
    strongest = strongest_units(r)
    if unit is None:
        unit = max((u for units in strongest.values() for u in units), key=lambda u: abs(u[1]))[0]
    if unit >= spec.hidden_size:
        raise InputError(f"--unit {unit}: the model has {spec.hidden_size} units per layer")
    keep = KEEP_GATE.get(spec.cell)
    closing = closing_characters(tokens, kinds[keep]) if keep else []
    report = {"run": str(run), "gate": gate, "layer": layer, "unit": unit, "tokens": len(tokens),
              "strongest": strongest, "closing": closing, "keep_gate": keep}  # fmt: skip
    report["files"] = [str(p) for p in _write(Path(out), report, tokens, kinds[gate][:, unit],
                                                vocab.level)]  # fmt: skip
    if as_json:
        click.echo(json.dumps(report))
    else:
        _print(report)


def _read_ids(vocab, text_file, prime) -> np.ndarray:
    if (text_file is None) == (prime is None):
        raise InputError("give the text to read: --text FILE or --prime TEXT (one of them)")
    if prime is not None:
        text = prime
    else:
        try:
            data = Path(text_file).read_bytes()
        except OSError as e:
            raise InputError(f"cannot read --text '{text_file}' ({e.strerror})") from e
        if vocab.level == "byte":
            text = data
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"--text '{text_file}' is not UTF-8 text") from e
    ids = vocab.encode(text)
    if ids.size == 0:
        raise InputError("the text is empty: nothing to read")
    return ids


def _batch(ids: np.ndarray) -> Batch:
    """One sequence (T, 1), each step's target the next token (the last one counts none)."""
    T = len(ids)
    targets = np.append(ids[1:], ids[-1])[:, None]  # (T, 1)
    mask = np.ones((T, 1), dtype=bool)
    mask[-1] = T == 1  # no next token after the last; a one-token text still needs one
    return Batch(ids[:, None], targets, mask)


def _activations(probe, layer: int) -> dict[str, np.ndarray]:
    """Gate or state name -> (T, H) for sequence 0 of ``layer``."""
    kinds = {}
    if layer in probe.gates and GATE_NAMES.get(probe.cell):
        kinds = {k: v[:, 0] for k, v in split_gates(probe.gates[layer], probe.cell).items()}
    if layer in probe.cells:
        kinds["c"] = probe.cells[layer][:, 0]
    kinds["h"] = probe.hidden[layer][:, 0]
    return kinds


def _write(out: Path, report: dict, tokens, values, level) -> list[Path]:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create --out '{out}' ({e.strerror})") from e
    title = (
        f"{report['run']}: gate {report['gate']} of unit {report['unit']}, layer {report['layer']}"
    )
    separator = " " if level in ("word", "token") else ""
    files = [write_html(out / "gates.html", title, tokens, values, report["gate"],
                        _tables(report), separator)]  # fmt: skip
    if importlib.util.find_spec("matplotlib") is not None:
        files.append(write_png(out / "gates.png", title, tokens, values, report["gate"]))
    return files


def _tables(report: dict) -> str:
    rows = "".join(
        f"<tr><td>{name}</td><td>"
        + ", ".join(f"unit {u} (r = {r:+.2f})" for u, r in units)
        + "</td></tr>"
        for name, units in report["strongest"].items()
    )
    out = f"<h2>Units most correlated with the text</h2><table>{rows}</table>"
    if report["closing"]:
        cells = "".join(
            f"<tr><td>{html.escape(repr(t))}</td><td>{f:.3f}</td><td>{n}</td></tr>"
            for t, f, n in report["closing"]
        )
        gate = report["keep_gate"]
        header = f"<tr><th>token</th><th>mean {gate}</th><th>count</th></tr>"
        out += f"<h2>Where the {gate} gates close most</h2><table>{header}{cells}</table>"
    return out


def _print(report: dict) -> None:
    click.echo(f"gate {report['gate']} of layer {report['layer']}, {report['tokens']} tokens")
    click.echo("units most correlated with the text (Pearson r):")
    for name, units in report["strongest"].items():
        click.echo(f"  {name:<14} " + ", ".join(f"unit {u} ({r:+.2f})" for u, r in units))
    if report["closing"]:
        click.echo(f"where the {report['keep_gate']} gates close most (mean over units):")
        click.echo("  " + ", ".join(f"{t!r} {f:.2f} (x{n})" for t, f, n in report["closing"]))
    click.echo("wrote " + ", ".join(report["files"]))
