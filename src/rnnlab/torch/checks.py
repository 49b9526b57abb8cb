"""Input, state and length checks shared by both backends of the recurrent layer.

:class:`RecurrentChecks` is a mixin of :class:`~rnnlab.torch.layers.ScratchRecurrent` and of
:class:`~rnnlab.torch.native.NativeRecurrent`: the same bad argument gets the same message,
which names the expected and the received shape or dtype, from either backend. (The size
arguments of the constructors, the input's shape and the parts of a state are checked by
:mod:`rnnlab.shapes`, shared with the NumPy engine.)
"""

import numpy as np
import torch

from rnnlab.shapes import check_input_shape, check_state_parts
from rnnlab.torch.cells import State


class RecurrentChecks:
    """Input, state and length checks shared by the scratch and the native layer.

    Expects ``input_size``, ``hidden_size``, ``num_layers``, ``num_directions``,
    ``batch_first`` and ``state_names`` (the registry's ``("h", "c")`` or ``("h",)``) on the
    instance.
    """

    state_names: tuple[str, ...]

    @property
    def state_size(self) -> int:
        """How many tensors a state has: 2 for (h, c), 1 for h."""
        return len(self.state_names)

    def validate_input(self, x: torch.Tensor, dtype: torch.dtype) -> None:
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} expected input as a torch.Tensor, got {type(x).__name__}")
        check_input_shape(name, x.shape, self.input_size, self.batch_first)
        if x.dtype != dtype:
            raise TypeError(
                f"{name} has dtype {dtype}, got input of dtype {x.dtype}; "
                f"convert with x.to({dtype})"
            )

    def validate_state(self, state, batch_size: int, like: torch.Tensor) -> State:
        """The initial state as a tuple of (L·D, B, H) tensors (zeros when None)."""
        name = type(self).__name__
        shape = (self.num_layers * self.num_directions, batch_size, self.hidden_size)
        if state is None:
            return tuple(like.new_zeros(shape) for _ in range(self.state_size))
        return check_state_parts(name, state, self.state_names, shape, torch.Tensor, like.dtype)

    def validate_lengths(self, lengths, T: int, B: int) -> torch.Tensor:
        """``lengths`` (B,) as a CPU int64 tensor with values in 1..T."""
        name = type(self).__name__
        lengths = torch.as_tensor(np.asarray(lengths) if isinstance(lengths, list) else lengths)
        if tuple(lengths.shape) != (B,) or lengths.is_floating_point() or lengths.is_complex():
            raise ValueError(
                f"{name} expected lengths as {B} integers (one per sequence), "
                f"got {lengths.dtype} tensor of shape {tuple(lengths.shape)}"
            )
        lengths = lengths.to("cpu", torch.int64)
        low, high = int(lengths.min()), int(lengths.max())
        if low < 1 or high > T:
            raise ValueError(
                f"{name} expected lengths in 1..{T} (the padded length), "
                f"got values from {low} to {high}"
            )
        return lengths

    def public_state(self, parts: State):
        """(h, c) for the LSTM-like cells, h alone for RNN and GRU, as torch.nn."""
        return parts if self.state_size > 1 else parts[0]
