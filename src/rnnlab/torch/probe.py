"""The torch engine's probe: the same quantities as :mod:`rnnlab.numpy.probe`, by autograd.

The loop runs over the cells' step functions with autograd, ``retain_grad()`` on every h_t;
because h_t feeds both the output and the next step, ``h_t.grad`` is the total ∂L/∂h_t
(see :class:`rnnlab.engine.Probe`). Everything is float64 on the CPU, from a copy of the
weights.
"""

import numpy as np

from rnnlab.batch import Batch
from rnnlab.engine import Probe, check_probe_input, valid_steps
from rnnlab.errors import InputError
from rnnlab.model import EXTRA_TENSORS, ModelSpec


def probe_torch(spec: ModelSpec, weights: dict[str, np.ndarray], batch: Batch) -> Probe:
    """The probe with PyTorch autograd over the from-scratch step functions (float64, CPU).

    Gate activations are not recomputed here (the step functions return only the state):
    they come from the NumPy engine's probe of the same weights.
    """
    check_probe_input(spec, batch)
    try:
        import torch
        import torch.nn.functional as F

        from rnnlab.torch.cells import get_cell
        from rnnlab.torch.layers import resolve_cell
        from rnnlab.torch.losses import loss_sum
        from rnnlab.torch.readouts import TORCH_READOUTS
    except ImportError as exc:
        raise InputError(
            f"the torch probe needs PyTorch ({exc}); use the NumPy one (--engine numpy)"
        ) from exc

    w = {name: torch.tensor(np.asarray(value, np.float64)) for name, value in weights.items()}
    cell = get_cell(resolve_cell(spec.cell, spec.nonlinearity))
    inputs = torch.as_tensor(np.asarray(batch.inputs))
    if spec.input_kind == "onehot":
        x = F.one_hot(inputs, spec.input_size).double()  # (T, B, V)
    elif spec.input_kind == "embedding":
        x = F.embedding(inputs, w["embedding.weight"])  # (T, B, E)
    else:
        x = inputs.double()  # (T, B, I)
    valid = valid_steps(batch)
    keep = torch.as_tensor(valid)[..., None]  # (T, B, 1) bool

    states = []  # per layer: the state after every step, each retaining its h_t's gradient
    layer_input = x
    for l in range(spec.num_layers):
        states.append(_torch_layer_steps(cell, spec, w, l, layer_input, keep))
        layer_input = torch.stack([s[0] for s in states[l]]) * keep  # (T, B, H): 0 on padding
    readout = TORCH_READOUTS[spec.readout](spec.hidden_size, 1, dtype=torch.float64)
    readout.load_state_dict(
        {k.removeprefix("readout."): v for k, v in w.items() if k.startswith("readout.")}
    )
    lengths = None if batch.lengths is None else torch.as_tensor(np.asarray(batch.lengths))
    r = readout(layer_input, lengths)  # (T or 1, B, H)
    head_weight = w["embedding.weight"] if spec.tie_weights else w["head.weight"]
    out = F.linear(r, head_weight, w["head.bias"])  # (T or 1, B, O)
    total, count = loss_sum(spec.loss, out, batch.targets, batch.mask)  # the engine's loss
    loss = total / count
    loss.backward()

    grads = np.stack([[s[0].grad.numpy() for s in layer] for layer in states], axis=1)
    hidden = {l: np.stack([s[0].detach().numpy() for s in layer]) for l, layer in enumerate(states)}
    cells = {}
    if cell.state_size > 1:
        cells = {l: np.stack([s[1].detach().numpy() for s in ss]) for l, ss in enumerate(states)}
    gates = _reference_gates(spec, weights, batch)
    return Probe(grads, hidden, gates, cells, loss.item(), valid, spec.cell)  # grads (T,L,B,H)


def _torch_layer_steps(cell, spec: ModelSpec, w: dict, layer: int, x, keep) -> list[tuple]:
    """One layer, step by step: the state (h_t,) or (h_t, c_t) after every step.

    Each h_t keeps its gradient (``retain_grad``); as it feeds both the layer above (or the
    head) and the next step, autograd accumulates both into ``h_t.grad``: the total.
    """
    import torch

    w_ih, w_hh, b_ih, b_hh = (
        w[f"rnn.{p}_l{layer}"] for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )
    extras = {key: w[f"rnn.{key}_l{layer}"] for key in EXTRA_TENSORS.get(spec.cell, {})}
    xw = x @ w_ih.T + b_ih  # (T, B, G·H)
    B = x.shape[1]
    state = tuple(  # zero, but in the graph: every h_t then has a gradient to retain
        torch.zeros(B, spec.hidden_size, dtype=torch.float64, requires_grad=True)
        for _ in range(cell.state_size)
    )
    states = []
    for t in range(x.shape[0]):
        new = cell.step(xw[t], state, w_hh, b_hh, **extras)  # each (B, H)
        # a padding step carries the state through unchanged, as the engines do
        state = tuple(torch.where(keep[t], n, s) for n, s in zip(new, state, strict=True))
        state[0].retain_grad()
        states.append(state)
    return states


def _reference_gates(spec: ModelSpec, weights: dict[str, np.ndarray], batch: Batch) -> dict:
    """layer -> (T, B, G·H) activated gates, from the NumPy engine's probe of the same
    weights: the step functions here return only the state."""
    from rnnlab.engine import build_engine

    reference = build_engine(spec, "numpy")
    reference.load_state_dict(weights)
    return reference.probe(batch).gates
