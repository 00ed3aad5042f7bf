"""The Boltzmann demonstrator likelihood of one huge MDP whose states are split over devices.

The same likelihood as :mod:`bayesirl.likelihoods.boltzmann` (Ramachandran & Amir 2007, Eq. 3;
with soft Q at temperature 1/β, the maximum-causal-entropy likelihood of Ziebart 2010),

    log p(D | R) = Σ_{(s, a) ∈ D} w_(s,a) [β Q(s, a; R) − logsumexp_b β Q(s, b; R)],

with Q from the sharded solvers of :mod:`bayesirl.solvers.sharded`: the (S, A) Q-values never
leave their devices — each device adds the log-probabilities of the pairs in its own states and
one all-reduce sums them. Its gradient in the reward is the implicit one of the solver
(``jax.grad`` works; wrap the whole function in ``jax.jit`` to compile it once).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import Mesh, PartitionSpec

from bayesirl._typing import Array
from bayesirl.data.mdp import MDP
from bayesirl.likelihoods.boltzmann import Q_KINDS, DemonstrationPairs
from bayesirl.solvers.sharded import STATE_AXIS, sharded_call
from bayesirl.solvers.value_iteration import soft_value_iteration, value_iteration

__all__ = ["sharded_boltzmann_q_values", "sharded_boltzmann_log_likelihood"]


def _solver(q: str):
    if q not in Q_KINDS:
        raise ValueError(f"q: expected one of {Q_KINDS}, got {q!r}")
    return soft_value_iteration if q == "soft" else value_iteration


def sharded_boltzmann_q_values(mdp: MDP, reward: Array, beta=1.0, q: str = "soft", *,
                               mesh: Mesh | None = None, init_values: Array | None = None,
                               **solver_kwargs) -> Array:
    """Policy logits ``β Q(s, a; R)`` of the Boltzmann demonstrator, with the states split over
    the devices of ``mesh`` (:func:`~bayesirl.likelihoods.boltzmann.boltzmann_q_values` on
    :mod:`bayesirl.solvers.sharded`).

    Args:
        mdp: the MDP (S states).
        reward: (S,) or (S, A) reward R.
        beta: rationality β (scalar, may be traced).
        q: ``"soft"`` or ``"hard"``, as in
            :func:`~bayesirl.likelihoods.boltzmann.boltzmann_q_values`.
        mesh: a mesh with a ``"states"`` axis; default all devices.
        init_values: (S,) warm start of the solver (values of βR).
        **solver_kwargs: tolerances / ``max_iterations`` / ``method`` for the solver.

    Returns:
        (S, A) logits, split over the devices. Differentiable in ``reward`` and ``beta``.

    Raises:
        ValueError: unknown ``q``; bad shapes or ``mesh``.
    """
    solver = _solver(q)

    def logits(m, reward, init_values):
        return solver(m, beta * reward, init_values=init_values, **solver_kwargs).q_values

    return sharded_call(logits, mdp, {"reward": reward, "init_values": init_values}, mesh=mesh)


def sharded_boltzmann_log_likelihood(mdp: MDP, reward: Array, pairs: DemonstrationPairs,
                                     beta=1.0, q: str = "soft",
                                     pair_weights: Array | None = None, *,
                                     mesh: Mesh | None = None,
                                     init_values: Array | None = None,
                                     **solver_kwargs) -> Array:
    """``Σ_(s,a) w_(s,a) log softmax(β Q(s, ·; R))[a]`` over the demonstration pairs, with the
    states split over the devices of ``mesh``.

    :func:`~bayesirl.likelihoods.boltzmann.boltzmann_log_likelihood` of
    :func:`sharded_boltzmann_q_values`, computed where the Q-values live: no device ever holds
    more than its own S/D rows of Q.

    Args:
        mdp: the MDP (S states).
        reward: (S,) or (S, A) reward R.
        pairs: the P demonstration pairs
            (:func:`~bayesirl.likelihoods.boltzmann.demonstration_pairs`).
        beta: rationality β (scalar, may be traced).
        q: ``"soft"`` or ``"hard"`` Q-values.
        pair_weights: (P,) multiplicity of each pair; default all ones.
        mesh: a mesh with a ``"states"`` axis; default all devices.
        init_values: (S,) warm start of the solver.
        **solver_kwargs: tolerances / ``max_iterations`` / ``method`` for the solver.

    Returns:
        () log-likelihood (nats). Differentiable in ``reward`` and ``beta`` (implicit
        differentiation of the solver's fixed point).

    Raises:
        ValueError: unknown ``q``; bad shapes or ``mesh``; ``pair_weights`` of the wrong shape.

    Source: Ramachandran & Amir 2007, Eq. 3.
    """
    solver = _solver(q)
    states = jnp.asarray(pairs.states, jnp.int32)
    actions = jnp.asarray(pairs.actions, jnp.int32)
    dtype = jnp.result_type(reward, float)
    weights = (jnp.ones(states.shape, dtype) if pair_weights is None
               else jnp.asarray(pair_weights, dtype))
    if weights.shape != states.shape:
        raise ValueError(f"pair_weights: expected shape (P,) = {states.shape}, got "
                         f"{weights.shape}")

    def log_likelihood(m, reward, init_values):
        logits = solver(m, beta * reward, init_values=init_values, **solver_kwargs).q_values
        return _pair_log_probs(jax.nn.log_softmax(logits, axis=-1), states, actions, weights)

    return sharded_call(log_likelihood, mdp, {"reward": reward, "init_values": init_values},
                        mesh=mesh)


def _pair_log_probs(log_policy, states, actions, weights):
    """Σ_p weights[p] · log_policy[states[p], actions[p]] with log_policy's rows split: each
    device adds its own pairs, one ``psum`` adds the devices."""
    rows, split = PartitionSpec(STATE_AXIS), PartitionSpec()

    def local(log_policy_block, states, actions, weights):
        n = log_policy_block.shape[0]
        index = states - lax.axis_index(STATE_AXIS) * n
        mine = (index >= 0) & (index < n)
        lp = log_policy_block[jnp.clip(index, 0, n - 1), actions]
        return lax.psum(jnp.sum(jnp.where(mine, weights * lp, 0.0)), STATE_AXIS)

    return jax.shard_map(local, in_specs=(rows, split, split, split), out_specs=split)(
        log_policy, states, actions, weights)
