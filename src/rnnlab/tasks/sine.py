"""Noisy sine regression (seed 003): from a window of past values, predict the next one.

The data is one noisy sine of ``num_points`` samples; every window of ``window`` values is
an input sequence (dense, one feature) whose target is the value that follows. Only the
last step's output counts. The windows are split by position: the first 80% train, the
next 10% validation, the last 10% test. The seed reports its loss as Σ (y - ŷ)²/2 summed
over the windows; ``evaluate`` gives that as ``sum_squared_error_half`` next to the MSE.
"""

from pathlib import Path

import numpy as np

from rnnlab.batch import Batch
from rnnlab.data.synthetic import noisy_sine, sine_noise_floor, split_indices
from rnnlab.errors import InputError
from rnnlab.tasks.base import ModelIO, Task


class SineTask(Task):
    name = "sine"
    description = "regress the next value of a noisy sine from a window of past values"
    defaults = {"num_points": 100, "noise": 0.05, "window": 25, "periods": 2.0}
    train_defaults = {"batch_size": 64, "lr": 0.01, "epochs": 200, "hidden": 32}

    option_types = {"num_points": int, "noise": float, "window": int, "periods": float}
    option_help = {
        "num_points": "Samples of the sine.",
        "noise": "Noise amplitude.",
        "window": "Past values in each input window.",
        "periods": "Periods of the sine over all the samples.",
    }

    @classmethod
    def check_ranges(cls, o):
        if o["num_points"] < 2:
            raise InputError(f"--num-points must be an integer >= 2, got {o['num_points']!r}")
        if not 1 <= o["window"] < o["num_points"]:
            raise InputError(f"--window must be in 1..{o['num_points'] - 1}, got {o['window']!r}")
        if o["noise"] < 0:
            raise InputError(f"--noise must be >= 0, got {o['noise']}")

    def __init__(self, options=None, seed=0):
        super().__init__(options, seed)
        o = self.options
        self.data = noisy_sine(
            o["num_points"], o["noise"], o["window"], rng=self.rng(0), periods=o["periods"]
        )
        n = len(self.data.y)
        train, val, test = split_indices(n, (0.8, 0.1, 0.1))  # by position, in order
        self.splits = {"train": train, "val": val, "test": test}
        for split, idx in self.splits.items():
            if len(idx) == 0:
                raise InputError(f"the {split} split is empty; raise --num-points")

    def model_io(self) -> ModelIO:
        return ModelIO(1, 1, "dense", "mse")

    def num_batches(self, split, batch_size):
        return -(-len(self.splits[split]) // batch_size)

    def batch(self, split, index, batch_size, epoch=0) -> Batch:
        self.check_split(split)
        idx = self.splits[split]
        if split == "train":
            idx = idx[self.rng(2, epoch).permutation(len(idx))]
        idx = idx[index * batch_size : (index + 1) * batch_size]
        x = self.data.X[idx].transpose(1, 0, 2)  # (T, B, 1)
        targets = np.zeros_like(x)  # (T, B, 1): only the last step's target is read
        targets[-1] = self.data.y[idx]
        mask = np.zeros(x.shape[:2], dtype=bool)
        mask[-1] = True  # (T, B)
        return Batch(x, targets, mask)

    def evaluate(self, engine, split="val", batch_size=32) -> dict:
        """Adds the seed's unit, Σ (y - ŷ)²/2 over the split's windows, and the noise floor
        (the MSE of predicting the clean curve exactly)."""
        metrics = super().evaluate(engine, split, batch_size)
        metrics["sum_squared_error_half"] = metrics["loss"] * metrics["tokens"] / 2
        metrics["noise_floor_mse"] = sine_noise_floor(self.options["noise"])
        return metrics

    def predictions(self, engine) -> np.ndarray:
        """One-step-ahead predictions for every window, in order (for the fit plot)."""
        x = self.data.X.transpose(1, 0, 2)  # (T, N, 1)
        out, _ = engine.forward(x)
        return np.asarray(out)[-1, :, 0]  # (N,)

    def figures(self):
        return {"sine_fit.png": self.plot_fit}

    def plot_fit(self, plots, path: Path, engine) -> Path:
        """The noisy series, the clean sine and the model's one-step-ahead predictions, with
        where the validation and the test windows start."""
        data = self.data
        predicted = self.predictions(engine)  # (N,)
        t_pred = data.t[len(data.t) - len(predicted) :]  # (N,): the time each prediction is for
        val, test = self.splits["val"], self.splits["test"]  # window indices
        val_at = t_pred[val[0]] if len(val) else None
        test_at = t_pred[test[0]] if len(test) else None
        return plots.plot_sine_fit(
            path, data.t, data.clean, data.noisy, (t_pred, predicted), val_at, test_at
        )
