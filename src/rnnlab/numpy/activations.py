"""The NumPy engine's one definition of each activation, and its derivative.

Notation shared by every cell file: ``z`` is a pre-activation, ``a = σ(z)`` or ``tanh(z)``
its activation, ``dz`` = ∂L/∂z. The cells cache activations, not pre-activations, so each
derivative here takes the activation's *output* a: σ'(z) = a(1 - a), tanh'(z) = 1 - a².

The readable ``step_forward`` of every cell calls these. A cell's fast sequence loop may
compute the same function in a fused form, and says so where it does:

* ``sigmoid`` itself is ½(1 + tanh(z/2)); the GRU's loop folds the halving into its weights
  and computes exactly these floating-point operations;
* the LSTM's loop takes one exp for all four gates, σ(z) = 1/(1 + e^-z) and
  tanh(z) = 2σ(2z) - 1, equal to these up to rounding (a few units in the last place).
"""

import numpy as np


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(z) = 1 / (1 + e^-z), computed as ½(1 + tanh(z/2)).

    The identity is exact and never overflows (1 / (1 + exp(1000)) would warn), and it costs
    one transcendental like the textbook form. ``out`` may be ``z`` itself (in place).
    """
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def tanh(z: np.ndarray) -> np.ndarray:
    """tanh(z) = (e^z - e^-z) / (e^z + e^-z): NumPy's, named here beside σ."""
    return np.tanh(z)


def relu(z: np.ndarray) -> np.ndarray:
    """max(z, 0)."""
    return np.maximum(z, 0.0)


def sigmoid_grad(a: np.ndarray) -> np.ndarray:
    """dσ/dz expressed through a = σ(z): a(1 - a)."""
    return a * (1.0 - a)


def tanh_grad(a: np.ndarray) -> np.ndarray:
    """d tanh/dz expressed through a = tanh(z): 1 - a²."""
    return 1.0 - a * a


def relu_grad(a: np.ndarray) -> np.ndarray:
    """d relu/dz expressed through a = relu(z): 1 where a > 0 (torch's convention at 0)."""
    return (a > 0).astype(a.dtype)
