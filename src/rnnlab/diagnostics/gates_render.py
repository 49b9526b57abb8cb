"""Text coloured by one unit's activation: a self-contained HTML page and a PNG.

Each token gets a background colour for the activation of the chosen gate (or state) of one
unit at the step that reads it: sigmoid gates from dark (0, closed) to yellow (1, open),
tanh-valued ones (g, n, c, h) from blue (negative) through white to red (positive).
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import numpy as np

from rnnlab.atomic_write import atomic_write_bytes
from rnnlab.diagnostics.gates import TANH_GATES

SIGNED = {*TANH_GATES, "c", "h"}  # values around 0 rather than in (0, 1)
_RAMP = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]])
PNG_TOKENS = 1200  # a PNG longer than this would be unreadable anyway
PNG_LINE = 90  # characters per line of the PNG


def colour(value: float, signed: bool) -> tuple[int, int, int]:
    """RGB of one activation (see the module docstring)."""
    if signed:
        t = min(1.0, abs(value))
        far = np.array([49, 104, 196]) if value < 0 else np.array([200, 50, 45])
        return tuple(round(float(255 + t * (c - 255))) for c in far)
    x = min(1.0, max(0.0, value)) * (len(_RAMP) - 1)
    k = min(len(_RAMP) - 2, int(x))
    mixed = _RAMP[k] + (x - k) * (_RAMP[k + 1] - _RAMP[k])
    return tuple(round(float(c)) for c in mixed)


def _ink(rgb: tuple[int, int, int]) -> str:
    """Black or white text, whichever reads on the background."""
    luminance = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return "#000" if luminance > 140 else "#fff"


def write_html(path: Path, title: str, tokens: list[str], values: np.ndarray, kind: str,
               tables: str, separator: str = "") -> Path:  # fmt: skip
    """The page: the coloured text (hover shows each value), then ``tables`` (HTML)."""
    signed = kind in SIGNED
    spans = []
    for token, value in zip(tokens, np.asarray(values).tolist(), strict=True):
        rgb = colour(value, signed)
        shown = "⏎\n" if token == "\n" else token
        spans.append(
            f'<span title="{value:.3f}" style="background:rgb{rgb};color:{_ink(rgb)}">'
            f"{html.escape(shown)}</span>"
        )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:20px;max-width:1000px}"
        "pre{font:15px/1.6 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap}"
        "table{border-collapse:collapse;margin:8px 0}td,th{padding:2px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><pre>{separator.join(spans)}</pre>{tables}</body></html>"
    )
    atomic_write_bytes(path, page.encode("utf-8"))
    return path


def write_png(path: Path, title: str, tokens: list[str], values: np.ndarray, kind: str) -> Path:
    """The coloured text as a PNG (the first PNG_TOKENS tokens), needs matplotlib."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    signed = kind in SIGNED
    tokens, values = tokens[:PNG_TOKENS], np.asarray(values)[:PNG_TOKENS]
    lines, line, column = [], [], 0
    for token, value in zip(tokens, values.tolist(), strict=True):
        line.append(("⏎" if token == "\n" else token, value))
        column += max(1, len(token))
        if token == "\n" or column >= PNG_LINE:
            lines.append(line)
            line, column = [], 0
    lines.append(line)
    columns = max(40, max(sum(max(1, len(t)) for t, _ in items) for items in lines))
    fig = Figure(figsize=(0.105 * columns + 0.4, 0.24 * len(lines) + 0.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, columns + 2)
    ax.set_ylim(len(lines) + 1.5, 0)
    ax.axis("off")
    ax.text(1, 0.7, title, fontsize=10, weight="bold", va="center")
    for row, items in enumerate(lines, start=1):
        x = 1.0
        for token, value in items:
            rgb = colour(value, signed)
            w = max(1, len(token))
            ax.add_patch(Rectangle((x, row + 0.1), w, 0.9, color=np.array(rgb) / 255, lw=0))
            ax.text(x + w / 2, row + 0.58, token, ha="center", va="center", family="monospace",
                    fontsize=8.5, color=_ink(rgb))  # fmt: skip
            x += w
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
    return path
