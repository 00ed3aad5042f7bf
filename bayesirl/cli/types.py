"""Argument types of the ``bayesirl`` command line: strings → typed values, or one-line errors.

Each function is an argparse ``type=``: it raises ``argparse.ArgumentTypeError``, which the
parser reports as ``bayesirl fit: argument --flag: <message> (see --help)``.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from bayesirl.app.config import (COUNT_MAX, DISCOUNT_MAX_FLOAT32, FLOAT32_MAX, FLOAT32_TINY,
                                 SEED_MAX, BetaSpec, ConfigError)
from bayesirl.likelihoods.registry import SOURCES as _REGISTRY

#: Every evidence model a run can name (tabular and trajectory-feature runs).
SOURCES = tuple(_REGISTRY)

__all__ = ["positive_int", "nonnegative_int", "seed", "discount", "positive_float",
           "nonnegative_float", "open_probability", "grid", "likelihoods", "beta_arg", "id_list",
           "name_list",
           "Parser", "CLIError"]


class CLIError(Exception):
    """A user error reported as one line on stderr (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (:class:`CLIError`), not usage + exit."""

    def error(self, message):
        raise CLIError(f"{self.prog}: {message} (see --help)")


def _number(text: str, kind, expected: str):
    try:
        return kind(text)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def _short(text: str) -> str:
    return repr(text) if len(text) <= 30 else f"{text[:12]!r}… ({len(text)} characters)"


def positive_int(text: str, minimum: int = 1, maximum: int = COUNT_MAX) -> int:
    """An integer in [``minimum``, ``maximum``] (default [1, :data:`COUNT_MAX`]: counts are
    int32 in JAX)."""
    value = _number(text, int, f"an integer >= {minimum}")
    if not minimum <= value <= maximum:
        raise argparse.ArgumentTypeError(f"expected an integer in [{minimum}, {maximum}], "
                                         f"got {_short(text)}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer in [0, :data:`COUNT_MAX`]."""
    return positive_int(text, 0)


def seed(text: str) -> int:
    """A seed: an integer in [0, :data:`SEED_MAX`] (PRNG keys keep 32 bits)."""
    return positive_int(text, 0, SEED_MAX)


def discount(text: str) -> float:
    """γ in [0, 1), and below 1 in float32 (at most :data:`DISCOUNT_MAX_FLOAT32`)."""
    value = _number(text, float, "a number in [0, 1)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    if np.float32(value) >= 1:
        raise argparse.ArgumentTypeError(
            f"expected a number in [0, 1) that stays below 1 in float32 (at most "
            f"{DISCOUNT_MAX_FLOAT32!r}), got {text!r}, which float32 rounds to 1")
    return value


def _float32(value: float, text: str) -> float:
    if value != 0 and not FLOAT32_TINY <= abs(value) <= FLOAT32_MAX:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range: bayesirl computes in float32, which holds magnitudes "
            f"from {FLOAT32_TINY:.3g} to {FLOAT32_MAX:.3g} (or 0)")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 that float32 holds (>= :data:`FLOAT32_TINY`, <= :data:`FLOAT32_MAX`)."""
    value = _number(text, float, "a number > 0")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value}")
    return _float32(value, text)


def nonnegative_float(text: str) -> float:
    """A finite number >= 0 that float32 holds (0, or in [:data:`FLOAT32_TINY`,
    :data:`FLOAT32_MAX`])."""
    value = _number(text, float, "a number >= 0")
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value}")
    return _float32(value, text)


def open_probability(text: str) -> float:
    """A number in (0, 1)."""
    value = _number(text, float, "a number in (0, 1)")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {value}")
    return value


def grid(text: str) -> tuple[int, int]:
    """``HxW`` such as ``5x5``."""
    parts = text.lower().split("x")
    try:
        h, w = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 5x5, got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    if max(h, w) > COUNT_MAX:
        raise argparse.ArgumentTypeError(f"expected sizes <= {COUNT_MAX}, got {_short(text)}")
    return h, w


def likelihoods(text: str) -> tuple[str, ...]:
    """A comma-separated list of distinct names from :data:`SOURCES` (the run's kind then
    decides which are allowed: :class:`~bayesirl.app.config.RunConfig`)."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in SOURCES]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(SOURCES)}, got {text!r}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a likelihood is repeated in {text!r}")
    return names


def beta_arg(text: str) -> tuple[str | None, BetaSpec]:
    """``SPEC`` or ``SOURCE=SPEC``; SPEC as :meth:`BetaSpec.parse` (``5``, ``lognormal:0,1``)."""
    source, sep, spec = text.partition("=")
    if not sep:
        source, spec = None, text
    elif source not in SOURCES:
        raise argparse.ArgumentTypeError(
            f"expected SOURCE=SPEC with SOURCE in {', '.join(SOURCES)}, got {text!r}")
    try:
        return source, BetaSpec.parse(spec)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--beta: ")) from None


def id_list(text: str) -> tuple[int, ...]:
    """Trajectory ids: comma-separated integers >= 0 and inclusive ranges, ``0,3,10-19``."""
    ids = []
    for item in (x.strip() for x in text.split(",")):
        lo, sep, hi = item.partition("-")
        try:
            first, last = int(lo), int(hi if sep else lo)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected ids like 0,3,10-19 (integers >= 0, inclusive ranges), got {text!r}"
            ) from None
        if first < 0 or last < first:
            raise argparse.ArgumentTypeError(f"expected ranges A-B with 0 <= A <= B, got {item!r}")
        ids.extend(range(first, last + 1))
    return tuple(ids)


def name_list(text: str) -> tuple[str, ...]:
    """Comma-separated distinct non-empty names, ``price,time``."""
    names = tuple(n.strip() for n in text.split(","))
    if not names or not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a name is repeated in {text!r}")
    return names
