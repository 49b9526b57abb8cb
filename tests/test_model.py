"""ModelSpec: validation, derived shapes and round trips."""

import pytest

from rnnlab.errors import InputError
from rnnlab.model import ModelSpec


def test_round_trip_and_compact_repr():
    spec = ModelSpec(input_size=65, output_size=65, hidden_size=100, cell="gru")
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    assert repr(spec) == "ModelSpec(input_size=65, output_size=65, cell='gru', hidden_size=100)"


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_a_cell_without_a_forget_gate_has_no_forget_bias(cell):
    # The copy task's LSTM default (3.0) reaches every cell of --cell rnn,lstm; only the LSTM
    # has a gate to apply it to, and the others' specs must not claim it.
    spec = ModelSpec(input_size=3, output_size=3, cell=cell, forget_bias=3.0)
    assert spec.forget_bias is None and "forget_bias" not in repr(spec)
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    lstm = ModelSpec(input_size=3, output_size=3, cell="lstm", forget_bias=3.0)
    assert lstm.forget_bias == 3.0 and "forget_bias=3.0" in repr(lstm)


def test_shapes_for_a_bidirectional_two_layer_lstm():
    spec = ModelSpec(input_size=10, output_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    shapes = spec.parameter_shapes()
    assert shapes["rnn.weight_ih_l0"] == (16, 10)
    assert shapes["rnn.weight_ih_l1_reverse"] == (16, 8)
    assert shapes["head.weight"] == (3, 8)
    assert spec.num_parameters() == sum(
        a * (b if len(s) > 1 else 1) for s in shapes.values() for a, b in [(s[0], s[-1])]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cell": "transformer"}, "cell must be one of lstm, gru, rnn, .* got 'transformer'"),
        ({"hidden_size": 0}, "hidden_size must be a positive integer, got 0"),
        ({"dropout": 1.5}, r"dropout must be in \[0, 1\)"),
        ({"tie_weights": True}, "tie_weights needs input_kind 'embedding'"),
        ({"embedding_dim": 8}, "embedding_dim is only meaningful"),
        ({"activation_reg": -1.0}, r"^model activation_reg must be >= 0, got -1.0$"),
        ({"temporal_activation_reg": -0.5}, r"^model temporal_activation_reg must be >= 0"),
    ],
)
def test_invalid_specs_say_what_is_wrong(kwargs, message):
    with pytest.raises(InputError, match=message):
        ModelSpec(input_size=5, output_size=5, **kwargs)


def test_unknown_keys_are_rejected():
    with pytest.raises(InputError, match=r"unknown model setting\(s\) \['hiden_size'\]"):
        ModelSpec.from_dict({"input_size": 3, "output_size": 3, "hiden_size": 4})


@pytest.mark.parametrize("cell", ["peephole_lstm", "layernorm_lstm"])
def test_extra_tensors_are_those_the_cells_declare(cell):
    """The engine-neutral table of extra tensors agrees with the NumPy cells and the model."""
    from rnnlab.numpy.model import Model

    spec = ModelSpec(input_size=3, output_size=2, cell=cell, hidden_size=5, bidirectional=True)
    model = Model(spec)
    assert {k: v.shape for k, v in model.params.items()} == spec.parameter_shapes()
    assert list(model.params) == list(spec.parameter_shapes())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_size": True}, "model hidden_size must be an integer, got True"),
        ({"hidden_size": 1.5}, "model hidden_size must be an integer, got 1.5"),
        ({"num_layers": "2"}, "model num_layers must be an integer, got '2'"),
        ({"num_layers": 0}, "model num_layers must be a positive integer, got 0"),
        ({"bidirectional": "yes"}, "model bidirectional must be true or false, got 'yes'"),
        ({"tie_weights": "false"}, "model tie_weights must be true or false, got 'false'"),
        ({"dropout": float("nan")}, "model dropout must be a finite number, got nan"),
        ({"dropout": True}, "model dropout must be a finite number, got True"),
        ({"forget_bias": float("inf")}, r"forget_bias must be a finite number \(or omitted\)"),
        ({"cell": 3}, "model cell must be a string, got 3"),
        ({"input_kind": "embedding", "embedding_dim": 0}, "embedding_dim must be a positive"),
        ({"input_kind": "embedding", "embedding_dim": 2.0}, r"embedding_dim must be an integer"),
    ],
)
def test_every_field_takes_only_its_type(kwargs, message):
    with pytest.raises(InputError, match=message):
        ModelSpec(input_size=5, output_size=5, **kwargs)


def test_a_stored_spec_with_ints_for_floats_loads_exactly_as_before():
    stored = {**ModelSpec(input_size=3, output_size=3).to_dict(), "dropout": 0, "forget_bias": 3}
    spec = ModelSpec.from_dict(stored)
    assert (
        spec.to_dict() == stored
        and repr(spec) == "ModelSpec(input_size=3, output_size=3, forget_bias=3)"
    )


def test_a_spec_stored_before_ar_and_tar_existed_loads_with_them_off():
    stored = ModelSpec(input_size=3, output_size=3, dropout=0.2).to_dict()
    old = {
        k: v for k, v in stored.items() if k not in ("activation_reg", "temporal_activation_reg")
    }
    spec = ModelSpec.from_dict(old)
    assert spec.activation_reg == spec.temporal_activation_reg == 0.0
    assert not spec.penalises_activations and spec.to_dict() == stored
    assert ModelSpec(input_size=3, output_size=3, activation_reg=1.0).penalises_activations
