"""TrainConfig: validation, round trip, compact repr; flags and files resolve by one name."""

import json
import math
from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnlab.errors import InputError
from rnnlab.settings import expected_type
from rnnlab.train.config import TrainConfig
from rnnlab.train.options import build_from_settings, flatten_config


def test_round_trip_and_repr_shows_only_changes():
    config = TrainConfig(lr=0.01, steps=100)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert repr(config) == "TrainConfig(steps=100, lr=0.01)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "--batch-size must be a positive integer, got 0"),
        ({"lr": -1.0}, "--lr must be positive"),
        ({"optimizer": "rmsprop"}, "--optimizer must be one of sgd, adam, adamw"),
        ({"schedule": "step"}, "--schedule must be one of"),
        ({"grad_clip": 0.0}, "--grad-clip must be positive"),
    ],
)
def test_bad_values_name_the_flag(kwargs, message):
    with pytest.raises(InputError, match=message):
        TrainConfig(**kwargs)


def test_tables_flatten_and_flags_win_over_task_defaults():
    flat = flatten_config({"model": {"hidden": 7}, "train": {"batch-size": 3}, "seed": 5})
    assert flat == {"hidden": 7, "batch_size": 3, "seed": 5}
    task, spec, config = build_from_settings("anbn", {**flat, "cell": "gru"})
    assert spec.hidden_size == 7 and spec.cell == "gru" and spec.input_size == 5
    assert config.batch_size == 3 and config.seed == 5
    assert config.lr == task.train_defaults["lr"]  # the task's default where nobody said


def test_task_options_must_belong_to_the_task():
    with pytest.raises(InputError, match="--bits does not apply to task 'anbn'"):
        build_from_settings("anbn", {"bits": 4})
    with pytest.raises(InputError, match="needs --input-kind dense"):
        build_from_settings("sine", {"input_kind": "onehot"})


# ---------------------------------------------------------------- every field's type


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": "x"}, "--lr must be a finite number, got 'x'"),
        ({"lr": math.inf}, "--lr must be a finite number, got inf"),
        ({"lr": True}, "--lr must be a finite number, got True"),
        ({"weight_decay": math.nan}, "--weight-decay must be a finite number, got nan"),
        ({"grad_clip": math.nan}, r"--grad-clip must be a finite number \(or omitted\), got nan"),
        ({"max_time": math.inf}, r"--max-time must be a finite number \(or omitted\), got inf"),
        ({"min_lr": -math.inf}, "--min-lr must be a finite number, got -inf"),
        ({"seed": 1.5}, "--seed must be an integer, got 1.5"),
        ({"seed": -1}, "--seed must be a non-negative integer, got -1"),
        ({"steps": 10.0}, r"--steps must be an integer \(or omitted\), got 10.0"),
        ({"batch_size": "32"}, "--batch-size must be an integer, got '32'"),
        ({"warmup_steps": None}, "--warmup-steps must be an integer, got None"),
        ({"compile": "true"}, "--compile must be true or false, got 'true'"),
        ({"compile": 1}, "--compile must be true or false, got 1"),
        ({"device": 0}, "--device must be a string, got 0"),
    ],
)
def test_a_value_of_the_wrong_type_or_not_finite_names_the_flag(kwargs, message):
    with pytest.raises(InputError, match=f"^{message}$"):
        TrainConfig(**kwargs)


FLOATS = [f.name for f in fields(TrainConfig) if f.type in (float, float | None)]


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e400])
def test_no_float_setting_takes_a_non_finite_value(name, value):
    with pytest.raises(InputError, match=f"^--{name.replace('_', '-')} must be a finite number"):
        TrainConfig(**{name: value})


def test_a_stored_config_with_ints_for_floats_loads_exactly_as_before():
    """config.json of older runs: JSON writes 1.0 as 1 if a user wrote lr = 1."""
    stored = {**TrainConfig().to_dict(), "lr": 1, "grad_clip": 5, "momentum": 0, "max_time": 60}
    config = TrainConfig.from_dict(json.loads(json.dumps(stored)))
    assert config.to_dict() == stored
    assert repr(config) == "TrainConfig(max_time=60, lr=1)"  # 5 == 5.0, 0 == 0.0: defaults


# ---------------------------------------------------------------- the check behind them all


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3)))
def test_expected_type_accepts_exactly_the_values_of_the_annotation(value):
    is_bool = isinstance(value, bool)
    is_int = isinstance(value, int) and not is_bool
    is_finite = is_int or (isinstance(value, float) and math.isfinite(value))
    assert (expected_type(value, bool) is None) == is_bool
    assert (expected_type(value, int) is None) == is_int
    assert (expected_type(value, float) is None) == is_finite
    assert (expected_type(value, str) is None) == isinstance(value, str)
    assert (expected_type(value, int | None) is None) == (is_int or value is None)


def test_expected_type_says_what_was_expected():
    assert expected_type("x", float) == "a finite number"
    assert expected_type(1.5, int | None) == "an integer (or omitted)"
    assert expected_type("yes", bool) == "true or false"
    assert expected_type(10**400, float) is None  # an int too large for a float is finite
