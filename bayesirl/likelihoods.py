"""Likelihoods of evidence about the reward, as NumPyro building blocks.

The Boltzmann-rational demonstrator (Ramachandran & Amir, IJCAI 2007, Eq. 2–3) picks action a
in state s with probability ``exp(β Q(s, a)) / Σ_b exp(β Q(s, b))``, so

    log p(D | R) = Σ_{(s, a) ∈ D} [ β Q(s, a; R) − logsumexp_b β Q(s, b; R) ],

with Q the optimal (hard max) action values of R, or the soft (maximum-causal-entropy) ones —
with soft Q at temperature 1/β this is the maximum-causal-entropy likelihood (Ziebart 2010).
Pairs in terminal states carry no information and are skipped.

Both forms depend on the reward only through ``θ = β·R``: ``β Q*(R) = Q*(βR)`` and
``β Q_soft(R; τ = 1/β) = Q_soft(βR; τ = 1)``. :func:`boltzmann_q_values` therefore solves the
MDP once for the scaled reward and the policy logits are the Q-values themselves.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayesirl._typing import Array
from bayesirl.demos import Demonstrations
from bayesirl.mdp import MDP
from bayesirl.solvers import (
    finite_horizon_soft_value_iteration,
    soft_value_iteration,
    value_iteration,
)

__all__ = [
    "BoltzmannPolicy",
    "maxent_logits",
    "maxent_log_likelihood",
    "DemonstrationPairs",
    "demonstration_pairs",
    "boltzmann_q_values",
    "boltzmann_log_likelihood",
    "Q_KINDS",
]

#: The kinds of Q-values accepted by the Boltzmann likelihood.
Q_KINDS = ("soft", "hard")


class BoltzmannPolicy(dist.CategoricalLogits):
    """Boltzmann-rational choice of an action given Q-values: ``p(a) ∝ exp(β Q(a))``.

    A NumPyro distribution (a categorical with logits ``β Q``) so users can write their own
    models, e.g. ``numpyro.sample("a", BoltzmannPolicy(q[s], beta), obs=a)``.

    Args:
        q_values: (..., A) action values (reward units).
        beta: rationality (inverse temperature) β >= 0, broadcastable to ``q_values[..., 0]``;
            β = 0 is uniformly random, β → ∞ greedy.

    Source: Ramachandran & Amir 2007 (Bayesian IRL), Eq. 2; Luce 1959 choice rule.
    """

    arg_constraints = {"logits": dist.constraints.real_vector}

    def __init__(self, q_values, beta=1.0, *, validate_args=None):
        q_values = jnp.asarray(q_values)
        beta = jnp.asarray(beta, dtype=q_values.dtype)
        self.q_values = q_values
        self.beta = beta
        super().__init__(logits=jnp.expand_dims(beta, -1) * q_values, validate_args=validate_args)


class DemonstrationPairs(NamedTuple):
    """The (state, action) pairs of demonstrations outside terminal states, flattened.

    Attributes:
        states: (P,) int32 state of each pair.
        actions: (P,) int32 action of each pair.
        times: (P,) int32 time step of each pair within its trajectory (used by the
            finite-horizon MaxEnt likelihood).
    """

    states: Array
    actions: Array
    times: Array


def demonstration_pairs(mdp: MDP, demos: Demonstrations) -> DemonstrationPairs:
    """Flatten ``demos`` to the P state-action pairs the Boltzmann likelihood uses.

    Padding and pairs in terminal states are dropped (done once, outside jit).

    Raises:
        ValueError: if no pair remains (e.g. every trajectory starts in a terminal state).
    """
    states, actions, mask = (np.asarray(x) for x in demos)
    keep = mask & ~np.asarray(mdp.terminal)[np.minimum(states, mdp.num_states - 1)]
    if not keep.any():
        raise ValueError("demos: no state-action pair outside terminal states to learn from")
    times = np.broadcast_to(np.arange(states.shape[1]), states.shape)
    return DemonstrationPairs(jnp.asarray(states[keep], jnp.int32),
                              jnp.asarray(actions[keep], jnp.int32),
                              jnp.asarray(times[keep], jnp.int32))


def boltzmann_q_values(mdp: MDP, reward: Array, beta=1.0, q: str = "soft", **solver_kwargs) -> Array:
    """Policy logits ``β Q(s, a; R)`` of the Boltzmann demonstrator for ONE reward.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward R.
        beta: rationality β (scalar, may be traced).
        q: ``"soft"`` (soft Q of βR at temperature 1, smooth in R: use with NUTS) or
            ``"hard"`` (β Q* of R; piecewise linear in R).
        **solver_kwargs: tolerances / ``max_iterations`` / ``init_values`` for the solver.

    Returns:
        (S, A) logits. Differentiable in ``reward`` and ``beta``.

    Raises:
        ValueError: unknown ``q``.
    """
    if q not in Q_KINDS:
        raise ValueError(f"q: expected one of {Q_KINDS}, got {q!r}")
    solver = soft_value_iteration if q == "soft" else value_iteration
    return solver(mdp, beta * reward, **solver_kwargs).q_values


def boltzmann_log_likelihood(logits: Array, pairs: DemonstrationPairs) -> Array:
    """``Σ_(s,a) log softmax(logits[s])[a]`` over the demonstration pairs.

    Args:
        logits: (S, A) Boltzmann logits, e.g. from :func:`boltzmann_q_values`.
        pairs: the demonstration pairs (:func:`demonstration_pairs`).

    Returns:
        () log-likelihood (nats).

    Source: Ramachandran & Amir 2007, Eq. 3.
    """
    log_policy = jax.nn.log_softmax(logits, axis=-1)
    return jnp.sum(log_policy[pairs.states, pairs.actions])


def maxent_logits(mdp: MDP, reward: Array, beta=1.0, horizon: int | None = None,
                  discount: float | None = 1.0, **solver_kwargs) -> Array:
    """Log-probabilities of the maximum-causal-entropy (MaxEnt) policy for ONE reward.

    ``π(a|s) = exp(Q(s, a) − V(s))`` with (Q, V) the soft values of ``β·R`` (Ziebart et al.
    2008; Ziebart 2010, Alg. 9.1): time-dependent ``π_t`` for a finite horizon T, stationary for
    the discounted infinite horizon. β is the rationality (the soft-max temperature is 1/β).

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        beta: rationality β > 0.
        horizon: T for the finite-horizon model, None for discounted.
        discount: γ of the finite-horizon model; default 1.0, the undiscounted model of
            Ziebart et al. (2008); None uses the MDP's γ. The discounted model always uses the
            MDP's γ.
        **solver_kwargs: for :func:`~bayesirl.solvers.soft_value_iteration`.

    Returns:
        (T, S, A) or (S, A) log-policy. Differentiable in ``reward`` and ``beta``.
    """
    if horizon is None:
        q = soft_value_iteration(mdp, beta * reward, **solver_kwargs).q_values
    else:
        q = finite_horizon_soft_value_iteration(mdp, beta * reward, horizon,
                                                discount=discount).q_values
    return jax.nn.log_softmax(q, axis=-1)


def maxent_log_likelihood(mdp: MDP, reward: Array, demos: Demonstrations, beta=1.0,
                          horizon: int | None = None, discount: float | None = 1.0,
                          **solver_kwargs) -> Array:
    """MaxEnt log-likelihood of each trajectory: ``Σ_t log π_t(a_t | s_t)`` (Ziebart 2010).

    Steps in terminal states (no action) and padding are skipped; the transition probabilities
    do not depend on the reward and are left out. With a finite horizon T the time index is the
    step within the trajectory, so trajectories must start at t = 0 and be at most T long.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        demos: N trajectories (T_demo <= horizon when a horizon is given).
        beta: rationality β.
        horizon: T, or None for the discounted model.
        discount: γ of the finite-horizon model (see :func:`maxent_logits`).

    Returns:
        (N,) log-likelihoods (nats).

    Raises:
        ValueError: trajectories longer than the horizon.
    """
    if horizon is not None and demos.states.shape[1] > horizon:
        raise ValueError(f"demos: trajectories of {demos.states.shape[1]} steps are longer "
                         f"than the horizon {horizon}")
    log_pi = maxent_logits(mdp, reward, beta, horizon, discount, **solver_kwargs)
    T = demos.states.shape[1]
    if horizon is None:
        lp = log_pi[demos.states, demos.actions]
    else:
        lp = log_pi[jnp.arange(T)[None, :], demos.states, demos.actions]
    valid = demos.mask & ~mdp.terminal[demos.states]
    return jnp.sum(jnp.where(valid, lp, 0.0), axis=1)
