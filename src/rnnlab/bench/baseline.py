"""The plain torch.nn reference every ratio of ``rnnlab bench`` is measured against.

Written the way a PyTorch user would write a character model and its training step, with
nothing of rnnlab's in it: ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (time-major, as rnnlab's
batches), an ``nn.Linear`` head at every step, one-hot input through ``F.one_hot``,
``F.cross_entropy`` over every position and ``torch.optim.Adam``. Its parameters carry
rnnlab's names (``rnn.weight_ih_l0``, ``head.weight``, ...), so the same weights load into
either, and ``tests/bench/test_baseline.py`` proves that a step does the work of an rnnlab
step: the same loss and the same update.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.batch import Batch
from rnnlab.model import ModelSpec

LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class TorchNNModel(nn.Module):
    """input (one-hot or dense) → nn.LSTM/GRU/RNN → nn.Linear at every step."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.onehot, self.vocab_size = spec.input_kind == "onehot", spec.input_size
        self.rnn = LAYERS[spec.cell](spec.input_size, spec.hidden_size)
        self.head = nn.Linear(spec.hidden_size, spec.output_size)

    def forward(self, inputs: torch.Tensor, state=None):
        """(logits (T, B, O), state) for ids (T, B) or features (T, B, I)."""
        x = F.one_hot(inputs, self.vocab_size).float() if self.onehot else inputs  # (T, B, I)
        h, state = self.rnn(x, state)  # (T, B, H)
        return self.head(h), state  # (T, B, O)


def training_step(model: TorchNNModel, batch: Batch, lr: float):
    """A function running one training step of ``model`` on ``batch`` with Adam at ``lr``
    (its moments start at zero); it returns the step's loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    inputs = torch.from_numpy(batch.inputs)  # (T, B) ids or (T, B, I)
    targets = torch.from_numpy(batch.targets).reshape(-1)  # (T·B,)
    classes = model.head.out_features  # O

    def step() -> float:
        logits, _ = model(inputs)  # (T, B, O)
        loss = F.cross_entropy(logits.reshape(-1, classes), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


class TorchNNSampler:
    """A torch.nn model behind the ``forward(ids, state)`` that :func:`rnnlab.generate.generate`
    calls: NumPy ids (T, 1) in, NumPy logits (T, 1, V) out, no gradients."""

    def __init__(self, model: TorchNNModel):
        self.model = model

    def forward(self, ids: np.ndarray, state=None):
        with torch.no_grad():
            logits, state = self.model(torch.from_numpy(ids), state)  # (T, 1, V)
            return logits.numpy(), state
