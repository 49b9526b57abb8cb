"""Input, state and length checks shared by both backends of the recurrent layer.

:class:`RecurrentChecks` is a mixin of :class:`~rnnlab.torch.layers.ScratchRecurrent` and of
:class:`~rnnlab.torch.native.NativeRecurrent`: the same bad argument gets the same message,
which names the expected and the received shape or dtype, from either backend. (The size
arguments of the constructors are checked by :func:`rnnlab.shapes.check_sizes`, shared with
the NumPy engine.)
"""

import numpy as np
import torch

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
        layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
        if x.dim() != 3:
            raise ValueError(
                f"{name} expected 3-D input {layout}, got shape {tuple(x.shape)}; "
                "a single sequence needs a batch axis of size 1"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name} expected input of width {self.input_size} (input_size), "
                f"got {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{name} expected a non-empty input {layout}, got {tuple(x.shape)}")
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
        if self.state_size > 1:
            if not isinstance(state, (tuple, list)) or len(state) != self.state_size:
                raise TypeError(
                    f"{name} expected state as a tuple ({', '.join(self.state_names)}), "
                    f"got {type(state).__name__}"
                )
            parts = tuple(state)
        else:
            parts = (state,)
        for label, s in zip(self.state_names, parts, strict=True):
            if not isinstance(s, torch.Tensor) or tuple(s.shape) != shape:
                got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(f"{name} expected {label}0 of shape {shape}, got {got}")
            if s.dtype != like.dtype:
                raise TypeError(f"{name} has dtype {like.dtype}, got {label}0 of dtype {s.dtype}")
        return parts

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
