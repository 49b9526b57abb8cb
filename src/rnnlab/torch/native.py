"""The same recurrent layer on top of torch.nn.LSTM / GRU / RNN (cuDNN on a GPU).

The native backend: read it after :mod:`rnnlab.torch.layers`, whose interface it copies.

:func:`native_recurrent` takes :class:`~rnnlab.torch.layers.ScratchRecurrent`'s arguments
and returns a subclass of the matching torch.nn module: the parameters *are* torch.nn's, so
a state_dict moves between the two backends (and plain torch.nn) unchanged, and
``forward(x, state=None, lengths=None)`` has the scratch layer's interface. With ``lengths``
the batch goes through ``pack_padded_sequence(enforce_sorted=False)`` and back through
``pad_packed_sequence(total_length=T)``, which gives the scratch layer's semantics: padding
keeps the state, outputs there are zero, the reverse direction starts at each sequence's
own last step.

Dropout between layers is torch.nn's own: it draws from torch's global generator on the
CPU, and from cuDNN's dropout state on a GPU.

The masks of :mod:`rnnlab.masks`: weight-drop runs torch.nn's module on the dropped
weights W_hh ⊙ S, passed functionally (``torch.func.functional_call``), so autograd carries
∂L/∂W_hh = S ⊙ ∂L/∂W̃_hh to the module's own parameters (on a GPU cuDNN then copies the
weights into its layout every step: slower, but the same numbers). Locked dropout *between*
layers cannot be done — torch.nn runs all its layers in one call — and is refused
(:func:`check_native_masks`); on the stack's input and output it is the model's business.
"""

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.cells import cell_kind
from rnnlab.errors import InputError
from rnnlab.shapes import check_sizes
from rnnlab.torch.cells import resolve_cell
from rnnlab.torch.checks import RecurrentChecks


class NativeRecurrent(RecurrentChecks):
    """What the native layers add to torch.nn's: checks and ``lengths`` (a mixin)."""

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def forward(self, x: torch.Tensor, state=None, lengths=None, masks=None):
        """x (T, B, I) or (B, T, I) → y (T, B, D·H) or (B, T, D·H), final state.

        ``masks``: a batch's :class:`rnnlab.masks.Masks` (tensors); only weight-drop applies.
        """
        if masks is not None and masks.between:
            raise ValueError("the native backend cannot apply locked dropout between layers")
        if masks is not None and masks.weight_hh:
            dropped = {n: getattr(self, n) * s for n, s in masks.weight_hh.items()}  # W_hh ⊙ S
            return functional_call(self, dropped, (x, state, lengths))
        self.validate_input(x, self.weight_hh_l0.dtype)
        T, B = (x.shape[1], x.shape[0]) if self.batch_first else x.shape[:2]
        if state is not None:
            state = self.public_state(self.validate_state(state, B, x))
        if lengths is None:
            return super().forward(x, state)
        lengths = self.validate_lengths(lengths, T, B)  # pack_padded_sequence wants them on CPU
        packed = pack_padded_sequence(
            x, lengths, batch_first=self.batch_first, enforce_sorted=False
        )
        out, state_n = super().forward(packed, state)
        y, _ = pad_packed_sequence(out, batch_first=self.batch_first, total_length=T)
        return y, state_n


class NativeLSTM(NativeRecurrent, nn.LSTM):
    state_names = cell_kind("lstm").states


class NativeGRU(NativeRecurrent, nn.GRU):
    state_names = cell_kind("gru").states


class NativeRNN(NativeRecurrent, nn.RNN):
    state_names = cell_kind("rnn").states


# The cells torch.nn has a module for, by step name (rnnlab.torch.cells.STEPS).
NATIVE: dict[str, type[NativeRecurrent]] = {
    "lstm": NativeLSTM,
    "gru": NativeGRU,
    "rnn_tanh": NativeRNN,
    "rnn_relu": NativeRNN,
}


def check_native_masks(spec) -> None:
    """InputError for a ModelSpec the native backend cannot run: locked dropout between
    layers (torch.nn runs every layer in one call, with nowhere to put a mask)."""
    if spec.locked_dropout and spec.num_layers > 1:
        raise InputError(
            f"--locked-dropout with {spec.num_layers} layers needs --backend scratch: "
            "torch.nn's LSTM/GRU/RNN runs all its layers in one call, with no place for a "
            "mask between them (weight-drop, embedding and input dropout work natively)"
        )


def native_recurrent(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
    dropout: float = 0.0,
    nonlinearity: str = "tanh",
    *,
    device=None,
    dtype=None,
) -> NativeRecurrent:
    """A torch.nn recurrent module with ScratchRecurrent's arguments and forward interface.

    ``cell``: "lstm", "gru", "rnn" (with ``nonlinearity``), "rnn_tanh" or "rnn_relu". The
    extra cells (peephole, LayerNorm LSTM) have no torch.nn module: use the scratch backend.
    """
    check_sizes("native_recurrent", input_size, hidden_size, num_layers, dropout)
    mode = resolve_cell(cell, nonlinearity)
    if mode not in NATIVE:
        raise ValueError(
            f"cell {cell!r} has no torch.nn module; the native backend runs "
            f"{', '.join(NATIVE)} (use backend 'scratch' for the extra cells)"
        )
    kw = dict(
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        # torch.nn applies dropout between layers only and warns when there is none to apply
        dropout=float(dropout) if num_layers > 1 else 0.0,
        device=device,
        dtype=dtype,
    )
    if NATIVE[mode] is NativeRNN:
        kw["nonlinearity"] = mode.removeprefix("rnn_")
    return NATIVE[mode](input_size, hidden_size, **kw)
