"""Policy-level evaluation against a known reward: expected return, expected value difference
(EVD) and success probability."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from bayesirl._typing import Array
from bayesirl.data.mdp import MDP
from bayesirl.solvers.value_iteration import policy_evaluation, value_iteration

__all__ = ["expected_return", "expected_value_difference", "success_probability"]


def expected_return(mdp: MDP, reward: Array, policy: Array) -> Array:
    """``ρ(π, R) = Σ_s p0(s) V^π_R(s)``, the expected discounted return of ``policy``.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        policy: (S, A) action probabilities.

    Returns:
        () expected return (reward units). jit/vmap-compatible, differentiable.
    """
    return mdp.initial_distribution @ policy_evaluation(mdp, reward, policy).values


def expected_value_difference(mdp: MDP, reward: Array, policy: Array) -> Array:
    """Expected value difference ``EVD = ρ(π*_R, R) − ρ(π, R) >= 0`` (Abbeel & Ng 2004;
    Brown & Niekum 2018): the policy loss of ``policy`` under ``reward``.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward under which the loss is measured.
        policy: (S, A) evaluation policy.

    Returns:
        () EVD in reward units; 0 for an optimal policy (up to solver tolerance).
    """
    # Evaluate the optimal policy with the same linear solve as `policy`, so that solver
    # round-off cancels (EVD of an optimal policy is 0, not ± the value-iteration tolerance).
    optimal_policy = lax.stop_gradient(value_iteration(mdp, reward).policy)
    return expected_return(mdp, reward, optimal_policy) - expected_return(mdp, reward, policy)


def success_probability(mdp: MDP, policy: Array, success_states: Array, horizon: int) -> Array:
    """Exact probability of having entered a success state within ``horizon`` steps from p0.

    Terminal states are absorbing, so it is the probability mass in success states after T
    steps of the forward pass ``d_{t+1}(s') = Σ_{s,a} d_t(s) π(a|s) P[s, a, s']`` (no sampling).

    Args:
        mdp: the MDP.
        policy: (S, A) action probabilities.
        success_states: (S,) bool mask (terminal states, e.g. a goal).
        horizon: T >= 0 steps (static), e.g. the environment's episode limit.

    Returns:
        () probability in [0, 1].
    """
    policy = jnp.asarray(policy, mdp.next_probs.dtype)

    def step(d, _):
        flow = jnp.where(mdp.terminal, 0.0, d)[:, None, None] * policy[:, :, None] * mdp.next_probs
        moved = jnp.zeros_like(d).at[mdp.next_states.reshape(-1)].add(flow.reshape(-1))
        return moved + jnp.where(mdp.terminal, d, 0.0), None

    d, _ = lax.scan(step, mdp.initial_distribution, None, length=int(horizon))
    return jnp.sum(jnp.where(jnp.asarray(success_states), d, 0.0))
