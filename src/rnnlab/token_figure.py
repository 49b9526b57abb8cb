"""Texts drawn as a PNG with each token on a shaded background (``predict --explain``).

The tokens are set in a monospaced font, so a line's width is its number of characters
and the layout needs no measuring: lines of at most :data:`COLUMNS` characters, broken
between tokens.
"""

from collections.abc import Sequence
from pathlib import Path

from rnnlab.plots import new_figure, save_figure

COLUMNS = 90  # characters per line
FONT_SIZE = 11  # points
CHAR_WIDTH = 0.6 * FONT_SIZE / 72  # inches: a monospaced glyph is about 0.6 em wide
LINE_HEIGHT = 1.9 * FONT_SIZE / 72  # inches, with room for the shaded box


def wrap(tokens: Sequence[str], separator: str, columns: int = COLUMNS) -> list[list[int]]:
    """The tokens' indices, line by line; a token longer than a line gets a line alone."""
    lines, line, used = [], [], 0
    for k, token in enumerate(tokens):
        width = len(token) + (len(separator) if line else 0)
        if line and used + width > columns:
            lines.append(line)
            line, used, width = [], 0, len(token)
        line.append(k)
        used += width
    return [*lines, line] if line else lines


def plot_weighted_tokens(
    path, texts: Sequence[tuple[Sequence[str], Sequence[tuple], str]], separator: str, title: str
) -> Path:
    """``texts``: (tokens, their background colours as RGB 0-255, heading) each."""
    layout = [(heading, tokens, colours, wrap(tokens, separator))
              for tokens, colours, heading in texts]  # fmt: skip
    rows = sum(len(lines) + 2 for *_, lines in layout)  # a heading and a gap per text
    width = COLUMNS * CHAR_WIDTH + 0.6
    fig, ax = new_figure(width, rows * LINE_HEIGHT + 0.6)
    ax.set_axis_off()
    ax.set(xlim=(0, width), ylim=(rows * LINE_HEIGHT, 0), title=title)
    y = 0.0
    for heading, tokens, colours, lines in layout:
        y += LINE_HEIGHT
        ax.text(0.1, y, heading, fontsize=FONT_SIZE, fontweight="bold", va="bottom")
        for line in lines:
            y += LINE_HEIGHT
            column = 0
            for k in line:
                rgb = tuple(c / 255 for c in colours[k])
                ax.text(0.1 + column * CHAR_WIDTH, y, tokens[k], family="monospace",
                        fontsize=FONT_SIZE, va="bottom",
                        bbox={"facecolor": rgb, "edgecolor": "none", "pad": 1.5})  # fmt: skip
                column += len(tokens[k]) + len(separator)
        y += LINE_HEIGHT
    return save_figure(fig, path)
