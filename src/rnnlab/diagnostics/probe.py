"""What a model does inside, on one batch: hidden states, gates, cells, and ∂L/∂h_t.

:func:`probe` runs a model on one batch and returns a :class:`Probe` of plain NumPy arrays,
whichever engine holds the weights; the analysis (:mod:`~rnnlab.diagnostics.gradient_flow`,
:mod:`~rnnlab.diagnostics.gates`) reads only those arrays.

The quantity at the heart of it is the *total* gradient of the batch loss L with respect to
the hidden state h_t^l of layer l at step t (t = 1..T, stored at index t - 1). h_t^l is read
twice — by layer l at step t + 1 (the future) and, at step t, by layer l + 1 or the head —
so::

    ∂L/∂h_t^l = ∂L/∂y_t^l  +  ∂L/∂h_t^l |future       (y_t^l = h_t^l, the layer's output)

Both engines compute it, independently:

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

from dataclasses import dataclass, replace

import numpy as np

from rnnlab.batch import Batch
from rnnlab.data.encode import one_hot
from rnnlab.errors import InputError
from rnnlab.model import EXTRA_TENSORS, ModelSpec
from rnnlab.numpy.losses import mse, softmax_cross_entropy
from rnnlab.numpy.model import Model
from rnnlab.numpy.rnn import RNN

METHODS = ("numpy", "torch")


@dataclass(frozen=True)
class Probe:
    """One batch seen from inside a model. t = 1..T is stored at index t - 1.

    Attributes:
        hidden_grads: (T, L, B, H) the total ∂L/∂h_t of the batch's mean loss, per layer.
        hidden: layer -> (T, B, H) the hidden states h_t.
        gates: layer -> (T, B, G·H) activated gates (LSTM i, f, g, o; GRU r, z, n);
            empty for the vanilla RNN.
        cells: layer -> (T, B, H) the cell states c_t (LSTM variants only).
        loss: the batch's mean loss, as the engines compute it.
        valid: (T, B) bool, False on the padding steps of a padded batch.
        cell: the model's cell name ("lstm", "gru", "rnn", ...).
    """

    hidden_grads: np.ndarray
    hidden: dict[int, np.ndarray]
    gates: dict[int, np.ndarray]
    cells: dict[int, np.ndarray]
    loss: float
    valid: np.ndarray
    cell: str


def probe(engine, batch: Batch, method: str | None = None) -> Probe:
    """Probe ``engine``'s model on ``batch``.

    ``method`` "numpy" (hand-written backward passes) or "torch" (autograd) picks how the
    gradients are computed; by default the engine's own kind. Either works from the
    engine's weights (``engine.state_dict()``), so each can check the other.
    """
    method = method or engine.name
    if method not in METHODS:
        raise ValueError(f"unknown probe method {method!r}; choose one of {', '.join(METHODS)}")
    run = probe_numpy if method == "numpy" else probe_torch
    return run(engine.spec, engine.state_dict(), batch)


def check_probe_input(spec: ModelSpec, batch: Batch) -> None:
    """InputError for what a probe cannot analyse: bidirectional models, empty losses."""
    if spec.bidirectional:
        raise InputError(
            "gradient flow through time needs a unidirectional model; this one is "
            "bidirectional, and its two directions run through time in opposite orders"
        )
    if not np.asarray(batch.mask).any():
        raise InputError("the batch has no position that counts in the loss: nothing to probe")


def valid_steps(batch: Batch) -> np.ndarray:
    """(T, B) bool: True on each sequence's real steps (all of them without ``lengths``)."""
    T, B = np.asarray(batch.mask).shape
    if batch.lengths is None:
        return np.ones((T, B), dtype=bool)
    return np.arange(T)[:, None] < np.asarray(batch.lengths)[None, :]  # (T, B)


# --------------------------------------------------------------------------- NumPy
def probe_numpy(spec: ModelSpec, weights: dict[str, np.ndarray], batch: Batch) -> Probe:
    """The probe with the NumPy engine's hand-written backward passes (float64)."""
    check_probe_input(spec, batch)
    model = _float64_model(spec, weights)
    x = _model_input(model, batch.inputs)  # (T, B, I)
    valid = valid_steps(batch)
    T, B = valid.shape
    layers = [_one_layer(model.rnn, layer) for layer in range(spec.num_layers)]

    hidden, cells, step_caches = {}, {}, []
    layer_input = x
    for l, layer in enumerate(layers):
        states, caches = _forward_steps(layer, layer_input, valid)
        hidden[l] = np.stack([s[0] for s in states])  # (T, B, H)
        if len(states[0]) > 1:
            cells[l] = np.stack([s[1] for s in states])  # (T, B, H)
        step_caches.append(caches)
        layer_input = hidden[l] * valid[..., None]  # (T, B, H): zero on padding, as the stack
    out, head_cache = model.head.forward(layer_input)  # (T, B, O)
    loss, d_out = _numpy_loss(spec, out, batch)
    dy, _ = model.head.backward(d_out, head_cache)  # (T, B, H) ∂L/∂y of the top layer

    grads = np.zeros((T, spec.num_layers, B, spec.hidden_size))  # (T, L, B, H)
    for l in reversed(range(spec.num_layers)):
        grads[:, l], dy = _backward_steps(layers[l], step_caches[l], dy, valid)
    gates = {
        l: np.concatenate([c.layers[0][0].cell.gates for c in step_caches[l]])  # (T, B, G·H)
        for l in range(spec.num_layers)
        if hasattr(step_caches[l][0].layers[0][0].cell, "gates")
    }
    return Probe(grads, hidden, gates, cells, float(loss), valid, spec.cell)


def _float64_model(spec: ModelSpec, weights: dict[str, np.ndarray]) -> Model:
    """The NumPy model of ``spec`` in float64, holding ``weights``; no dropout (evaluation)."""
    model = Model(replace(spec, dtype="float64", dropout=0.0))
    model.load_state_dict(weights)
    return model


def _model_input(model: Model, inputs: np.ndarray) -> np.ndarray:
    """What the recurrent stack reads: one-hot, embedded or dense inputs, (T, B, I)."""
    spec = model.spec
    if spec.input_kind == "onehot":
        return one_hot(inputs, spec.input_size, dtype=np.float64)  # (T, B, V)
    if spec.input_kind == "embedding":
        return model.embedding.forward(inputs)[0]  # (T, B, E)
    return np.asarray(inputs, dtype=np.float64)  # (T, B, I)


def _numpy_loss(spec: ModelSpec, out: np.ndarray, batch: Batch):
    """The engines' loss: mean over the counted positions; (loss, ∂L/∂out)."""
    if spec.loss == "cross_entropy":
        return softmax_cross_entropy(out, batch.targets, batch.mask)
    return mse(out, np.asarray(batch.targets, out.dtype), batch.mask)


def _one_layer(stack, layer: int):
    """Layer ``layer`` of a (unidirectional) stack as a one-layer stack of its own weights."""
    kw = {"nonlinearity": stack.nonlinearity} if isinstance(stack, RNN) else {}
    single = type(stack)(stack.layer_input_size(layer), stack.hidden_size, dtype=stack.dtype, **kw)
    suffix = f"_l{layer}"
    single.load_state_dict(
        {
            name.removesuffix(suffix) + "_l0": value
            for name, value in stack.params.items()
            if name.endswith(suffix)
        }
    )
    return single


def _forward_steps(layer, x: np.ndarray, valid: np.ndarray):
    """Run a one-layer stack one step at a time, carrying the state.

    On padding steps the new state is discarded and the previous one carried, as the
    stack does with ``lengths``. Returns the state after every step (each a tuple (h,) or
    (h, c) of (B, H)) and every step's cache.
    """
    T, B = valid.shape
    state = _parts(layer.zero_state(B))  # each (1, B, H)
    states, caches = [], []
    for t in range(T):
        _, new, cache = layer.forward(x[t : t + 1], _public(state), train=False)
        keep = valid[t][None, :, None]  # (1, B, 1)
        state = tuple(np.where(keep, n, s) for n, s in zip(_parts(new), state, strict=True))
        states.append(tuple(s[0] for s in state))
        caches.append(cache)
    return states, caches


def _backward_steps(layer, caches, dy: np.ndarray, valid: np.ndarray):
    """Backward through the steps of one layer, last to first.

    Args:
        dy: (T, B, H) ∂L/∂y_t, the gradient reaching the layer's outputs from above.

    Returns:
        the total ∂L/∂h_t (T, B, H), and ∂L/∂x_t (T, B, I) for the layer below.
    """
    T, B, H = dy.shape
    keep = valid[..., None].astype(dy.dtype)  # (T, B, 1)
    future = tuple(np.zeros((1, B, H)) for _ in _parts(layer.zero_state(B)))  # (1, B, H) each
    total = np.empty_like(dy)  # (T, B, H)
    dx = np.empty((T, B, layer.input_size))  # (T, B, I)
    for t in reversed(range(T)):
        dy_t = dy[t] * keep[t]  # (B, H): outputs on padding are zero
        total[t] = dy_t + future[0][0]
        dstate_n = tuple(f * keep[t] for f in future)  # only a real step's new state counts
        dx_t, dstate0, _ = layer.backward(dy_t[None], _public(dstate_n), caches[t])
        # a padding step carries its state through, so that gradient skips the step (it is
        # zero here: padding ends a sequence, and no loss reads the final state)
        future = tuple(
            d + f * (1.0 - keep[t]) for d, f in zip(_parts(dstate0), future, strict=True)
        )
        dx[t] = dx_t[0]
    return total, dx


def _parts(state) -> tuple:
    """A stack's state as a tuple: (h,) or (h, c)."""
    return tuple(state) if isinstance(state, tuple) else (state,)


def _public(parts: tuple):
    """The inverse of :func:`_parts`: the LSTM's (h, c), or h alone."""
    return parts if len(parts) > 1 else parts[0]


# --------------------------------------------------------------------------- PyTorch
def probe_torch(spec: ModelSpec, weights: dict[str, np.ndarray], batch: Batch) -> Probe:
    """The probe with PyTorch autograd over the from-scratch step functions (float64, CPU).

    Gate activations are not recomputed here (the step functions return only the state):
    they come from one NumPy forward pass over the same weights.
    """
    check_probe_input(spec, batch)
    try:
        import torch
        import torch.nn.functional as F

        from rnnlab.torch.cells import get_cell
        from rnnlab.torch.layers import resolve_cell
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
    head_weight = w["embedding.weight"] if spec.tie_weights else w["head.weight"]
    out = F.linear(layer_input, head_weight, w["head.bias"])  # (T, B, O)
    loss = _torch_loss(spec, out, batch)
    loss.backward()

    grads = np.stack([[s[0].grad.numpy() for s in layer] for layer in states], axis=1)
    hidden = {l: np.stack([s[0].detach().numpy() for s in layer]) for l, layer in enumerate(states)}
    cells = {}
    if cell.state_size > 1:
        cells = {l: np.stack([s[1].detach().numpy() for s in ss]) for l, ss in enumerate(states)}
    gates = numpy_gates(spec, weights, batch)
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


def _torch_loss(spec: ModelSpec, out, batch: Batch):
    """The engines' loss in torch: the mean over the counted positions."""
    import torch
    import torch.nn.functional as F

    mask = torch.as_tensor(np.asarray(batch.mask, bool))  # (T, B)
    if spec.loss == "cross_entropy":
        targets = torch.as_tensor(np.asarray(batch.targets)).long()  # (T, B)
        return F.cross_entropy(out[mask], targets[mask], reduction="sum") / mask.sum()
    targets = torch.as_tensor(np.asarray(batch.targets, np.float64))  # (T, B, O)
    diff = (out - targets)[mask]  # (N, O)
    return (diff * diff).sum() / diff.numel()


def numpy_gates(spec: ModelSpec, weights: dict[str, np.ndarray], batch: Batch) -> dict:
    """layer -> (T, B, G·H) activated gates from one NumPy forward pass (float64)."""
    model = _float64_model(spec, weights)
    _, _, cache = model.forward(batch.inputs, train=False, lengths=batch.lengths)
    return {
        l: directions[0].cell.gates
        for l, directions in enumerate(cache.rnn.layers)
        if hasattr(directions[0].cell, "gates")
    }
