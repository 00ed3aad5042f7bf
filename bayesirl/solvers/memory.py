"""How much memory a solve needs, and a check that refuses one that cannot fit.

The estimate counts what XLA keeps alive at the peak of a discounted solve (Newton steps with
GMRES, the heaviest method; value iteration needs less) on the sparse (S, A, K) form, per
device when the states are split over D devices (:mod:`bayesirl.solvers.sharded`):

* the MDP: ``next_states`` (int32) and ``next_probs``, S·A·K entries each, and the per-state
  arrays (initial distribution, terminal flags, features when given);
* :data:`STATE_ACTION_ARRAYS` (S, A) arrays (reward, Q, policy, their loop copies and the
  returned Q and policy) and :data:`STATE_ARRAYS` (S,) vectors (values, residuals, GMRES'
  Krylov basis of ``GMRES_RESTART + 1`` vectors and its work copies);
* one more (S,) vector per device for the gathered values when D > 1, and a block of
  ``BLOCK_EDGES`` gathered successor values.

The counts were read off XLA's buffer assignment of the compiled soft value iteration
(``compiled.memory_analysis()``) at S = 10^6 and checked against the peak resident memory of
solves at 10^6 and 10^7 states (``benchmarks/bench_scale_out.py``). A batch of B rewards
(``jax.vmap``) multiplies everything but the MDP by B.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._memory import available_memory, device_memory_limit, format_bytes
from bayesirl._validate import check_scalar
from bayesirl.solvers._linear import GMRES_RESTART
from bayesirl.solvers._sharding import BLOCK_EDGES

__all__ = ["estimate_solver_memory", "check_solver_memory", "STATE_ACTION_ARRAYS",
           "STATE_ARRAYS", "MEMORY_FRACTION"]

#: (S, A) arrays alive at the peak of a Newton solve (reward, Q and policy of the current
#: values, the loop's copies, the returned Q and policy).
STATE_ACTION_ARRAYS = 8
#: (S,) vectors alive at the peak besides GMRES' two (S, restart + 1) work arrays (values,
#: Bellman update, the outer loop's carries).
STATE_ARRAYS = 4
#: A solve may use at most this fraction of the memory available when it starts (the rest is
#: for the process, the compiler and whatever else runs).
MEMORY_FRACTION = 0.8


def estimate_solver_memory(num_states: int, num_actions: int, num_successors: int,
                           num_features: int | None = None, dtype="float32", batch: int = 1,
                           num_devices: int = 1) -> int:
    """Bytes one device needs to solve a discounted MDP (peak, an estimate within ~20 %).

    Args:
        num_states: S.
        num_actions: A.
        num_successors: K, successors stored per state-action pair.
        num_features: F of (S, F) features stored with the MDP; None for none (a given
            reward, or the implicit identity features of large MDPs).
        dtype: float dtype of the MDP and the solve (``"float32"`` or ``"float64"``).
        batch: B rewards solved at once (``jax.vmap``).
        num_devices: D devices the states are split over (:mod:`bayesirl.solvers.sharded`).

    Returns:
        Bytes per device.

    Raises:
        ValueError: a size < 1 (naming it) or a non-float ``dtype``.
    """
    S = check_scalar(num_states, "num_states", low=1, integer=True)
    A = check_scalar(num_actions, "num_actions", low=1, integer=True)
    K = check_scalar(num_successors, "num_successors", low=1, integer=True)
    B = check_scalar(batch, "batch", low=1, integer=True)
    D = check_scalar(num_devices, "num_devices", low=1, integer=True)
    F = 0 if num_features is None else check_scalar(num_features, "num_features", low=1,
                                                      integer=True)
    try:
        dtype = jnp.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype: expected a float dtype, got {dtype!r}") from err
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype: expected a float dtype, got {dtype}")
    f = dtype.itemsize
    rows = -(-S // D)  # states on one device (padded)
    mdp = rows * A * K * (4 + f) + rows * (f + 1 + F * f)
    per_reward = (STATE_ACTION_ARRAYS * rows * A * f
                  + (STATE_ARRAYS + 2 * (GMRES_RESTART + 1)) * rows * f
                  + (S * f if D > 1 else 0)
                  + min(BLOCK_EDGES, rows * A * K) * f)
    return int(mdp + B * per_reward)


def check_solver_memory(num_states: int, num_actions: int, num_successors: int,
                        num_features: int | None = None, dtype="float32", batch: int = 1,
                        num_devices: int = 1, available: int | None = None) -> int:
    """Refuse a solve whose :func:`estimate_solver_memory` exceeds :data:`MEMORY_FRACTION` of
    the memory one device has.

    Args:
        num_states, num_actions, num_successors, num_features, dtype, batch, num_devices: as in
            :func:`estimate_solver_memory`.
        available: bytes one device may use; default the limit of ``jax.devices()[0]`` for an
            accelerator, else the host's available memory divided by D (CPU host devices share
            the host's memory). Unknown: no check.

    Returns:
        The estimate in bytes.

    Raises:
        ValueError: the solve does not fit; the message names ``num_states`` (and ``batch`` when
            B > 1) with the estimate and the limit, and what to change.
    """
    need = estimate_solver_memory(num_states, num_actions, num_successors, num_features, dtype,
                                  batch, num_devices)
    if available is None:
        device = jax.devices()[0]
        available = device_memory_limit(device)
        if available is None:
            host = available_memory()
            available = None if host is None else host // int(num_devices)
    if available is not None and need > MEMORY_FRACTION * available:
        what = "num_states" if int(batch) == 1 else "num_states/batch"
        fix = ("split the states over more devices (num_devices), use float32, or fewer states"
               if int(batch) == 1 else "solve fewer rewards at once (batch)")
        raise ValueError(
            f"{what}: solving S = {int(num_states)} states × A = {int(num_actions)} actions × "
            f"K = {int(num_successors)} successors ({np.dtype(dtype).name}, batch {int(batch)}, "
            f"{int(num_devices)} device(s)) needs about {format_bytes(need)} per device, more "
            f"than {MEMORY_FRACTION:.0%} of the {format_bytes(available)} available; {fix}")
    return need
