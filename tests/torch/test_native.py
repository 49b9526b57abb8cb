"""The native backend is torch.nn itself behind ScratchRecurrent's interface: state_dicts move
both ways strictly, and ``lengths`` means what it means for the scratch layer. (Values and
gradients against NumPy: tests/torch/test_layers.py, which runs both backends.)"""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.torch.layers import ScratchRecurrent  # noqa: E402
from rnnlab.torch.native import NativeRecurrent, native_recurrent  # noqa: E402

TORCH_CLASS = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}


@pytest.mark.parametrize("cell", list(TORCH_CLASS))
def test_native_and_scratch_load_each_others_state_dict_strictly(cell):
    kw = dict(num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64)
    native = native_recurrent(cell, 3, 4, **kw)
    scratch = ScratchRecurrent(cell, 3, 4, **kw)
    assert isinstance(native, getattr(torch.nn, TORCH_CLASS[cell]))
    assert isinstance(native, NativeRecurrent)
    x = torch.randn(2, 5, 3, dtype=torch.float64)

    scratch.load_state_dict(native.state_dict(), strict=True)
    torch.testing.assert_close(scratch(x)[0], native(x)[0], rtol=0, atol=1e-13)
    torch.manual_seed(7)
    other = native_recurrent(cell, 3, 4, **kw)  # new weights, then the other direction
    native.load_state_dict(ScratchRecurrent(cell, 3, 4, **kw).state_dict(), strict=True)
    scratch.load_state_dict(other.state_dict(), strict=True)
    torch.testing.assert_close(scratch(x)[0], other(x)[0], rtol=0, atol=1e-13)


def test_native_rnn_keeps_its_nonlinearity():
    assert native_recurrent("rnn", 2, 3, nonlinearity="relu").nonlinearity == "relu"
    assert native_recurrent("rnn_relu", 2, 3).mode == "RNN_RELU"
    assert native_recurrent("rnn", 2, 3).mode == "RNN_TANH"


def test_lengths_may_be_a_list_an_array_or_a_tensor_and_padding_outputs_zero():
    torch.manual_seed(0)
    native = native_recurrent("gru", 3, 4, bidirectional=True, dtype=torch.float64)
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    y, h = native(x, lengths=[6, 2, 4])
    for lengths in (np.array([6, 2, 4]), torch.tensor([6, 2, 4])):
        y2, h2 = native(x, lengths=lengths)
        torch.testing.assert_close(y2, y, rtol=0, atol=0)
        torch.testing.assert_close(h2, h, rtol=0, atol=0)
    assert torch.all(y[2:, 1] == 0) and torch.all(y[4:, 2] == 0)
    alone, h_alone = native(x[:2, 1:2])  # sequence 1 on its own
    torch.testing.assert_close(y[:2, 1:2], alone, rtol=0, atol=1e-14)
    torch.testing.assert_close(h[:, 1:2], h_alone, rtol=0, atol=1e-14)


def test_one_layer_with_dropout_builds_without_torch_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        native = native_recurrent("lstm", 3, 4, num_layers=1, dropout=0.3)
    assert native.dropout == 0.0  # nothing between layers to drop
    assert native_recurrent("lstm", 3, 4, num_layers=2, dropout=0.3).dropout == 0.3


def test_extra_cells_have_no_native_module():
    with pytest.raises(ValueError, match=r"'peephole_lstm' has no torch\.nn module.*scratch"):
        native_recurrent("peephole_lstm", 3, 4)
