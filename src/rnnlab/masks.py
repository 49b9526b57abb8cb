"""The masks of the regularising dropouts, drawn once per batch in one engine-neutral place.

Plain dropout (``ModelSpec.dropout``) draws a fresh mask for every element at every step,
inside each engine. The dropouts of strong recurrent language models (Gal & Ghahramani 2016;
Merity et al., AWD-LSTM, 2018) instead fix a mask for a whole batch and reuse it:

    embedding dropout   ẽ_v = e_v · m_v/(1-p),  m ∈ {0,1}^V     one per batch: a dropped
                        token is dropped at every position it occurs (embedding_dropout)
    locked dropout      x̃_t = x_t ⊙ m/(1-p),   m ∈ {0,1}^{B×I}  one per sequence, the same
                        at every step t (input_dropout: the stack's input; locked_dropout:
                        every later layer's input and the stack's output)
    weight-drop         W̃_hh = W_hh ⊙ M/(1-p), M ∈ {0,1}^{G·H×H}  DropConnect, one per batch
                        (weight_drop)

Each mask's entries are 1 with probability 1 - p, so every dropped quantity keeps its
expectation and evaluation uses the weights and activations as they are. All three are
linear in what they drop, so each backward multiplies by the same scale s = m/(1-p):
∂L/∂e_v = s_v Σ ∂L/∂ẽ, ∂L/∂x_t = s ⊙ ∂L/∂x̃_t, ∂L/∂W_hh = S ⊙ ∂L/∂W̃_hh.

:class:`MaskSource` draws them from its own NumPy generator, whose state is part of the
engine's ``rng_state`` (so a resumed run draws the masks it would have drawn), and hands
both engines the *same* arrays: with the same seed the NumPy and torch engines drop the
same things, and the tests feed both one :class:`Masks` to prove them equal.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnlab.cells import parameter_name
from rnnlab.model import ModelSpec

# Child 6 of the run's seed: children 0-5 are the weights' and the engines' own generators
# (rnnlab.numpy.model, rnnlab.torch.engine), so adding this one changes none of them.
MASK_SEED_CHILD = 6


@dataclass(frozen=True)
class Masks:
    """The scales s = m/(1-p) of one batch (NumPy arrays, or torch tensors after :meth:`map`).

    Attributes:
        embedding: (V,) one scale per vocabulary row, or None.
        input: (B, I) the stack's input at every step, or None.
        between: per layer l < L-1, (B, D·H) its output (= layer l+1's input); or ().
        output: (B, D·H) the stack's output, or None.
        weight_hh: ``weight_hh_l{l}{sfx}`` → (G·H, H) for every recurrent weight, or {}.
    """

    embedding: Any = None
    input: Any = None
    between: tuple = ()
    output: Any = None
    weight_hh: dict = field(default_factory=dict)

    def map(self, fn: Callable[[np.ndarray], Any]) -> "Masks":
        """The same masks with ``fn`` applied to every array (e.g. to make torch tensors)."""

        def f(a):
            return None if a is None else fn(a)

        return Masks(
            embedding=f(self.embedding),
            input=f(self.input),
            between=tuple(f(a) for a in self.between),
            output=f(self.output),
            weight_hh={k: f(a) for k, a in self.weight_hh.items()},
        )


def keep_scale(rng: np.random.Generator, shape: tuple[int, ...], p: float, dtype) -> np.ndarray:
    """m/(1-p) with m_i ~ Bernoulli(1 - p): 0 or 1/(1-p), in ``dtype``."""
    keep = rng.random(shape) >= p  # (...) True with probability 1 - p
    return keep.astype(dtype) * np.dtype(dtype).type(1.0 / (1.0 - p))


def draw_masks(spec: ModelSpec, batch_size: int, rng: np.random.Generator) -> Masks | None:
    """One batch's masks for ``spec``, drawn in a fixed order; None when it uses none.

    Order: embedding, input, between layers 0..L-2, output, weight_hh in parameter order,
    only those switched on: the order is part of what makes a run's masks reproducible.
    """
    if not spec.masked:
        return None
    dtype, B = np.dtype(spec.dtype), batch_size
    width = spec.hidden_size * spec.directions  # (D·H) what each layer outputs

    def scale(p: float, shape: tuple[int, ...]):
        return keep_scale(rng, shape, p, dtype) if p > 0.0 else None

    embedding = scale(spec.embedding_dropout, (spec.input_size,))  # (V,)
    inputs = scale(spec.input_dropout, (B, spec.rnn_input_size))  # (B, I)
    p = spec.locked_dropout
    between = tuple(scale(p, (B, width)) for _ in range(spec.num_layers - 1)) if p else ()
    output = scale(p, (B, width))  # (B, D·H)
    weight_hh = {}
    if spec.weight_drop > 0.0:
        G = spec.gates * spec.hidden_size
        for layer in range(spec.num_layers):
            for direction in range(spec.directions):
                name = parameter_name("weight_hh", layer, direction)
                weight_hh[name] = scale(spec.weight_drop, (G, spec.hidden_size))  # (G·H, H)
    return Masks(embedding, inputs, between, output, weight_hh)


class MaskSource:
    """Draws each training batch's :class:`Masks` for an engine, from a resumable generator."""

    def __init__(self, spec: ModelSpec, seed: int | None) -> None:
        self.spec = spec
        child = np.random.SeedSequence(seed).spawn(MASK_SEED_CHILD + 1)[MASK_SEED_CHILD]
        self.rng = np.random.default_rng(child)

    @property
    def active(self) -> bool:
        return self.spec.masked

    def draw(self, batch_size: int) -> Masks | None:
        return draw_masks(self.spec, batch_size, self.rng)

    def get_state(self) -> dict:
        """The generator's state, JSON-able."""
        return copy.deepcopy(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = copy.deepcopy(state)
