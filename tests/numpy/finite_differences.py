"""Central finite differences for the leaf-layer tests (not a test module)."""

import numpy as np


def numerical_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of x (in place)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f()
        x[idx] = old - eps
        f_minus = f()
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def rel_error(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max() + np.abs(b).max(), 1e-300)
