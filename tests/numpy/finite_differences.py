"""Central finite differences for the leaf-layer tests (not a test module).

The differencing is the library's own :func:`~rnnlab.numpy.gradcheck.numerical_gradient`,
which ``tests/numpy/test_gradcheck.py`` proves against closed-form derivatives.
"""

import numpy as np

from rnnlab.numpy.gradcheck import numerical_gradient as numerical_grad

__all__ = ["numerical_grad", "rel_error"]


def rel_error(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max() + np.abs(b).max(), 1e-300)
