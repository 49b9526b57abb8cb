"""Figures a finished run leaves in its directory (needs matplotlib, the `viz` extra)."""

import importlib.util
from pathlib import Path

from rnnlab.train.run_dir import MetricsLog


def plots_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def write_plots(run_dir, task, engine) -> list[Path]:
    """Training curves, plus the task's own figure (the sine fit). [] without matplotlib."""
    if not plots_available():
        return []
    from rnnlab import plots

    run_dir = Path(run_dir)
    written = plots.plot_training(run_dir)
    if task.name == "sine":
        data = task.data
        predicted = task.predictions(engine)
        t_pred = data.t[len(data.t) - len(predicted) :]
        path = run_dir / "sine_fit.png"
        val, test = (task.splits[k] for k in ("val", "test"))  # window indices
        val_at = t_pred[val[0]] if len(val) else None
        test_at = t_pred[test[0]] if len(test) else None
        curve = (t_pred, predicted)
        plots.plot_sine_fit(path, data.t, data.clean, data.noisy, curve, val_at, test_at)
        written.append(path)
    return written


def plot_comparison(base: Path, runs: dict[str, Path]) -> Path | None:
    """Validation loss of several runs on one figure (``--cell rnn,lstm``)."""
    if not plots_available():
        return None
    from rnnlab import plots

    curves = {}
    for label, run_dir in runs.items():
        records = [r for r in MetricsLog(run_dir).read() if "val_loss" in r]
        curves[label] = ([r["step"] for r in records], [r["val_loss"] for r in records])
    path = Path(base) / "comparison.png"
    plots.plot_curves(
        path, curves, title="validation loss", xlabel="step", ylabel="loss", logy=True
    )
    return path
