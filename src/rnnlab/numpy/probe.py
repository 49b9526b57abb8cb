"""The NumPy engine's probe: hidden states, gates, cells and the total ∂L/∂h_t of one batch.

Each layer runs as its own one-layer stack, one step (a chunk of length 1) at a time with
the state carried. Backward then goes from the last chunk to the first: the ``dstate0`` a
chunk returns is the future term for the previous chunk (the truncated-BPTT identity the
stack's tests prove), and its ``dx`` is the ∂L/∂y term of the layer below (see
:class:`rnnlab.engine.Probe` for what is computed and why). Everything is float64, from a
copy of the weights, so gradients far below float32's range still show as numbers.
"""

from dataclasses import replace

import numpy as np

from rnnlab.batch import Batch
from rnnlab.data.encode import one_hot
from rnnlab.engine import Probe, check_probe_input, valid_steps
from rnnlab.model import ModelSpec
from rnnlab.numpy.losses import model_loss
from rnnlab.numpy.model import Model
from rnnlab.numpy.rnn import RNN


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
    r, readout_cache = model.readout.forward(layer_input, batch.lengths)  # (T or 1, B, H)
    out, head_cache = model.head.forward(r)  # (T or 1, B, O)
    loss, d_out = model_loss(spec.loss, out, batch.targets, batch.mask)  # the engine's loss
    dr, _ = model.head.backward(d_out, head_cache)
    dy, _ = model.readout.backward(dr, readout_cache)  # (T, B, H) ∂L/∂y of the top layer

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
