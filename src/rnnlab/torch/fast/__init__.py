"""The fast path of the scratch layer: each direction of each layer as one autograd node.

Read :mod:`rnnlab.torch.cells` and :mod:`rnnlab.torch.layers` first: their step loop,
differentiated by autograd, is the definition. This package computes the same thing for
the built-in cells (LSTM, GRU, tanh and relu RNNs), with the backward pass through time
written by hand, because at the sizes rnnlab trains autograd's per-step bookkeeping costs
more than the arithmetic (``rnnlab bench``; a training step several times faster on a CPU):

* :mod:`~rnnlab.torch.fast.cells` — each cell's whole-sequence forward and, beside it, its
  BPTT backward in the same variable names;
* :mod:`~rnnlab.torch.fast.recurrence` — :class:`FusedRecurrence`, the
  ``torch.autograd.Function`` that wraps them with the input projection and the weight
  gradients; :data:`FUSED` lists the cells it runs.

``ScratchRecurrent(..., fused=False)`` runs the definition instead; the tests in
``tests/torch/fast/`` prove the two equal, in values and every gradient.
"""

from rnnlab.torch.fast.recurrence import FUSED, FusedRecurrence, fused_recurrence

__all__ = ["FUSED", "FusedRecurrence", "fused_recurrence"]
