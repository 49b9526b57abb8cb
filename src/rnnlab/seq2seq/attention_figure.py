"""attention.png: where the decoder looked, one panel per decoded example.

Panel k shows α_tj of output step t (rows, the tokens written, <eos> last) over source
position j (columns, the tokens read): each row sums to 1 over the real source. A model that
has learnt an alignment shows it as a path through the panel (the anti-diagonal for the
reversal task).
"""

import numpy as np


def plot_attention(plots, path, rows, title: str = "attention"):
    """``rows``: (source tokens, output tokens, α (n, S)) per example; ``plots`` is
    :mod:`rnnlab.plots` (passed in: matplotlib is optional). Returns the path written."""
    if not rows:
        raise ValueError("no decoded example has attention weights to draw")
    fig, axes = plots.new_figure(3.2 * len(rows), 3.4, ncols=len(rows))
    axes = np.asarray(axes).ravel()  # (K,) panels
    for ax, (source, output, alpha) in zip(axes, rows, strict=True):
        alpha = np.asarray(alpha)  # (n, S)
        output = (list(output) + [""] * len(alpha))[: len(alpha)]  # one label per step
        ax.imshow(alpha, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(np.arange(len(source)), source, fontsize=7)
        ax.set_yticks(np.arange(len(output)), output, fontsize=7)
        ax.set(xlabel="source", ylabel="output")
    axes[0].set_title(title, loc="left")
    return plots.save_figure(fig, path)
