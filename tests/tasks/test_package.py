"""The task registry (``rnnlab.tasks``): every task under its own name with a one-line
description, unknown names refused, and the defaults the README's figures were measured with."""

import pytest

from rnnlab.errors import InputError
from rnnlab.tasks import TASKS, build_task


def test_every_task_is_registered_under_its_name_with_a_one_line_description():
    assert list(TASKS) == [
        *("anbn", "anbnan", "copy", "sine", "chars", "words", "bytes"),
        *("marker", "sentiment", "classify"),
        *("reverse", "g2p", "seq2seq"),
    ]
    for name, cls in TASKS.items():
        assert cls.name == name
        assert cls.description and "\n" not in cls.description, name


def test_an_unknown_task_is_refused_naming_the_known_ones():
    with pytest.raises(InputError, match=r"unknown task 'nope'; choose one of anbn, anbnan, "):
        build_task("nope")


# The README's "Tasks and what they show" states these defaults beside its measurements.
README_DEFAULTS = {
    "anbn": ({"n_min": 1, "n_max": 5}, {"hidden": 32, "lr": 0.01}),
    "anbnan": (
        {"n_min": 1, "n_max": 5, "num": 2048},
        {"hidden": 32, "lr": 0.01, "epochs": 20, "schedule": "cosine"},
    ),
    "copy": (
        {"bits": 8, "delay": 10},
        {
            "hidden": 128,
            "lr": 0.002,
            "batch_size": 64,
            "grad_clip": 1.0,
            "steps": 3000,
            "forget_bias": 3.0,
        },
    ),
    "sine": (
        {"window": 25, "noise": 0.05, "num_points": 100, "periods": 2.0},
        {"hidden": 32, "lr": 0.01, "epochs": 200},
    ),
    "chars": ({"seq_len": 25}, {"hidden": 100, "lr": 0.01, "epochs": 5, "batch_size": 32}),
    "words": ({"seq_len": 25, "top_k": 10000}, {"hidden": 100}),
}


@pytest.mark.parametrize("name", README_DEFAULTS)
def test_the_defaults_are_those_the_readme_states(name):
    options, train = README_DEFAULTS[name]
    cls = TASKS[name]
    assert {k: cls.defaults[k] for k in options} == options
    assert {k: cls.train_defaults[k] for k in train} == train


@pytest.mark.parametrize("name", ["anbn", "anbnan"])
def test_the_counting_tasks_draw_every_n_from_1_to_5_by_default(name):
    task = build_task(name)
    ns = {seq.index("b") for seqs in task.splits.values() for seq in seqs}
    assert ns == {1, 2, 3, 4, 5}


def test_the_sine_task_draws_its_fit_and_other_tasks_no_figure_of_their_own():
    assert list(build_task("sine").figures()) == ["sine_fit.png"]
    assert build_task("copy").figures() == build_task("anbn").figures() == {}
    assert list(build_task("marker").figures()) == ["confusion.png"]  # every classifier
