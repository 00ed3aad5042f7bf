"""Eager validation of user input (outside jit), in one place.

Every check raises ``ValueError`` or ``TypeError`` whose message names the argument, the
expected form and what was given. Nothing here modifies its input.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_float_array",
    "as_index_array",
    "check_finite",
    "check_shape",
    "check_probability_vector",
    "check_scalar",
]


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def as_float_array(value, name: str, ndim: tuple[int, ...] | int | None = None) -> np.ndarray:
    """Convert ``value`` to a new float64 numpy array, checking its rank and finiteness.

    Raises:
        TypeError: if ``value`` is not numeric.
        ValueError: if its rank is not in ``ndim`` or it holds NaN/inf.
    """
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: expected a numeric array, got {_describe(value)}") from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name}: expected a {want} array, got shape {arr.shape}")
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` and the first bad index if ``arr`` has NaN/inf."""
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}: expected finite numbers, got {arr[idx]} at index {idx}")


def as_index_array(value, name: str, upper: int, ndim: int | tuple[int, ...] = 1) -> np.ndarray:
    """Convert ``value`` to an int64 array of indices in ``[0, upper)``.

    Raises:
        TypeError: if the values are not integers.
        ValueError: if the rank is wrong or an index is out of range.
    """
    try:
        raw = np.array(value, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: expected integer indices, got {_describe(value)}") from err
    if raw.size and raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or not np.all(raw == np.round(raw)):
            raise TypeError(f"{name}: expected integer indices, got non-integer values")
    elif raw.size and raw.dtype.kind not in "iub":
        raise TypeError(f"{name}: expected integer indices, got dtype {raw.dtype}")
    if raw.dtype.kind == "b":
        raise TypeError(f"{name}: expected integer indices, got booleans")
    arr = raw.astype(np.int64)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        raise ValueError(f"{name}: expected a {allowed[0]}-D array of indices, got shape {arr.shape}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= upper:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name}: index {bad} is out of range; expected 0 <= index < {upper}")
    return arr


def check_shape(arr: np.ndarray, shape: tuple, name: str) -> None:
    """Raise ``ValueError`` unless ``arr.shape`` matches ``shape`` (``None`` = any size)."""
    ok = arr.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")


def check_probability_vector(arr: np.ndarray, name: str, atol: float) -> None:
    """Raise ``ValueError`` unless ``arr`` is non-negative and its last axis sums to 1."""
    if (arr < 0).any():
        idx = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(f"{name}: probabilities must be >= 0, got {arr[idx]} at index {idx}")
    sums = np.atleast_1d(arr.sum(axis=-1))
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        first = np.argwhere(bad)[0]
        where = f" at index {tuple(int(i) for i in first)}" if arr.ndim > 1 else ""
        raise ValueError(
            f"{name}: probabilities must sum to 1 (within {atol:g}); "
            f"got sum {float(sums[tuple(first)]):.6g}{where}"
        )


def check_scalar(value, name: str, *, low=None, high=None, low_open=False, high_open=False,
                 integer=False) -> float | int:
    """Check that ``value`` is a real (or integer) scalar inside the given interval.

    Raises:
        TypeError: if ``value`` is not a number (or not an integer when ``integer``).
        ValueError: if it lies outside the interval.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | np.generic):
        raise TypeError(f"{name}: expected a number, got {_describe(value)}")
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise TypeError(f"{name}: expected a scalar, got shape {value.shape}")
        value = value.item()
    if integer:
        if float(value) != int(value):
            raise TypeError(f"{name}: expected an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name}: expected {op} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name}: expected {op} {high}, got {value}")
    return value
