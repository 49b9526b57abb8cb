"""The PyTorch engine: the same models as ``rnnlab.numpy``, differentiated by autograd.

Where to start reading: :mod:`~rnnlab.torch.cells` (one step of every cell from tensor
ops), then :mod:`~rnnlab.torch.layers` (the loop over layers, directions and time), then
:mod:`~rnnlab.torch.model` and :mod:`~rnnlab.torch.engine`. What a cell *is* (gates, states,
parameter names) comes from the engine-neutral registry :mod:`rnnlab.cells`.

* :mod:`~rnnlab.torch.cells` — LSTM, GRU, RNN, peephole and LayerNorm LSTM steps;
* :mod:`~rnnlab.torch.layers` — :class:`ScratchRecurrent`, stacked and bidirectional, with
  torch.nn's parameter names; :mod:`~rnnlab.torch.padding` — padded batches without
  packing; :mod:`~rnnlab.torch.checks` — the input checks both backends share;
* :mod:`~rnnlab.torch.native` — the same layer on torch.nn (cuDNN), the second backend;
* :mod:`rnnlab.torch.fast` — the scratch layer's fast path: a whole sequence per autograd
  node, BPTT written by hand, proven equal to the step loop;
* :mod:`~rnnlab.torch.model` — :class:`TorchModel`, the NumPy model's twin;
* :mod:`~rnnlab.torch.engine` — :class:`TorchEngine`, the NumPy engine's twin;
* :mod:`~rnnlab.torch.distributed` — data-parallel training (DDP).

Importing this package imports torch; ``rnnlab`` and ``rnnlab.numpy`` never do.
"""

from rnnlab.torch.cells import STEPS, Cell, get_cell
from rnnlab.torch.engine import TorchEngine
from rnnlab.torch.layers import ScratchRecurrent
from rnnlab.torch.model import TorchModel
from rnnlab.torch.native import NativeRecurrent, native_recurrent

__all__ = [
    "STEPS",
    "Cell",
    "NativeRecurrent",
    "ScratchRecurrent",
    "TorchEngine",
    "TorchModel",
    "get_cell",
    "native_recurrent",
]
