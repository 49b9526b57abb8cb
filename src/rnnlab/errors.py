"""Errors that mean "the user gave us something we cannot use".

The CLI prints the message of an :class:`InputError` as one line and exits with code 2.
Messages say what is wrong, where, and what to do about it. An :class:`OSError` (the
environment failed: a full disk, a permission, a path) becomes such a line through
:func:`describe_os_error`.
"""

import errno
import os


class InputError(ValueError):
    """Bad input from the user: a file, a flag value, a run directory."""


class DataError(InputError):
    """A data file or text that cannot be used (missing, empty, not UTF-8, too short)."""


class CheckpointError(InputError):
    """A run directory or checkpoint that is missing, corrupted, or does not match."""


# What to do about an OSError, by its errno: the environment (a full disk, a permission, a
# path) failed, not rnnlab. Names missing on a platform (EDQUOT on Windows) are skipped.
_ADVICE = {
    "ENOSPC": "free some disk space and run the command again (checkpoints are written "
    "atomically: a run's last saved checkpoint, if it has one, is intact and "
    "`rnnlab train --resume RUN` continues from it)",
    "EDQUOT": "free some space or raise your disk quota, then run the command again (a run's "
    "last saved checkpoint, if it has one, is intact: `rnnlab train --resume RUN` continues it)",
    "EFBIG": "the file is larger than this file system allows; write to another location",
    "EACCES": "check the permissions of that path, or choose another location",
    "EPERM": "the operation is not permitted there; check its permissions and owner, "
    "or choose another location",
    "EROFS": "that file system is read-only; choose a location on a writable one",
    "ELOOP": "it is a symbolic link loop (it points to itself through links); "
    "point it at a real file or directory",
    "ENOENT": "it does not exist; check the path",
    "EISDIR": "it is a directory, where a file is needed; give a file's path",
    "ENOTDIR": "a part of that path is a file, not a directory; check the path",
    "ENAMETOOLONG": "the name is too long for the file system; choose a shorter path",
    "EEXIST": "it already exists; choose another name or remove it",
    "ENOTEMPTY": "the directory is not empty; choose another one or empty it",
    "EMFILE": "this process has too many open files; raise the limit (`ulimit -n`) "
    "and run the command again",
    "ENFILE": "the system has too many open files; close some programs and run it again",
    "EBUSY": "it is in use by another program; wait for it or choose another path",
    "ETXTBSY": "it is in use by another program; wait for it or choose another path",
    "EAGAIN": "it is temporarily unavailable; run the command again",
    "EIO": "the disk or network file system reported a hardware or connection error; "
    "check it, then run the command again",
    "ESTALE": "the network file system lost track of the file; run the command again",
    "EXDEV": "files cannot be moved across file systems here; keep them on one",
    "ENXIO": "no device or reader is behind that path (a FIFO nobody writes to?)",
}
_ADVICE_BY_ERRNO = {
    getattr(errno, name): advice for name, advice in _ADVICE.items() if hasattr(errno, name)
}


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (runs of whitespace and newlines become a space)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def os_error_advice(exc: OSError) -> str | None:
    """What the user can do about ``exc``, chosen by its errno; None when nothing specific."""
    return _ADVICE_BY_ERRNO.get(exc.errno)


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: what failed, on which path(s) when known, and what to do.

    ``OSError(errno.ENOSPC, "No space left on device", "run/x")`` gives
    ``No space left on device: 'run/x'; free some disk space and ...``; a rename's second
    path (``filename2``) follows an arrow.
    """
    what = exc.strerror or str(exc) or type(exc).__name__
    paths = [_shown(p) for p in (exc.filename, exc.filename2) if p is not None]
    line = f"{what}: {' -> '.join(paths)}" if paths else what
    advice = os_error_advice(exc)
    return " ".join((f"{line}; {advice}" if advice else line).split())


def _shown(path: object) -> str:
    """A path as the user typed it, quoted: str, bytes or os.PathLike (an fd: as a number)."""
    if isinstance(path, str | bytes | os.PathLike):
        return f"'{os.fsdecode(path)}'"
    return str(path)
