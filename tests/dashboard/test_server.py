"""The dashboard server without a browser: what it serves, and everything it refuses."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from rnnlab.dashboard.runs import RunSet
from rnnlab.dashboard.server import DashboardServer, static_files
from tests.dashboard.conftest import make_run

SECRET = "top-secret-outside-the-run"


@pytest.fixture
def outside(tmp_path):
    """A file outside every run, holding JSON a metrics reader would happily parse."""
    secret = tmp_path / "secret.jsonl"
    secret.write_text(json.dumps({"step": 1, "loss": 1.0, "note": SECRET}) + "\n")
    return secret


def test_it_lists_named_runs_and_the_runs_of_a_folder(tmp_path, serve):
    make_run(tmp_path / "runs" / "a")
    make_run(tmp_path / "runs" / "b", cell="gru")
    single = make_run(tmp_path / "elsewhere" / "a")  # same name: a distinct id
    client = serve([tmp_path / "runs", single])
    status, body = client.json("/api/runs")
    assert status == 200
    runs = {r["id"]: r for r in body["runs"]}
    assert sorted(runs) == ["a", "a-2", "b"]
    assert runs["a"]["cell"] == "lstm" and runs["b"]["cell"] == "gru"
    assert runs["a"]["status"] == "stopped" and runs["a"]["step"] == 10
    assert runs["a"]["explorable"] and not runs["b"]["explorable"]


def test_a_run_started_later_in_the_folder_appears(tmp_path, serve):
    (tmp_path / "runs").mkdir()
    client = serve([tmp_path / "runs"])
    assert client.json("/api/runs")[1]["runs"] == []
    make_run(tmp_path / "runs" / "late")
    assert [r["id"] for r in client.json("/api/runs")[1]["runs"]] == ["late"]


def test_metrics_leave_a_half_written_last_line_for_later(tmp_path, serve):
    run = make_run(tmp_path / "r")
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 15, "loss": 1.')  # a trainer in mid-append
    client = serve([run])
    status, body = client.json("/api/runs/r/metrics")
    assert status == 200 and [r["step"] for r in body["records"]] == [5, 10]
    with open(run / "metrics.jsonl", "a") as f:
        f.write('2, "grad_norm": 0.5}\n')
    status, body = client.json("/api/runs/r/metrics?since=2")
    assert body["records"] == [{"step": 15, "loss": 1.2, "grad_norm": 0.5}] and body["count"] == 3


def test_a_damaged_line_in_the_middle_is_skipped_and_counted(tmp_path, serve):
    run = make_run(tmp_path / "r")
    lines = (run / "metrics.jsonl").read_text().splitlines()
    (run / "metrics.jsonl").write_text(lines[0] + "\nnot json\n[1]\n" + lines[1] + "\n")
    status, body = serve([run]).json("/api/runs/r/metrics")
    assert status == 200 and [r["step"] for r in body["records"]] == [5, 10]
    assert body["skipped"] == 2


def test_a_non_finite_value_reaches_the_page_as_null(tmp_path, serve):
    run = make_run(tmp_path / "r", records=[{"step": 1, "loss": float("inf")}])
    status, raw, _ = serve([run]).get("/api/runs/r/metrics")
    assert status == 200 and json.loads(raw)["records"] == [{"step": 1, "loss": None}]
    assert b"Infinity" not in raw


@pytest.mark.parametrize(
    "path",
    [
        "/static/../runs.py",
        "/static/%2e%2e/runs.py",
        "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.jsonl",
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/vendor/uplot/../../../server.py",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/api/runs/..%2f..%2fsecret.jsonl/metrics",
        "/api/runs/%2e%2e/metrics",
        "/api/runs/r/../../secret.jsonl",
        "/api/runs/r/metrics/../../../secret.jsonl",
        "/api/runs/r/config.json",
        "/api/runs/r/model.safetensors",
        "/api/runs/r/unit/..%2f1",
        "/index.html/../../secret.jsonl",
    ],
)
def test_no_path_leaves_the_static_files_and_the_runs_declared_files(
    tmp_path, outside, serve, path
):
    run = make_run(tmp_path / "r")
    status, body, headers = serve([run]).get(path)
    assert status in (400, 404), (path, status)
    assert SECRET.encode() not in body and b"root:" not in body and b"import" not in body
    assert headers["Content-Type"] == "application/json" and "error" in json.loads(body)


def test_a_metrics_log_linked_out_of_the_run_is_refused(tmp_path, outside, serve):
    run = make_run(tmp_path / "r")
    (run / "metrics.jsonl").unlink()
    os.symlink(outside, run / "metrics.jsonl")
    status, body, _ = serve([run]).get("/api/runs/r/metrics")
    assert status == 404 and SECRET.encode() not in body
    assert "symbolic link" in json.loads(body)["error"]


def test_a_run_linked_into_a_folder_of_runs_is_not_followed(tmp_path, serve):
    make_run(tmp_path / "private" / "theirs")
    (tmp_path / "runs").mkdir()
    make_run(tmp_path / "runs" / "mine")
    os.symlink(tmp_path / "private" / "theirs", tmp_path / "runs" / "link")
    client = serve([tmp_path / "runs"])
    assert [r["id"] for r in client.json("/api/runs")[1]["runs"]] == ["mine"]
    assert client.get("/api/runs/link/metrics")[0] == 404


def test_it_survives_a_run_directory_disappearing(tmp_path, serve):
    run = make_run(tmp_path / "r")
    client = serve([run])
    assert client.json("/api/runs/r/metrics")[0] == 200
    shutil.rmtree(run)
    status, body = client.json("/api/runs")
    assert status == 200 and body["runs"][0]["status"] == "missing"
    status, body = client.json("/api/runs/r/metrics")
    assert status == 410 and "not there" in body["error"]
    assert client.get("/")[0] == 200  # still serving


def test_damaged_files_answer_one_line_and_never_a_traceback(tmp_path, serve):
    run = make_run(tmp_path / "r")
    (run / "config.json").write_bytes(b"\xff\xfe not json")
    (run / "probe.json").write_text('{"evals": 5}')
    client = serve([run])
    status, body, _ = client.get("/api/runs")
    summary = json.loads(body)["runs"][0]
    assert status == 200 and summary["status"] == "unreadable" and "\n" not in summary["error"]
    status, body, _ = client.get("/api/runs/r/probe")
    assert status == 404 and "evaluations" in json.loads(body)["error"]
    for path in ("/api/runs", "/api/runs/r/probe", "/api/runs/r/unit/0", "/api/runs/r/unit/x"):
        assert b"Traceback" not in client.get(path)[1]


def test_a_bug_answers_500_internal_error_without_its_trace(tmp_path, serve, monkeypatch, capsys):
    def broken(self, path):
        raise RuntimeError("a bug inside")

    monkeypatch.setattr(RunSet, "metrics", broken)
    status, body, _ = serve([make_run(tmp_path / "r")]).get("/api/runs/r/metrics")
    assert status == 500 and json.loads(body) == {"error": "internal error"}
    assert "a bug inside" in capsys.readouterr().err  # one line for whoever runs the server


def test_it_is_read_only_and_answers_only_its_own_host_name(tmp_path, serve):
    client = serve([make_run(tmp_path / "r")])
    for method in ("POST", "PUT", "DELETE"):
        assert client.get("/api/runs", method=method)[0] == 405
    assert client.get("/api/runs", host="evil.example:80")[0] == 403  # DNS rebinding
    assert client.get("/api/runs", host=f"localhost:{client.port}")[0] == 200


def test_pages_and_vendored_files_are_served_with_a_strict_policy(tmp_path, serve):
    client = serve([make_run(tmp_path / "r")])
    status, body, headers = client.get("/")
    assert status == 200 and b"uPlot.iife.min.js" in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, body, headers = client.get("/static/vendor/uplot/uPlot.iife.min.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"MIT" in client.get("/static/vendor/uplot/LICENSE")[1]
    assert client.get("/explorer")[0] == 200


def test_the_static_table_holds_the_pages_scripts_and_uplot_with_its_licence():
    names = set(static_files())
    expected = {"index.html", "explorer.html", "dashboard.js", "explorer.js", "lstm_cell.js",
                "charts.js", "heatmap.js", "dashboard.css", "vendor/uplot/uPlot.iife.min.js",
                "vendor/uplot/uPlot.min.css", "vendor/uplot/LICENSE"}  # fmt: skip
    assert expected <= names


def test_it_binds_to_loopback_and_a_free_port_by_default(tmp_path):
    server = DashboardServer(RunSet([tmp_path]))
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1" and port > 0 and server.url == f"http://127.0.0.1:{port}/"
    finally:
        server.server_close()


def test_samples_come_from_the_probe_file(tmp_path, serve):
    run = make_run(tmp_path / "r")
    evals = [{"step": 5, "sample": "ab"}, {"step": 10}, {"step": 15, "sample": "abc"}]
    (run / "probe.json").write_text(json.dumps({"evals": evals}))
    status, body = serve([run]).json("/api/runs/r/samples")
    assert status == 200 and body == {
        "samples": [{"step": 5, "sample": "ab"}, {"step": 15, "sample": "abc"}]
    }
