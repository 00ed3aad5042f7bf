"""Deprecated keyword names: keep an old keyword working, with a ``DeprecationWarning``."""

from __future__ import annotations

import functools
import warnings

__all__ = ["renamed_arguments"]


def renamed_arguments(**renames: str):
    """Decorator: accept each old keyword ``old=`` as ``renames[old]``, with a warning.

    Example: ``@renamed_arguments(key="rng_key")`` lets ``f(key=k)`` call ``f(rng_key=k)``
    and warns ``DeprecationWarning: f: the keyword 'key' is deprecated; use 'rng_key'``.

    Raises:
        TypeError: (from the wrapper) if both the old and the new keyword are given.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}: got both {old!r} (deprecated) and "
                                        f"{new!r}; pass only {new!r}")
                    warnings.warn(f"{fn.__name__}: the keyword {old!r} is deprecated; use "
                                  f"{new!r}", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper

    return decorate
