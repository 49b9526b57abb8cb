"""TrainConfig: validation, round trip, compact repr; flags and files resolve by one name."""

import pytest

from rnnlab.errors import InputError
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
        ({"optimizer": "rmsprop"}, "--optimizer must be one of adam, adamw, sgd"),
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
