"""`rnnlab study gradflow`: fresh RNN, GRU and LSTM on one copy batch of T steps, one figure;
the vanilla RNN's gradient reaching step 1 is orders of magnitude below the LSTM's."""

import re

import pytest

from rnnlab.cli import main


def test_gradflow_draws_the_three_cells_and_the_rnn_vanishes_first(tmp_path, capsys):
    assert (
        main(["study", "gradflow", "--steps", "60", "--hidden", "8", "--out", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    assert "T = 60" in out
    ratio = {
        m[0]: float(m[1]) for m in re.findall(r"^(rnn|gru|lstm)\s+\S+\s+\S+\s+(\S+)", out, re.M)
    }
    assert set(ratio) == {"rnn", "gru", "lstm"}
    assert ratio["rnn"] < 1e-3 * ratio["lstm"]
    pytest.importorskip("matplotlib")
    assert (tmp_path / "gradflow.png").stat().st_size > 1000


def test_too_short_a_sequence_is_a_usage_error(capsys):
    assert main(["study", "gradflow", "--steps", "5"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
