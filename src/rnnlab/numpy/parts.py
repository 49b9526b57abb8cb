"""The parts a NumPy model is composed of, behind one interface.

Every part has ``params`` (its arrays, local names) and

    forward(x, flow)          -> (y, cache)
    backward(dy, cache, flow) -> (dx, grads)        grads named like params

so :class:`~rnnlab.numpy.model.Model` runs any list of them forward, and backward in
reverse, without knowing what they are. What travels *beside* the activations — training
or not, the sequences' lengths, the recurrent state in and out, and whether the part before
needs its ∂L/∂x, the penalties a part adds to the loss — is a :class:`Flow`, one per call.

The layers themselves (:mod:`~rnnlab.numpy.embedding`, :mod:`~rnnlab.numpy.stack`,
:mod:`~rnnlab.numpy.dropout`, :mod:`~rnnlab.numpy.linear`, :mod:`~rnnlab.numpy.readouts`)
keep their own signatures; the small adapters here fit them to this one.
"""

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass
class Flow:
    """What one forward/backward pass carries beside the activations."""

    train: bool = True
    lengths: np.ndarray | None = None
    state: Any = None  # the initial recurrent state (None: zeros)
    state_n: Any = None  # set by the recurrent part's forward
    dstate_n: Any = None  # ∂L/∂final state, for the recurrent part's backward
    dstate0: Any = None  # set by the recurrent part's backward
    need_dx: bool = True  # set by the model before each backward: does a part before learn?
    masks: Any = None  # rnnlab.masks.Masks of this training batch, or None
    penalty: float = 0.0  # AR + TAR of this pass, added to the training loss (activation_reg)


class Part(Protocol):
    params: dict[str, np.ndarray]

    def forward(self, x, flow: Flow) -> tuple[Any, Any]: ...

    def backward(self, dy, cache, flow: Flow) -> tuple[Any, dict[str, np.ndarray]]: ...


class TokenInput:
    """Token ids, passed on as ids: the stack gathers rows of W_ih (a one-hot matmul)."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}

    def forward(self, x, flow: Flow):
        x = np.asarray(x)  # (T, B)
        if x.dtype.kind not in "iu":
            raise TypeError(f"one-hot input expects integer ids, got dtype {x.dtype}")
        return x, None

    def backward(self, dy, cache, flow: Flow):
        return None, {}


class DenseInput:
    """Feature vectors (T, B, I), in the model's dtype."""

    def __init__(self, dtype) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.dtype = dtype

    def forward(self, x, flow: Flow):
        return np.asarray(x, dtype=self.dtype), None

    def backward(self, dy, cache, flow: Flow):
        return dy, {}


class LayerPart:
    """A layer whose forward takes (x, train) and backward (dy, cache): embedding, head."""

    def __init__(self, layer) -> None:
        self.layer, self.params = layer, layer.params

    def forward(self, x, flow: Flow):
        return self.layer.forward(x, train=flow.train)

    def backward(self, dy, cache, flow: Flow):
        return self.layer.backward(dy, cache)


class DropoutPart:
    def __init__(self, dropout) -> None:
        self.layer, self.params = dropout, {}

    def forward(self, x, flow: Flow):
        return self.layer.forward(x, train=flow.train)

    def backward(self, dy, cache, flow: Flow):
        return self.layer.backward(dy, cache), {}


class RecurrentPart:
    """The recurrent stack: reads ``flow.state`` and ``flow.lengths``, sets ``flow.state_n``;
    backward reads ``flow.dstate_n`` and sets ``flow.dstate0``."""

    def __init__(self, stack) -> None:
        self.layer, self.params = stack, stack.params

    def forward(self, x, flow: Flow):
        masked = {"masks": flow.masks} if flow.masks is not None else {}  # rnnlab.masks
        y, flow.state_n, cache = self.layer.forward(
            x, flow.state, train=flow.train, lengths=flow.lengths, **masked
        )
        return y, cache

    def backward(self, dy, cache, flow: Flow):
        dx, flow.dstate0, grads = self.layer.backward(
            dy, flow.dstate_n, cache, input_grad=flow.need_dx
        )
        return dx, grads


class ReadoutPart:
    """A readout of :mod:`rnnlab.numpy.readouts`: forward(y, lengths), backward(dr, cache)."""

    def __init__(self, readout) -> None:
        self.layer, self.params = readout, readout.params

    def forward(self, x, flow: Flow):
        return self.layer.forward(x, flow.lengths)

    def backward(self, dy, cache, flow: Flow):
        return self.layer.backward(dy, cache)
