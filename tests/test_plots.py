"""Plots: real PNG files written atomically, figures freed, the log-scale and which-figure
decisions of plot_training, one-line errors for bad input; and a run's figures after
training (rnnlab.train.artifacts), whose failures are reported, never raised."""

import errno
import json
import os
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.pyplot as plt

from rnnlab import plots
from rnnlab.diagnostics import figures
from rnnlab.errors import InputError
from rnnlab.tasks import SineTask
from rnnlab.train import artifacts
from rnnlab.train.run_dir import MetricsLog

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) in pixels of a PNG file, after checking it is one and not trivial."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    assert len(data) > 5_000, f"{path.name} is only {len(data)} bytes: an empty figure?"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(autouse=True)
def no_figures_left_open():
    yield
    assert plt.get_fignums() == [], "a figure was left registered with pyplot"


def spy_on_figures(monkeypatch, render: bool) -> dict:
    """What each saved figure shows, by file name: y scales, titles, legend labels.
    Without ``render`` the figure is not drawn or written, to keep decision tests fast."""
    seen = {}
    original = plots.save_figure

    def spy(fig, path):
        axes = [ax for ax in fig.axes if ax.get_visible()]
        seen[path.name] = {
            "yscale": [ax.get_yscale() for ax in axes],
            "titles": [ax.get_title() for ax in axes],
            "labels": [
                t.get_text() for ax in axes if ax.get_legend() for t in ax.get_legend().get_texts()
            ],
        }
        return original(fig, path) if render else path

    monkeypatch.setattr(plots, "save_figure", spy)
    monkeypatch.setattr(figures, "save_figure", spy)  # the diagnostics' figures save alike
    return seen


@pytest.fixture
def drawn(monkeypatch):
    return spy_on_figures(monkeypatch, render=True)


@pytest.fixture
def decided(monkeypatch):
    return spy_on_figures(monkeypatch, render=False)


def write_metrics(run_dir, records):
    log = MetricsLog(run_dir)
    for record in records:
        log.append(record)


def training_records(loss_span=1e3, lr_decay=0.9, accuracy=True, optimal=0.05):
    records = []
    for step in range(0, 100, 10):
        record = {
            "step": step,
            "loss": 1.0 / (1 + step * (loss_span - 1) / 90),
            "grad_norm": 10.0 ** (-step / 30),
            "lr": 0.01 * lr_decay**step,
        }
        if accuracy:
            record["accuracy"] = step / 100
        if step % 30 == 0:
            record["val_loss"] = record["loss"] * 1.1
            if optimal is not None:
                record["optimal_loss"] = optimal
            if accuracy:
                record["val_recall_accuracy"] = step / 120
        records.append(record)
    return records


# --------------------------------------------------------------------------- plot_training
def test_plot_training_writes_every_figure_as_a_real_png(tmp_path, drawn):
    write_metrics(tmp_path, training_records())
    written = plots.plot_training(tmp_path)
    names = [p.name for p in written]
    assert names == ["loss.png", "grad_norm.png", "lr.png", "accuracy.png"]
    for path in written:
        assert path.parent == tmp_path
        width, height = png_size(path)
        assert (width, height) == (7 * plots.DPI, 4 * plots.DPI)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names, "metrics.jsonl"])
    assert drawn["loss.png"]["labels"] == ["train", "val", "optimal loss"]
    assert drawn["accuracy.png"]["labels"] == ["accuracy", "val_recall_accuracy"]
    assert drawn["grad_norm.png"]["yscale"] == ["log"]


@pytest.mark.parametrize("span, scale", [(1e3, "log"), (50.0, "linear")])
def test_loss_goes_log_only_beyond_two_decades(tmp_path, decided, span, scale):
    write_metrics(tmp_path, training_records(loss_span=span))
    plots.plot_training(tmp_path)
    assert decided["loss.png"]["yscale"] == [scale]


def test_constant_lr_no_accuracy_and_no_optimum_mean_fewer_figures(tmp_path, decided):
    write_metrics(tmp_path, training_records(lr_decay=1.0, accuracy=False, optimal=None))
    assert [p.name for p in plots.plot_training(tmp_path)] == ["loss.png", "grad_norm.png"]
    assert decided["loss.png"]["labels"] == ["train", "val"]


def test_non_finite_values_are_left_out(tmp_path, decided):
    records = training_records(loss_span=10.0)
    records[3]["loss"] = float("nan")  # a diverging step, as json writes it: NaN
    records[4]["loss"] = float("inf")
    write_metrics(tmp_path, records)
    plots.plot_training(tmp_path)
    assert decided["loss.png"]["yscale"] == ["linear"]  # inf did not make the span "huge"


def test_plot_training_bad_input_is_one_line(tmp_path):
    for where in (tmp_path / "missing", tmp_path):  # no directory; no metrics.jsonl
        with pytest.raises(InputError, match=r"does not exist|missing or empty") as info:
            plots.plot_training(where)
        assert "\n" not in str(info.value)
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(InputError, match="missing or empty"):
        plots.plot_training(tmp_path)
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "epoch": 0}) + "\n")
    with pytest.raises(InputError, match="no loss, grad_norm, lr or accuracy"):
        plots.plot_training(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]


# --------------------------------------------------------------------------- plot_curves
def test_spans_decades():
    assert plots.spans_decades([1.0, 1000.0])
    assert not plots.spans_decades([1.0, 50.0])
    assert not plots.spans_decades([0.0, 1.0, 1000.0])  # a log axis would hide the zero
    assert not plots.spans_decades([-1.0, 1e5])
    assert plots.spans_decades([np.nan, 1.0, np.inf, 1e5])  # non-finite values are ignored
    assert not plots.spans_decades([5.0])


def test_plot_curves_one_line_per_label_and_auto_log(tmp_path, decided):
    curves = {"delay 10": ([1, 2, 3], [1.0, 0.1, 1e-4]), "delay 40": ([1, 2, 3], [1, 0.5, 0.2])}
    plots.plot_curves(tmp_path / "c.png", curves, "recall", "epoch", "loss", logy=None)
    assert decided["c.png"] == {"yscale": ["log"], "titles": ["recall"], "labels": list(curves)}
    plots.plot_curves(tmp_path / "d.png", curves, "recall", "epoch", "loss")  # default: linear
    assert decided["d.png"]["yscale"] == ["linear"]


def test_plot_curves_bad_input(tmp_path):
    with pytest.raises(ValueError, match="at least one curve"):
        plots.plot_curves(tmp_path / "a.png", {}, "t", "x", "y")
    with pytest.raises(ValueError, match=r"'bad'.*\(3,\) and \(2,\)"):
        plots.plot_curves(tmp_path / "a.png", {"bad": ([1, 2, 3], [1, 2])}, "t", "x", "y")
    with pytest.raises(ValueError, match=r"\.png"):
        plots.plot_curves(tmp_path / "a.pdf", {"a": ([1], [1])}, "t", "x", "y")
    with pytest.raises(InputError, match="does not exist"):
        plots.plot_curves(tmp_path / "no" / "a.png", {"a": ([1], [1])}, "t", "x", "y")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    old = tmp_path / "loss.png"
    old.write_bytes(b"the previous figure")

    def broken(*args, **kwargs):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="renderer failed"):
        plots.plot_curves(old, {"a": ([1, 2], [1, 2])}, "t", "x", "y")
    assert old.read_bytes() == b"the previous figure"
    assert list(tmp_path.iterdir()) == [old]


def test_many_figures_never_accumulate(tmp_path, monkeypatch):
    import gc
    import weakref

    from matplotlib.figure import Figure

    alive = []
    original = Figure.__init__

    def tracked(self, *args, **kwargs):
        original(self, *args, **kwargs)
        alive.append(weakref.ref(self))

    monkeypatch.setattr(Figure, "__init__", tracked)
    for k in range(3):
        plots.plot_curves(tmp_path / f"{k}.png", {"a": ([1, 2], [1, 2])}, "t", "x", "y")
    gc.collect()
    assert len(alive) == 3 and all(ref() is None for ref in alive), "figures kept alive"


# --------------------------------------------------------------------------- sine, flow, gates
def test_plot_sine_fit_takes_aligned_or_explicit_predictions(tmp_path, drawn):
    t = np.linspace(0, 10, 200)
    clean = np.sin(t)
    noisy = clean + np.random.default_rng(0).normal(0, 0.1, t.shape)
    a = plots.plot_sine_fit(tmp_path / "a.png", t, clean, noisy, clean[1:], 8.0, 9.0)
    b = plots.plot_sine_fit(tmp_path / "b.png", t, clean, noisy, (t[5:], clean[5:]))
    png_size(a), png_size(b)
    assert drawn["a.png"]["labels"][-2:] == ["validation starts", "test starts"]
    assert not {"validation starts", "test starts"} & set(drawn["b.png"]["labels"])
    with pytest.raises(ValueError, match="one shape"):
        plots.plot_sine_fit(tmp_path / "c.png", t, clean[1:], noisy, clean)
    with pytest.raises(ValueError, match="201 predictions for 200 times"):
        plots.plot_sine_fit(tmp_path / "c.png", t, clean, noisy, np.r_[clean, 0.0])


def test_plot_confusion_titles_the_accuracy_and_refuses_a_wrong_shape(tmp_path, drawn):
    counts = np.array([[8, 2], [1, 9]])
    png_size(plots.plot_confusion(tmp_path / "c.png", counts, ["fresh", "rotten"], "val"))
    assert drawn["c.png"]["titles"][0] == "val: accuracy 85.0%"
    with pytest.raises(ValueError, match=r"\(3, 3\) counts for 3 labels, got \(2, 2\)"):
        plots.plot_confusion(tmp_path / "d.png", counts, ["a", "b", "c"])


def test_plot_gradient_flow_log_scale_bands_and_zero_norms(tmp_path, drawn):
    norms = {"rnn": np.r_[0.0, np.logspace(-12, 0, 30)], "lstm": np.logspace(-2, 0, 31)}
    path = figures.plot_gradient_flow(tmp_path / "flow.png", norms)
    png_size(path)
    assert drawn["flow.png"]["yscale"] == ["log"]
    assert drawn["flow.png"]["labels"] == ["rnn", "lstm", "vanishing", "exploding"]
    with pytest.raises(ValueError, match="at least one"):
        figures.plot_gradient_flow(tmp_path / "x.png", {})
    with pytest.raises(ValueError, match=r"shape \(T,\)"):
        figures.plot_gradient_flow(tmp_path / "x.png", {"rnn": np.ones((3, 2))})
    with pytest.raises(ValueError, match="threshold_low < threshold_high"):
        figures.plot_gradient_flow(tmp_path / "x.png", norms, threshold_low=10, threshold_high=1)


def test_plot_gates_one_panel_per_gate_with_saturation_in_the_title(tmp_path, drawn):
    rng = np.random.default_rng(0)
    forget = np.full((10, 2, 4), 0.99)  # all saturated high
    forget[0, 0, :2] = 0.5  # 2 of 80 not
    gates = {
        "input i": rng.uniform(0.1, 0.9, (10, 2, 4)),
        "forget f": forget,
        "candidate g": np.tanh(rng.normal(0, 2, (10, 2, 4))),
        "output o": rng.uniform(0, 1, (10, 2, 4)),
        "l1 input i": rng.uniform(0, 1, 50),
    }
    path = figures.plot_gates(tmp_path / "gates.png", gates)
    width, height = png_size(path)
    assert width == 4 * 3 * plots.DPI and height > width / 4  # 4 columns, 2 rows
    titles = drawn["gates.png"]["titles"]
    assert titles[0] == f"input i\nmean {gates['input i'].mean():.2f}, 0% saturated"
    assert titles[1] == "forget f\nmean 0.98, 98% saturated"
    tanh_saturated = (np.abs(gates["candidate g"]) > 0.95).mean()  # tanh thresholds: ±0.95
    assert titles[2].endswith(f", {tanh_saturated:.0%} saturated") and tanh_saturated > 0.2
    with pytest.raises(ValueError, match="no activations for 'f'"):
        figures.plot_gates(tmp_path / "x.png", {"f": np.array([])})
    with pytest.raises(ValueError, match="at least one gate"):
        figures.plot_gates(tmp_path / "x.png", {})


def test_plot_cell_trace_shows_the_most_varying_units(tmp_path, drawn):
    T, H = 30, 12
    c = np.zeros((T, H))
    c[:, [2, 7, 9]] = np.sin(np.arange(T))[:, None] * [1.0, 3.0, 2.0]
    np.testing.assert_array_equal(figures.most_varying_units(c, 2), [7, 9])
    path = figures.plot_cell_trace(tmp_path / "cells.png", c, max_units=3)
    png_size(path)
    assert drawn["cells.png"]["labels"] == ["unit 2", "unit 7", "unit 9"]
    assert "3 of 12 units" in drawn["cells.png"]["titles"][0]
    with pytest.raises(ValueError, match=r"\(T, H\)"):
        figures.plot_cell_trace(tmp_path / "x.png", np.zeros(5))
    with pytest.raises(ValueError, match="max_units"):
        figures.plot_cell_trace(tmp_path / "x.png", c, max_units=0)


# --------------------------------------------------------------------------- run artifacts
# write_plots and plot_comparison (rnnlab.train.artifacts) draw a run's figures after
# training. They are a by-product: whatever stops a figure is returned as one line, never
# raised, so the command can warn and still succeed.


class _Task:
    """A task without a figure of its own."""

    def figures(self):
        return {}


class _CleanSine:
    """An engine stub whose one-step-ahead prediction is the clean sine at the next time."""

    def __init__(self, task):
        self.next_clean = task.data.clean[task.options["window"] :]  # (N,)

    def forward(self, x):
        T, N, _ = x.shape
        out = np.zeros((T, N, 1))  # (T, N, 1)
        out[-1, :, 0] = self.next_clean
        return out, None


def full_disk(path, data):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a failed write has no filename


def test_write_plots_draws_the_curves_and_reports_no_problem(tmp_path):
    write_metrics(tmp_path, training_records())
    written, problem = artifacts.write_plots(tmp_path, _Task(), engine=None)
    assert [p.name for p in written] == ["loss.png", "grad_norm.png", "lr.png", "accuracy.png"]
    assert problem is None


def test_write_plots_draws_the_tasks_own_figure_the_sine_fit(tmp_path, drawn):
    task = SineTask({}, seed=0)
    write_metrics(tmp_path, training_records())
    written, problem = artifacts.write_plots(tmp_path, task, _CleanSine(task))
    assert [p.name for p in written][-1] == "sine_fit.png" and problem is None
    png_size(tmp_path / "sine_fit.png")
    assert drawn["sine_fit.png"]["labels"] == [
        "clean sine", "noisy samples", "model, one step ahead", "validation starts", "test starts"
    ]  # fmt: skip


def test_a_task_figure_that_fails_is_a_problem_and_the_curves_are_still_drawn(tmp_path):
    class Broken:
        def forward(self, x):
            raise RuntimeError("engine gone")

    write_metrics(tmp_path, training_records())
    written, problem = artifacts.write_plots(tmp_path, SineTask({}, seed=0), Broken())
    assert [p.name for p in written] == ["loss.png", "grad_norm.png", "lr.png", "accuracy.png"]
    assert problem == (
        "sine_fit.png not drawn: an internal error in rnnlab's plotting (RuntimeError: engine "
        "gone); please report it"
    )


def test_a_run_that_logged_nothing_yet_is_a_problem_not_an_error(tmp_path):
    """`rnnlab train ... --max-time 0.001` stops before its first log record."""
    assert artifacts.write_plots(tmp_path, _Task(), engine=None) == (
        [],
        "no training curves: nothing was logged yet (the run stopped before its first "
        "logged step; see --log-every)",
    )
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_writing_a_png_is_a_problem_not_an_error(tmp_path, monkeypatch):
    write_metrics(tmp_path, training_records())
    monkeypatch.setattr(plots, "atomic_write_bytes", full_disk)
    written, problem = artifacts.write_plots(tmp_path, _Task(), engine=None)
    assert written == []
    assert problem.startswith("training curves not written: No space left on device; free")
    assert "\n" not in problem
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]


def test_missing_or_broken_matplotlib_is_a_problem_not_an_error(tmp_path, monkeypatch):
    import rnnlab

    write_metrics(tmp_path, training_records())
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "matplotlib", None)  # how Python marks "not importable"
        assert artifacts.write_plots(tmp_path, _Task(), None) == ([], artifacts.NO_MATPLOTLIB)
        assert artifacts.plot_comparison(tmp_path, {"a": tmp_path}).problem == (
            artifacts.NO_MATPLOTLIB
        )
    monkeypatch.setitem(sys.modules, "rnnlab.plots", None)  # installed, but its import fails
    monkeypatch.delattr(rnnlab, "plots")
    written, problem = artifacts.write_plots(tmp_path, _Task(), None)
    assert written == [] and problem.startswith("no plots: matplotlib cannot be imported (")


def test_a_bug_in_plotting_is_reported_as_one_and_does_not_raise(tmp_path, monkeypatch):
    write_metrics(tmp_path, training_records())

    def broken(run_dir):
        raise ValueError("x and y must have same first dimension")

    monkeypatch.setattr(plots, "plot_training", broken)
    written, problem = artifacts.write_plots(tmp_path, _Task(), None)
    assert written == []
    assert problem == (
        "training curves not drawn: an internal error in rnnlab's plotting (ValueError: x and "
        "y must have same first dimension); please report it"
    )


def test_plot_comparison_draws_the_runs_or_says_why_not(tmp_path, monkeypatch):
    for cell in ("rnn", "lstm"):
        (tmp_path / cell).mkdir()
        write_metrics(tmp_path / cell, training_records())
    runs = {cell: tmp_path / cell for cell in ("rnn", "lstm")}
    assert artifacts.plot_comparison(tmp_path, runs) == ([tmp_path / "comparison.png"], None)
    png_size(tmp_path / "comparison.png")

    (tmp_path / "comparison.png").unlink()
    monkeypatch.setattr(plots, "atomic_write_bytes", full_disk)
    written, problem = artifacts.plot_comparison(tmp_path, runs)
    assert written == [] and problem.startswith("comparison.png not written: No space left")

    (tmp_path / "new").mkdir()
    write_metrics(tmp_path / "new", [{"step": 1, "loss": 1.0}])  # trained, never evaluated
    assert artifacts.plot_comparison(tmp_path, {"new": tmp_path / "new"}) == (
        [],
        "no comparison.png: no run was evaluated yet (see --eval-every)",
    )
    assert not (tmp_path / "comparison.png").exists()
