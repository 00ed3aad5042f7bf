"""Eager validation of user input (outside jit), in one place.

Every check raises ``ValueError`` or ``TypeError`` whose message names the argument, the
expected form and what was given. Nothing here modifies its input.

Two tiers (see the solvers): constructors and file readers convert and check everything
(:func:`as_float_array`, :func:`as_index_array`, ...); functions that also run inside
``jax.jit`` / ``jax.vmap`` / ``jax.grad`` check the *values* of an array only when it is
concrete (:func:`is_concrete`): :func:`check_concrete`, :func:`check_policy_concrete`. A traced
value cannot be inspected without breaking the trace, so those checks do nothing then.
"""

from __future__ import annotations

import numbers

import jax
import numpy as np

__all__ = [
    "PROBABILITY_ATOL",
    "as_float_array",
    "as_index_array",
    "check_finite",
    "check_shape",
    "check_probability_vector",
    "check_scalar",
    "is_concrete",
    "check_concrete",
    "check_policy_concrete",
    "check_inference_data",
]

#: Tolerance on probabilities summing to 1 (transition rows, p0, policies): float32 round-off
#: of user data and of softmax / averaged policies stays well below it.
PROBABILITY_ATOL = 1e-5


def _describe(value) -> str:
    if isinstance(value, np.ndarray | jax.Array):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def as_float_array(value, name: str, ndim: tuple[int, ...] | int | None = None) -> np.ndarray:
    """Convert ``value`` to a new float64 numpy array, checking its rank and finiteness.

    Raises:
        TypeError: if ``value`` is not numeric.
        ValueError: if its rank is not in ``ndim`` or it holds NaN/inf.
    """
    _refuse_complex(value, name)
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        kind = "real numbers, got complex values" if _holds_complex(value) else (
            f"a numeric array, got {_describe(value)}")
        raise TypeError(f"{name}: expected {kind}") from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name}: expected a {want} array, got shape {arr.shape}")
    check_finite(arr, name)
    return arr


def _holds_complex(value) -> bool:
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return np.dtype(dtype).kind == "c"
    if isinstance(value, complex):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_complex(v) for v in value[:1000])
    return False


def _refuse_complex(value, name: str) -> None:
    """Raise ``TypeError`` for a complex array or number (converting it to float would drop
    the imaginary part with only a warning)."""
    dtype = getattr(value, "dtype", None)
    if (dtype is not None and np.dtype(dtype).kind == "c") or isinstance(value, complex):
        raise TypeError(f"{name}: expected real numbers, got complex values "
                        f"({_describe(value)})")


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
    elif raw.size and raw.dtype.kind == "O" and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in raw.flat):
        pass  # Python integers too large for int64: refused as out of range below
    elif raw.size and raw.dtype.kind not in "iub":
        raise TypeError(f"{name}: expected integer indices, got dtype {raw.dtype}")
    if raw.dtype.kind == "b":
        raise TypeError(f"{name}: expected integer indices, got booleans")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if raw.ndim not in allowed:
        raise ValueError(f"{name}: expected a {allowed[0]}-D array of indices, got shape "
                         f"{raw.shape}")
    if raw.size:  # checked before the cast to int64, which would wrap huge values
        lo, hi = raw.min(), raw.max()
        if lo < 0 or hi >= upper:
            bad = lo if lo < 0 else hi
            if isinstance(bad, float | np.floating):
                shown = str(int(bad)) if abs(bad) < 1e18 else f"{float(bad):g}"
            else:
                shown = str(int(bad))
            if len(shown) > 30:
                shown = f"{shown[:12]}… ({len(shown)} digits)"
            raise ValueError(f"{name}: index {shown} is out of range; expected "
                             f"0 <= index < {upper}")
    return raw.astype(np.int64)


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
    if isinstance(value, jax.Array) and is_concrete(value):
        value = np.asarray(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | np.generic):
        raise TypeError(f"{name}: expected a number, got {_describe(value)}")
    if isinstance(value, np.ndarray | np.generic) and np.dtype(value.dtype).kind not in "biuf":
        raise TypeError(f"{name}: expected a real number, got {_describe(value)}")
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


def is_concrete(value) -> bool:
    """False for a JAX tracer (a value inside ``jit``, ``vmap``, ``grad``...), True otherwise.

    Only a concrete value can be inspected (and so validated) without breaking the trace.
    """
    return not isinstance(value, jax.core.Tracer)


def _concrete_values(value, name: str) -> np.ndarray:
    _refuse_complex(value, name)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: expected a numeric array, got {_describe(value)}") from err
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got {_describe(arr)}")
    return arr


def check_concrete(value, name: str, *, low: float | None = None, low_open: bool = False
                   ) -> None:
    """Check the values of a concrete array (numpy or JAX): real, finite and, with ``low``,
    ``>= low`` (``> low`` with ``low_open``). Does nothing for a JAX tracer (inside jit).

    Raises:
        TypeError: complex or non-numeric values.
        ValueError: NaN/inf, or a value below ``low`` (naming the first bad index).
    """
    if not is_concrete(value):
        return
    arr = _concrete_values(value, name)
    if arr.dtype.kind == "f":
        check_finite(arr, name)
    if low is not None:
        bad = arr <= low if low_open else arr < low
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
            where = f" at index {idx}" if arr.ndim else ""
            op = ">" if low_open else ">="
            raise ValueError(f"{name}: expected values {op} {low:g}, got {arr[idx]}{where}")


def check_policy_concrete(policy, name: str = "policy", atol: float = PROBABILITY_ATOL) -> None:
    """Check that a concrete ``(..., S, A)`` array holds action probabilities: real, finite,
    >= 0, each row summing to 1 within ``atol``. Does nothing for a JAX tracer (inside jit).

    Raises:
        TypeError: complex or non-numeric values.
        ValueError: NaN/inf, a negative entry or a row whose sum is off (naming its index).
    """
    if not is_concrete(policy):
        return
    arr = _concrete_values(policy, name)
    want = f"{name}: expected action probabilities (finite, >= 0, each row summing to 1)"
    for bad in (~np.isfinite(arr), arr < 0):
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{want}; got {arr[idx]} at index {idx}")
    sums = np.atleast_1d(arr.sum(axis=-1))
    off = np.abs(sums - 1.0) > atol
    if off.any():
        row = tuple(int(i) for i in np.argwhere(off)[0])
        where = (f"row {row[0] if len(row) == 1 else row}" if arr.ndim > 1
                 else "the vector")
        raise ValueError(f"{want}; {where} sums to {float(sums[row]):.6g} "
                         f"(tolerance {atol:g})")


def check_inference_data(idata, name: str = "idata", groups: tuple[str, ...] = ("posterior",)
                         ) -> None:
    """Check that ``idata`` is an ArviZ ``InferenceData`` with the given groups.

    Raises:
        TypeError: ``idata`` is not an InferenceData (e.g. a dict or a NumPyro ``MCMC``).
        ValueError: a group is missing (naming the groups it has).
    """
    from bayesirl import _arviz  # imports ArviZ (slow): only when an InferenceData is due

    if not isinstance(idata, _arviz.InferenceData):
        hint = (" (convert a NumPyro MCMC with arviz.from_numpyro)"
                if hasattr(idata, "get_samples") else "")
        raise TypeError(f"{name}: expected an ArviZ InferenceData with a "
                        f"{' and '.join(groups)} group (e.g. from bayesirl.fit), got "
                        f"{type(idata).__name__}{hint}")
    missing = [g for g in groups if g not in idata.groups()]
    if missing:
        raise ValueError(f"{name}: expected an InferenceData with a {' and '.join(missing)} "
                         f"group, got groups {list(idata.groups())}")
