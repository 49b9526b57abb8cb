"""The size arguments every recurrent layer takes, checked once for both engines.

Engine-neutral (it needs NumPy only for its integer types): :mod:`rnnlab.numpy.stack` and
:mod:`rnnlab.torch.layers` / :mod:`rnnlab.torch.native` call :func:`check_sizes`, so a bad
size gives the same message whichever engine builds the layer.
"""

import numpy as np


def check_sizes(name: str, input_size, hidden_size, num_layers, dropout_p) -> None:
    """The size arguments every recurrent layer takes (both engines), or a ValueError.

    ``input_size``, ``hidden_size`` and ``num_layers`` must be positive integers (Python or
    NumPy ints, not bools), ``dropout_p`` a number in [0, 1); ``name`` opens the message.
    """
    for arg, value in [
        ("input_size", input_size),
        ("hidden_size", hidden_size),
        ("num_layers", num_layers),
    ]:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} expected {arg} to be a positive integer, got {value!r}")
    if not (isinstance(dropout_p, (int, float)) and 0.0 <= dropout_p < 1.0):
        raise ValueError(f"{name} expected dropout in [0, 1), got {dropout_p!r}")
