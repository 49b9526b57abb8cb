"""The small interface between the trainer and an engine, and how to pick one.

An engine owns a model built from a :class:`~rnnlab.model.ModelSpec` and its optimizer.
The trainer, checkpoints, generation and evaluation talk to it only through:

* ``train_step(batch, state) -> StepResult`` — forward, loss, backward, clipping, update;
* ``evaluate(batch, state) -> EvalResult`` — forward and loss, no update, no dropout;
* ``forward(inputs, state) -> (outputs as np.ndarray, state)`` — for generation;
* ``state_dict()`` / ``load_state_dict()`` — weights as plain NumPy arrays (torch names);
* ``optimizer_state()`` / ``load_optimizer_state()`` and ``rng_state()`` / ``set_rng_state()``
  — everything else a resumed run needs to continue bitwise;
* ``lr`` (settable, for schedules), ``detach(state)`` (cut the graph between TBPTT chunks),
  ``export_state(state) -> [np.ndarray]`` / ``import_state(arrays)`` (a carried state in a
  checkpoint, [h] or [h, c]).

Optionally ``stepper()`` returns an object whose ``step(inputs, state) -> (logits, state)``
runs one time step fast (the NumPy engine's :class:`~rnnlab.numpy.inference.Stepper`), or
None; generation uses it when present and falls back to ``forward`` otherwise.

States are engine-native objects the trainer only passes back in. ``rnnlab.numpy`` needs
NumPy alone; the torch engine is imported only when asked for.
"""

from typing import Any, NamedTuple

from rnnlab.model import ModelSpec

ENGINES = ("numpy", "torch")


class StepResult(NamedTuple):
    loss: float  # mean loss over the batch's counted positions
    grad_norm: float  # global L2 norm of the gradients before clipping
    state: Any  # the final recurrent state, to carry into the next chunk
    updated: bool  # False when the loss or gradients were not finite (no update applied)


class EvalResult(NamedTuple):
    loss: float  # mean loss over the batch's counted positions
    count: int  # how many positions counted
    outputs: Any  # (T, B, O) np.ndarray: logits or predicted values
    state: Any


def build_engine(spec: ModelSpec, engine: str = "numpy", **options):
    """An engine for ``spec``: ``numpy``, or ``torch`` (needs PyTorch installed).

    ``options``: seed, optimizer ("sgd" | "adam" | "adamw"), lr, weight_decay, momentum,
    grad_clip, and for torch also backend ("scratch" | "native"), device, compile.
    """
    if engine == "numpy":
        from rnnlab.numpy.engine import NumpyEngine

        return NumpyEngine(spec, **options)
    if engine == "torch":
        try:
            from rnnlab.torch.engine import TorchEngine
        except ImportError as exc:  # torch missing: an input problem the user can fix
            from rnnlab.errors import InputError

            raise InputError(
                f"--engine torch needs PyTorch ({exc}); install it with "
                "`pip install torch==2.13.0` or use --engine numpy"
            ) from exc
        return TorchEngine(spec, **options)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
