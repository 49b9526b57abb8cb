"""Runs made by hand (no training: fast), short real runs, a dashboard server on a free port,
and a headless browser."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

import pytest

from rnnlab.dashboard.runs import RunSet
from rnnlab.dashboard.server import DashboardServer
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import start_run
from tests.dashboard.browser import missing, start_browser

RECORDS = [
    {"step": 5, "epoch": 0, "lr": 0.01, "loss": 2.0, "grad_norm": 1.5, "tokens_per_s": 900.0},
    {"step": 10, "epoch": 0, "lr": 0.01, "loss": 1.5, "grad_norm": 1.0, "tokens_per_s": 950.0,
     "val_loss": 1.6, "val_accuracy": 0.4, "optimal_loss": 0.5},
]  # fmt: skip


def make_run(path: Path, records=RECORDS, cell: str = "lstm") -> Path:
    """A run directory as a trainer leaves it, minus the tensors: config, state, metrics."""
    path.mkdir(parents=True)
    config = {
        "format_version": 1,
        "model": {"cell": cell, "hidden_size": 4, "num_layers": 1, "input_size": 3},
        "train": {"engine": "numpy", "steps": 10},
        "task": {"name": "chars", "seed": 0, "options": {}},
    }
    (path / "config.json").write_text(json.dumps(config))
    (path / "state.json").write_text(json.dumps({"format_version": 1, "step": 10}))
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


class Client:
    """Raw HTTP requests: http.client sends the path exactly as given (no normalising)."""

    def __init__(self, server: DashboardServer):
        self.port = server.server_address[1]

    def get(self, path: str, method: str = "GET", host: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True)
            conn.putheader("Host", host or f"127.0.0.1:{self.port}")
            conn.endheaders()
            response = conn.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            conn.close()

    def json(self, path: str):
        status, body, _ = self.get(path)
        return status, json.loads(body)


@pytest.fixture
def serve():
    """serve([paths]) -> a Client of a running server; stopped after the test."""
    servers = []

    def start(sources) -> Client:
        server = DashboardServer(RunSet([Path(s) for s in sources]))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
        servers.append(server)
        return Client(server)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


TEXT = "It was the best of times, it was the worst of times, it was the age of wisdom. " * 30
QUICK = {"hidden": 16, "eval_every": 10, "log_every": 5, "save_every": 10, "steps": 40}


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """A folder of finished runs: an LSTM and a GRU on text (overlaid), an LSTM on copy."""
    root = tmp_path_factory.mktemp("dash")
    data = root / "text.txt"
    data.write_text(TEXT)
    text = {**QUICK, "data": str(data), "seq_len": 16}
    for name, task, settings in [
        ("lstm", "chars", text),
        ("gru", "chars", {**text, "cell": "gru"}),
        ("copy", "copy", {**QUICK, "delay": 4, "batch_size": 16}),
    ]:
        start_run(*build_from_settings(task, settings), root / "runs" / name)
    return root


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if missing() is not None:
        pytest.skip(missing())
    driver = start_browser(tmp_path_factory.mktemp("profile"))
    yield driver
    driver.quit()


def wait_for(condition, timeout=30.0, what="the page"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def open_page(driver, url):
    """Leave the last test's page (which polls a server now stopped), forget its console
    messages, then load ``url``: each test sees only its own page's errors."""
    driver.get("about:blank")
    driver.get_log("browser")  # reading the log empties it
    driver.get(url)
