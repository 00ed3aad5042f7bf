"""Occupancy measures and feature expectations (the forward pass of IRL).

* Finite horizon (Ziebart 2010, Alg. 9.3): ``D_0 = p0``,
  ``D_{t+1}(s') = Σ_{s,a} D_t(s) π_t(a|s) P[s, a, s']``; the discounted occupancy is
  ``D̄ = Σ_{t<T} γ^t D_t``.
* Discounted infinite horizon: ``D̄ = (I − γ P_π^T)^{-1} p0`` (Puterman 1994), solved through
  the same differentiable linear solve as policy evaluation, so ``p0 · V^π = D̄ · r_π``.

Terminal states end the episode: probability mass that enters one is counted there once and
then leaves (no outflow), matching the solvers' convention V(terminal) = R(terminal).

Expected feature counts are ``Σ_{s,a} D̄(s) π(a|s) φ(s, a)`` (or ``Σ_s D̄(s) φ(s)``); the
empirical ones of a demonstration are ``Σ_t γ^t φ(s_t, a_t)``; in a terminal state, where no
action is observed, state-action features are averaged over actions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from bayesirl._typing import Array
from bayesirl._validate import check_policy_concrete
from bayesirl.data.demos import Demonstrations
from bayesirl.data.mdp import MDP
from bayesirl.solvers._linear import linear_solve, policy_rmatvec, tolerances

__all__ = [
    "state_visitation",
    "discounted_occupancy",
    "state_action_occupancy",
    "expected_feature_counts",
    "trajectory_feature_counts",
    "empirical_feature_counts",
]


def state_visitation(mdp: MDP, policy: Array, horizon: int | None = None) -> Array:
    """Per-time-step state distribution of a policy from p0 (finite horizon).

    Args:
        mdp: the MDP.
        policy: (S, A) stationary or (T, S, A) time-dependent action probabilities.
        horizon: T; default ``policy.shape[0]`` for a time-dependent policy (required for a
            stationary one).

    Returns:
        (T, S) ``D_t(s)``, the probability of being in s at step t (and not having ended the
        episode before). Differentiable in ``policy``.

    Raises:
        ValueError: no horizon for a stationary policy, a policy of the wrong shape or (when
            concrete, not traced under jit/vmap) one that is not action probabilities (NaN/inf,
            negative, a row not summing to 1).
    """
    check_policy_concrete(policy, "policy")
    policy = jnp.asarray(policy)
    if policy.ndim == 2:
        if horizon is None:
            raise ValueError("horizon: required for a stationary (S, A) policy")
        policies = jnp.broadcast_to(policy, (int(horizon),) + policy.shape)
    elif policy.ndim == 3:
        policies = policy if horizon is None else policy[: int(horizon)]
    else:
        raise ValueError(f"policy: expected shape (S, A) or (T, S, A), got {policy.shape}")
    if policies.shape[1:] != (mdp.num_states, mdp.num_actions):
        raise ValueError(f"policy: expected (…, S, A) = (…, {mdp.num_states}, "
                         f"{mdp.num_actions}), got {policy.shape}")
    d0 = mdp.initial_distribution.astype(policies.dtype)

    def step(d, pi):
        return policy_rmatvec(mdp, pi, d), d

    _, visits = lax.scan(step, d0, policies)
    return visits


def discounted_occupancy(mdp: MDP, policy: Array, horizon: int | None = None, *,
                         discount: float | None = None, atol: float | None = None,
                         rtol: float | None = None, max_iterations: int = 10_000) -> Array:
    """Discounted state occupancy ``D̄(s) = Σ_t γ^t D_t(s)``.

    Args:
        mdp: the MDP (its discount γ).
        policy: (S, A) or (T, S, A) action probabilities.
        horizon: None for the infinite-horizon occupancy ``(I − γ P_π^T)^{-1} p0`` (stationary
            policy), or T to sum the first T steps of :func:`state_visitation`.
        discount: γ for a finite horizon (default the MDP's; 1.0 for visitation counts).
        atol, rtol, max_iterations: for the iterative solve on large MDPs.

    Returns:
        (S,) occupancy; sums to ``Σ_t γ^t P(episode still running at t)`` (``1/(1−γ)`` without
        terminal states). Differentiable in ``policy``.

    Raises:
        ValueError: as :func:`state_visitation`: a policy of the wrong shape or (when concrete)
            not action probabilities.
    """
    policy = jnp.asarray(policy)
    if horizon is not None or policy.ndim == 3:
        visits = state_visitation(mdp, policy, horizon)
        return _time_weights(mdp, visits, discount) @ visits
    if policy.shape != (mdp.num_states, mdp.num_actions):
        raise ValueError(f"policy: expected shape (S, A) = ({mdp.num_states}, "
                         f"{mdp.num_actions}) or (T, S, A), got {policy.shape}")
    check_policy_concrete(policy, "policy")
    atol, rtol = tolerances(policy.dtype, atol, rtol)
    p0 = mdp.initial_distribution.astype(policy.dtype)
    return linear_solve(mdp, policy, p0, atol, rtol, max_iterations, transpose=True)


def _time_weights(mdp: MDP, visits: Array, discount) -> Array:
    gamma = mdp.discount if discount is None else discount
    T = visits.shape[0]
    return jnp.asarray(gamma, visits.dtype) ** jnp.arange(T, dtype=visits.dtype)


def state_action_occupancy(mdp: MDP, policy: Array, horizon: int | None = None, *,
                           discount: float | None = None) -> Array:
    """Discounted state-action occupancy ``Σ_t γ^t D_t(s) π_t(a|s)``.

    Args:
        mdp, policy, horizon, discount: as in :func:`discounted_occupancy`.

    Returns:
        (S, A) occupancy.
    """
    policy = jnp.asarray(policy)
    if policy.ndim == 3:
        visits = state_visitation(mdp, policy, horizon)
        weights = _time_weights(mdp, visits, discount)
        return jnp.einsum("t,ts,tsa->sa", weights, visits, policy[: visits.shape[0]])
    return discounted_occupancy(mdp, policy, horizon, discount=discount)[:, None] * policy


def _observed_features(mdp: MDP) -> Array:
    """(S, A, F) features of an observed step: state features broadcast over actions;
    state-action features averaged over actions in terminal states (no action observed)."""
    phi = mdp.features
    if phi.ndim == 2:
        return jnp.broadcast_to(phi[:, None, :], (mdp.num_states, mdp.num_actions, phi.shape[-1]))
    mean = jnp.mean(phi, axis=1, keepdims=True)
    return jnp.where(mdp.terminal[:, None, None], mean, phi)


def expected_feature_counts(mdp: MDP, policy: Array, horizon: int | None = None, *,
                            discount: float | None = None) -> Array:
    """Expected discounted feature counts ``μ(π) = Σ_{s,a} D̄(s) π(a|s) φ(s, a)``.

    Args:
        mdp: the MDP.
        policy: (S, A) or (T, S, A).
        horizon, discount: as in :func:`discounted_occupancy`.

    Returns:
        (F,) feature expectations; ``μ(π) · w = ρ(π, φ w)``, the expected return.
    """
    occ = state_action_occupancy(mdp, policy, horizon, discount=discount)
    if mdp.features.ndim == 3:
        return jnp.einsum("sa,saf->f", occ, mdp.features)
    return jnp.sum(occ, axis=1) @ mdp.features


def trajectory_feature_counts(mdp: MDP, states: Array, actions: Array, mask: Array,
                              discount: float | Array | None = None) -> Array:
    """Discounted feature counts ``Φ_τ = Σ_t γ^t φ(s_t, a_t)`` of ONE trajectory.

    Args:
        mdp: the MDP.
        states, actions, mask: (T,) one trajectory (see :class:`~bayesirl.data.demos.Demonstrations`).
        discount: γ; default the MDP's. Pass 1.0 for undiscounted counts.

    Returns:
        (F,) feature counts. Batch over trajectories with ``jax.vmap`` (or use
        :func:`empirical_feature_counts`).
    """
    gamma = mdp.discount if discount is None else jnp.asarray(discount, mdp.features.dtype)
    T = states.shape[0]
    weights = jnp.where(mask, gamma ** jnp.arange(T, dtype=mdp.features.dtype), 0.0)
    phi = _observed_features(mdp)[states, actions]  # (T, F)
    return weights @ phi


def empirical_feature_counts(mdp: MDP, demos: Demonstrations,
                             discount: float | Array | None = None) -> Array:
    """Per-trajectory discounted feature counts of demonstrations.

    Args:
        mdp: the MDP.
        demos: N trajectories.
        discount: γ; default the MDP's (1.0 for undiscounted).

    Returns:
        (N, F) counts; their mean over trajectories is the empirical feature expectation μ̂_E.
    """
    return jax.vmap(lambda s, a, m: trajectory_feature_counts(mdp, s, a, m, discount))(
        demos.states, demos.actions, demos.mask)
