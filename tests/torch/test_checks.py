"""Both backends answer a bad input, state or lengths with the same message, naming what was
expected and what was received (rnnlab.torch.checks)."""

import pytest

torch = pytest.importorskip("torch")

from rnnlab.torch.layers import ScratchRecurrent  # noqa: E402
from rnnlab.torch.native import native_recurrent  # noqa: E402

BACKENDS = {"scratch": ScratchRecurrent, "native": native_recurrent}


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_inputs_states_and_lengths_name_what_was_expected(backend):
    module = BACKENDS[backend]("lstm", 3, 4, num_layers=2)
    x = torch.zeros(5, 2, 3)
    h = torch.zeros(2, 2, 4)
    cases = [
        (lambda: module(torch.zeros(5, 2, 4)), ValueError, r"width 3 \(input_size\)"),
        (lambda: module(torch.zeros(5, 3)), ValueError, r"3-D input \(T, B, I\)"),
        (lambda: module(x.double()), TypeError, "got input of dtype torch.float64"),
        (lambda: module(x.numpy()), TypeError, "torch.Tensor, got ndarray"),
        (lambda: module(x, h), TypeError, r"state as a tuple \(h, c\)"),
        (lambda: module(x, (h, torch.zeros(1, 2, 4))), ValueError, r"c0 of shape \(2, 2, 4\)"),
        (lambda: module(x, lengths=[6, 2]), ValueError, r"lengths in 1..5"),
        (lambda: module(x, lengths=[0, 2]), ValueError, r"lengths in 1..5"),
        (lambda: module(x, lengths=[1.0, 2.0]), ValueError, "lengths as 2 integers"),
        (lambda: module(x, lengths=[1, 2, 3]), ValueError, "lengths as 2 integers"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_one_tensor_state_is_checked_by_its_registry_name(backend):
    module = BACKENDS[backend]("gru", 3, 4, bidirectional=True)
    x = torch.zeros(5, 2, 3)
    with pytest.raises(ValueError, match=r"expected h0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        module(x, torch.zeros(1, 2, 4))
    with pytest.raises(TypeError, match=r"has dtype torch.float32, got h0 of dtype torch.float64"):
        module(x, torch.zeros(2, 2, 4, dtype=torch.float64))
    assert module.state_names == ("h",) and module.state_size == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_first_input_is_described_as_batch_first(backend):
    module = BACKENDS[backend]("rnn", 3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"3-D input \(B, T, I\), got shape \(5, 3\)"):
        module(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"non-empty input \(B, T, I\), got \(0, 5, 3\)"):
        module(torch.zeros(0, 5, 3))
