"""Gate statistics (mean, spread, saturation with each activation's thresholds) and cell
traces, on arrays with known answers and on a probed model."""

import numpy as np
import pytest

from rnnlab.diagnostics.gates import cell_trace, gate_statistics, split_gates
from rnnlab.model import ModelSpec
from rnnlab.numpy.model import Model
from rnnlab.numpy.probe import probe_numpy
from rnnlab.tasks import build_task


def lstm_gates(i, f, g, o):
    """(T, B, 4H) from per-gate (T, B, H) arrays, in torch's order i, f, g, o."""
    return np.concatenate([i, f, g, o], axis=-1)


def test_statistics_per_gate_with_sigmoid_and_tanh_thresholds():
    shape = (2, 1, 4)  # T = 2, B = 1, H = 4: eight values per gate
    i = np.array([0.01, 0.02, 0.5, 0.5, 0.5, 0.5, 0.5, 0.97]).reshape(shape)
    f = np.full(shape, 0.96)
    # g is tanh: 0.03 is *not* saturated for it, -0.97 is; 0.96 is high for both kinds
    g = np.array([0.03, -0.97, -0.97, 0.0, 0.0, 0.0, 0.0, 0.96]).reshape(shape)
    o = np.linspace(0.1, 0.9, 8).reshape(shape)
    stats = gate_statistics(lstm_gates(i, f, g, o), "lstm")
    assert list(stats) == ["i", "f", "g", "o"]
    assert stats["i"]["saturated_low"] == 2 / 8 and stats["i"]["saturated_high"] == 1 / 8
    assert stats["i"]["mean"] == pytest.approx(i.mean()) and stats["i"]["std"] == pytest.approx(
        i.std()
    )
    assert stats["f"] == pytest.approx(
        {"mean": 0.96, "std": 0.0, "saturated_low": 0.0, "saturated_high": 1.0}
    )
    assert stats["g"]["saturated_low"] == 2 / 8 and stats["g"]["saturated_high"] == 1 / 8
    assert stats["o"]["saturated_low"] == 0.0 and stats["o"]["saturated_high"] == 0.0


def test_gru_gates_are_r_z_n_and_n_uses_the_tanh_thresholds():
    r = np.full((3, 2, 2), 0.02)  # saturated low for a sigmoid
    z = np.full((3, 2, 2), 0.5)
    n = np.full((3, 2, 2), 0.02)  # not saturated for tanh
    stats = gate_statistics(np.concatenate([r, z, n], axis=-1), "gru")
    assert list(stats) == ["r", "z", "n"]
    assert stats["r"]["saturated_low"] == 1.0 and stats["n"]["saturated_low"] == 0.0


def test_padding_steps_can_be_left_out():
    gates = np.full((3, 2, 4), 0.5)
    gates[2, 1] = 0.99  # the padding step of sequence 1
    valid = np.array([[True, True], [True, True], [True, False]])
    stats = gate_statistics(gates, "lstm", valid)
    assert all(s["saturated_high"] == 0.0 for s in stats.values())
    assert gate_statistics(gates, "lstm")["i"]["saturated_high"] == pytest.approx(1 / 6)


def test_a_vanilla_rnn_has_no_gates_and_bad_input_is_refused():
    assert gate_statistics(np.zeros((2, 1, 3)), "rnn") == {}
    with pytest.raises(ValueError, match="unknown cell"):
        gate_statistics(np.zeros((2, 1, 4)), "transformer")
    with pytest.raises(ValueError, match=r"\(T, B, 4·H\)"):
        gate_statistics(np.zeros((2, 1, 6)), "lstm")
    with pytest.raises(ValueError, match="valid of shape"):
        gate_statistics(np.zeros((2, 1, 4)), "lstm", np.ones((2, 2), bool))


def test_split_gates_follows_torch_order():
    gates = np.arange(12.0).reshape(1, 1, 12)  # H = 3
    parts = split_gates(gates, "lstm")
    assert list(parts) == ["i", "f", "g", "o"]
    np.testing.assert_array_equal(parts["g"][0, 0], [6.0, 7.0, 8.0])


def test_cell_trace_is_one_sequence_over_time():
    cells = np.random.default_rng(0).normal(size=(5, 3, 2))
    np.testing.assert_array_equal(cell_trace(cells, b=2), cells[:, 2, :])
    with pytest.raises(ValueError, match="out of range"):
        cell_trace(cells, b=3)


def test_a_large_forget_bias_shows_as_a_saturated_forget_gate_in_a_probed_lstm():
    spec = ModelSpec(4, 2, cell="lstm", hidden_size=8, init="torch", dtype="float64")
    weights = Model(spec, seed=0).state_dict()
    weights["rnn.bias_ih_l0"][8:16] = 10.0  # the forget block: σ(≈10) ≈ 1
    batch = build_task("copy", {"bits": 3, "delay": 5}).batch("val", 0, 4)
    result = probe_numpy(spec, weights, batch)
    stats = gate_statistics(result.gates[0], "lstm", result.valid)
    assert stats["f"]["saturated_high"] == 1.0
    assert stats["i"]["saturated_high"] < 0.5 and stats["f"]["mean"] > 0.99
    trace = cell_trace(result.cells[0])  # (T, H): with f ≈ 1 the cell accumulates
    assert trace.shape == (batch.mask.shape[0], 8)
    i, _, g, _ = np.split(result.gates[0][:, 0], 4, axis=-1)  # sequence 0, each (T, H)
    np.testing.assert_allclose(
        np.diff(trace, axis=0), (i * g)[1:], atol=1e-3
    )  # c_t ≈ c_{t-1} + i g
