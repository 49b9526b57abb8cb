"""Elementwise activations and their derivatives, written in terms of their outputs.

The recurrent cells cache activated values, so each derivative here takes the activation's
*output* y (sigmoid' = y(1 - y), tanh' = 1 - y²): no pre-activation needs to be kept.
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


def sigmoid_grad(y: np.ndarray) -> np.ndarray:
    """dσ/dz expressed through y = σ(z): y(1 - y)."""
    return y * (1.0 - y)


def tanh_grad(y: np.ndarray) -> np.ndarray:
    """d tanh/dz expressed through y = tanh(z): 1 - y²."""
    return 1.0 - y * y


def relu_grad(y: np.ndarray) -> np.ndarray:
    """d relu/dz expressed through y = relu(z): 1 where y > 0 (torch's convention at 0)."""
    return (y > 0).astype(y.dtype)
