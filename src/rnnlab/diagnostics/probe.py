"""What a model does inside, on one batch: hidden states, gates, cells, and ∂L/∂h_t.

:func:`probe` asks an engine (through its ``probe`` method, part of
:class:`rnnlab.engine.Engine`) for a :class:`~rnnlab.engine.Probe` of plain NumPy arrays;
the analysis (:mod:`~rnnlab.diagnostics.gradient_flow`, :mod:`~rnnlab.diagnostics.gates`)
reads only those arrays. Diagnostics run no forward pass of their own.

The quantity at the heart of it is the *total* gradient of the batch loss L with respect to
the hidden state h_t^l of layer l at step t (t = 1..T, stored at index t - 1). h_t^l is read
twice — by layer l at step t + 1 (the future) and, at step t, by layer l + 1 or the head —
so::

    ∂L/∂h_t^l = ∂L/∂y_t^l  +  ∂L/∂h_t^l |future       (y_t^l = h_t^l, the layer's output)

Both engines compute it, independently (:mod:`rnnlab.numpy.probe`,
:mod:`rnnlab.torch.probe`):

* NumPy: each layer runs as its own one-layer stack, one step (a chunk of length 1) at a
  time with the state carried. Backward then goes from the last chunk to the first: the
  ``dstate0`` a chunk returns is the future term for the previous chunk (the truncated-BPTT
  identity the stack's tests prove), and its ``dx`` is the ∂L/∂y term of the layer below.
* PyTorch: the same loop over the cells' step functions with autograd, ``retain_grad()`` on
  every h_t; because h_t feeds both the output and the next step, ``h_t.grad`` is the total.

The tests show the two agree to 1e-10 (float64) and that both equal finite differences of
the loss under an additive perturbation of h_t. Everything is computed in float64 (from a
copy of the weights), so gradients far below float32's range still show as numbers.

Padded batches (``lengths``): on padding steps a sequence's state is carried unchanged and
its outputs are zero, exactly as in the engines; ``Probe.valid`` marks the real steps.
Only unidirectional models: a bidirectional layer's two directions run through time in
opposite orders, so "the gradient reaching step t" would mix two different pictures.
"""

from rnnlab.batch import Batch
from rnnlab.engine import Probe, build_engine, check_probe_input, valid_steps

METHODS = ("numpy", "torch")

__all__ = ["METHODS", "Probe", "check_probe_input", "probe", "probe_with", "valid_steps"]


def probe(engine, batch: Batch, method: str | None = None) -> Probe:
    """Probe ``engine``'s model on ``batch``.

    ``method`` "numpy" (hand-written backward passes) or "torch" (autograd) picks which
    engine computes the gradients; by default the engine's own kind. Either works from the
    engine's weights, so each can check the other.
    """
    method = method or engine.name
    if method not in METHODS:
        raise ValueError(f"unknown probe method {method!r}; choose one of {', '.join(METHODS)}")
    if method == engine.name:
        return engine.probe(batch)
    return probe_with(method, engine.spec, engine.state_dict(), batch)


def probe_with(method: str, spec, weights: dict, batch: Batch) -> Probe:
    """The probe of the model ``spec`` holding ``weights``, by the engine ``method``."""
    engine = build_engine(spec, method)
    engine.load_state_dict(weights)
    return engine.probe(batch)
