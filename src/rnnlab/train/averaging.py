"""Weight averaging: an exponential moving average (EMA) of the weights along training.

After every applied update θ_t the trainer folds the weights into their average

    θ̄_t = β_t θ̄_{t-1} + (1 - β_t) θ_t,    β_t = min(decay, (1 + n)/(10 + n)),  θ̄_1 = θ_1

where n counts the updates averaged before this one. The ramp (1 + n)/(10 + n) keeps the
first steps, whose weights are still close to the random initialisation, from dominating
the average for ~1/(1 - decay) steps (TensorFlow's ``num_updates`` rule). The average
smooths the last steps' noise the way Polyak–Ruppert averaging (AWD-LSTM's NT-ASGD) does,
and usually evaluates better than the last weights at no cost in training speed.

The trainer evaluates with the average, keeps it as the best weights, and saves it as
``model.safetensors`` — the model that generate, evaluate and inspect read — while the
weights training continues from travel in ``state.safetensors`` (``weights.<name>``)
with the average's count in ``state.json``: a resumed run continues both exactly.
Arithmetic is in the weights' own dtype, the same on every run, so resume stays bitwise.
"""

import numpy as np

WEIGHTS_PREFIX = "weights."  # the training weights in state.safetensors


class WeightAverage:
    """The running average θ̄ of a model's weights (NumPy arrays, the engine's names)."""

    def __init__(self, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the average's decay must be in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.updates = 0  # n: how many weights have been folded in
        self.weights: dict[str, np.ndarray] | None = None

    def beta(self) -> float:
        """β for the next update: min(decay, (1 + n)/(10 + n))."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    def update(self, weights: dict[str, np.ndarray]) -> None:
        """Fold the current weights in: θ̄ ← β θ̄ + (1 - β) θ (the first update copies θ)."""
        if self.weights is None:
            self.weights = {k: np.array(v, copy=True) for k, v in weights.items()}
        else:
            beta = self.beta()
            for name, average in self.weights.items():
                average *= average.dtype.type(beta)
                average += average.dtype.type(1.0 - beta) * weights[name]
        self.updates += 1

    def snapshot(self) -> dict[str, np.ndarray]:
        """A copy of θ̄ (for best weights, which must not move on with the average)."""
        return {k: v.copy() for k, v in (self.weights or {}).items()}

    def state(self) -> dict:
        """What state.json keeps about the average (θ̄ itself is model.safetensors)."""
        return {"decay": self.decay, "updates": self.updates}

    def load(self, weights: dict[str, np.ndarray], state: dict) -> None:
        """Continue the average ``state()`` described, whose θ̄ is ``weights``."""
        self.updates = int(state["updates"])
        self.weights = {k: np.array(v, copy=True) for k, v in weights.items()}
