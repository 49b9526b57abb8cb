"""check_sizes: the size arguments of every recurrent layer, one message for both engines."""

import numpy as np
import pytest

from rnnlab.shapes import check_sizes


def test_good_sizes_pass_python_and_numpy_integers_alike():
    check_sizes("LSTM", 3, 4, 2, 0.0)
    check_sizes("LSTM", np.int64(3), np.int32(4), np.int8(1), 0.5)
    check_sizes("LSTM", 1, 1, 1, 0)  # dropout may be the integer 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 4, 1, 0.0), "LSTM expected input_size to be a positive integer, got 0"),
        ((3, 0, 1, 0.0), "LSTM expected hidden_size to be a positive integer, got 0"),
        ((3, -2, 1, 0.0), "LSTM expected hidden_size to be a positive integer, got -2"),
        ((3, 4, 1.5, 0.0), "LSTM expected num_layers to be a positive integer, got 1.5"),
        ((3, 4, True, 0.0), "LSTM expected num_layers to be a positive integer, got True"),
        ((3, "4", 1, 0.0), "LSTM expected hidden_size to be a positive integer, got '4'"),
        ((3, 4, 1, 1.0), r"LSTM expected dropout in \[0, 1\), got 1.0"),
        ((3, 4, 1, -0.1), r"LSTM expected dropout in \[0, 1\), got -0.1"),
        ((3, 4, 1, "0.5"), r"LSTM expected dropout in \[0, 1\), got '0.5'"),
    ],
)
def test_bad_sizes_raise_naming_the_argument_and_the_value(args, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        check_sizes("LSTM", *args)


def test_both_engines_check_their_sizes_here():
    import rnnlab.numpy.stack

    assert rnnlab.numpy.stack.check_sizes is check_sizes
    torch_layers = pytest.importorskip("rnnlab.torch.layers")
    assert torch_layers.check_sizes is check_sizes
