"""Show which tokens an attention classifier weighted: terminal colours, HTML and PNG.

Every rendering shades token t by α_t / max_s α_s, so the most weighted token of each text is
the darkest whatever the text's length (a long text's weights are all small: they sum to 1).
The numbers themselves are listed beside the shading (the top tokens) and kept in --json.
"""

import html
from pathlib import Path

from rich.text import Text

from rnnlab.atomic_write import atomic_write_bytes
from rnnlab.errors import InputError
from rnnlab.predict import Prediction

TOP = 5  # tokens listed by weight under each text
HIGHLIGHT = (255, 140, 0)  # the colour of a token with the largest weight (orange)
FORMATS = (".html", ".png")


def shade(weight: float, largest: float) -> tuple[int, int, int]:
    """RGB from white (no weight) to HIGHLIGHT (the text's largest weight)."""
    share = weight / largest if largest > 0 else 0.0
    return tuple(round(255 + share * (c - 255)) for c in HIGHLIGHT)


def top_tokens(p: Prediction, k: int = TOP) -> list[tuple[str, float]]:
    """The ``k`` most weighted tokens (a repeated token counts at each place it stands)."""
    ranked = sorted(zip(p.tokens, p.weights, strict=True), key=lambda tw: -tw[1])
    return ranked[:k]


def terminal_text(p: Prediction, separator: str) -> Text:
    """The tokens on shaded backgrounds (plain text where the output is no terminal)."""
    largest = max(p.weights)
    text = Text()
    for k, (token, weight) in enumerate(zip(p.tokens, p.weights, strict=True)):
        r, g, b = shade(weight, largest)
        text.append(token, style=f"black on rgb({r},{g},{b})")
        if k + 1 < len(p.tokens):
            text.append(separator)
    return text


def top_line(p: Prediction) -> str:
    return "most weighted: " + ", ".join(f"{t!r} {w:.2f}" for t, w in top_tokens(p))


def to_html(predictions: list[Prediction], separator: str, title: str) -> str:
    """One page: each text's label, probability and tokens shaded by their weight."""
    rows = []
    for p in predictions:
        largest = max(p.weights)
        spans = separator.join(
            f'<span style="background:rgb{shade(w, largest)}" title="{w:.4f}">'
            f"{html.escape(t)}</span>"
            for t, w in zip(p.tokens, p.weights, strict=True)
        )
        confidence = p.probabilities[p.label]
        rows.append(
            f'<div class="text"><div class="label">{html.escape(p.label)} '
            f"({confidence:.1%})</div><div>{spans}</div></div>"
        )
    style = (
        "body{font-family:sans-serif;max-width:50em;margin:2em auto;line-height:1.8}"
        ".text{margin-bottom:1.5em}.label{font-weight:bold}span{padding:0.1em 0}"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>Each token is shaded by its attention weight (hover for the number); the "
        f"darkest is the text's largest.</p>{''.join(rows)}</body></html>\n"
    )


def save_explanation(path, predictions: list[Prediction], separator: str, title: str) -> Path:
    """Write ``path``: an HTML page or a PNG figure, by its extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"--save '{path}': write an .html or a .png file (got '{suffix or 'no extension'}')"
        )
    if suffix == ".html":
        atomic_write_bytes(path, to_html(predictions, separator, title).encode("utf-8"))
        return path
    from rnnlab.token_figure import plot_weighted_tokens

    texts = [(p.tokens, [shade(w, max(p.weights)) for w in p.weights],
              f"{p.label} ({p.probabilities[p.label]:.1%})") for p in predictions]  # fmt: skip
    return plot_weighted_tokens(path, texts, separator, title)
