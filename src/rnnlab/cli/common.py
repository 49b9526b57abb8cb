"""What the commands share: exit codes, the one-line refusal, a training run's voice."""

import click

from rnnlab.errors import InputError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def fail(message: str) -> None:
    """Stop with a one-line bad-input error (exit 2)."""
    raise InputError(message)


class TerminalVoice:
    """A training session's words (:class:`rnnlab.train.launch.Voice`) on the terminal: its
    lines on stdout, notes and warnings as one ``rnnlab: note: ...`` line each on stderr."""

    def say(self, line: str) -> None:
        click.echo(line)

    def note(self, line: str) -> None:
        click.echo(f"rnnlab: note: {line}", err=True)

    def warn(self, line: str) -> None:
        click.echo(f"rnnlab: warning: {line}", err=True)

    def compare(self, results: dict[str, dict], title: str) -> None:
        from rnnlab.tables import print_comparison

        print_comparison(results, title=title)
