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
from rnnlab.diagnostics.gates import SIGMOID_THRESHOLDS, TANH_THRESHOLDS
from rnnlab.errors import InputError
from rnnlab.train.run_dir import METRICS_FILE, MetricsLog

DPI = 110
LOG_DECADES = 2  # an axis goes log when its positive values span more than this many decades
PathLike = str | os.PathLike

# --------------------------------------------------------------------------- shared helpers


def _figure(width: float = 7.0, height: float = 4.0, nrows: int = 1, ncols: int = 1):
    """A new figure on the Agg canvas and its axes (one Axes, or an (nrows, ncols) array)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    axes = fig.subplots(nrows, ncols, squeeze=nrows * ncols == 1)
    return fig, axes


def _save(fig: Figure, path: PathLike) -> Path:
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


def _finish(ax, title: str, xlabel: str, ylabel: str, legend: bool = True, ncol: int = 1):
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


def _draw_curves(ax, curves: Mapping[str, tuple]) -> None:
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
    fig, ax = _figure()
    _draw_curves(ax, curves)
    ys = [_as_curve(label, xy)[1] for label, xy in curves.items()]
    if logy is None:
        logy = spans_decades(np.concatenate(ys))
    if logy:
        ax.set_yscale("log", nonpositive="mask")
    if hline is not None and (hline[0] > 0 or not logy):
        ax.axhline(hline[0], color="black", linestyle="--", linewidth=1, label=hline[1])
    if ylim is not None:
        ax.set_ylim(*ylim)
    _finish(ax, title, xlabel, ylabel, legend=len(curves) > 1 or hline is not None)
    return _save(fig, path)


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
    fig, ax = _figure(8, 4)
    ax.plot(t, clean, color="0.4", linewidth=1, label="clean sine")
    ax.plot(t, noisy, ".", color="tab:blue", markersize=3, alpha=0.7, label="noisy samples")
    ax.plot(t_pred, values, color="tab:red", linewidth=1.5, label="model, one step ahead")
    if split_at is not None:
        ax.axvline(split_at, color="black", linestyle=":", label="validation starts")
    if test_at is not None:
        ax.axvline(test_at, color="black", linestyle="-.", label="test starts")
    _finish(ax, "sine regression: one-step-ahead prediction", "t", "value")
    return _save(fig, path)


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
    fig, ax = _figure(side + 1.0, side)
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
    return _save(fig, path)


# --------------------------------------------------------------------------- gradient flow


def plot_gradient_flow(
    path: PathLike,
    norms_by_label: Mapping[str, np.ndarray],
    threshold_low: float = 1e-6,
    threshold_high: float = 1e3,
) -> Path:
    """‖∂L/∂h_t‖ against t (1..T), log y, one line per model or layer, e.g. "rnn", "lstm".

    The bands below ``threshold_low`` (vanishing) and above ``threshold_high`` (exploding)
    are shaded and always in view, so a reader sees where each line sits relative to them.
    A norm of exactly 0 (underflow) is drawn on the bottom edge of the plot.
    """
    if not norms_by_label:
        raise ValueError(f"plot_gradient_flow needs at least one series for '{path}', got none")
    if not 0 < threshold_low < threshold_high:
        raise ValueError(
            "plot_gradient_flow needs 0 < threshold_low < threshold_high, "
            f"got {threshold_low} and {threshold_high}"
        )
    norms = {}
    for label, values in norms_by_label.items():
        values = np.asarray(values, dtype=float)  # (T,)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                f"gradient norms of {label!r} must have shape (T,), got {values.shape}"
            )
        norms[label] = values
    finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in norms.values()])
    bottom = min(finite.min(initial=threshold_low), threshold_low) / 10
    top = max(finite.max(initial=threshold_high), threshold_high) * 10
    fig, ax = _figure()
    curves = {
        label: (np.arange(1, len(v) + 1), np.clip(v, bottom, None)) for label, v in norms.items()
    }
    _draw_curves(ax, curves)
    ax.set_yscale("log")
    ax.axhspan(bottom, threshold_low, color="tab:blue", alpha=0.12, label="vanishing")
    ax.axhspan(threshold_high, top, color="tab:red", alpha=0.12, label="exploding")
    ax.set_ylim(bottom, top)
    _finish(ax, "gradient flow through time", "time step t", r"$\|\partial L / \partial h_t\|$")
    return _save(fig, path)


# --------------------------------------------------------------------------- gates and cells


def plot_gates(path: PathLike, gates: Mapping[str, np.ndarray], columns: int = 4) -> Path:
    """One histogram per gate of its activations, with the saturated zones shaded.

    Args:
        gates: label -> activations of any shape (e.g. (T, B, H) of one gate, or the valid
            steps only), e.g. ``{"input i": ..., "forget f": ..., "candidate g": ...}``.
            A panel whose values include negatives is a tanh gate, drawn on [-1, 1] with
            saturation beyond ±0.95; otherwise a sigmoid gate on [0, 1], saturated below 0.05
            and above 0.95 (the thresholds of :mod:`rnnlab.diagnostics.gates`).
        columns: panels per row.

    Each panel's y axis is the fraction of all activations in a bin, so panels compare; its
    title gives the mean and the saturated fraction.
    """
    if not gates:
        raise ValueError(f"plot_gates needs at least one gate for '{path}', got none")
    panels = {label: np.asarray(v, dtype=float).ravel() for label, v in gates.items()}
    empty = [label for label, v in panels.items() if v.size == 0]
    if empty:
        raise ValueError(f"plot_gates: no activations for {', '.join(map(repr, empty))}")
    ncols = min(columns, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = _figure(3.0 * ncols, 2.6 * nrows + 0.4, nrows, ncols)
    axes = np.atleast_1d(axes).ravel()
    for ax, (label, values) in zip(axes, panels.items(), strict=False):
        is_tanh = bool((values < 0).any())
        low, high = TANH_THRESHOLDS if is_tanh else SIGMOID_THRESHOLDS
        lo_edge = -1.0 if is_tanh else 0.0
        ax.hist(
            values,
            bins=50,
            range=(lo_edge, 1.0),
            weights=np.full(values.size, 1 / values.size),
            color="tab:green",
        )
        ax.axvspan(lo_edge, low, color="0.5", alpha=0.25)
        ax.axvspan(high, 1.0, color="0.5", alpha=0.25)
        saturated = float(((values < low) | (values > high)).mean())
        ax.set_title(f"{label}\nmean {values.mean():.2f}, {saturated:.0%} saturated", fontsize=9)
        ax.set_xlabel("activation")
        ax.set_xlim(lo_edge, 1.0)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("fraction")
    fig.suptitle("gate activations (grey: saturated)")
    return _save(fig, path)


def plot_cell_trace(path: PathLike, c, max_units: int = 8) -> Path:
    """Cell-state traces c_t over time of one sequence, c of shape (T, H).

    With more than ``max_units`` units, the ``max_units`` whose c_t varies most (largest
    standard deviation over time) are drawn: flat units say little.
    """
    c = np.asarray(c, dtype=float)
    if c.ndim != 2 or c.size == 0:
        raise ValueError(f"plot_cell_trace expected a cell state of shape (T, H), got {c.shape}")
    if max_units < 1:
        raise ValueError(f"plot_cell_trace: max_units must be positive, got {max_units}")
    T, H = c.shape
    units = most_varying_units(c, max_units)
    fig, ax = _figure()
    steps = np.arange(1, T + 1)
    _draw_curves(ax, {f"unit {u}": (steps, c[:, u]) for u in units})
    shown = f"{len(units)} of {H} units, most varying" if len(units) < H else f"{H} units"
    _finish(ax, f"cell state over time ({shown})", "time step t", "c_t", ncol=1 + (len(units) > 4))
    return _save(fig, path)


def most_varying_units(c: np.ndarray, k: int) -> np.ndarray:
    """Indices (ascending) of the ``k`` columns of c (T, H) with the largest standard deviation
    over time; equal deviations keep the lower index."""
    spread = np.asarray(c, dtype=float).std(axis=0)  # (H,)
    return np.sort(np.argsort(-spread, kind="stable")[:k])  # (min(k, H),)
