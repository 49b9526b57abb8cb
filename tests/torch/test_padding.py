"""Padded batches without packing: where the padding is, and time reversal per sequence."""

import pytest

torch = pytest.importorskip("torch")

from rnnlab.torch.padding import padding, reverse_time  # noqa: E402


def test_no_padding_when_every_sequence_is_full_or_no_lengths_are_given():
    assert padding(None, 4, "cpu") is None
    assert padding(torch.tensor([4, 4]), 4, "cpu") is None


def test_padding_marks_the_real_steps_and_each_sequences_last_one():
    pad = padding(torch.tensor([3, 1, 2]), 3, "cpu")
    real = [[True, True, True], [True, False, True], [True, False, False]]  # (T, B)
    assert pad.real[:, :, 0].tolist() == real
    assert pad.last.tolist() == [2, 0, 1]
    assert pad.first_padded == 1


def test_reverse_time_reverses_each_sequence_within_its_length_and_leaves_padding_put():
    a = torch.arange(4.0)[:, None, None].expand(4, 3, 1) + 10 * torch.arange(3.0)[:, None]
    pad = padding(torch.tensor([4, 2, 1]), 4, "cpu")
    got = reverse_time(a, pad)[:, :, 0]  # (T, B)
    assert got[:, 0].tolist() == [3.0, 2.0, 1.0, 0.0]  # full: plain reversal
    assert got[:, 1].tolist() == [11.0, 10.0, 12.0, 13.0]  # length 2: padding stays put
    assert got[:, 2].tolist() == [20.0, 21.0, 22.0, 23.0]  # length 1: nothing moves
    torch.testing.assert_close(reverse_time(reverse_time(a, pad), pad), a, rtol=0, atol=0)
    torch.testing.assert_close(reverse_time(a, None), a.flip(0), rtol=0, atol=0)
