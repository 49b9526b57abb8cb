"""Errors that mean "the user gave us something we cannot use".

The CLI prints the message of an :class:`InputError` as one line and exits with code 2.
Messages say what is wrong, where, and what to do about it.
"""


class InputError(ValueError):
    """Bad input from the user: a file, a flag value, a run directory."""


class DataError(InputError):
    """A data file or text that cannot be used (missing, empty, not UTF-8, too short)."""


class CheckpointError(InputError):
    """A run directory or checkpoint that is missing, corrupted, or does not match."""
