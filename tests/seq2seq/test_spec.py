"""Seq2SeqSpec: validated like ModelSpec, saved and restored as a dict."""

import pytest

from rnnlab.errors import InputError
from rnnlab.seq2seq.spec import Seq2SeqSpec


def test_round_trip_through_a_dict():
    spec = Seq2SeqSpec(10, 12, cell="gru", hidden_size=8, bidirectional=True,
                       attention="dot", input_feeding=True)  # fmt: skip
    d = spec.to_dict()
    assert d["kind"] == "seq2seq"
    assert Seq2SeqSpec.from_dict(d) == spec


def test_defaults_follow_the_encoder():
    spec = Seq2SeqSpec(5, 5, hidden_size=4, bidirectional=True, num_layers=2)
    assert spec.memory_width == 8 and spec.decoder_hidden_size == 8
    assert spec.decoder_layers == 2 and spec.embedding_dim == 4 and spec.attention_size == 8
    assert spec.decoder_input_size == 4 + 8  # Bahdanau: [emb; c_t]
    assert Seq2SeqSpec(5, 5, cell="gru").forget_bias is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attention": "luong"}, "attention must be one of"),
        ({"input_feeding": True}, "input_feeding needs Luong"),
        ({"attention": "dot", "decoder_hidden_size": 3}, "dot attention needs"),
        ({"hidden_size": 0}, "hidden_size must be a positive integer"),
        ({"bridge": "mean"}, "bridge must be one of"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"hidden_size": "8"}, "hidden_size must be an integer"),
    ],
)
def test_bad_settings_are_refused_in_one_line(kwargs, message):
    with pytest.raises(InputError, match=message):
        Seq2SeqSpec(5, 5, **kwargs)


def test_unknown_and_missing_settings():
    with pytest.raises(InputError, match="unknown model setting"):
        Seq2SeqSpec.from_dict({"source_vocab": 3, "target_vocab": 3, "heads": 2})
    with pytest.raises(InputError, match="lack target_vocab"):
        Seq2SeqSpec.from_dict({"source_vocab": 3})
