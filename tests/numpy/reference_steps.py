"""Drive a cell's readable ``step_forward``/``step_backward`` (not a test module).

Each cell's test file describes how to call its two reference steps with a :class:`Steps`;
the helpers here then check

* that the fast sequence path (the layer's ``forward``/``backward``, i.e. the cell's fused
  loop inside the stack) equals a plain Python loop over the reference steps, outputs and
  every gradient, to 1e-12 of each tensor's scale;
* that the reference steps' gradients equal central finite differences.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnlab.numpy.gradcheck import numerical_gradient, relative_error

# B, T, lengths: one row and many, one step and many, padded batches whose lengths repeat
# (so a group of rows runs the reference steps together) or stop short of T.
SEQUENCE_CASES = [
    (1, 1, None),
    (1, 5, None),
    (3, 1, None),
    (4, 6, None),
    (4, 6, [6, 2, 5, 2]),
    (3, 5, [3, 1, 3]),
]
EQUAL_TO = 1e-12  # fast path vs reference loop, relative to the tensor's scale (float64)
FD_BOUND = 1e-7  # reference step vs central differences


@dataclass(frozen=True)
class Steps:
    """How to call one cell's reference steps with one layer-direction's tensors.

    ``p`` maps the parameter keys without their ``_l0`` suffix (``weight_ih``, ...,
    ``weight_peephole_i``) to arrays; a state is a tuple ``(h,)`` or ``(h, c)``.
    """

    forward: Callable  # (x_t, state, p) -> (new state, cache)
    backward: Callable  # (dstate, cache) -> (dx_t, dstate_prev, {key: gradient})


TORCH_NN_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def cell_steps(module, extras: dict[str, str] | None = None, **options) -> Steps:
    """The :class:`Steps` of a cell module's reference pair.

    ``module.step_forward(x_t, *state, W_ih, W_hh, b_ih, b_hh, *extra tensors, **options)``
    returns the new state's parts and a cache; ``module.step_backward(*dstate, cache)`` its
    step gradients (:class:`~rnnlab.numpy.steps.StepGrads`, with ``dc_prev`` for (h, c)).
    ``extras`` maps each extra tensor's key, in step_forward's order, to the field of the
    step gradients that holds its gradient (``{"weight_peephole_i": "dp_i", ...}``).
    """
    extras = extras or {}
    keys = (*TORCH_NN_KEYS, *extras)

    def forward(x_t, state, p):
        *new_state, cache = module.step_forward(x_t, *state, *(p[k] for k in keys), **options)
        return tuple(new_state), cache

    def backward(dstate, cache):
        g = module.step_backward(*dstate, cache)
        grads = dict(zip(TORCH_NN_KEYS, (g.dW_ih, g.dW_hh, g.db_ih, g.db_hh), strict=True))
        grads |= {key: getattr(g, field) for key, field in extras.items()}
        dstate_prev = (g.dh_prev, g.dc_prev) if len(dstate) == 2 else (g.dh_prev,)
        return g.dx_t, dstate_prev, grads

    return Steps(forward, backward)


def layer_params(layer) -> dict[str, np.ndarray]:
    """A one-layer, one-direction layer's params by key without the ``_l0`` suffix."""
    return {name.removesuffix("_l0"): value for name, value in layer.params.items()}


def reference_sequence(steps: Steps, p, x, state0, dy, dstate_n, lengths=None):
    """Forward and backward over a padded batch by a plain loop over the reference steps.

    x (T, B, I); state0, dstate_n: tuples of (B, H); dy (T, B, H). Row b runs
    ``lengths[b]`` steps (all T if None); rows of equal length run together. Outputs, and
    ∂L/∂x, after a row's end are 0, and its final state is that of its last step — what
    the stack promises for ``lengths``. Returns y, state_n, dx, dstate0, {key: gradient}.
    """
    T, B, _ = x.shape
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    y, dx = np.zeros(dy.shape), np.zeros(x.shape)
    state_n = tuple(np.zeros_like(s) for s in state0)
    dstate0 = tuple(np.zeros_like(s) for s in state0)
    grads = {key: np.zeros_like(value) for key, value in p.items()}
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        state, caches = tuple(s[rows] for s in state0), []
        for t in range(length):
            state, cache = steps.forward(x[t, rows], state, p)
            y[t, rows] = state[0]
            caches.append(cache)
        for k, s in enumerate(state):
            state_n[k][rows] = s
        dstate = tuple(d[rows] for d in dstate_n)
        for t in reversed(range(length)):
            dstate = (dy[t, rows] + dstate[0], *dstate[1:])  # ∂L/∂h_t: from above and t+1
            dx_t, dstate, step_grads = steps.backward(dstate, caches[t])
            dx[t, rows] = dx_t
            for key, g in step_grads.items():
                grads[key] += g
        for k, d in enumerate(dstate):
            dstate0[k][rows] = d
    return y, state_n, dx, dstate0, grads


def assert_fast_path_equals_reference_loop(layer, steps: Steps, B, T, lengths, seed=0):
    """The layer (one layer, one direction, float64) against :func:`reference_sequence`."""
    rng = np.random.default_rng(seed)
    n_states = len(layer.cell.state_names)
    x = rng.normal(size=(T, B, layer.input_size))
    state0 = tuple(rng.normal(scale=0.5, size=(B, layer.hidden_size)) for _ in range(n_states))
    dy = rng.normal(size=(T, B, layer.hidden_size))
    dstate_n = tuple(rng.normal(size=(B, layer.hidden_size)) for _ in range(n_states))

    def public(parts):  # the stack's state: (1, B, H) arrays, a tuple only for (h, c)
        parts = tuple(s[None] for s in parts)
        return parts if n_states > 1 else parts[0]

    lengths_arg = None if lengths is None else np.array(lengths)
    y, state_n, cache = layer.forward(x, public(state0), lengths=lengths_arg)
    dx, dstate0, grads = layer.backward(dy, public(dstate_n), cache)
    state_n, dstate0 = (s if n_states > 1 else (s,) for s in (state_n, dstate0))

    ref = reference_sequence(steps, layer_params(layer), x, state0, dy, dstate_n, lengths)
    y_ref, state_n_ref, dx_ref, dstate0_ref, grads_ref = ref
    pairs = [("y", y, y_ref), ("dx", dx, dx_ref)]
    for k, s in enumerate(layer.cell.state_names):  # h (, c)
        pairs += [(f"{s}_n", state_n[k][0], state_n_ref[k])]
        pairs += [(f"d{s}0", dstate0[k][0], dstate0_ref[k])]
    pairs += [(key, grads[f"{key}_l0"], g) for key, g in grads_ref.items()]  # every tensor
    errors = {name: relative_error(got, want) for name, got, want in pairs}
    bad = {name: err for name, err in errors.items() if not err <= EQUAL_TO}
    assert not bad, f"fast path differs from the reference loop (B={B}, T={T}): {bad}"


def assert_step_matches_finite_differences(steps: Steps, layer, B, seed=0):
    """step_backward against central differences of L = Σ_k R_k ⊙ state_k(step_forward).

    Checks ∂L/∂ of x_t, of every part of the (non-zero) previous state and of every tensor
    of the (one-layer, one-direction, float64) ``layer``, in one step over B rows.
    """
    rng = np.random.default_rng(seed)
    p = layer_params(layer)
    names = [f"{s}_prev" for s in layer.cell.state_names]
    x_t = rng.normal(size=(B, layer.input_size))
    state = tuple(rng.normal(scale=0.5, size=(B, layer.hidden_size)) for _ in names)
    new_state, cache = steps.forward(x_t, state, p)
    weights = tuple(rng.normal(size=s.shape) for s in new_state)  # R_h (, R_c)

    def loss() -> float:
        out, _ = steps.forward(x_t, state, p)
        return float(sum(np.sum(w * s) for w, s in zip(weights, out, strict=True)))

    dx_t, dstate_prev, grads = steps.backward(weights, cache)
    assert set(grads) == set(p), "step_backward must return a gradient for every tensor"
    checks = {"x_t": (dx_t, x_t)} | {key: (grads[key], p[key]) for key in p}
    checks |= dict(zip(names, zip(dstate_prev, state, strict=True), strict=True))
    errors = {n: relative_error(g, numerical_gradient(loss, a)) for n, (g, a) in checks.items()}
    bad = {name: err for name, err in errors.items() if not err <= FD_BOUND}
    assert not bad, f"step_backward differs from finite differences: {bad}"
