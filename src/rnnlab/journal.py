"""The save journal: several files of a run directory replaced as one, crash-safe.

One checkpoint is several files that only make sense together: state.json records the
sha256 of each of them. Replacing them one at a time would leave a window in which a
killed process leaves new weights beside an old state.json. :func:`commit` therefore
keeps a journal in ``run_dir/.pending/``:

1. write every new file, state.json included, into ``.pending/`` and fsync it.
   A kill here leaves ``.pending/`` without ``COMMIT``: the old files were never touched,
   and the next load or save deletes ``.pending/``.
2. write ``.pending/COMMIT`` (the list of files to move) atomically. This rename is the
   commit point: before it the save did not happen, after it the save has happened.
3. ``os.replace`` each file from ``.pending/`` into the run directory, in the order given
   (the checkpoint passes state.json last). A kill here leaves a mix on disk, but
   ``COMMIT`` exists, so the next load or save first rolls the move forward: it moves
   whatever is still in ``.pending/``. Rolling forward is idempotent, so a kill during the
   roll-forward leaves the same situation again.
4. remove ``COMMIT``, then ``.pending/``.

The save's own step 3 is the same roll-forward that a later load runs (``_recover``), so
there is one code path to trust. Saves and loads run inside :func:`settled`, which holds an
advisory lock (``flock``) on the run directory, so `rnnlab generate` on a run that is still
training neither reads a half-moved checkpoint nor deletes the trainer's ``.pending/``.
Where ``flock`` does not exist (Windows) or is refused (some network file systems), this
lock is skipped.

The journal is untrusted input like every file of a run (see :mod:`rnnlab.run_files`): it
may name only CHECKPOINT_FILES, each a plain file, or nothing is moved at all; a
``.pending`` that is not a plain folder is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from rnnlab.atomic_write import atomic_write_json, fsync_dir, write_synced
from rnnlab.errors import CheckpointError
from rnnlab.run_files import (
    CHECKPOINT_FILES,
    MAX_JSON_BYTES,
    PENDING_DIR,
    FileRefused,
    is_plain_file,
    kind_of,
    read_plain_file,
    shown,
)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

COMMIT_FILE = "COMMIT"


@contextlib.contextmanager
def settled(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock, with any interrupted save first finished or discarded.

    Every load and save runs inside this. Not reentrant: a second ``settled`` on the same
    directory in one process would wait for itself.
    """
    with _locked(run_dir):
        _recover(run_dir)
        yield


def commit(run_dir: Path, files: dict[str, bytes]) -> None:
    """Replace ``files`` (name -> bytes, moved in this order) in the run as one.

    Steps 1-4 of the module docstring; the caller is inside :func:`settled`.
    """
    assert set(files) <= set(CHECKPOINT_FILES), sorted(files)
    pending = run_dir / PENDING_DIR
    pending.mkdir()
    fsync_dir(run_dir)
    try:
        for name, data in files.items():
            write_synced(pending / name, data)
        fsync_dir(pending)
        atomic_write_json(pending / COMMIT_FILE, {"files": list(files)})
    except BaseException:
        if not (pending / COMMIT_FILE).exists():  # not committed: the old files stand
            shutil.rmtree(pending, ignore_errors=True)
        raise
    _recover(run_dir)


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on the run directory (released when the fd closes)."""
    if fcntl is None:
        yield
        return
    fd = os.open(run_dir, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # e.g. ENOLCK on NFS: go on without the lock
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _recover(run_dir: Path) -> None:
    """Finish a committed save (roll forward) or discard an uncommitted one. Idempotent."""
    pending = run_dir / PENDING_DIR
    try:
        mode = os.lstat(pending).st_mode
    except FileNotFoundError:
        return
    where = f"the save journal '{PENDING_DIR}' in '{run_dir}'"
    fix = f"delete '{pending}' and check the run loads"
    if stat.S_ISLNK(mode):
        raise CheckpointError(
            f"{where} is a symbolic link; rnnlab run directories hold plain files only: {fix}"
        )
    if not stat.S_ISDIR(mode):
        raise CheckpointError(f"{where} is {kind_of(mode)}, not a folder: {fix}")
    names = _journal(run_dir)
    try:
        if names is not None:
            for name in names:
                if is_plain_file(pending / name):  # a missing file was moved before a crash
                    os.replace(pending / name, run_dir / name)
            fsync_dir(pending)
            fsync_dir(run_dir)
            os.unlink(pending / COMMIT_FILE)  # COMMIT first: what remains is uncommitted debris
        shutil.rmtree(pending)
        fsync_dir(run_dir)
    except OSError as e:  # a read-only run directory, say: the journal stays for next time
        raise CheckpointError(
            f"cannot finish {where} ({e.strerror}: '{e.filename or pending}'); make the run "
            "directory writable and load the run again"
        ) from e


def _journal(run_dir: Path) -> list[str] | None:
    """The files a committed journal moves (checked), or None if it holds no COMMIT."""
    pending = run_dir / PENDING_DIR

    def damaged(why: str) -> CheckpointError:
        return CheckpointError(
            f"the save journal '{PENDING_DIR}/{COMMIT_FILE}' in '{run_dir}' is damaged ({why}); "
            f"delete the folder '{pending}' and check the run loads"
        )

    try:
        data = read_plain_file(pending / COMMIT_FILE, MAX_JSON_BYTES)
    except FileRefused as e:
        raise damaged(f"it {e}") from e
    if data is None:
        return None
    try:
        journal = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError too
        raise damaged("it is not valid JSON") from e
    names = journal.get("files") if isinstance(journal, dict) else None
    if not isinstance(names, list):
        raise damaged("it holds no list of files")
    for name in names:
        if not isinstance(name, str):
            raise damaged(f"it names {shown(repr(name))}, not a file name")
        if name not in CHECKPOINT_FILES:
            raise damaged(f"it names {shown(repr(name))}, not a checkpoint file")
    for name in names:  # all checked before anything moves
        source, target = pending / name, run_dir / name
        if os.path.lexists(source) and not is_plain_file(source):
            raise damaged(f"'{PENDING_DIR}/{name}', which it names, is not a plain file")
        if os.path.lexists(source) and os.path.isdir(target) and not os.path.islink(target):
            raise CheckpointError(
                f"cannot finish the save journal '{PENDING_DIR}' in '{run_dir}': {name} there "
                "is a directory, not a file; remove that directory and load the run again"
            )
    return names
