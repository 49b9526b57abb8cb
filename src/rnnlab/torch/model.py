"""The PyTorch model: input (one-hot | embedding | dense) → recurrent stack → dropout →
readout → head, the parts of :mod:`rnnlab.model` as modules.

The twin of :class:`rnnlab.numpy.model.Model`, built from the same
:class:`~rnnlab.model.ModelSpec`. Its ``state_dict()`` has exactly the NumPy model's names
(``embedding.weight``, ``rnn.weight_ih_l0``, ..., ``head.weight``, ``head.bias``; with tied
weights the head reads ``embedding.weight`` and has no weight of its own), and a seed gives
the NumPy model's initial weights, so the same seed starts both engines at the same point.
Read it after :mod:`rnnlab.torch.layers` (the recurrent stack, ``self.rnn``); the training
step around it is :mod:`rnnlab.torch.engine`.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.model import ModelSpec
from rnnlab.torch.activation_reg import activation_penalties
from rnnlab.torch.layers import ScratchRecurrent, dropout
from rnnlab.torch.masked import embed, locked
from rnnlab.torch.native import check_native_masks, native_recurrent
from rnnlab.torch.readouts import TORCH_READOUTS

BACKENDS = {"scratch": ScratchRecurrent, "native": native_recurrent}


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


class TorchModel(nn.Module):
    """A whole recurrent model in PyTorch.

    Args:
        spec: what to build (cell, sizes, input kind, head, dtype, ...).
        backend: "scratch" (:class:`~rnnlab.torch.layers.ScratchRecurrent`) or "native"
            (torch.nn.LSTM/GRU/RNN, cuDNN on a GPU); the recurrent stack is ``self.rnn``.
        seed: the initial weights are those of ``rnnlab.numpy.model.Model(spec, seed)``.
        device: where the parameters live.

    ``forward(inputs, state=None, lengths=None) -> (outputs, state_n)``: inputs (T, B) int64
    token ids (one-hot / embedding input) or (T, B, I) features (dense); outputs (T, B, O)
    logits or values. ``generator`` (attribute, default None = torch's global generator)
    draws the dropout masks of the head and, with the scratch backend, between layers.
    """

    def __init__(
        self, spec: ModelSpec, backend: str = "scratch", *, seed: int | None = 0, device=None
    ) -> None:
        super().__init__()
        check_backend(backend)
        if backend == "native":
            check_native_masks(spec)
        self.spec, self.backend = spec, backend
        factory = {"device": device, "dtype": getattr(torch, spec.dtype)}
        self.embedding = None
        if spec.input_kind == "embedding":
            self.embedding = nn.Embedding(spec.input_size, spec.embedding_dim, **factory)
        self.rnn = BACKENDS[backend](
            spec.cell,
            spec.rnn_input_size,
            spec.hidden_size,
            num_layers=spec.num_layers,
            bidirectional=spec.bidirectional,
            dropout=spec.dropout,
            nonlinearity=spec.nonlinearity,
            **factory,
        )
        width = spec.hidden_size * spec.directions
        self.readout = TORCH_READOUTS[spec.readout](width, spec.directions, **factory)
        self.head = nn.Linear(width, spec.output_size, **factory)
        if spec.tie_weights:  # one matrix, two uses: the head reads embedding.weight
            self.head.weight = None
        self._generator: torch.Generator | None = None
        self.load_numpy_init(seed)

    @torch.no_grad()
    def load_numpy_init(self, seed: int | None) -> None:
        """Overwrite every weight with the NumPy model's initialisation for ``seed``."""
        from rnnlab.engine import initial_weights  # the init schemes are defined once

        arrays = initial_weights(self.spec, seed)
        self.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()}, strict=True)

    @property
    def generator(self) -> torch.Generator | None:
        return self._generator

    @generator.setter
    def generator(self, value: torch.Generator | None) -> None:
        self._generator = value
        if isinstance(self.rnn, ScratchRecurrent):  # torch.nn draws its own masks
            self.rnn.generator = value

    def forward(self, inputs: torch.Tensor, state=None, lengths=None, masks=None, penalties=None):
        """inputs (T, B) ids or (T, B, I) features → outputs (T, B, O) — (1, B, O) for a
        readout with one vector per sequence — and the final state.

        ``masks``: a batch's :class:`rnnlab.masks.Masks` as tensors (training only), applied
        as given: embedding dropout, locked dropout, weight-drop (:mod:`rnnlab.torch.masked`).
        ``penalties``: a list (training only) to which the spec's TAR and AR terms of this
        pass are appended (:mod:`rnnlab.torch.activation_reg`), for the loss; None: none.
        """
        spec = self.spec
        dtype = self.head.bias.dtype
        if spec.input_kind == "onehot":
            x = F.one_hot(inputs, spec.input_size).to(dtype)  # (T, B, V)
        elif spec.input_kind == "embedding":
            x = embed(self.embedding, inputs, masks)  # (T, B, E)
        else:
            x = inputs  # (T, B, I)
        if masks is None:
            y, state_n = self.rnn(x, state, lengths)  # (T, B, D·H)
            h = y  # ỹ = y: no output mask
        else:
            x = locked(x, masks.input)  # (T, B, I) the same mask at every step
            y, state_n = self.rnn(x, state, lengths, masks=masks)  # (T, B, D·H)
            h = locked(y, masks.output)  # (T, B, D·H) ỹ
        if penalties is not None:  # TAR of y, AR of ỹ (AWD-LSTM's choice: see the module)
            penalties += activation_penalties(spec, y, h, lengths)
        h = dropout(h, spec.dropout, self.training, self._generator)  # after ỹ, not in AR
        h = self.readout(h, lengths)  # (T, B, D·H) or (1, B, D·H)
        weight = self.embedding.weight if spec.tie_weights else self.head.weight
        return F.linear(h, weight, self.head.bias), state_n  # (T, B, O)

    def numpy_state_dict(self) -> dict[str, np.ndarray]:
        """The weights as NumPy arrays (copies), named as the NumPy model's ``params``."""
        return {k: v.detach().cpu().numpy().copy() for k, v in self.state_dict().items()}

    def load_numpy_state_dict(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy NumPy arrays in place; names and shapes must be exactly the model's."""
        own = self.state_dict()
        missing = sorted(set(own) - set(arrays))
        extra = sorted(set(arrays) - set(own))
        if missing or extra:
            raise ValueError(f"model state_dict mismatch: missing {missing}, unexpected {extra}")
        tensors = {}
        for name, target in own.items():
            value = np.asarray(arrays[name])
            if value.shape != tuple(target.shape):
                raise ValueError(
                    f"model expected {name} of shape {tuple(target.shape)}, got {value.shape}"
                )
            tensors[name] = torch.from_numpy(np.ascontiguousarray(value))
        self.load_state_dict(tensors, strict=True)
