"""``rnnlab dashboard`` and ``rnnlab explore``: the local pages of :mod:`rnnlab.dashboard`."""

import sys
import webbrowser
from pathlib import Path

import click

from rnnlab.errors import InputError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _server_options(command):
    command = click.option("--verbose", is_flag=True, help="Log every request on stderr.")(command)
    command = click.option(
        "--port", type=click.IntRange(0, 65535), default=0, show_default=True,
        help="Port to listen on; 0 picks a free one.",
    )(command)  # fmt: skip
    return click.option(
        "--host", default="127.0.0.1", show_default=True,
        help="Address to listen on. Anything but 127.0.0.1 shows your runs to the network.",
    )(command)  # fmt: skip


@click.command("dashboard")
@click.argument("runs", nargs=-1, type=click.Path())
@_server_options
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a web browser.")
def dashboard(runs, host, port, verbose, open_browser):
    """Watch runs in the browser: curves, gates and samples, live while they train.

    RUNS are run directories or folders of runs (default: ./runs); a folder is looked at
    again at every refresh, so runs started later appear. Nothing is written to them.
    """
    _serve(_sources(runs), host, port, verbose, open_browser, page="")


@click.command("explore")
@click.argument("runs", nargs=-1, type=click.Path())
@_server_options
@click.option("--open/--no-open", "open_browser", default=True, show_default=True,
              help="Open the page in a web browser.")  # fmt: skip
def explore(runs, host, port, verbose, open_browser):
    """The LSTM cell explorer: move x, h_{t-1}, c_{t-1} and the weights, see every gate.

    With RUNS (run directories or folders of runs) it also offers the units of their
    LSTMs, to explore a trained unit on each token of its vocabulary.
    """
    sources = _sources(runs) if runs or Path("runs").is_dir() else []
    _serve(sources, host, port, verbose, open_browser, page="explorer")


def _sources(given) -> list[Path]:
    """The run directories and folders of runs to show; InputError for one that is not."""
    paths = [Path(p) for p in given] or [Path("runs")]
    for path in paths:
        if not path.exists():
            hint = "give run directories or a folder of runs" if not given else "check the path"
            raise InputError(f"'{path}' does not exist; {hint}")
        if not path.is_dir():
            raise InputError(f"'{path}' is a file; give a run directory or a folder of runs")
    return paths


def _serve(sources, host, port, verbose, open_browser, page: str) -> None:
    from rnnlab.dashboard.runs import RunSet
    from rnnlab.dashboard.server import DashboardServer

    if host not in LOOPBACK:
        click.echo(
            f"rnnlab: warning: listening on {host}: anyone who can reach this machine on port "
            f"{port or '(chosen)'} can read these runs' metrics, samples and weights",
            err=True,
        )
    try:
        server = DashboardServer(RunSet(sources), host, port, verbose=verbose)
    except OSError as e:
        raise InputError(
            f"cannot listen on {host}:{port} ({e.strerror}); choose another --port, or leave it "
            "out for a free one"
        ) from e
    url = server.url + page
    found = len(server.runs.scan())
    what = f"{found} run{'s' if found != 1 else ''}" if sources else "no runs"
    click.echo(f"rnnlab: serving {what} at {url} (Ctrl-C to stop)")
    sys.stdout.flush()  # whoever started us (a test, a script) reads the URL now
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        click.echo("rnnlab: stopped serving")
    finally:
        server.server_close()


COMMANDS = (dashboard, explore)
