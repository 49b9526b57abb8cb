"""The diagnostics' figures: gradient flow through time, gate activations, cell traces.

Drawn like every rnnlab figure (:mod:`rnnlab.plots`: matplotlib's object API, written
atomically); ``rnnlab diagnose`` calls them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rnnlab.diagnostics.gates import SIGMOID_THRESHOLDS, TANH_THRESHOLDS
from rnnlab.plots import PathLike, draw_curves, finish_axes, new_figure, save_figure

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
    fig, ax = new_figure()
    curves = {
        label: (np.arange(1, len(v) + 1), np.clip(v, bottom, None)) for label, v in norms.items()
    }
    draw_curves(ax, curves)
    ax.set_yscale("log")
    ax.axhspan(bottom, threshold_low, color="tab:blue", alpha=0.12, label="vanishing")
    ax.axhspan(threshold_high, top, color="tab:red", alpha=0.12, label="exploding")
    ax.set_ylim(bottom, top)
    finish_axes(ax, "gradient flow through time", "time step t", r"$\|\partial L / \partial h_t\|$")
    return save_figure(fig, path)


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
    fig, axes = new_figure(3.0 * ncols, 2.6 * nrows + 0.4, nrows, ncols)
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
    return save_figure(fig, path)


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
    fig, ax = new_figure()
    steps = np.arange(1, T + 1)
    draw_curves(ax, {f"unit {u}": (steps, c[:, u]) for u in units})
    shown = f"{len(units)} of {H} units, most varying" if len(units) < H else f"{H} units"
    title = f"cell state over time ({shown})"
    finish_axes(ax, title, "time step t", "c_t", ncol=1 + (len(units) > 4))
    return save_figure(fig, path)


def most_varying_units(c: np.ndarray, k: int) -> np.ndarray:
    """Indices (ascending) of the ``k`` columns of c (T, H) with the largest standard deviation
    over time; equal deviations keep the lower index."""
    spread = np.asarray(c, dtype=float).std(axis=0)  # (H,)
    return np.sort(np.argsort(-spread, kind="stable")[:k])  # (min(k, H),)
