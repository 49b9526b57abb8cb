"""The size arguments, the input's shape and the initial state of every recurrent layer,
checked once for both engines.

Engine-neutral (it needs NumPy only for its integer types; the array type is the caller's):
:mod:`rnnlab.numpy.stack` and :mod:`rnnlab.torch.layers` / :mod:`rnnlab.torch.native` call
:func:`check_sizes`, :func:`check_input_shape` and :func:`check_state_parts`, so a bad size,
input or state gives the same message whichever engine builds or runs the layer.
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


def check_input_shape(name: str, shape, input_size: int, batch_first: bool) -> None:
    """A 3-D input (T, B, I), or (B, T, I) with ``batch_first``, of width ``input_size`` and
    with no empty axis; or a ValueError naming the expected layout and the received shape."""
    shape = tuple(shape)
    layout = "(B, T, I)" if batch_first else "(T, B, I)"
    if len(shape) != 3:
        raise ValueError(
            f"{name} expected 3-D input {layout}, got shape {shape}; "
            "a single sequence needs a batch axis of size 1"
        )
    if shape[-1] != input_size:
        raise ValueError(f"{name} expected input of width {input_size} (input_size), got {shape}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} expected a non-empty input {layout}, got {shape}")


def check_state_parts(name: str, state, state_names, shape, array_type, dtype) -> tuple:
    """A given initial state as a tuple of its parts, or a TypeError / ValueError.

    ``state`` is ``(h, c)`` when ``state_names`` has two names, the array ``h`` alone when
    it has one; each part must be an ``array_type`` (``np.ndarray``, ``torch.Tensor``) of
    ``shape`` (L·D, B, H) and ``dtype``. ``name`` opens the message, which names the part
    (``h0``, ``c0``), what was expected and what was received.
    """
    if len(state_names) == 1:
        parts = (state,)
    elif isinstance(state, (tuple, list)) and len(state) == len(state_names):
        parts = tuple(state)
    else:
        raise TypeError(
            f"{name} expected state as a tuple ({', '.join(state_names)}), "
            f"got {type(state).__name__}"
        )
    for label, part in zip(state_names, parts, strict=True):
        if not isinstance(part, array_type) or tuple(part.shape) != tuple(shape):
            got = tuple(part.shape) if isinstance(part, array_type) else type(part).__name__
            raise ValueError(f"{name} expected {label}0 of shape {tuple(shape)}, got {got}")
        if part.dtype != dtype:
            raise TypeError(f"{name} has dtype {dtype}, got {label}0 of dtype {part.dtype}")
    return parts
