"""`rnnlab study copy`: every combination trained and scored, resumable after a signal with
the same numbers as a study never interrupted, and bad input refused in one line."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rnnlab.cli import main
from rnnlab.study.record import read_study

TINY = ["--train-flags", "--hidden 8 --steps 200 --eval-every 100 --log-every 20"]


def study_args(out, *extra):
    return ["study", "copy", "--delays", "1,2", "--cells", "rnn,lstm", "--seeds", "1",
            *TINY, "--out", str(out), *extra]  # fmt: skip


def test_a_study_trains_scores_and_tables_every_combination(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(study_args(out)) == 0
    printed = capsys.readouterr().out
    study = read_study(out)
    assert [r["run"] for r in study["runs"]] == ["d1-rnn-s0", "d1-lstm-s0", "d2-rnn-s0",
                                                 "d2-lstm-s0"]  # fmt: skip
    for run in study["runs"]:
        assert run["status"] == "done"
        assert main(["evaluate", str(out / run["run"]), "--split", "test", "--best", "--json"]) == 0
        metrics = json.loads(capsys.readouterr().out)
        assert run["recall"] == metrics["recall_accuracy"]
        assert run["sequence_accuracy"] == metrics["sequence_accuracy"]
        log = (out / f"{run['run']}.log").read_text()
        assert log.startswith(f"$ rnnlab train copy --delay {run['delay']} --cell {run['cell']}")
        assert "--stop-when-solved" in log.splitlines()[0]
    assert len(study["table"]) == 4 and all(row["n"] == 1 for row in study["table"])
    assert "test recall, mean ± std over seeds" in printed
    assert printed.count(" ± ") >= 4
    if pytest.importorskip("matplotlib"):
        assert (out / "recall_vs_delay.png").stat().st_size > 1000

    before = {r["run"]: (out / r["run"] / "metrics.jsonl").read_bytes() for r in study["runs"]}
    assert main(study_args(out)) == 0
    assert "resuming: 4 of 4 runs already done" in capsys.readouterr().out
    assert read_study(out) == study
    assert before == {r: (out / r / "metrics.jsonl").read_bytes() for r in before}


def test_an_interrupted_study_resumes_to_the_numbers_of_one_never_stopped(tmp_path):
    """SIGINT to the study reaches its run, which checkpoints; the same command resumes it
    (bitwise, as any run), so the recorded results equal an uninterrupted study's."""
    flags = ["--train-flags", "--hidden 8 --steps 1500 --eval-every 500 --log-every 20"]
    args = ["study", "copy", "--delays", "1", "--cells", "lstm", "--seeds", "1", *flags]
    command = [sys.executable, "-m", "rnnlab", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    subprocess.run([*command, "--out", str(whole)], check=True, capture_output=True, env=env)

    study = subprocess.Popen([*command, "--out", str(stopped)], stderr=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, text=True, env=env)  # fmt: skip
    log = stopped / "d1-lstm-s0.log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "step    100" not in (
        log.read_text() if log.exists() else ""
    ):
        time.sleep(0.05)
    study.send_signal(signal.SIGINT)
    _, err = study.communicate(timeout=120)
    assert study.returncode == 130, err
    assert err.count("\n") == 1 and "study stopped by SIGINT" in err and "resumes" in err
    record = read_study(stopped)
    assert record["runs"][0]["status"] == "pending"
    state = json.loads((stopped / "d1-lstm-s0" / "state.json").read_text())
    assert 0 < state["step"] < 1500

    subprocess.run([*command, "--out", str(stopped)], check=True, capture_output=True, env=env)
    resumed, uninterrupted = read_study(stopped)["runs"][0], read_study(whole)["runs"][0]
    for key in ("status", "recall", "sequence_accuracy", "steps"):
        assert resumed[key] == uninterrupted[key]
    model = "d1-lstm-s0/model.safetensors"
    assert (stopped / model).read_bytes() == (whole / model).read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--delays", "10,x"], "--delays must be whole numbers"),
     (["--delays", "10,10"], "--delays must be distinct"),
     (["--cells", "rnn,cnn"], "unknown cell 'cnn'"),
     (["--cells", "rnn,rnn"], "lists a cell twice"),
     (["--train-flags", "--delay 5"], "--train-flags may not set --delay"),
     (["--train-flags", "--out=/tmp/x"], "--train-flags may not set --out"),
     (["--train-flags", "'unclosed"], "--train-flags cannot be read")],
)  # fmt: skip
def test_bad_study_flags_are_one_line_and_exit_2(tmp_path, capsys, extra, message):
    args = ["study", "copy", "--out", str(tmp_path / "s"), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_resuming_with_other_settings_is_refused_and_changes_nothing(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(study_args(out)) == 0
    saved = (out / "study.json").read_bytes()
    capsys.readouterr()
    assert main(["study", "copy", "--delays", "1,2", "--cells", "rnn,lstm", "--seeds", "2",
                 *TINY, "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "was started with --seeds 0" in err and err.count("\n") == 1
    assert (out / "study.json").read_bytes() == saved


def test_a_damaged_study_json_or_a_file_as_out_is_one_line(tmp_path, capsys):
    out = tmp_path / "study"
    out.mkdir()
    (out / "study.json").write_text('{"study": "copy", "version": 1}')
    assert main(study_args(out)) == 2
    assert "not one rnnlab wrote" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(study_args(tmp_path / "file")) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_run_that_refuses_its_flags_stops_the_study_with_its_line(tmp_path, capsys):
    out = tmp_path / "study"
    args = ["study", "copy", "--delays", "1", "--cells", "rnn", "--seeds", "1",
            "--train-flags", "--hidden 0", "--out", str(out)]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: run d1-rnn-s0: model hidden_size must be" in err and err.count("\n") == 1
    assert read_study(out)["runs"][0]["status"] == "pending"
