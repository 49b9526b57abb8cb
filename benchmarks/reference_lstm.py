"""A tutorial-style LSTM language model in plain NumPy: the baseline the engine is timed against.

Written the way an LSTM is first taught: one sequence at a time, one time step at a time, a
separate matrix per gate, Python loops everywhere, nothing batched or fused. It trains the
same model as rnnlab's NumPy engine — one-hot or dense input → LSTM → linear head → softmax
cross-entropy averaged over every position of the batch → Adam — and
``tests/benchmarks/test_reference_lstm.py`` proves that it computes the same loss, gradients
and update, so a speed factor between the two compares equal work.

One time step of one sequence, x (I,), h and c (H,), target class y::

    i = σ(W_i x + U_i h_prev + b_i)          input gate
    f = σ(W_f x + U_f h_prev + b_f)          forget gate
    g = tanh(W_g x + U_g h_prev + b_g)       candidate
    o = σ(W_o x + U_o h_prev + b_o)          output gate
    c = f ⊙ c_prev + i ⊙ g
    h = o ⊙ tanh(c)
    z = W_y h + b_y                          logits (O,)
    loss_t = -log softmax(z)[y]              the batch's loss: mean over its B·T positions

Backward through time, t = T-1 down to 0, starting from dh_next = dc_next = 0::

    dz = (softmax(z) - onehot(y)) / (B·T)
    dW_y += dz hᵀ;   db_y += dz
    dh = W_yᵀ dz + dh_next
    do = dh ⊙ tanh(c)
    dc = dc_next + dh ⊙ o ⊙ (1 - tanh²(c))
    di = dc ⊙ g;   df = dc ⊙ c_prev;   dg = dc ⊙ i;   dc_next = dc ⊙ f
    da_k = dk ⊙ k ⊙ (1 - k) for the σ gates k = i, f, o;   da_g = dg ⊙ (1 - g²)
    dW_k += da_k xᵀ;   dU_k += da_k h_prevᵀ;   db_k += da_k
    dh_next = Σ_k U_kᵀ da_k

Separate per-gate matrices and one bias per gate are what tutorials use (and what rnnlab
itself refuses, see STYLE.md); :func:`from_state_dict` splits torch.nn's stacked tensors into
them: rows i, f, g, o of ``weight_ih_l0`` / ``weight_hh_l0``, and b_k = bias_ih + bias_hh.
"""

from typing import NamedTuple

import numpy as np

GATES = ("i", "f", "g", "o")  # torch.nn's order of the stacked rows


class Step(NamedTuple):
    """What one forward time step leaves for the backward pass."""

    x: np.ndarray  # (I,)
    h_prev: np.ndarray  # (H,)
    c_prev: np.ndarray  # (H,)
    i: np.ndarray  # (H,)
    f: np.ndarray  # (H,)
    g: np.ndarray  # (H,)
    o: np.ndarray  # (H,)
    c: np.ndarray  # (H,)
    h: np.ndarray  # (H,)
    p: np.ndarray  # (O,) softmax(z)
    y: int


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def init_params(
    input_size: int, hidden_size: int, output_size: int, seed: int = 0, dtype=np.float32
) -> dict[str, np.ndarray]:
    """Weights uniform in ±1/√H, biases zero."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden_size)
    I, H, O = input_size, hidden_size, output_size
    params = {}
    for k in GATES:
        params[f"W_{k}"] = rng.uniform(-bound, bound, (H, I)).astype(dtype)  # (H, I)
        params[f"U_{k}"] = rng.uniform(-bound, bound, (H, H)).astype(dtype)  # (H, H)
        params[f"b_{k}"] = np.zeros(H, dtype)  # (H,)
    params["W_y"] = rng.uniform(-bound, bound, (O, H)).astype(dtype)  # (O, H)
    params["b_y"] = np.zeros(O, dtype)  # (O,)
    return params


def from_state_dict(state_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The reference's parameters from a 1-layer LSTM model's torch-named state_dict."""
    H = state_dict["rnn.weight_hh_l0"].shape[1]
    params = {}
    for n, k in enumerate(GATES):
        rows = slice(n * H, (n + 1) * H)
        params[f"W_{k}"] = np.array(state_dict["rnn.weight_ih_l0"][rows])  # (H, I)
        params[f"U_{k}"] = np.array(state_dict["rnn.weight_hh_l0"][rows])  # (H, H)
        params[f"b_{k}"] = state_dict["rnn.bias_ih_l0"][rows] + state_dict["rnn.bias_hh_l0"][rows]
    params["W_y"] = np.array(state_dict["head.weight"])  # (O, H)
    params["b_y"] = np.array(state_dict["head.bias"])  # (O,)
    return params


def input_vector(inputs: np.ndarray, t: int, b: int, size: int, dtype) -> np.ndarray:
    """Sequence b's input at step t: the one-hot vector of an id (inputs (T, B)), or a row of
    features (inputs (T, B, I))."""
    if inputs.ndim == 3:
        return inputs[t, b].astype(dtype)  # (I,)
    x = np.zeros(size, dtype)  # (I,)
    x[inputs[t, b]] = 1.0
    return x


def forward_step(params, x, h_prev, c_prev, y) -> tuple[float, Step]:
    """One time step: (loss_t, what backward needs)."""
    i = sigmoid(params["W_i"] @ x + params["U_i"] @ h_prev + params["b_i"])  # (H,)
    f = sigmoid(params["W_f"] @ x + params["U_f"] @ h_prev + params["b_f"])  # (H,)
    g = np.tanh(params["W_g"] @ x + params["U_g"] @ h_prev + params["b_g"])  # (H,)
    o = sigmoid(params["W_o"] @ x + params["U_o"] @ h_prev + params["b_o"])  # (H,)
    c = f * c_prev + i * g  # (H,)
    h = o * np.tanh(c)  # (H,)
    z = params["W_y"] @ h + params["b_y"]  # (O,)
    z = z - z.max()  # (O,) the same softmax, and exp cannot overflow
    log_p = z - np.log(np.exp(z).sum())  # (O,) log softmax(z)
    return float(-log_p[y]), Step(x, h_prev, c_prev, i, f, g, o, c, h, np.exp(log_p), int(y))


def backward_sequence(params, steps: list[Step], grads, n: int) -> None:
    """Add one sequence's gradients of the mean loss (over n positions) into ``grads``."""
    H = params["U_i"].shape[0]
    dh_next = np.zeros(H, params["U_i"].dtype)  # (H,)
    dc_next = np.zeros(H, params["U_i"].dtype)  # (H,)
    for s in reversed(steps):
        dz = s.p.copy()  # (O,)
        dz[s.y] -= 1.0
        dz /= n
        grads["W_y"] += np.outer(dz, s.h)  # (O, H)
        grads["b_y"] += dz
        dh = params["W_y"].T @ dz + dh_next  # (H,)
        tanh_c = np.tanh(s.c)  # (H,)
        do = dh * tanh_c  # (H,)
        dc = dc_next + dh * s.o * (1.0 - tanh_c**2)  # (H,)
        di, df, dg = dc * s.g, dc * s.c_prev, dc * s.i  # (H,) each
        dc_next = dc * s.f  # (H,)
        da = {
            "i": di * s.i * (1.0 - s.i),
            "f": df * s.f * (1.0 - s.f),
            "g": dg * (1.0 - s.g**2),
            "o": do * s.o * (1.0 - s.o),
        }  # (H,) each: through σ and tanh
        dh_next = np.zeros(H, dh.dtype)  # (H,)
        for k in GATES:
            grads[f"W_{k}"] += np.outer(da[k], s.x)  # (H, I)
            grads[f"U_{k}"] += np.outer(da[k], s.h_prev)  # (H, H)
            grads[f"b_{k}"] += da[k]
            dh_next += params[f"U_{k}"].T @ da[k]


def loss_and_grads(params, inputs: np.ndarray, targets: np.ndarray):
    """Mean cross-entropy over a batch and its gradients, one sequence at a time.

    Args:
        inputs: (T, B) int ids (one-hot input) or (T, B, I) float features.
        targets: (T, B) int classes.
    """
    T, B = targets.shape
    I, H = params["W_i"].shape[1], params["U_i"].shape[0]
    dtype = params["U_i"].dtype
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    total = 0.0
    for b in range(B):
        h, c = np.zeros(H, dtype), np.zeros(H, dtype)  # (H,) each
        steps = []
        for t in range(T):
            x = input_vector(inputs, t, b, I, dtype)  # (I,)
            loss_t, step = forward_step(params, x, h, c, targets[t, b])
            total += loss_t
            steps.append(step)
            h, c = step.h, step.c
        backward_sequence(params, steps, grads, T * B)
    return total / (T * B), grads


class Adam:
    """Adam with torch's defaults and bias corrections, one parameter at a time."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}

    def step(self, params, grads) -> None:
        beta1, beta2 = self.betas
        self.t += 1
        for name, param in params.items():
            g = grads[name]
            self.m[name] = beta1 * self.m[name] + (1.0 - beta1) * g
            self.v[name] = beta2 * self.v[name] + (1.0 - beta2) * g * g
            m_hat = self.m[name] / (1.0 - beta1**self.t)
            v_hat = self.v[name] / (1.0 - beta2**self.t)
            param -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def train_step(params, optimizer: Adam, inputs: np.ndarray, targets: np.ndarray) -> float:
    """Forward, backward through time and an Adam update; returns the batch's mean loss."""
    loss, grads = loss_and_grads(params, inputs, targets)
    optimizer.step(params, grads)
    return loss
