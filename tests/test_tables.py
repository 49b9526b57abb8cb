"""Terminal tables: written to a pipe, a file or a CI log, no cell is cut to fit 80 columns."""

import subprocess
import sys

from rnnlab.cli import main


def test_gradcheck_through_a_pipe_shows_every_name_whole():
    code = "import sys; from rnnlab.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", code, "gradcheck", "--cell", "peephole_lstm", "--cell",
         "layernorm_lstm", "--verbose"],
        capture_output=True, text=True, env={"COLUMNS": "80", "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "…" not in out
    for name in ("peephole_lstm", "layernorm_lstm", "weight_peephole_i_l0", "ln_gates_weight_l1"):
        assert name in out, name


def test_the_tasks_table_keeps_its_descriptions_whole(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and "character language model on a text file" in out
