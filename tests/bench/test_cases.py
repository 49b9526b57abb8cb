"""What ``rnnlab bench`` times: the named shapes, ``--shape`` parsing and the FLOP count."""

import pytest

from rnnlab.bench.cases import NAMED_SHAPES, Shape, parse_shape, training_flops
from rnnlab.errors import InputError


def test_named_shapes_are_those_of_the_issue():
    assert NAMED_SHAPES["tiny"] == Shape("tiny", 1, 25, 65, 100, onehot=True)
    assert NAMED_SHAPES["A"] == Shape("A", 32, 100, 64, 128)
    assert NAMED_SHAPES["B"] == Shape("B", 64, 100, 128, 256)


def test_parse_shape_reads_names_and_dense_or_onehot_dimensions():
    assert parse_shape("a") is NAMED_SHAPES["A"] and parse_shape(" Tiny ") is NAMED_SHAPES["tiny"]
    assert parse_shape("4, 10, 8, 16") == Shape("4,10,8,16", 4, 10, 8, 16, onehot=False)
    assert parse_shape("4,10,8,16,dense") == Shape("4,10,8,16", 4, 10, 8, 16, onehot=False)
    assert parse_shape("4,10,8,16,onehot") == Shape("4,10,8,16,onehot", 4, 10, 8, 16, True)


@pytest.mark.parametrize("text", ["1,2,3", "1,2,3,4,5", "1,2,0,4", "a,b,c,d", "-1,2,3,4", "C"])
def test_parse_shape_refuses_what_is_not_a_shape(text):
    with pytest.raises(InputError, match="B,T,I,H"):
        parse_shape(text)


def test_training_flops_count_three_times_the_forward_products():
    # tiny LSTM: 2·T·B·4H·(I + H) = 2·25·1·400·165 and head 2·T·B·H·O = 2·25·1·100·65
    assert training_flops("lstm", NAMED_SHAPES["tiny"]) == 3 * (3_300_000 + 325_000)
    shape = Shape("s", 2, 3, 5, 7)
    head = 2 * 3 * 2 * 7 * 5
    for cell, gates in (("lstm", 4), ("gru", 3), ("rnn", 1)):
        assert training_flops(cell, shape) == 3 * (2 * 3 * 2 * gates * 7 * (5 + 7) + head)
