"""Solvers for one huge MDP with its states split over several devices (GPUs, hosts, or CPU host
devices): value iteration, soft value iteration (and their Newton / policy-iteration steps),
policy evaluation — same algorithms, results, ``SolverResult`` and implicit gradients as the
one-device solvers of :mod:`bayesirl.solvers.value_iteration`.

How the work is split (JAX's own sharding: a ``jax.sharding.Mesh`` with an axis named
``"states"``, ``NamedSharding``/``PartitionSpec`` placement and ``jax.shard_map`` kernels):

* each of the D devices holds S/D states: their rows of ``next_states``/``next_probs`` (the
  bulk of the memory, S·A·K entries), terminal flags, reward, values, Q and policy;
* a Bellman backup **all-gathers V** (S values, once per sweep), then each device computes its
  own rows ``Σ_k P[s, a, k]·V[next_states[s, a, k]]`` with no further communication; the
  transposed operator (implicit gradients) scatter-adds locally and reduce-scatters. Successor
  indices stay global, so any MDP works without re-partitioning its graph. Gathering V costs S
  values per device per sweep against S·A·K/D random reads of local work: for A·K = 16 the
  traffic is a small fraction of the work even over a network. (Partitioning the successor
  lists — sending each device only the values it reads — pays only when successors are local,
  e.g. grids ordered by position; random successors read from every block.);
* everything else (the while loop, Newton's GMRES, tolerances, ``custom_jvp``) is the
  one-device code, run under ``jax.set_mesh``: its element-wise work stays split and its
  reductions (residual, GMRES inner products) become all-reduces of scalars.

What differs from the one-device solvers, by design: the sparse operators walk their rows in
blocks (no (S, A, K) temporary: at 10^7 states the one-device backup materialises 1.3 GB of
them) and GMRES stops as soon as its tolerance holds, not at the end of a restart cycle (fewer
operator products). The results agree to round-off.

Memory per device: its S/D states of the MDP, reward, Q, policy and GMRES' Krylov basis, plus
the gathered V (S values); see :func:`bayesirl.solvers.memory.estimate_solver_memory`.

S need not be a multiple of D: the solvers then append unreachable absorbing states
(:func:`bayesirl.data.sparse_build.pad_states`) on every call, a copy of the MDP; for large
MDPs build S a multiple of D (or pad once) and place the MDP once with :func:`shard_mdp`.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from bayesirl._typing import Array
from bayesirl.data.mdp import MDP, IdentityFeatures
from bayesirl.data.sparse_build import pad_states
from bayesirl.solvers._sharding import STATE_AXIS
from bayesirl.solvers.value_iteration import (
    SolverResult,
    policy_evaluation,
    soft_value_iteration,
    value_iteration,
)

__all__ = [
    "STATE_AXIS",
    "make_state_mesh",
    "shard_mdp",
    "sharded_call",
    "sharded_value_iteration",
    "sharded_soft_value_iteration",
    "sharded_policy_evaluation",
]


def make_state_mesh(devices=None) -> Mesh:
    """A one-axis mesh named ``"states"`` (:data:`STATE_AXIS`) over ``devices``.

    Args:
        devices: the devices to split the states over; default ``jax.devices()`` — every
            device of every process (after ``jax.distributed.initialize`` on several hosts).

    Returns:
        A ``jax.sharding.Mesh`` of shape (D,).

    Raises:
        ValueError: ``devices`` is empty.
    """
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("devices: expected at least one device, got none")
    return Mesh(np.asarray(devices), (STATE_AXIS,), axis_types=(AxisType.Auto,))


def _resolve_mesh(mesh) -> Mesh:
    if mesh is None:
        return make_state_mesh()
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh: expected a jax.sharding.Mesh, got {type(mesh).__name__}")
    if STATE_AXIS not in mesh.axis_names:
        raise ValueError(f"mesh: expected an axis named {STATE_AXIS!r} to split the states "
                         f"over, got axes {mesh.axis_names}")
    # The solvers leave the placement of everything but the split operators to XLA ("auto"
    # axes); jax.make_mesh makes "explicit" axes by default.
    return Mesh(mesh.devices, mesh.axis_names, axis_types=(AxisType.Auto,) * mesh.devices.ndim)


def shard_mdp(mdp: MDP, mesh: Mesh | None = None) -> MDP:
    """Place ``mdp`` on ``mesh`` with its states split over the ``"states"`` axis.

    Placing a large MDP once keeps the solvers from moving it on every call (placing an MDP
    that is already placed this way copies nothing).

    Args:
        mdp: the MDP (S states; (S, A, K) successor lists).
        mesh: a mesh with an axis named ``"states"`` (D devices along it); default
            :func:`make_state_mesh` over all devices.

    Returns:
        The MDP with per-state arrays split in D blocks of S/D states (``NamedSharding(mesh,
        PartitionSpec("states"))``) and the discount replicated.

    Raises:
        TypeError / ValueError: a bad ``mesh``; S not a multiple of D (naming ``mdp``; pad it
            with :func:`bayesirl.data.sparse_build.pad_states`).
    """
    mesh = _resolve_mesh(mesh)
    parts = mesh.shape[STATE_AXIS]
    if mdp.num_states % parts:
        raise ValueError(f"mdp: S = {mdp.num_states} states do not split evenly over the {parts} "
                         f"devices of the mesh's {STATE_AXIS!r} axis; pad it first with "
                         f"pad_states(mdp, {-(-mdp.num_states // parts) * parts})")
    rows = NamedSharding(mesh, PartitionSpec(STATE_AXIS))
    features = mdp.features
    if not isinstance(features, IdentityFeatures):
        features = jax.device_put(features, rows)
    return MDP(
        next_states=jax.device_put(mdp.next_states, rows),
        next_probs=jax.device_put(mdp.next_probs, rows),
        features=features,
        discount=jax.device_put(mdp.discount, NamedSharding(mesh, PartitionSpec())),
        initial_distribution=jax.device_put(mdp.initial_distribution, rows),
        terminal=jax.device_put(mdp.terminal, rows),
    )


def sharded_call(fn: Callable, mdp: MDP, state_arrays: dict, *, mesh: Mesh | None = None,
                 **kwargs):
    """Run ``fn(mdp, **state_arrays, **kwargs)`` with the states split over ``mesh``.

    The building block of the sharded solvers (and of
    :func:`bayesirl.likelihoods.sharded_boltzmann.sharded_boltzmann_log_likelihood`): pads S to
    a multiple of D when needed (:func:`~bayesirl.data.sparse_build.pad_states`; per-state
    arrays padded with zeros, a ``policy`` with uniform rows), places the MDP and the per-state arrays on ``mesh``, calls
    ``fn`` under ``jax.set_mesh(mesh)`` — so the sparse operators of the solvers run their
    split kernels — and cuts arrays of the output whose first axis is the padded S back to S.

    Args:
        fn: a function of the MDP and per-state arrays, e.g. :func:`soft_value_iteration`.
        mdp: the MDP (S states).
        state_arrays: ``{argument name: (S, ...) array or None}``, passed to ``fn`` by name.
        mesh: as in :func:`shard_mdp`.
        **kwargs: passed to ``fn`` unchanged.

    Returns:
        ``fn``'s output.

    Raises:
        TypeError / ValueError: a bad ``mesh``; a per-state array whose first axis is not S
            (naming it).
    """
    mesh = _resolve_mesh(mesh)
    parts = mesh.shape[STATE_AXIS]
    S = mdp.num_states
    padded_S = -(-S // parts) * parts
    mdp = shard_mdp(pad_states(mdp, padded_S), mesh)
    rows = NamedSharding(mesh, PartitionSpec(STATE_AXIS))
    placed = {}
    for name, x in state_arrays.items():
        if x is not None:
            x = jnp.asarray(x)
            if x.ndim == 0 or x.shape[0] != S:
                raise ValueError(f"{name}: expected S = {S} rows (shape (S, ...)), got shape "
                                 f"{x.shape}")
            # A policy's padded rows must still be distributions (uniform over the actions).
            fill = 1.0 / x.shape[-1] if name == "policy" else 0.0
            x = _place(_pad_rows(x, padded_S, fill), rows)
        placed[name] = x
    with jax.sharding.use_abstract_mesh(mesh.abstract_mesh):
        out = fn(mdp, **placed, **kwargs)
    if padded_S == S:
        return out
    return jax.tree.map(lambda x: x[:S] if jnp.ndim(x) and x.shape[0] == padded_S else x, out)


def _place(x: Array, sharding: NamedSharding) -> Array:
    # Traced (under jit, grad or vmap): a sharding constraint, whose vmap rule leaves the batch
    # axis whole; concrete: moved there now.
    if isinstance(x, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(x, sharding)
    return jax.device_put(x, sharding)


def _pad_rows(x: Array, num_rows: int, fill: float = 0.0) -> Array:
    extra = num_rows - x.shape[0]
    if extra == 0:
        return x
    return jnp.concatenate([x, jnp.full((extra,) + x.shape[1:], fill, x.dtype)])


def sharded_value_iteration(mdp: MDP, reward: Array, *, mesh: Mesh | None = None,
                            init_values: Array | None = None, atol: float | None = None,
                            rtol: float | None = None, max_iterations: int = 10_000,
                            method: str = "auto") -> SolverResult:
    """:func:`~bayesirl.solvers.value_iteration.value_iteration` (hard max; Bellman 1957) with
    the states split over the devices of ``mesh``.

    Args:
        mdp: the MDP (S states); place a large one once with :func:`shard_mdp`.
        reward: (S,) state reward or (S, A) state-action reward.
        mesh: a mesh with a ``"states"`` axis; default all devices (:func:`make_state_mesh`).
        init_values, atol, rtol, max_iterations, method: as in
            :func:`~bayesirl.solvers.value_iteration.value_iteration` (``method="newton"`` is
            policy iteration, its linear solves GMRES on the split operator).

    Returns:
        :class:`~bayesirl.solvers.value_iteration.SolverResult` (values (S,), Q and policy
        (S, A), split over the devices), equal to the one-device result up to round-off.

    Differentiable in ``reward`` (implicit differentiation, as the one-device solver).

    Raises:
        TypeError / ValueError: a bad ``mesh``, shapes or ``method``.
    """
    return sharded_call(value_iteration, mdp, {"reward": reward, "init_values": init_values},
                        mesh=mesh, atol=atol, rtol=rtol, max_iterations=max_iterations,
                        method=method)


def sharded_soft_value_iteration(mdp: MDP, reward: Array, *, temperature: float = 1.0,
                                 mesh: Mesh | None = None, init_values: Array | None = None,
                                 atol: float | None = None, rtol: float | None = None,
                                 max_iterations: int = 10_000,
                                 method: str = "auto") -> SolverResult:
    """:func:`~bayesirl.solvers.value_iteration.soft_value_iteration` (maximum causal entropy;
    Ziebart 2010) with the states split over the devices of ``mesh``.

    Args:
        mdp: the MDP (S states); place a large one once with :func:`shard_mdp`.
        reward: (S,) or (S, A) reward.
        temperature: τ > 0.
        mesh: a mesh with a ``"states"`` axis; default all devices (:func:`make_state_mesh`).
        init_values, atol, rtol, max_iterations, method: as in
            :func:`~bayesirl.solvers.value_iteration.soft_value_iteration` (``"newton"``: soft
            policy iteration; ``"auto"``: Newton when γ > 0.95).

    Returns:
        :class:`~bayesirl.solvers.value_iteration.SolverResult` with the soft-optimal policy,
        split over the devices; equal to the one-device result up to round-off.

    Differentiable in ``reward`` (implicit differentiation of the fixed point).

    Raises:
        TypeError / ValueError: a bad ``mesh``, ``temperature``, shapes or ``method``.
    """
    return sharded_call(soft_value_iteration, mdp,
                        {"reward": reward, "init_values": init_values}, mesh=mesh,
                        temperature=temperature, atol=atol, rtol=rtol,
                        max_iterations=max_iterations, method=method)


def sharded_policy_evaluation(mdp: MDP, reward: Array, policy: Array, *,
                              mesh: Mesh | None = None, init_values: Array | None = None,
                              atol: float | None = None, rtol: float | None = None,
                              max_iterations: int = 10_000) -> SolverResult:
    """:func:`~bayesirl.solvers.value_iteration.policy_evaluation` (``V^π = (I − γ P_π)^{-1}
    r_π``; Puterman 1994, §6.1) with the states split over the devices of ``mesh``.

    Args:
        mdp: the MDP (S states).
        reward: (S,) or (S, A) reward.
        policy: (S, A) action probabilities.
        mesh: a mesh with a ``"states"`` axis; default all devices.
        init_values, atol, rtol, max_iterations: as in
            :func:`~bayesirl.solvers.value_iteration.policy_evaluation`.

    Returns:
        :class:`~bayesirl.solvers.value_iteration.SolverResult` with the given policy.

    Differentiable in ``reward`` and ``policy``.

    Raises:
        TypeError / ValueError: a bad ``mesh`` or shapes.
    """
    return sharded_call(policy_evaluation, mdp,
                        {"reward": reward, "policy": policy, "init_values": init_values},
                        mesh=mesh, atol=atol, rtol=rtol, max_iterations=max_iterations)
