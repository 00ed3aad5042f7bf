"""Interrupts of the ``bayesirl`` command: one line, exit status 130, nothing written.

The command installs :func:`install` before it imports JAX or NumPy (from the package's
``__init__``, only when the process is the command line: a library import never changes the
user's signal handlers). From then on SIGINT and SIGTERM do not raise ``KeyboardInterrupt``,
which a C extension being imported can turn into a crash and JAX's garbage-collection callback
can swallow (the run would then go on and write). Instead the handler removes what the run
created so far (its staging folder and its claim, registered with :func:`remove_on_interrupt`),
prints one line and ends the process at once with status 130. Inside :func:`deferred` (the
renames that put a finished run in place) the signal is held and handed to the caller, which
undoes the renames before the process ends.

Only the standard library is imported here: this module runs before everything else.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["EXIT_INTERRUPTED", "MESSAGE", "install", "installed", "is_command_line",
           "remove_on_interrupt", "forget", "deferred"]

#: Exit status of an interrupted command (128 + SIGINT, the shell's convention; also SIGTERM).
EXIT_INTERRUPTED = 130
#: The one line an interrupted command prints on stderr.
MESSAGE = "bayesirl: interrupted; no output was written or changed"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_state = {"installed": False, "held": None}
_cleanup: list[str] = []


def is_command_line(argv: list[str] | None = None, orig_argv: list[str] | None = None) -> bool:
    """Whether this process is the ``bayesirl`` command (the console script, or ``python -m
    bayesirl.cli``), judged from ``sys.argv`` / ``sys.orig_argv`` (or the lists given)."""
    argv = sys.argv if argv is None else argv
    orig = getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv
    if argv and os.path.basename(str(argv[0])) in ("bayesirl", "bayesirl.exe"):
        return True
    for i, arg in enumerate(orig[:-1]):
        if arg == "-m" and orig[i + 1] in ("bayesirl.cli", "bayesirl.cli.__main__"):
            return True
    return False


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
    except OSError:
        pass


def _handle(signum, frame) -> None:
    if _state["held"] is not None:
        _state["held"].append(signum)
        return
    for path in reversed(_cleanup):
        _remove(path)
    try:
        os.write(2, (MESSAGE + "\n").encode())
    finally:
        os._exit(EXIT_INTERRUPTED)


def install() -> bool:
    """Handle SIGINT and SIGTERM as described in the module docstring, for the rest of the
    process. Does nothing outside the main thread or when a handler other than Python's
    defaults is already installed (an embedding application keeps its own).

    Returns:
        Whether the handler is installed.
    """
    if _state["installed"]:
        return True
    defaults = {signal.SIGINT: (signal.default_int_handler, signal.SIG_DFL),
                signal.SIGTERM: (signal.SIG_DFL,)}
    if any(signal.getsignal(sig) not in defaults[sig] for sig in _SIGNALS):
        return False
    try:
        for sig in _SIGNALS:
            signal.signal(sig, _handle)
    except ValueError:  # not the main thread
        return False
    _state["installed"] = True
    return True


if is_command_line():  # as early as possible: nothing else is imported yet
    install()

import contextlib  # noqa: E402
import shutil  # noqa: E402
import threading  # noqa: E402


def installed() -> bool:
    """Whether :func:`install` put the command's handler in place."""
    return _state["installed"]


def remove_on_interrupt(path: str | os.PathLike) -> None:
    """Remove ``path`` (a file or folder this run created) if the command is interrupted."""
    _cleanup.append(os.fspath(path))


def forget(path: str | os.PathLike) -> None:
    """Stop removing ``path`` on an interrupt (it was removed, or it is the finished run)."""
    path = os.fspath(path)
    if path in _cleanup:
        _cleanup.remove(path)


@contextlib.contextmanager
def deferred():
    """Hold SIGINT/SIGTERM while the block runs; yields the list of the signals received.

    The block reads the list to undo what it did; when the block ends the first held signal is
    delivered: with the command's handler installed it ends the process (status 130), else the
    handler that was in place before runs (Python's default raises ``KeyboardInterrupt``).
    Outside the main thread nothing is held and the list stays empty.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    if _state["installed"]:
        outer = _state["held"]
        _state["held"] = received
        try:
            yield received
        finally:
            _state["held"] = outer
            if received:
                if outer is not None:
                    outer.extend(received)
                else:
                    _handle(received[0], None)
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in _SIGNALS}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            elif handler == signal.SIG_DFL and received[0] == signal.SIGINT:
                raise KeyboardInterrupt
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), received[0])
