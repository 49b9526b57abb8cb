"""recall_vs_delay.png: the memory study in one figure (needs matplotlib)."""

from __future__ import annotations

from pathlib import Path

from rnnlab.plots import finish_axes, new_figure, save_figure


def plot_recall_vs_delay(path: Path, table: list[dict]) -> Path | None:
    """Test recall against the delay, a line per cell through the seeds' mean, the bars
    spanning ± one standard deviation; chance (0.5) dashed. None when nothing is done."""
    if not table:
        return None
    fig, ax = new_figure()
    for cell in dict.fromkeys(row["cell"] for row in table):
        rows = sorted((r for r in table if r["cell"] == cell), key=lambda r: r["delay"])
        ax.errorbar([r["delay"] for r in rows], [r["recall_mean"] for r in rows],
                    yerr=[r["recall_std"] for r in rows], marker="o", capsize=3,
                    label=f"{cell} (seeds: {', '.join(str(r['n']) for r in rows)})")  # fmt: skip
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_ylim(0.4, 1.02)
    finish_axes(ax, "copy task: recall of 8 bits after a delay", "delay (steps)",
                "test recall (mean ± std over seeds)")  # fmt: skip
    return save_figure(fig, path)
