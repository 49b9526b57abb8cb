"""Gradient-flow analysis: norms per step, their summary and warnings — and the classic
result it exists to show: an untrained RNN's gradient vanishes over a copy-task delay far
faster than an LSTM's."""

import math

import numpy as np
import pytest

from rnnlab.diagnostics.gradient_flow import flow_summary, flow_warnings, norms_over_time
from rnnlab.numpy.model import Model
from rnnlab.numpy.probe import probe_numpy
from rnnlab.tasks import build_task
from rnnlab.train.session import make_spec


def test_norms_are_the_l2_norm_over_batch_and_units_per_step_and_layer():
    grads = np.random.default_rng(0).normal(size=(5, 2, 3, 4))  # (T, L, B, H)
    norms = norms_over_time(grads)
    assert norms.shape == (5, 2)
    for t in range(5):
        for l in range(2):
            assert norms[t, l] == pytest.approx(math.sqrt((grads[t, l] ** 2).sum()))
    # not the norm of the batch-summed gradient: opposite sequences do not cancel
    opposite = np.stack([np.ones((1, 1, 4)), -np.ones((1, 1, 4))], axis=2)  # (1, 1, 2, 4)
    assert norms_over_time(opposite)[0, 0] == pytest.approx(math.sqrt(8))


def test_norms_reject_a_wrong_shape():
    with pytest.raises(ValueError, match=r"\(T, L, B, H\)"):
        norms_over_time(np.zeros((5, 3, 4)))


def test_summary_of_a_geometric_decay_recovers_its_rate():
    T = 20
    t = np.arange(1, T + 1)
    norms = np.stack([2.0 * 0.5 ** (T - t), 3.0 * 1.1 ** (T - t)], axis=1)  # (T, 2)
    summary = flow_summary(norms)
    vanishing, exploding = summary[0], summary[1]
    assert vanishing["decay_per_step"] == pytest.approx(0.5)
    assert vanishing["ratio"] == pytest.approx(0.5 ** (T - 1))
    assert (vanishing["first"], vanishing["last"]) == (pytest.approx(2.0 * 0.5 ** (T - 1)), 2.0)
    assert (vanishing["min_t"], vanishing["max_t"]) == (1, T)
    assert vanishing["min"] == pytest.approx(2.0 * 0.5 ** (T - 1)) and vanishing["max"] == 2.0
    assert exploding["decay_per_step"] == pytest.approx(1.1)
    assert (exploding["min_t"], exploding["max_t"]) == (T, 1)


def test_summary_edge_cases_are_inf_and_nan_not_errors():
    summary = flow_summary(np.array([1.0, 0.0]))  # one layer as a (T,) array
    assert summary[0]["ratio"] == math.inf
    assert math.isnan(summary[0]["decay_per_step"])  # one positive norm: no rate to fit
    assert math.isnan(flow_summary(np.zeros(3))[0]["ratio"])
    nan_step = flow_summary(np.array([np.nan, 1.0, 0.5]))[0]
    assert nan_step["max"] == 1.0 and nan_step["max_t"] == 2


def test_warnings_name_the_layer_the_threshold_and_the_steps():
    norms = np.ones((10, 2))
    norms[:4, 0] = 1e-8  # vanishing at the first four steps
    norms[[2, 3, 7], 1] = 5e3  # exploding at three scattered steps
    norms[9, 1] = np.nan
    assert flow_warnings(norms) == [
        "layer 0: ‖∂L/∂h_t‖ falls below 1e-06 at t ≤ 4 (vanishing)",
        "layer 1: ‖∂L/∂h_t‖ is NaN or infinite at t ≥ 10",
        "layer 1: ‖∂L/∂h_t‖ rises above 1000 at t = 3–4, 8 (exploding)",
    ]
    assert flow_warnings(norms, low=1e-9, high=1e4) == [  # both now within the thresholds
        "layer 1: ‖∂L/∂h_t‖ is NaN or infinite at t ≥ 10",
    ]
    assert flow_warnings(np.full(5, 0.1)) == []
    with pytest.raises(ValueError, match="low < high"):
        flow_warnings(norms, low=1.0, high=0.5)


def fresh_ratio(cell: str, batch, task, seed: int) -> float:
    """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ of an untrained model with torch's default initialisation."""
    spec = make_spec(task, {"cell": cell, "hidden_size": 32, "init": "torch", "dtype": "float64"})
    assert spec.forget_bias == 1.0 or cell != "lstm"
    result = probe_numpy(spec, Model(spec, seed=seed).state_dict(), batch)
    return flow_summary(norms_over_time(result.hidden_grads))[0]["ratio"]


@pytest.mark.parametrize("seed", [0, 1])
def test_an_untrained_rnn_loses_its_gradient_over_a_delay_far_faster_than_an_lstm(seed):
    """The classic picture (seed 004): over a copy-task delay of 30 steps the tanh RNN's
    ‖∂L/∂h_t‖ shrinks by orders of magnitude more than the LSTM's (forget bias 1)."""
    task = build_task("copy", {"bits": 4, "delay": 30}, seed=seed)
    batch = task.batch("val", 0, 8)
    rnn, lstm = fresh_ratio("rnn", batch, task, seed), fresh_ratio("lstm", batch, task, seed)
    assert rnn < lstm / 100, (rnn, lstm)
    assert lstm < 1  # the LSTM's gradient shrinks too, only far more slowly
