"""Policy-level evaluation against a known reward: expected return, expected value difference
(EVD), normalised EVD and success probability.

This module is the one place where EVD and nEVD are computed: :func:`value_differences` turns
three expected returns into both (used per draw by
:func:`~bayesirl.analysis.posterior.policy_losses`), :func:`expected_value_difference` and
:func:`normalized_evd` compute them for one reward (``jax.vmap`` over rewards for several).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from bayesirl._typing import Array
from bayesirl._validate import check_policy_concrete, check_scalar, is_concrete
from bayesirl.data.mdp import MDP, uniform_policy
from bayesirl.solvers.value_iteration import policy_evaluation, value_iteration

__all__ = [
    "NEVD_MIN_GAP",
    "expected_return",
    "value_differences",
    "expected_value_difference",
    "normalized_evd",
    "uniform_policy",
    "success_probability",
]

#: Below this return gap between the optimal and the uniform policy, nEVD is set to 0.
NEVD_MIN_GAP = 1e-12


def expected_return(mdp: MDP, reward: Array, policy: Array) -> Array:
    """``ρ(π, R) = Σ_s p0(s) V^π_R(s)``, the expected discounted return of ``policy``.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        policy: (S, A) action probabilities.

    Returns:
        () expected return (reward units). jit/vmap-compatible, differentiable.

    Raises:
        ValueError: as :func:`~bayesirl.solvers.policy_evaluation`: wrong shapes, and when
            concrete (not traced) a ``reward`` with NaN/inf or a ``policy`` that is not action
            probabilities. Under jit such inputs give NaN (or an evaluation of the given
            non-stochastic policy).
    """
    return mdp.initial_distribution @ policy_evaluation(mdp, reward, policy).values


def value_differences(optimal_return: Array, policy_return: Array, uniform_return: Array
                      ) -> tuple[Array, Array]:
    """EVD and normalised EVD from three expected returns (any matching shapes, e.g. (M,)).

    ``EVD = ρ* − ρ(π)`` (Abbeel & Ng 2004; Brown & Niekum 2018) and
    ``nEVD = EVD / (ρ* − ρ(π_uniform))`` (Trinh, Chen & Brown 2024), with ``ρ*`` raised to
    ``ρ(π)`` where a solver tolerance left it a hair below (so EVD >= 0), and nEVD = 0 where
    the gap ``ρ* − ρ(π_uniform)`` is below :data:`NEVD_MIN_GAP` (every policy is as good as
    the uniform one).

    Args:
        optimal_return: ``ρ(π*_R, R)`` (reward units).
        policy_return: ``ρ(π, R)``.
        uniform_return: ``ρ(π_uniform, R)``.

    Returns:
        ``(evd, nevd)``: EVD in reward units, nEVD unitless (0 optimal, 1 as bad as uniform).
    """
    optimal = jnp.maximum(optimal_return, policy_return)
    evd = optimal - policy_return
    gap = optimal - uniform_return
    big = gap > NEVD_MIN_GAP
    return evd, jnp.where(big, evd / jnp.where(big, gap, 1.0), 0.0)


def _optimal_return(mdp: MDP, reward: Array) -> Array:
    # Evaluate the optimal policy with the same linear solve as the evaluated policy, so that
    # solver round-off cancels (EVD of an optimal policy is 0, not ± the VI tolerance).
    optimal_policy = lax.stop_gradient(value_iteration(mdp, reward).policy)
    return expected_return(mdp, reward, optimal_policy)


def expected_value_difference(mdp: MDP, reward: Array, policy: Array) -> Array:
    """Expected value difference ``EVD = ρ(π*_R, R) − ρ(π, R) >= 0`` (Abbeel & Ng 2004;
    Brown & Niekum 2018): the policy loss of ``policy`` under ``reward``.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward under which the loss is measured.
        policy: (S, A) evaluation policy.

    Returns:
        () EVD in reward units; 0 for an optimal policy (clipped at 0 where the solver
        tolerance leaves ``ρ*`` below ``ρ(π)``). jit/vmap-compatible.

    Raises:
        ValueError: as :func:`expected_return` (NaN/inf ``reward``, a ``policy`` that is not
            action probabilities; checked when concrete).
    """
    ret = expected_return(mdp, reward, policy)
    return jnp.maximum(_optimal_return(mdp, reward), ret) - ret


def normalized_evd(mdp: MDP, reward: Array, policy: Array) -> Array:
    """Normalised EVD ``(ρ(π*) − ρ(π)) / (ρ(π*) − ρ(π_uniform))`` (Trinh, Chen & Brown 2024).

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward (e.g. ``env.true_reward``).
        policy: (S, A) action probabilities.

    Returns:
        () unitless: 0 for an optimal policy, 1 for the uniformly random one; 0 when every
        policy is as good as the uniform one (see :func:`value_differences`).
        jit/vmap-compatible.

    Raises:
        ValueError: as :func:`expected_return`.
    """
    ret = expected_return(mdp, reward, policy)
    uniform = expected_return(mdp, reward, uniform_policy(mdp, jnp.result_type(reward)))
    return value_differences(_optimal_return(mdp, reward), ret, uniform)[1]


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

    Raises:
        ValueError: a ``policy`` or ``success_states`` of the wrong shape, a negative
            ``horizon``; when concrete (not traced): a policy that is not action probabilities.
        TypeError: a non-integer ``horizon``, a non-boolean ``success_states``.
    """
    horizon = check_scalar(horizon, "horizon", low=0, integer=True)
    S, A = mdp.num_states, mdp.num_actions
    if jnp.shape(policy) != (S, A):
        raise ValueError(f"policy: expected shape (S, A) = ({S}, {A}), got {jnp.shape(policy)}")
    check_policy_concrete(policy, "policy")
    if jnp.shape(success_states) != (S,):
        raise ValueError(f"success_states: expected a boolean mask of shape (S,) = ({S},), "
                         f"got shape {jnp.shape(success_states)}")
    if is_concrete(success_states) and jnp.asarray(success_states).dtype != bool:
        raise TypeError(f"success_states: expected a boolean mask, got dtype "
                        f"{jnp.asarray(success_states).dtype}")
    policy = jnp.asarray(policy, mdp.next_probs.dtype)

    def step(d, _):
        flow = jnp.where(mdp.terminal, 0.0, d)[:, None, None] * policy[:, :, None] * mdp.next_probs
        moved = jnp.zeros_like(d).at[mdp.next_states.reshape(-1)].add(flow.reshape(-1))
        return moved + jnp.where(mdp.terminal, d, 0.0), None

    d, _ = lax.scan(step, mdp.initial_distribution, None, length=int(horizon))
    return jnp.sum(jnp.where(jnp.asarray(success_states), d, 0.0))
