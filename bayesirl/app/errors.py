"""Errors of the application layer that the command line reports as one line (exit status 2)."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(ValueError):
    """A user error (bad setting, unusable input file or output folder): the message is one
    line and starts with the flag or argument it concerns (``--out: ...``, ``DIR: ...``)."""
