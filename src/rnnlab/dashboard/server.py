"""The dashboard's HTTP server: its own static files and JSON about the named runs, nothing else.

Routes (GET and HEAD only; every other method is refused, the server is read-only)::

    /                         the dashboard page          (static/index.html)
    /explorer                 the LSTM cell explorer      (static/explorer.html)
    /static/<name>            one of the files shipped in static/, listed at start-up
    /api/runs                 every run: task, model, status ("training" | "stopped" | ...)
    /api/runs/<id>/metrics    metrics.jsonl's records (?since=N: from the N-th on)
    /api/runs/<id>/probe      probe.json: gate activations and samples per evaluation
    /api/runs/<id>/samples    the samples alone, one per evaluation
    /api/runs/<id>/unit/<u>   unit u of an LSTM run's first layer, for the explorer
    /api/studies              each named folder's study.json, validated (the memory study)

Why no path traversal can happen: no part of a URL is ever joined to a file-system path. A
static file is looked up by its exact name in a table made when the server starts, and a
run by its exact id in :class:`~rnnlab.dashboard.runs.RunSet`; run files are then the fixed
declared names, read without following links (:mod:`rnnlab.dashboard.runs`). A request for
anything else is a 404. Requests whose Host header is not this server's are refused too
(a web page elsewhere cannot reach it through DNS rebinding).

Errors: a damaged or vanished run answers a JSON ``{"error": "<one line>"}``; a bug answers
``{"error": "internal error"}`` with status 500, never a stack trace (that goes, as one line,
to the server's own stderr).
"""

from __future__ import annotations

import json
import math
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from rnnlab.dashboard.runs import RunSet
from rnnlab.dashboard.units import explorable, lstm_unit
from rnnlab.errors import InputError, one_line

PAGES = {"/": "index.html", "/explorer": "explorer.html"}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# The pages load only their own scripts and styles; uPlot sets inline styles from script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def static_files() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, content type) of every file shipped in static/ (read once)."""
    root = resources.files("rnnlab.dashboard") / "static"
    files: dict[str, tuple[bytes, str]] = {}

    def walk(folder, prefix: str) -> None:
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                walk(entry, name + "/")
            elif not entry.name.startswith("."):
                suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
                files[name] = (entry.read_bytes(), CONTENT_TYPES.get(suffix, "text/plain"))

    walk(root, "")
    return files


class DashboardServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows the runs and the static files it may serve."""

    daemon_threads = True  # a page left open does not keep the process alive at Ctrl-C

    def __init__(self, runs: RunSet, host: str = "127.0.0.1", port: int = 0, verbose=False):
        self.runs = runs
        self.files = static_files()
        self.verbose = verbose
        if ":" in host:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        super().__init__((host, port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{port}/"

    def allowed_hosts(self) -> set[str] | None:
        """The Host headers a loopback server answers; None (any) once --host exposed it."""
        host, port = self.server_address[:2]
        if host not in ("127.0.0.1", "::1", "localhost"):
            return None
        names = {"127.0.0.1", "localhost", "[::1]"}
        return {f"{n}:{port}" for n in names} | names


class Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "rnnlab-dashboard"
    sys_version = ""  # do not announce the Python version

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _refuse_method(self) -> None:
        self._send_json({"error": "the dashboard is read-only: GET only"}, 405)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def _answer(self, head: bool) -> None:
        try:
            allowed = self.server.allowed_hosts()
            if allowed is not None and self.headers.get("Host", "") not in allowed:
                self._send_json({"error": "unexpected Host header"}, 403, head)
                return
            status, body, kind = self._route()
        except InputError as e:  # a damaged or vanished run file: say what, in one line
            status, body, kind = 404, _json_bytes({"error": one_line(e)}), "application/json"
        except (OSError, ValueError, IndexError, KeyError, TypeError) as e:
            status, body, kind = 404, _json_bytes({"error": _why(e)}), "application/json"
        except Exception as e:  # a bug: one line on our stderr, nothing inside in the answer
            print(f"rnnlab dashboard: internal error on {self.path!r}: {_why(e)}", file=sys.stderr)
            status, body, kind = 500, _json_bytes({"error": "internal error"}), "application/json"
        self._send(status, body, kind, head)

    def _route(self) -> tuple[int, bytes, str]:
        url = urlsplit(self.path)
        path = url.path
        if path in PAGES:
            return self._static(PAGES[path])
        if path.startswith("/static/"):
            return self._static(unquote(path.removeprefix("/static/")))
        if path == "/api/studies":
            return 200, _json_bytes({"studies": self.server.runs.studies()}), "application/json"
        parts = [unquote(p) for p in path.split("/")]
        if parts[:3] == ["", "api", "runs"]:
            return self._api(parts[3:], parse_qs(url.query))
        return self._not_found()

    def _static(self, name: str) -> tuple[int, bytes, str]:
        found = self.server.files.get(name)  # an exact name from the table, or nothing
        if found is None:
            return self._not_found()
        return 200, found[0], found[1]

    def _api(self, parts: list[str], query: dict) -> tuple[int, bytes, str]:
        runs = self.server.runs
        if parts in ([], [""]):
            listed = [runs.summary(run_id, path) for run_id, path in runs.scan().items()]
            for summary in listed:
                summary["explorable"] = explorable(summary)
            return 200, _json_bytes({"runs": listed}), "application/json"
        path = runs.path_of(parts[0])
        if path is None:
            return self._not_found(f"no run '{parts[0][:60]}' here")
        if not path.is_dir():
            return (
                410,
                _json_bytes({"error": f"run '{parts[0]}' is not there any more"}),
                ("application/json"),
            )
        what = parts[1:]
        if what == ["metrics"]:
            metrics = runs.metrics(path)
            since = _int(query.get("since", ["0"])[0])
            body = {
                **metrics,
                "records": metrics["records"][since:],
                "count": len(metrics["records"]),
            }
            return 200, _json_bytes(body), "application/json"
        if what == ["probe"]:
            return 200, _json_bytes(runs.probe(path)), "application/json"
        if what == ["samples"]:
            evals = runs.probe(path)["evals"]
            samples = [{"step": e.get("step"), "sample": e["sample"]} for e in evals
                       if isinstance(e, dict) and isinstance(e.get("sample"), str)]  # fmt: skip
            return 200, _json_bytes({"samples": samples}), "application/json"
        if len(what) == 2 and what[0] == "unit":
            return 200, _json_bytes(lstm_unit(path, _int(what[1]))), "application/json"
        return self._not_found()

    def _not_found(self, why: str = "not found") -> tuple[int, bytes, str]:
        return 404, _json_bytes({"error": why}), "application/json"

    # ------------------------------------------------------------------ sending
    def _send_json(self, obj: Any, status: int, head: bool = False) -> None:
        self._send(status, _json_bytes(obj), "application/json", head)

    def _send(self, status: int, body: bytes, kind: str, head: bool) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the page went away: nothing to do
            pass

    def send_error(self, code, message=None, explain=None) -> None:
        """Malformed requests (a bad request line, a header too long): JSON, no HTML page."""
        self.close_connection = True
        self._send_json({"error": HTTPStatus(code).phrase}, code)

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


def _json_bytes(obj: Any) -> bytes:
    """JSON a browser parses: a diverged run's NaN or infinite loss becomes null."""
    return json.dumps(_finite(obj), allow_nan=False, default=str).encode("utf-8")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _int(text: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise InputError(f"expected a non-negative integer, got {text[:20]!r}")
    return int(text)


def _why(e: BaseException) -> str:
    return f"{type(e).__name__}: {one_line(e)}"[:200]
