"""The noisy sine task: windows, splits by position, and evaluation with oracle models."""

import numpy as np
import pytest

from rnnlab.engine import EvalResult
from rnnlab.errors import InputError
from rnnlab.tasks import SineTask


class Lookup:
    """Finds each input window in the series and outputs the value that follows it:
    the noisy one (a perfect predictor) or the clean one (the best any model can do)."""

    def __init__(self, task, clean=False):
        series, w = task.data.noisy, task.options["window"]
        following = task.data.clean if clean else task.data.noisy
        # every window of the series (as bytes) -> the value that follows it
        self.next_value = {
            series[i : i + w].tobytes(): following[i + w] for i in range(len(series) - w)
        }

    def evaluate(self, batch, state=None):
        T, B, _ = batch.inputs.shape
        out = np.zeros((T, B, 1))  # (T, B, 1)
        for b in range(B):
            out[-1, b, 0] = self.next_value[np.ascontiguousarray(batch.inputs[:, b, 0]).tobytes()]
        squared = (out - batch.targets)[..., 0] ** 2  # (T, B)
        return EvalResult(float(squared[batch.mask].mean()), batch.num_targets, out, None)


def test_a_perfect_predictor_has_zero_loss_in_both_units():
    task = SineTask({}, seed=0)
    for split in ("train", "val", "test"):
        metrics = task.evaluate(Lookup(task), split, batch_size=7)
        assert metrics["loss"] == 0.0
        assert metrics["sum_squared_error_half"] == 0.0
        assert metrics["tokens"] == len(task.splits[split])
        assert "accuracy" not in metrics and "bits_per_token" not in metrics


def test_predicting_the_clean_curve_costs_the_noise_floor():
    noise = 0.2
    task = SineTask({"num_points": 20000, "noise": noise}, seed=0)
    metrics = task.evaluate(Lookup(task, clean=True), "train", batch_size=4096)
    assert metrics["noise_floor_mse"] == pytest.approx(noise**2 / 3, rel=1e-15)
    # 16,000 windows: the mean of u² for u ~ U[-a, a] is within 5% of a²/3 (std. error 0.7%)
    assert metrics["loss"] == pytest.approx(noise**2 / 3, rel=0.05)
    assert metrics["sum_squared_error_half"] == pytest.approx(
        metrics["loss"] * metrics["tokens"] / 2, rel=1e-12
    )


def test_windows_predict_the_next_value_and_only_the_last_step_counts():
    task = SineTask({"window": 10}, seed=0)
    batch = task.batch("val", 0, 4)
    assert batch.inputs.shape == batch.targets.shape == (10, 4, 1)
    expected_mask = np.zeros((10, 4), dtype=bool)
    expected_mask[-1] = True
    np.testing.assert_array_equal(batch.mask, expected_mask)
    first = task.splits["val"][0]
    noisy = task.data.noisy
    np.testing.assert_array_equal(batch.inputs[:, 0, 0], noisy[first : first + 10])
    assert batch.targets[-1, 0, 0] == noisy[first + 10]


def test_splits_are_by_position_80_10_10():
    task = SineTask({}, seed=0)
    train, val, test = (task.splits[s] for s in ("train", "val", "test"))
    n = len(task.data.y)
    np.testing.assert_array_equal(np.concatenate([train, val, test]), np.arange(n))
    assert (len(train), len(val), len(test)) == (
        60,
        8,
        7,
    )  # 75 windows, cuts at round(60) and round(67.5)


def test_training_order_is_a_reproducible_shuffle_per_epoch():
    task = SineTask({}, seed=0)

    def epoch(e):
        return np.concatenate(
            [
                task.batch("train", i, 16, e).targets[-1, :, 0]
                for i in range(task.num_batches("train", 16))
            ]
        )

    first, again, second = epoch(0), epoch(0), epoch(1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first), np.sort(second))
    np.testing.assert_array_equal(np.sort(first), np.sort(task.data.y[task.splits["train"], 0]))
    np.testing.assert_array_equal(
        task.batch("val", 0, 16, 0).inputs, task.batch("val", 0, 16, 3).inputs
    )


class RecordingPlots:
    """Stands in for :mod:`rnnlab.plots`: records what the figure is asked to show."""

    def plot_sine_fit(self, path, t, clean, noisy, predicted, val_at, test_at):
        self.args = {"t": t, "predicted": predicted, "val_at": val_at, "test_at": test_at}
        return path


class Persistence:
    """Predicts that the next value is the last one read: window i -> noisy[i + window - 1]."""

    def forward(self, x):
        return x.copy(), None  # (T, N, 1): the last step's output is the last input


def test_the_fit_figure_puts_each_prediction_at_the_time_it_predicts():
    task = SineTask({"window": 25}, seed=0)  # 75 windows: 60 train, 8 val, 7 test, in order
    assert list(task.figures()) == ["sine_fit.png"]
    plots = RecordingPlots()
    assert task.figures()["sine_fit.png"](plots, "fit.png", Persistence()) == "fit.png"
    t, noisy = task.data.t, task.data.noisy
    t_pred, values = plots.args["predicted"]
    np.testing.assert_array_equal(values, noisy[24:99])  # window i, read up to t[i + 24] ...
    np.testing.assert_array_equal(t_pred, t[25:])  # ... predicts the value at t[i + 25]
    assert plots.args["t"] is t
    assert (plots.args["val_at"], plots.args["test_at"]) == (t[25 + 60], t[25 + 68])


def test_the_seed_decides_the_noise():
    a, b, c = SineTask({}, seed=1), SineTask({}, seed=1), SineTask({}, seed=2)
    np.testing.assert_array_equal(a.data.noisy, b.data.noisy)
    assert not np.array_equal(a.data.noisy, c.data.noisy)
    np.testing.assert_array_equal(a.data.clean, c.data.clean)


@pytest.mark.parametrize(
    ("options", "flag"),
    [({"window": 100}, "--window"), ({"window": 0}, "--window"), ({"noise": -0.1}, "--noise"),
     ({"num_points": 26}, "--num-points"), ({"bits": 3}, "--bits")],
)  # fmt: skip
def test_bad_sine_options_name_their_flag(options, flag):
    with pytest.raises(InputError, match=flag):
        SineTask(options)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"noise": float("nan")}, "--noise must be a finite number, got nan"),
     ({"periods": float("inf")}, "--periods must be a finite number, got inf"),
     ({"window": "5"}, "--window must be an integer, got '5'"),
     ({"num_points": 0}, "--num-points must be an integer >= 2, got 0"),
     ({"num_points": 1e3}, "--num-points must be an integer, got 1000.0")],
)  # fmt: skip
def test_sine_options_of_the_wrong_type_or_range_name_their_flag(options, message):
    with pytest.raises(InputError, match=f"^{message}$"):
        SineTask(options)
