"""Safe file output: atomic file writes, JSON, and whole-folder staging and replacement.

Every file bayesirl writes goes through here, so a crash, a full disk, SIGINT/SIGTERM or a
kill never leaves a half-written file under the name the user asked for:

* :func:`atomic_path` / :func:`write_text` / :func:`write_json` — a file is written under a
  hidden temporary name in the same folder and renamed over the target (``os.replace`` is
  atomic on POSIX and Windows within one file system);
* :func:`input_file` / :func:`read_json` — reading, with errors that name the file, what it
  should hold and what it seems to hold instead (a folder, an .npz archive, JSON);
* :func:`claimed_folder` — a claim on an output folder while a long job (a fit) runs, so that
  a second job writing the same folder is refused at its start, not after its work;
* :func:`staged_folder` — a whole output folder (a run, a report) is built in a hidden staging
  folder *next to* the target and, on success, replaces the target as a whole: the previous
  contents are moved aside and removed only once the new folder is in place. A staging folder
  holds a marker file (:data:`STAGING_MARKER`) naming the process that made it, so the next run
  recognises one left by a killed process and removes it (:func:`clean_stale_staging`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import socket
import tempfile
import time

import numpy as np

from bayesirl import _interrupt

__all__ = [
    "STAGING_PREFIX",
    "STAGING_MARKER",
    "atomic_path",
    "check_output_file",
    "write_text",
    "write_json",
    "input_file",
    "file_kind",
    "read_json",
    "to_jsonable",
    "staged_folder",
    "check_output_folder",
    "replace_folder",
    "set_aside_copy",
    "clean_stale_staging",
    "deferred_signals",
    "claim_file",
    "check_unclaimed",
    "claimed_folder",
]

#: Name prefix of every temporary file, staging folder and claim bayesirl creates.
STAGING_PREFIX = ".bayesirl-"
#: File inside a staging folder: JSON with the pid, host and start time of its writer.
STAGING_MARKER = ".bayesirl-staging.json"
_TEMP_FILE_MARK = ".tmp-"


#: Extensions numpy appends to a file name that lacks them (``np.save``, ``np.savez``).
_NUMPY_EXTENSIONS = (".npz", ".npy")


def _error(cls, message: str, code: int | None = None) -> OSError:
    """An ``OSError`` subclass whose text is ``message`` alone (no temporary file names)."""
    try:
        err = cls(message)
    except TypeError:  # an unusual subclass
        err = OSError(message)
    if code is not None:
        err.errno = code  # str(err) stays the message: filename and strerror are unset
    return err


def _folder_of(path: str) -> str:
    return os.path.dirname(path) or "the current folder"


def check_output_file(path: str | os.PathLike) -> str:
    """Check that a file can be created at ``path``: it is not a folder and its folder exists.

    Returns:
        ``os.fspath(path)``.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        FileNotFoundError: its folder does not exist.
        NotADirectoryError: its "folder" is a file.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise _error(IsADirectoryError, f"cannot write {path}: it is a folder; expected the "
                     "name of a file (in that folder or elsewhere)", errno.EISDIR)
    if not os.path.exists(folder):
        raise _error(FileNotFoundError, f"cannot write {path}: the folder {_folder_of(path)} "
                     "does not exist", errno.ENOENT)
    if not os.path.isdir(folder):
        raise _error(NotADirectoryError, f"cannot write {path}: {_folder_of(path)} is not a "
                     "folder", errno.ENOTDIR)
    return path


def _write_error(err: OSError, path: str) -> OSError:
    """``err`` (raised while writing a temporary file for ``path``) restated for ``path``."""
    if isinstance(err, PermissionError):
        reason = f"no permission to write in {_folder_of(path)}"
    elif err.errno == errno.ENOSPC:
        reason = "no space left on the device"
    else:
        reason = err.strerror or str(err)
    return _error(type(err), f"cannot write {path}: {reason}", err.errno)


def _remove_quietly(*paths: str) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            os.remove(p)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; on a clean exit it is renamed to ``path``.

    The temporary name keeps the extension (``.npz``, ``.nc``), so writers that append one
    (``np.savez``) do not; if a writer still appended ``.npz`` / ``.npy`` (``path`` lacks that
    extension), the file it wrote is the one renamed to ``path``. On an exception the
    temporary file(s) are removed and ``path`` is untouched.

    Raises:
        IsADirectoryError, FileNotFoundError, NotADirectoryError: as
            :func:`check_output_file` (before anything is written).
        OSError: creating, writing or renaming the file failed (e.g. ``PermissionError``);
            the message names ``path``, never the temporary file.
    """
    path = check_output_file(path)
    folder, name = os.path.split(os.path.abspath(path))
    _, ext = os.path.splitext(name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{STAGING_PREFIX}{name}{_TEMP_FILE_MARK}",
                                   suffix=ext, dir=folder)
    except OSError as err:
        raise _write_error(err, path) from None
    os.close(fd)
    appended = [tmp + e for e in _NUMPY_EXTENSIONS if e != ext.lower()]
    try:
        yield tmp
        written = [a for a in appended if os.path.exists(a)]
        if written and os.path.getsize(tmp) == 0:
            os.replace(written[0], tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        if os.path.isdir(path):  # made while the file was being written
            raise _error(IsADirectoryError, f"cannot write {path}: it is a folder",
                         errno.EISDIR)
        os.replace(tmp, path)
    except OSError as err:
        _remove_quietly(tmp, *appended)
        ours = err.filename in (None, tmp, path, *appended)
        if not ours or str(err).startswith(f"cannot write {path}:"):
            raise  # about another file (e.g. an input the writer reads), or already restated
        raise _write_error(err, path) from None
    except BaseException:
        _remove_quietly(tmp, *appended)
        raise
    finally:
        _remove_quietly(*appended)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def write_json(path: str | os.PathLike, obj, *, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically, after :func:`to_jsonable`."""
    write_text(path, json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False) + "\n")


def file_kind(path: str | os.PathLike) -> str:
    """What a file seems to hold, from its first bytes: ``"an .npz archive"``,
    ``"a .npy array"``, ``"a NetCDF/HDF5 file"``, ``"JSON"``, ``"text"`` or ``"binary data"``
    (for error messages; ``"an unreadable file"`` when it cannot be read)."""
    try:
        with open(os.fspath(path), "rb") as f:
            head = f.read(512)
    except OSError:
        return "an unreadable file"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "an .npz archive"
    if head.startswith(b"\x93NUMPY"):
        return "a .npy array"
    if head.startswith(b"\x89HDF") or head.startswith(b"CDF"):
        return "a NetCDF/HDF5 file"
    try:
        text = head.decode("utf-8").lstrip("\ufeff \t\r\n")
    except UnicodeDecodeError:
        return "binary data"
    return "JSON" if text[:1] in ("{", "[") else "text"


def input_file(path: str | os.PathLike, what: str, expected: str) -> str:
    """Check that ``path`` is an existing file (not a folder) before reading it.

    Args:
        path: the file.
        what: the argument or kind of file named first in the error (e.g. ``"demos"``).
        expected: what the file should be, for the message (e.g. ``"a JSON file"``).

    Returns:
        ``os.fspath(path)``.

    Raises:
        FileNotFoundError: no such file (``"<what>: no such file: <path>"``).
        IsADirectoryError: ``path`` is a folder.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise _error(IsADirectoryError, f"{what}: {path} is a folder, expected {expected}",
                     errno.EISDIR)
    if not os.path.exists(path):
        raise _error(FileNotFoundError, f"{what}: no such file: {path}", errno.ENOENT)
    return path


def read_json(path: str | os.PathLike, what: str):
    """The JSON document in ``path``.

    Args:
        path: the file.
        what: the argument or kind of file named in the error (e.g. ``"demos"``).

    Raises:
        FileNotFoundError: no such file.
        IsADirectoryError: ``path`` is a folder.
        ValueError: the file is not valid JSON (``"<what>: <path> is not valid JSON (...)"``),
            e.g. an .npz archive (the message says what it seems to be).
    """
    path = input_file(path, what, "a JSON file")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        kind = file_kind(path)
        if kind not in ("JSON", "text"):
            raise ValueError(f"{what}: {path} is not a JSON file: it holds {kind}") from None
        raise ValueError(f"{what}: {path} is not valid JSON ({err})") from err


def to_jsonable(obj):
    """``obj`` with numpy scalars/arrays turned into Python numbers/lists, tuples into lists,
    dict keys into strings and non-finite floats into None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    return obj


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_marker(folder: str, name: str, kind: str) -> None:
    marker = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
              "target": name, "kind": kind}
    with open(os.path.join(folder, STAGING_MARKER), "w") as f:
        json.dump(marker, f)


def _make_staging(parent: str, name: str) -> str:
    staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}stage-{name}-", dir=parent)
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp's 0700 would survive the rename
        _write_marker(staging, name, "stage")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def check_output_folder(target: str | os.PathLike, *, force: bool) -> str:
    """Check that a folder can be written as a whole at ``target`` (see :func:`staged_folder`).

    Returns:
        ``os.fspath(target)``.

    Raises:
        FileNotFoundError: the parent folder does not exist.
        NotADirectoryError: the parent is a file.
        FileExistsError: ``target`` is a file, or a non-empty folder and ``force`` is False.
    """
    target = os.fspath(target)
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.exists(parent):
        raise _error(FileNotFoundError, f"cannot write {target}: the folder "
                     f"{_folder_of(target)} does not exist", errno.ENOENT)
    if not os.path.isdir(parent):
        raise _error(NotADirectoryError, f"cannot write {target}: {_folder_of(target)} is not "
                     "a folder", errno.ENOTDIR)
    if os.path.lexists(target):
        if not os.path.isdir(target) or os.path.islink(target):
            raise _error(FileExistsError, f"{target} exists and is not a folder", errno.EEXIST)
        if not force and os.listdir(target):
            raise _error(FileExistsError, f"{target} is not empty", errno.EEXIST)
    return target


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT/SIGTERM while the block runs and deliver them afterwards, so a rename
    sequence is never cut in half; yields the list of signals received meanwhile, so that the
    block can undo its renames first. Outside the main thread it does nothing."""
    with _interrupt.deferred() as received:
        yield received


def replace_folder(staging: str, target: str, *, force: bool) -> None:
    """Make ``staging`` the folder ``target``, as a whole.

    An existing ``target`` that is non-empty needs ``force``; it is renamed aside first and
    removed only after ``staging`` is in place (if the final rename fails, it is put back).

    Raises:
        FileExistsError: ``target`` is a non-empty folder and ``force`` is False, or a file.
        OSError: a rename failed (``target`` is then as it was); the message names ``target``.
    """
    os.remove(os.path.join(staging, STAGING_MARKER))
    target = os.fspath(target)
    parent, name = os.path.split(os.path.abspath(target))
    with deferred_signals() as received:
        old = None
        if os.path.lexists(target):
            check_output_folder(target, force=force)
            try:
                old = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}old-{name}-", dir=parent)
                os.rmdir(old)
                os.replace(target, old)
            except OSError as err:
                raise _write_error(err, target) from None
            _write_marker(old, name, "old")  # a kill now: the next run puts it back
        try:
            os.replace(staging, target)
        except OSError as err:
            if old is not None:
                os.remove(os.path.join(old, STAGING_MARKER))
                os.replace(old, target)
            raise _write_error(err, target) from None
        if received:  # interrupted during the swap: the run is not written, the old one stays
            os.replace(target, staging)
            if old is not None:
                os.remove(os.path.join(old, STAGING_MARKER))
                os.replace(old, target)
            return
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike, *, force: bool = False):
    """Yield an empty staging folder next to ``target``; on a clean exit it replaces
    ``target`` as a whole (:func:`replace_folder`), on an exception (SIGINT included) it is
    removed and ``target`` is untouched.

    The parent of ``target`` must exist. Stale staging folders of killed runs in the same
    parent are removed first (:func:`clean_stale_staging`).

    Raises:
        FileNotFoundError, NotADirectoryError, FileExistsError: as
            :func:`check_output_folder`, before the block runs (and again before the swap).
        OSError: the staging folder cannot be made (e.g. ``PermissionError``) or a rename
            failed; the message names ``target``, never the staging folder.
    """
    target = check_output_folder(target, force=force)
    parent, name = os.path.split(os.path.abspath(target))
    clean_stale_staging(parent)
    try:
        staging = _make_staging(parent, name)
    except OSError as err:
        raise _write_error(err, target) from None
    _interrupt.remove_on_interrupt(staging)
    try:
        yield staging
        replace_folder(staging, target, force=force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _interrupt.forget(staging)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _staging_folders(parent: str) -> list[str]:
    """The ``.bayesirl-*`` folders in ``parent``, sorted (none when it cannot be listed)."""
    try:
        entries = sorted(os.listdir(parent))
    except OSError:
        return []
    paths = (os.path.join(parent, entry) for entry in entries if entry.startswith(STAGING_PREFIX))
    return [path for path in paths if os.path.isdir(path)]


def clean_stale_staging(parent: str | os.PathLike) -> list[str]:
    """Remove the staging folders in ``parent`` left by bayesirl processes that no longer run.

    A folder counts as stale when it is named ``.bayesirl-*``, holds :data:`STAGING_MARKER`,
    and the process it names (on this host) is gone, or the marker cannot be read and the folder
    is over a day old. Folders of live processes and of other hosts are left alone. A previous
    folder moved aside by a run killed before its replacement was in place is renamed back to
    its name when that name is free, instead of being removed.

    Returns:
        The paths removed or restored.
    """
    parent = os.fspath(parent)
    removed = []
    for path in _staging_folders(parent):
        marker = os.path.join(path, STAGING_MARKER)
        info = {}
        try:
            with open(marker) as f:
                info = json.load(f)
            stale = info.get("host") == socket.gethostname() and not _alive(int(info["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            stale = (os.path.exists(marker) or not os.listdir(path)) and (
                time.time() - os.path.getmtime(path) > 86400)
        if not stale:
            continue
        original = os.path.join(parent, str(info.get("target", "")))
        if info.get("kind") == "old" and info.get("target") and not os.path.lexists(original):
            os.remove(marker)
            os.replace(path, original)
        else:
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def set_aside_copy(target: str | os.PathLike) -> str | None:
    """The previous version of the folder ``target`` that a bayesirl process killed while
    replacing it moved aside (a ``.bayesirl-*`` folder beside it whose marker names ``target``
    and says ``"old"``), or None. :func:`clean_stale_staging` renames it back."""
    target = os.path.abspath(os.fspath(target))
    parent, name = os.path.split(target)
    for path in _staging_folders(parent):
        try:
            with open(os.path.join(path, STAGING_MARKER)) as f:
                info = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and info.get("kind") == "old" and info.get("target") == name:
            return path
    return None


#: A claim whose file cannot be read (being written) counts as held for this many seconds.
_CLAIM_UNREADABLE_GRACE_S = 60.0
#: A claim of a process on another host counts as held for this many seconds.
_CLAIM_OTHER_HOST_S = 86400.0


def claim_file(target: str | os.PathLike) -> str:
    """The file that claims the output folder ``target`` (see :func:`claimed_folder`): a
    hidden JSON file in the nearest existing folder above ``target``, named after the path
    from there."""
    target = os.path.abspath(os.fspath(target))
    folder = os.path.dirname(target)
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    rel = os.path.relpath(target, folder)
    digest = hashlib.sha256(rel.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return os.path.join(folder, f"{STAGING_PREFIX}claim-{os.path.basename(target)[:64]}-"
                                f"{digest}.json")


def check_unclaimed(target: str | os.PathLike) -> None:
    """Raise when another live bayesirl process holds a claim on the output folder ``target``.

    A claim is held while its process runs (on this host), for a day when it comes from
    another host, and for a minute when its file cannot be read yet. Claims of processes that
    are gone are ignored (and replaced by the next :func:`claimed_folder`).

    Raises:
        FileExistsError: ``"<target> is being written by another bayesirl process (pid N,
            started HH:MM:SS); wait for it to finish or choose another folder"``.
    """
    path = claim_file(target)
    try:
        with open(path) as f:
            info = json.load(f)
        pid, host, started = int(info["pid"]), str(info["host"]), float(info["started"])
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):
        try:
            held = time.time() - os.path.getmtime(path) < _CLAIM_UNREADABLE_GRACE_S
        except OSError:
            return
        pid, host, started = None, None, None
    else:
        held = (_alive(pid) if host == socket.gethostname()
                else time.time() - started < _CLAIM_OTHER_HOST_S)
    if held:
        who = "" if pid is None else (
            f" (pid {pid}{'' if host == socket.gethostname() else ' on ' + host}, started "
            f"{time.strftime('%H:%M:%S', time.localtime(started))})")
        raise _error(FileExistsError, f"{os.fspath(target)} is being written by another "
                     f"bayesirl process{who}; wait for it to finish or choose another folder",
                     errno.EEXIST)


@contextlib.contextmanager
def claimed_folder(target: str | os.PathLike):
    """Hold a claim on writing the folder ``target`` while the block runs.

    The claim is a small file (:func:`claim_file`, created exclusively) naming this process;
    it is removed when the block ends, however it ends. A second process that asks for the same
    ``target`` meanwhile is refused at once (:func:`check_unclaimed`), instead of finding the
    folder taken when its own work is done. Where no claim can be written (a read-only
    folder) the block runs without one: writing the results will report that folder.

    Raises:
        FileExistsError: another live process holds the claim (before the block runs).
    """
    path = claim_file(target)
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
            "target": os.path.abspath(os.fspath(target)), "kind": "claim"}
    fd = None
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~_umask())
            break
        except FileExistsError:
            check_unclaimed(target)
            _remove_quietly(path)  # left by a process that is gone
        except OSError:
            break
    else:
        check_unclaimed(target)
    if fd is not None:
        _interrupt.remove_on_interrupt(path)
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
    try:
        yield
    finally:
        if fd is not None:
            _remove_quietly(path)
            _interrupt.forget(path)
