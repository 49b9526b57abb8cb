"""`rnnlab gates`: the coloured text is the probe's activation of the unit, and bad input is
one line with exit 2."""

import html
import json
import re

import numpy as np
import pytest

from rnnlab.batch import Batch
from rnnlab.cli import main
from rnnlab.diagnostics.gates import split_gates
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import load_run, start_run

TEXT = 'say "hello" (twice) and "bye" (once)\n' * 30
SMALL = {"hidden": 8, "steps": 20, "eval_every": 10, "save_every": 10, "seq_len": 16}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gates")
    (root / "text.txt").write_text(TEXT)
    start_run(
        *build_from_settings("chars", {**SMALL, "data": str(root / "text.txt")}), root / "run"
    )
    return root


def test_the_coloured_text_is_the_forget_gate_of_the_unit(run, capsys):
    prime = 'say "hi" (now)\n'
    out = run / "out"
    assert main(["gates", str(run / "run"), "--prime", prime, "--unit", "3", "--out", str(out),
                 "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["gate"] == "f" and report["unit"] == 3 and report["tokens"] == len(prime)
    assert set(report["strongest"]) == {"in_quotes", "in_brackets", "line_position",
                                        "after_newline", "in_word"}  # fmt: skip
    page = (out / "gates.html").read_text()
    shown = [float(v) for v in re.findall(r'<span title="([-0-9.]+)"', page)]
    loaded = load_run(run / "run", need_data=False)
    ids = loaded.task.vocab.encode(prime)
    mask = np.ones((len(ids), 1), dtype=bool)
    probe = loaded.engine.probe(Batch(ids[:, None], np.roll(ids, -1)[:, None], mask))
    forget = split_gates(probe.gates[0], "lstm")["f"][:, 0, 3]  # (T,)
    np.testing.assert_allclose(shown, forget, atol=5.1e-4)
    assert html.escape('"') in page and (out / "gates.png").stat().st_size > 1000


def test_the_text_may_come_from_a_file(run, capsys):
    assert main(["gates", str(run / "run"), "--text", str(run / "text.txt"), "--max-tokens", "80",
                 "--out", str(run / "out2")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "where the f gates close most" in printed and "in_quotes" in printed


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "--text FILE or --prime TEXT"),
        (["--prime", "a", "--text", "x.txt"], "--text FILE or --prime TEXT"),
        (["--text", "/nonexistent/t.txt"], "cannot read --text"),
        (["--prime", "say", "--gate", "q"], "--gate q"),
        (["--prime", "say", "--unit", "99"], "--unit 99"),
        (["--prime", "say", "--layer", "4"], "--layer 4"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, capsys, args, message):
    assert main(["gates", str(run / "run"), "--out", str(run / "bad"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: ") and message in err and err.count("\n") == 1
