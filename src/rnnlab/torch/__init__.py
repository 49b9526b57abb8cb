"""The PyTorch engine: the same models as ``rnnlab.numpy``, differentiated by autograd.

* :mod:`~rnnlab.torch.cells` — LSTM, GRU and RNN steps from basic tensor ops;
* :mod:`~rnnlab.torch.layers` — :class:`ScratchRecurrent`, stacked and bidirectional, with
  torch.nn's parameter names; :mod:`~rnnlab.torch.native` — the same on torch.nn (cuDNN);
* :mod:`~rnnlab.torch.fused` and :mod:`~rnnlab.torch.fused_cells` — the layer's fast path:
  a whole sequence per autograd node, BPTT written by hand;
* :mod:`~rnnlab.torch.model` — :class:`TorchModel`, the NumPy model's twin;
* :mod:`~rnnlab.torch.engine` — :class:`TorchEngine`, the NumPy engine's twin;
* :mod:`~rnnlab.torch.distributed` — data-parallel training (DDP).

Importing this package imports torch; ``rnnlab`` and ``rnnlab.numpy`` never do.
"""

from rnnlab.torch.cells import GATES, STATE_SIZE, STEPS, LSTMCell, get_cell
from rnnlab.torch.engine import TorchEngine
from rnnlab.torch.layers import ScratchRecurrent
from rnnlab.torch.model import TorchModel
from rnnlab.torch.native import NativeRecurrent, native_recurrent

__all__ = [
    "GATES",
    "STATE_SIZE",
    "STEPS",
    "LSTMCell",
    "NativeRecurrent",
    "ScratchRecurrent",
    "TorchEngine",
    "TorchModel",
    "get_cell",
    "native_recurrent",
]
