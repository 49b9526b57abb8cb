"""Figures written into a run directory, as PNG files (needs matplotlib: ``rnnlab[viz]``).

Figures are built with matplotlib's object API (:class:`~matplotlib.figure.Figure` drawn by
the Agg canvas), never through ``pyplot``: nothing is registered in pyplot's global list of
open figures, nothing is ever shown, importing this module does not change the user's
backend, and each figure is freed as soon as it is saved. Every file is written atomically
(:func:`rnnlab.atomic_write.atomic_write_bytes`: a temporary file in the same directory, then
``os.replace``), so a reader never sees half a PNG.

Every public function returns the path it wrote; :func:`plot_training` a list of them.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnlab.atomic_write import atomic_write_bytes
from rnnlab.errors import InputError
from rnnlab.train.run_dir import METRICS_FILE, MetricsLog

DPI = 110
LOG_DECADES = 2  # an axis goes log when its positive values span more than this many decades
PathLike = str | os.PathLike

# --------------------------------------------------------------------------- shared helpers


def new_figure(width: float = 7.0, height: float = 4.0, nrows: int = 1, ncols: int = 1):
    """A new figure on the Agg canvas and its axes (one Axes, or an (nrows, ncols) array)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    axes = fig.subplots(nrows, ncols, squeeze=nrows * ncols == 1)
    return fig, axes


def save_figure(fig: Figure, path: PathLike) -> Path:
    """Lay out, render to PNG in memory, then replace ``path`` atomically."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"plots are written as PNG: the path must end in .png, got '{path}'")
    if not path.parent.is_dir():
        raise InputError(f"cannot write '{path}': directory '{path.parent}' does not exist")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    fig.clear()  # drop the artists now rather than at the next garbage collection
    atomic_write_bytes(path, buffer.getvalue())
    return path


def finish_axes(ax, title: str, xlabel: str, ylabel: str, legend: bool = True, ncol: int = 1):
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", ncol=ncol)


def spans_decades(values, decades: float = LOG_DECADES) -> bool:
    """Whether a log axis suits ``values``: all finite ones positive, spanning > ``decades``."""
    v = np.asarray(values, dtype=float).ravel()  # (N,)
    v = v[np.isfinite(v)]
    if v.size < 2 or (v <= 0).any():  # a log axis would hide zeros and negatives
        return False
    return bool(np.log10(v.max() / v.min()) > decades)


def _as_curve(label: str, xy) -> tuple[np.ndarray, np.ndarray]:
    x, y = (np.asarray(a, dtype=float) for a in xy)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"curve {label!r} needs x and y of the same shape (N,), got {x.shape} and {y.shape}"
        )
    return x, y


def draw_curves(ax, curves: Mapping[str, tuple]) -> None:
    for label, xy in curves.items():
        x, y = _as_curve(label, xy)
        ax.plot(x, y, label=label, marker="." if len(x) < 30 else None)


# --------------------------------------------------------------------------- generic curves


def plot_curves(
    path: PathLike,
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool | None = False,
    hline: tuple[float, str] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """One line per label, ``curves = {label: (x, y)}``; e.g. recall accuracy per delay.

    Args:
        logy: log y axis; ``None`` decides from the data (:func:`spans_decades`).
        hline: ``(value, label)``: a dashed horizontal reference line (e.g. the optimal loss).
        ylim: fixed y limits (e.g. (0, 1) for accuracies).
    """
    if not curves:
        raise ValueError(f"plot_curves needs at least one curve for '{path}', got none")
    fig, ax = new_figure()
    draw_curves(ax, curves)
    ys = [_as_curve(label, xy)[1] for label, xy in curves.items()]
    if logy is None:
        logy = spans_decades(np.concatenate(ys))
    if logy:
        ax.set_yscale("log", nonpositive="mask")
    if hline is not None and (hline[0] > 0 or not logy):
        ax.axhline(hline[0], color="black", linestyle="--", linewidth=1, label=hline[1])
    if ylim is not None:
        ax.set_ylim(*ylim)
    finish_axes(ax, title, xlabel, ylabel, legend=len(curves) > 1 or hline is not None)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- training curves


def plot_training(run_dir: PathLike) -> list[Path]:
    """The training curves of a run, from its metrics.jsonl, as PNGs in the run directory.

    Writes ``loss.png`` (train ``loss`` and ``val_loss`` against step; log y when they span
    more than two decades; the task's exact ``optimal_loss`` dashed when logged),
    ``grad_norm.png`` (log y), ``lr.png`` when the learning rate changed, and
    ``accuracy.png`` when any ``*accuracy`` key was logged. Non-finite values (a diverging
    step) are left out. Returns the paths written.

    Raises:
        InputError: the directory or its metrics are missing, empty or hold nothing to plot.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run directory '{run_dir}' does not exist; check the path")
    records = MetricsLog(run_dir).read()
    if not records:
        raise InputError(
            f"'{run_dir / METRICS_FILE}' is missing or empty: nothing to plot; "
            "train the run first (rnnlab train ... --out DIR)"
        )
    written = [
        plot_curves(run_dir / name, curves, xlabel="step", **how)
        for name, curves, how in _training_figures(_Series(records))
    ]
    if not written:
        raise InputError(
            f"'{run_dir / METRICS_FILE}' has no loss, grad_norm, lr or accuracy values to plot"
        )
    return written


def _training_figures(series: _Series):
    """(file name, curves, plot_curves settings) of each figure the logged metrics support."""
    losses = {name: series[key] for key, name in (("loss", "train"), ("val_loss", "val"))}
    losses = {name: xy for name, xy in losses.items() if xy is not None}
    if losses:
        optimal = series["optimal_loss"]  # the last value: the validation split's optimum
        hline = (float(optimal[1][-1]), "optimal loss") if optimal else None
        logy = spans_decades(np.concatenate([y for _, y in losses.values()]))
        yield (
            "loss.png",
            losses,
            {"title": "loss", "ylabel": "loss per target", "logy": logy, "hline": hline},
        )
    if series["grad_norm"] is not None:
        yield (
            "grad_norm.png",
            {"grad norm": series["grad_norm"]},
            {"title": "gradient norm (before clipping)", "ylabel": "global L2 norm", "logy": True},
        )
    lr = series["lr"]
    if lr is not None and len(np.unique(lr[1])) > 1:
        yield "lr.png", {"lr": lr}, {"title": "learning rate", "ylabel": "lr", "logy": None}
    accuracy = {key: series[key] for key in series.keys_ending("accuracy")}
    if accuracy:
        yield (
            "accuracy.png",
            accuracy,
            {"title": "accuracy", "ylabel": "fraction correct", "ylim": (-0.02, 1.02)},
        )


class _Series:
    """``series[key]``: (steps, values) of the records' finite numbers under ``key``, or None."""

    def __init__(self, records: list[dict]):
        self.records = records

    def __getitem__(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        points = [(r["step"], r[key]) for r in self.records if _is_finite_number(r.get(key))]
        if not points:
            return None
        steps, values = zip(*points, strict=True)
        return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)

    def keys_ending(self, suffix: str) -> list[str]:
        """Keys ending in ``suffix`` with at least one value, in order of first appearance."""
        keys = dict.fromkeys(k for r in self.records for k in r if k.endswith(suffix))
        return [k for k in keys if self[k] is not None]


def _is_finite_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- sine regression


def plot_sine_fit(
    path: PathLike,
    t,
    clean,
    noisy,
    predicted,
    split_at: float | None = None,
    test_at: float | None = None,
) -> Path:
    """The noisy samples, the clean sine and the model's one-step-ahead predictions.

    Args:
        t, clean, noisy: (N,) times, the noise-free signal and the observed samples.
        predicted: the predictions, either ``(t_pred, values)`` or an (M,) array, M <= N, of
            predictions for the last M times of ``t`` (a model predicting x_{t+1} from x_<=t
            has none for the first times).
        split_at: the time where the validation part starts: a vertical dotted line.
        test_at: the time where the test part starts: a vertical dash-dotted line.
    """
    t, clean, noisy = (np.asarray(a, dtype=float) for a in (t, clean, noisy))
    if t.ndim != 1 or clean.shape != t.shape or noisy.shape != t.shape:
        raise ValueError(
            f"plot_sine_fit needs t, clean and noisy of one shape (N,), "
            f"got {t.shape}, {clean.shape}, {noisy.shape}"
        )
    if isinstance(predicted, tuple):
        t_pred, values = _as_curve("predicted", predicted)
    else:
        values = np.asarray(predicted, dtype=float).ravel()  # (M,)
        if len(values) > len(t):
            raise ValueError(f"plot_sine_fit: {len(values)} predictions for {len(t)} times")
        t_pred = t[len(t) - len(values) :]  # (M,)
    fig, ax = new_figure(8, 4)
    ax.plot(t, clean, color="0.4", linewidth=1, label="clean sine")
    ax.plot(t, noisy, ".", color="tab:blue", markersize=3, alpha=0.7, label="noisy samples")
    ax.plot(t_pred, values, color="tab:red", linewidth=1.5, label="model, one step ahead")
    if split_at is not None:
        ax.axvline(split_at, color="black", linestyle=":", label="validation starts")
    if test_at is not None:
        ax.axvline(test_at, color="black", linestyle="-.", label="test starts")
    finish_axes(ax, "sine regression: one-step-ahead prediction", "t", "value")
    return save_figure(fig, path)


# --------------------------------------------------------------------------- classification


def plot_confusion(
    path: PathLike, confusion, labels: Sequence[str], title: str = "confusion matrix"
) -> Path:
    """The confusion matrix: row i (true class) × column j (predicted), each cell shaded by
    the share of row i it holds (its recall for i = j) and written as a count.

    Args:
        confusion: (K, K) counts, ``confusion[i, j]`` examples of class i predicted as j.
        labels: the K class names, in the order of the rows.
    """
    counts = np.asarray(confusion)
    K = len(labels)
    if counts.shape != (K, K):
        raise ValueError(
            f"plot_confusion needs ({K}, {K}) counts for {K} labels, got {counts.shape}"
        )
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # (K, K): rows sum to 1
    side = min(3.0 + 0.45 * K, 14.0)
    fig, ax = new_figure(side + 1.0, side)
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, label="share of the true class")
    if K <= 30:  # beyond that the numbers would not fit their cells
        for i, j in np.ndindex(K, K):
            color = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, f"{counts[i, j]:,}", ha="center", va="center", color=color, fontsize=8)
    ticks = np.arange(K)
    ax.set_xticks(ticks, [str(n) for n in labels], rotation=45 if K > 4 else 0, ha="right")
    ax.set_yticks(ticks, [str(n) for n in labels])
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set(title=f"{title}: accuracy {accuracy:.1%}", xlabel="predicted", ylabel="true")
    return save_figure(fig, path)
