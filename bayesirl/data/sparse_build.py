"""Large sparse MDPs without a dense step: built chunk by chunk, padded with unreachable states.

:func:`make_sparse_mdp` takes whole (S, A, K) arrays and validates them in float64, which at
10^7 states means several GiB of temporaries on top of the MDP. :func:`sparse_mdp_from_chunks`
asks a function for the successor lists of a range of states at a time, validates each chunk
and writes it in place into the device arrays (buffer donation), so the host holds one chunk at
a time and the device the MDP once: at S = 10^7, A = K = 4, float32 the MDP is 1.28 GB
(``next_states`` int32 + ``next_probs``) and building it needs about that much. With a
``sharding`` each device receives only its own states, and in a multi-process run each process
only asks for the states of its own devices.

:func:`pad_states` appends unreachable absorbing states, e.g. to make S a multiple of the
number of devices the states are split over (:mod:`bayesirl.solvers.sharded`).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import NamedSharding, PartitionSpec

from bayesirl._typing import ArrayLike
from bayesirl._validate import (
    as_float_array,
    as_index_array,
    check_probability_vector,
    check_scalar,
    check_shape,
)
from bayesirl.data.mdp import (
    IMPLICIT_IDENTITY_MIN_STATES,
    MDP,
    PROBABILITY_ATOL,
    IdentityFeatures,
)

__all__ = ["sparse_mdp_from_chunks", "pad_states", "DEFAULT_CHUNK_STATES"]

#: States per call of ``successors_fn`` by default: 2^18 states, 16 MiB of successor lists in
#: float32 at A = K = 4 (64 MiB while validated in float64).
DEFAULT_CHUNK_STATES = 2**18

SuccessorsFn = Callable[[int, int], tuple[ArrayLike, ArrayLike]]


def sparse_mdp_from_chunks(
    successors_fn: SuccessorsFn,
    num_states: int,
    num_actions: int,
    num_successors: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_STATES,
    features: ArrayLike | None = None,
    discount: float = 0.95,
    initial_distribution: ArrayLike | None = None,
    terminal_states: ArrayLike | None = None,
    dtype=None,
    sharding: NamedSharding | None = None,
) -> MDP:
    """Build a validated :class:`~bayesirl.data.mdp.MDP` from successor lists made a chunk of
    states at a time.

    ``successors_fn(start, stop)`` returns ``(next_states, next_probs)`` of states
    ``start .. stop − 1``, each of shape (stop − start, A, K): successor indices in [0, S) and
    their probabilities (each (s, a) row sums to 1; padding entries have probability 0). It is
    called with ranges of at most ``chunk_size`` states, in increasing order, each state once
    per device that holds it. The result equals :func:`~bayesirl.data.mdp.make_sparse_mdp` on
    the concatenated chunks (same validation, same defaults), without ever holding the whole
    (S, A, K) arrays on the host.

    Args:
        successors_fn: ``(start, stop) -> (next_states, next_probs)``, as above.
        num_states: S >= 1.
        num_actions: A >= 1.
        num_successors: K >= 1, successors stored per state-action pair.
        chunk_size: at most this many states per call (host memory ~ 12·chunk_size·A·K bytes
            while a chunk is validated).
        features, discount, initial_distribution, terminal_states, dtype: as in
            :func:`~bayesirl.data.mdp.make_sparse_mdp` (``features=None``: the implicit
            identity from ``IMPLICIT_IDENTITY_MIN_STATES`` states on).
        sharding: a ``jax.sharding.NamedSharding`` that splits axis 0 (the states), e.g.
            ``NamedSharding(mesh, PartitionSpec("states"))``: the per-state arrays are built
            split that way (S must then be a multiple of the number of parts); default one
            device.

    Returns:
        The MDP; its arrays live on the device(s) (split by ``sharding`` when given).

    Raises:
        TypeError: ``successors_fn`` not callable, non-numeric or non-integer chunk data.
        ValueError: a bad size (naming ``num_states``, ``num_actions``, ``num_successors`` or
            ``chunk_size``); a chunk of the wrong shape, with an index out of range, a negative
            probability or a row that does not sum to 1 (naming the state and action); a bad
            ``features``/``discount``/``initial_distribution``/``terminal_states``; a
            ``sharding`` that does not split the states alone or evenly.
    """
    if not callable(successors_fn):
        raise TypeError(f"successors_fn: expected a function (start, stop) -> (next_states, "
                        f"next_probs), got {type(successors_fn).__name__}")
    S = check_scalar(num_states, "num_states", low=1, integer=True)
    A = check_scalar(num_actions, "num_actions", low=1, integer=True)
    K = check_scalar(num_successors, "num_successors", low=1, integer=True)
    chunk = check_scalar(chunk_size, "chunk_size", low=1, integer=True)
    dtype = jnp.dtype(dtype) if dtype is not None else jnp.zeros(()).dtype
    phi, gamma, p0, terminal = _common_fields(S, A, features, discount, initial_distribution,
                                              terminal_states)
    row_sharding, scalar_sharding = _check_sharding(sharding, S)
    shape = (S, A, K)
    ranges = _row_ranges(row_sharding, shape)
    built = {}  # (lo, hi) -> (next_states, next_probs) on the first device holding it
    shards_ns, shards_np = [], []
    for device, (lo, hi) in ranges:
        if (lo, hi) not in built:
            built[(lo, hi)] = _build_rows(successors_fn, lo, hi, chunk, shape, dtype, device)
        ns, pr = built[(lo, hi)]
        shards_ns.append(jax.device_put(ns, device))
        shards_np.append(jax.device_put(pr, device))
    if row_sharding is None:
        next_states, next_probs = shards_ns[0], shards_np[0]
    else:
        next_states = jax.make_array_from_single_device_arrays(shape, row_sharding, shards_ns)
        next_probs = jax.make_array_from_single_device_arrays(shape, row_sharding, shards_np)
    if isinstance(phi, IdentityFeatures):
        features_out = phi.astype(dtype)
    else:
        features_out = _place(np.asarray(phi, dtype), row_sharding)
    return MDP(
        next_states=next_states,
        next_probs=next_probs,
        features=features_out,
        discount=_place(np.asarray(gamma, dtype), scalar_sharding),
        initial_distribution=_place(np.asarray(p0, dtype), row_sharding),
        terminal=_place(terminal, row_sharding),
    )


def pad_states(mdp: MDP, num_states: int) -> MDP:
    """``mdp`` with states appended up to ``num_states``: absorbing terminal states with initial
    probability 0 and zero features, that no state leads to.

    The first S states keep their transitions, features, initial probabilities and so their
    values, Q-values and policies under any reward (a padded state's reward only acts in that
    state); the new states have value 0 under a zero reward there. Used to make S a multiple of
    the number of devices the states are split over. Works on device arrays and under jit.

    Args:
        mdp: the MDP (S states).
        num_states: S' >= S, the new number of states.

    Returns:
        The MDP with S' states (``mdp`` itself when S' = S). With
        :class:`~bayesirl.data.mdp.IdentityFeatures`, the (S', S') identity.

    Raises:
        ValueError: ``num_states`` < S or not an integer.
    """
    S = mdp.num_states
    new = check_scalar(num_states, "num_states", low=S, integer=True)
    extra = new - S
    if extra == 0:
        return mdp
    _, A, K = mdp.next_states.shape
    own = jnp.arange(S, new, dtype=mdp.next_states.dtype)
    next_states = jnp.zeros((extra, A, K), mdp.next_states.dtype).at[:, :, 0].set(own[:, None])
    next_probs = jnp.zeros((extra, A, K), mdp.next_probs.dtype).at[:, :, 0].set(1.0)
    if isinstance(mdp.features, IdentityFeatures):
        features = IdentityFeatures(new, mdp.features.dtype)
    else:
        features = jnp.concatenate(
            [mdp.features, jnp.zeros((extra,) + mdp.features.shape[1:], mdp.features.dtype)])
    return MDP(
        next_states=jnp.concatenate([mdp.next_states, next_states]),
        next_probs=jnp.concatenate([mdp.next_probs, next_probs]),
        features=features,
        discount=mdp.discount,
        initial_distribution=jnp.concatenate(
            [mdp.initial_distribution, jnp.zeros(extra, mdp.initial_distribution.dtype)]),
        terminal=jnp.concatenate([mdp.terminal, jnp.ones(extra, bool)]),
    )


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _common_fields(S, A, features, discount, initial_distribution, terminal_states):
    """Validate the per-state fields as :func:`make_sparse_mdp` does (float64 numpy arrays)."""
    if features is None:
        phi = IdentityFeatures(S, jnp.float32) if S >= IMPLICIT_IDENTITY_MIN_STATES else np.eye(S)
    elif isinstance(features, IdentityFeatures):
        if features.num_states != S:
            raise ValueError(f"features: expected IdentityFeatures with S = {S}, got "
                             f"{features.num_states}")
        phi = features
    else:
        phi = as_float_array(features, "features", ndim=(2, 3))
        if phi.shape[0] != S or (phi.ndim == 3 and phi.shape[1] != A) or phi.shape[-1] == 0:
            raise ValueError(f"features: expected shape (S, F) or (S, A, F) with S = {S}, "
                             f"A = {A}, F >= 1, got {phi.shape}")
    gamma = check_scalar(discount, "discount", low=0.0, high=1.0, high_open=True)
    if initial_distribution is None:
        p0 = np.full(S, 1.0 / S)
    else:
        p0 = as_float_array(initial_distribution, "initial_distribution", ndim=1)
        check_shape(p0, (S,), "initial_distribution")
        check_probability_vector(p0, "initial_distribution", PROBABILITY_ATOL)
    terminal = np.zeros(S, dtype=bool)
    if terminal_states is not None:
        raw = np.asarray(terminal_states)
        if raw.dtype == bool:
            check_shape(raw, (S,), "terminal_states")
            terminal = raw.copy()
        else:
            terminal[as_index_array(terminal_states, "terminal_states", S)] = True
    if terminal.all():
        raise ValueError("terminal_states: every state is terminal; at least one must not be")
    return phi, gamma, p0, terminal


def _check_sharding(sharding, S):
    if sharding is None:
        return None, None
    if not isinstance(sharding, NamedSharding):
        raise TypeError(f"sharding: expected a jax.sharding.NamedSharding, got "
                        f"{type(sharding).__name__}")
    spec = tuple(sharding.spec)
    if any(axis is not None for axis in spec[1:]):
        raise ValueError(f"sharding: expected a PartitionSpec that splits axis 0 (the states) "
                         f"only, got {sharding.spec}")
    first = spec[0] if spec else None
    names = () if first is None else (first if isinstance(first, tuple) else (first,))
    parts = int(np.prod([sharding.mesh.shape[n] for n in names])) if names else 1
    if S % parts:
        raise ValueError(f"num_states: S = {S} does not split evenly into the {parts} parts of "
                         f"sharding {sharding.spec}; choose S a multiple of {parts} (add "
                         f"unreachable states, as pad_states does)")
    return (NamedSharding(sharding.mesh, PartitionSpec(first)),
            NamedSharding(sharding.mesh, PartitionSpec()))


def _row_ranges(row_sharding, shape):
    """[(device, (lo, hi))]: the states each device holds, in the sharding's device order."""
    if row_sharding is None:
        return [(jax.devices()[0], (0, shape[0]))]
    out = []
    for device, index in row_sharding.addressable_devices_indices_map(shape).items():
        rows = index[0]
        lo, hi, _ = rows.indices(shape[0])
        out.append((device, (lo, hi)))
    return out


@partial(jax.jit, donate_argnums=0)
def _write_rows(buffer, rows, start):
    return lax.dynamic_update_slice_in_dim(buffer, rows, start, axis=0)


def _build_rows(successors_fn, lo, hi, chunk, shape, dtype, device):
    """Rows [lo, hi) of next_states / next_probs on ``device``, written in place chunk by
    chunk (the buffers are donated to each write)."""
    _, A, K = shape
    S = shape[0]
    ns = jnp.zeros((hi - lo, A, K), jnp.int32, device=device)
    pr = jnp.zeros((hi - lo, A, K), dtype, device=device)
    for start in range(lo, hi, chunk):
        stop = min(hi, start + chunk)
        idx, probs = _check_chunk(successors_fn, start, stop, S, A, K)
        offset = np.int32(start - lo)
        ns = _write_rows(ns, idx.astype(np.int32), offset)
        pr = _write_rows(pr, probs.astype(dtype), offset)
    return ns, pr


def _check_chunk(successors_fn, start, stop, S, A, K):
    where = f"successors_fn({start}, {stop})"
    out = successors_fn(start, stop)
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"{where}: expected a pair (next_states, next_probs), got "
                        f"{type(out).__name__}")
    want = (stop - start, A, K)
    probs = as_float_array(out[1], f"{where} next_probs", ndim=3)
    if probs.shape != want:
        raise ValueError(f"{where}: expected next_probs of shape (stop - start, A, K) = {want}, "
                         f"got {probs.shape}")
    idx = as_index_array(out[0], f"{where} next_states", S, ndim=3)
    if idx.shape != want:
        raise ValueError(f"{where}: expected next_states of shape (stop - start, A, K) = {want}, "
                         f"got {idx.shape}")
    if (probs < 0).any():
        s, a, k = np.argwhere(probs < 0)[0]
        raise ValueError(f"{where}: probabilities must be >= 0, got {probs[s, a, k]} for state "
                         f"{start + s}, action {a}, successor {k}")
    sums = probs.sum(axis=-1)
    bad = np.abs(sums - 1.0) > PROBABILITY_ATOL
    if bad.any():
        s, a = np.argwhere(bad)[0]
        raise ValueError(f"{where}: probabilities must sum to 1 (within {PROBABILITY_ATOL:g}); "
                         f"got sum {sums[s, a]:.6g} for state {start + s}, action {a}")
    return idx, probs


def _place(array, sharding):
    return jnp.asarray(array) if sharding is None else jax.device_put(array, sharding)
