"""describe_os_error: what failed, on which path(s), and what to do, on one line, per errno."""

import errno
import os
import re

import pytest

from rnnlab.errors import describe_os_error, one_line, os_error_advice


def os_error(code: int, filename=None, filename2=None) -> OSError:
    """The OSError the OS would raise for ``code`` (its class follows the errno)."""
    return OSError(code, os.strerror(code), filename, None, filename2)


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (errno.ENOSPC, r"free some disk space.*last saved checkpoint.*--resume RUN"),
        (errno.EACCES, r"check the permissions"),
        (errno.EPERM, r"not permitted there; check its permissions and owner"),
        (errno.EROFS, r"read-only; choose a location on a writable one"),
        (errno.ELOOP, r"is a symbolic link loop"),
        (errno.ENOENT, r"it does not exist; check the path"),
        (errno.EISDIR, r"it is a directory, where a file is needed"),
        (errno.ENOTDIR, r"a part of that path is a file, not a directory"),
        (errno.EMFILE, r"too many open files; raise the limit \(`ulimit -n`\)"),
        (errno.ENAMETOOLONG, r"choose a shorter path"),
        (errno.EIO, r"hardware or connection error"),
    ],
    ids=lambda v: errno.errorcode[v] if isinstance(v, int) else None,
)
def test_each_errno_says_what_failed_where_and_what_to_do(code, advice):
    line = describe_os_error(os_error(code, "runs/x/model.safetensors"))
    assert line.startswith(f"{os.strerror(code)}: 'runs/x/model.safetensors'; "), line
    assert "\n" not in line
    assert re.search(advice, line), line
    assert os_error_advice(os_error(code)) in line


def test_both_paths_of_a_rename_are_shown():
    line = describe_os_error(os_error(errno.EXDEV, "run/.tmp-state.json", "/elsewhere/state.json"))
    assert "'run/.tmp-state.json' -> '/elsewhere/state.json'" in line
    assert "across file systems" in line


def test_without_a_path_nothing_empty_is_shown():
    """A write that fills the disk raises ENOSPC with no filename: no "()" or "''" then."""
    line = describe_os_error(os_error(errno.ENOSPC))
    assert line.startswith("No space left on device; free some disk space")
    assert "()" not in line and "''" not in line


def test_an_errno_without_advice_and_an_oserror_without_errno():
    assert describe_os_error(os_error(errno.EINVAL, "x")) == "Invalid argument: 'x'"
    assert os_error_advice(os_error(errno.EINVAL)) is None
    assert describe_os_error(OSError("the device went away")) == "the device went away"
    assert describe_os_error(OSError()) == "OSError"


def test_bytes_paths_file_descriptors_and_newlines_stay_one_line():
    assert "'caf\u00e9.txt'" in describe_os_error(os_error(errno.EACCES, "café.txt".encode()))
    assert describe_os_error(os_error(errno.EBADF, 7)).startswith("Bad file descriptor: 7")
    line = describe_os_error(os_error(errno.ENOENT, "two\nlines.txt"))
    assert "\n" not in line and "'two lines.txt'" in line


def test_one_line_joins_a_multi_line_message():
    assert one_line(ValueError("first\n  second\tthird ")) == "first second third"
    assert one_line(KeyError()) == "KeyError"
