"""The readouts: what a model passes from its recurrent stack to its head.

A model is four parts in a row (see :mod:`rnnlab.model`): input → recurrent stack → readout
→ head. The stack gives an output y_t (B, W) at every step t = 1..T, W = H · directions. The
readout decides what the head sees:

    per_step     y_t for every t: an output per step (language models, sine prediction)
    last         one vector per sequence: y at its last real step n
    final_state  one vector per sequence: each direction's final state — the forward
                 direction at t = n, the reverse one at t = 1 (torch.nn's h_n[-2:] on a
                 packed batch); the same as ``last`` for one direction
    mean         one vector per sequence: (1/n) Σ_{t ≤ n} y_t over its n real steps
    max          one vector per sequence: max_{t ≤ n} y_t, element by element
    attention    one vector per sequence: Σ_t α_t y_t, with learned weights α_t — a
                 softmax over the real steps of the scores vᵀ tanh(W y_t + b)

A readout keeps the width W. One that gives one vector per sequence makes the model a
classifier: its outputs are (1, B, O), so its batches carry targets and mask of shape (1, B).

This registry is engine-neutral: a readout's name, what it gives and the shapes of its
parameters. Each engine registers how it runs one (``rnnlab.numpy.readouts`` and
``rnnlab.torch.readouts``); adding a readout is an entry here and one in each engine, no
model class changes (``tests/test_readouts.py`` defines one in the test file itself).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from rnnlab.errors import InputError


def no_parameters(width: int) -> dict[str, tuple[int, ...]]:
    return {}


@dataclass(frozen=True)
class ReadoutKind:
    """Attributes:
    name: the ModelSpec value (``readout="mean"``).
    summary: one line for help texts and ``rnnlab inspect``.
    one_per_sequence: True when the readout gives one vector per sequence (T' = 1).
    parameter_shapes: W → its tensors' local names and shapes (saved as ``readout.<name>``).
    """

    name: str
    summary: str
    one_per_sequence: bool
    parameter_shapes: Callable[[int], dict[str, tuple[int, ...]]] = field(default=no_parameters)


READOUTS: dict[str, ReadoutKind] = {
    kind.name: kind
    for kind in (
        ReadoutKind("per_step", "an output at every time step", one_per_sequence=False),
        ReadoutKind("last", "one per sequence: the output at its last real step", True),
        ReadoutKind("final_state", "one per sequence: each direction's final state", True),
        ReadoutKind("mean", "one per sequence: the mean over its real steps", True),
        ReadoutKind("max", "one per sequence: the elementwise max over its real steps", True),
        ReadoutKind(
            "attention",
            "one per sequence: a learned weighted mean over its real steps",
            True,
            lambda width: {"weight": (width, width), "bias": (width,), "context": (width,)},
        ),
    )
}


def readout_kind(name: str) -> ReadoutKind:
    """The registered readout ``name``; an InputError naming the known ones otherwise."""
    if name not in READOUTS:
        raise InputError(f"model readout must be one of {', '.join(READOUTS)}, got {name!r}")
    return READOUTS[name]
