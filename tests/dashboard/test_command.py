"""`rnnlab dashboard` and `rnnlab explore` on the command line: refusals, the URL, the host."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

from rnnlab.cli import main
from tests.dashboard.conftest import make_run


@pytest.mark.parametrize("command", ["dashboard", "explore"])
def test_a_missing_path_is_one_line_and_exit_2(tmp_path, capsys, command):
    assert (
        main(
            [
                command,
                str(tmp_path / "nope"),
                "--no-open" if command == "explore" else "--port",
                *(["0"] if command == "dashboard" else []),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: ") and "does not exist" in err and err.count("\n") == 1


def test_a_file_is_not_a_run_directory(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["dashboard", str(tmp_path / "f")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_a_bad_port_is_a_usage_error(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path), "--port", "70000"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def _start(args):
    """Start `rnnlab ...` and read the URL it prints first."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnlab", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    return process, line


def test_it_prints_a_loopback_url_and_serves_the_runs(tmp_path):
    make_run(tmp_path / "runs" / "r")
    process, line = _start(["dashboard", str(tmp_path / "runs")])
    try:
        assert line.startswith("rnnlab: serving 1 run at http://127.0.0.1:"), line
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "api/runs", timeout=10) as response:
            assert [r["id"] for r in json.load(response)["runs"]] == ["r"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_another_host_is_served_with_a_warning(tmp_path):
    process, line = _start(["dashboard", str(tmp_path), "--host", "127.0.0.2"])
    try:
        assert "http://127.0.0.2:" in line
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert err.startswith("rnnlab: warning: listening on 127.0.0.2: anyone who can reach")


def test_without_runs_it_looks_for_a_runs_folder_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["dashboard"]) == 2
    assert "'runs' does not exist; give run directories or a folder of runs" in (
        capsys.readouterr().err
    )


def test_explore_serves_the_explorer_page(tmp_path):
    process, line = _start(["explore", "--no-open", str(tmp_path)])
    try:
        url = line.split(" at ")[1].split()[0]
        assert url.endswith("/explorer"), line
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b"LSTM cell explorer" in response.read()
    finally:
        process.terminate()
        process.wait(timeout=10)
