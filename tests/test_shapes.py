"""check_sizes, check_input_shape and check_state_parts: the size arguments, the input's shape
and the initial state of every recurrent layer, one message for both engines."""

import numpy as np
import pytest

from rnnlab.shapes import check_input_shape, check_sizes, check_state_parts


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
    assert rnnlab.numpy.stack.check_state_parts is check_state_parts
    assert rnnlab.numpy.stack.check_input_shape is check_input_shape
    torch_layers = pytest.importorskip("rnnlab.torch.layers")
    assert torch_layers.check_sizes is check_sizes
    torch_checks = pytest.importorskip("rnnlab.torch.checks")
    assert torch_checks.check_state_parts is check_state_parts
    assert torch_checks.check_input_shape is check_input_shape


def test_good_input_shapes_pass():
    check_input_shape("GRU", (5, 2, 3), 3, batch_first=False)
    check_input_shape("GRU", [2, 5, 3], 3, batch_first=True)  # any sequence of ints


@pytest.mark.parametrize(
    ("shape", "batch_first", "message"),
    [
        ((5, 3), False, r"GRU expected 3-D input \(T, B, I\), got shape \(5, 3\); "
         "a single sequence needs a batch axis of size 1"),
        ((5, 2, 4), False, r"GRU expected input of width 3 \(input_size\), got \(5, 2, 4\)"),
        ((0, 2, 3), False, r"GRU expected a non-empty input \(T, B, I\), got \(0, 2, 3\)"),
        ((2, 0, 3), True, r"GRU expected a non-empty input \(B, T, I\), got \(2, 0, 3\)"),
    ],
)  # fmt: skip
def test_bad_input_shapes_raise_naming_the_layout_and_the_shape(shape, batch_first, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        check_input_shape("GRU", shape, 3, batch_first)


SHAPE = (2, 3, 4)  # (L·D, B, H)


def test_good_states_come_back_as_tuples_of_their_parts():
    h, c = np.zeros(SHAPE), np.ones(SHAPE)
    parts = check_state_parts("LSTM", (h, c), ("h", "c"), SHAPE, np.ndarray, np.float64)
    assert parts[0] is h and parts[1] is c
    assert check_state_parts("LSTM", [h, c], ("h", "c"), SHAPE, np.ndarray, h.dtype) == (h, c)
    (only,) = check_state_parts("GRU", h, ("h",), SHAPE, np.ndarray, np.float64)
    assert only is h


@pytest.mark.parametrize(
    ("state", "names", "error", "message"),
    [
        (np.zeros(SHAPE), ("h", "c"), TypeError,
         r"LSTM expected state as a tuple \(h, c\), got ndarray"),
        ((np.zeros(SHAPE),), ("h", "c"), TypeError,
         r"LSTM expected state as a tuple \(h, c\), got tuple"),
        ((np.zeros(SHAPE), np.zeros((1, 3, 4))), ("h", "c"), ValueError,
         r"LSTM expected c0 of shape \(2, 3, 4\), got \(1, 3, 4\)"),
        ([[0.0]], ("h",), ValueError, r"LSTM expected h0 of shape \(2, 3, 4\), got list"),
        (np.zeros(SHAPE, np.float32), ("h",), TypeError,
         "LSTM has dtype float64, got h0 of dtype float32"),
    ],
)  # fmt: skip
def test_bad_states_raise_naming_the_part_the_expected_and_the_received(
    state, names, error, message
):
    with pytest.raises(error, match=f"^{message}$"):
        check_state_parts("LSTM", state, names, SHAPE, np.ndarray, np.dtype(np.float64))
