"""Pieces shared by the baselines: the expert's empirical statistics, the stationary policy of an
occupancy measure, and the simulated expert's labels.

* Empirical discounted state-action occupancy of demonstrations,
  ``ρ̂_E(s, a) = (1/N) Σ_n Σ_t γ^t 1[s_t = s, a_t = a]`` (Syed, Bowling & Schapire 2008;
  Ho & Ermon 2016, Sec. 3). Steps in terminal states (no action observed) are spread evenly
  over the actions, so that ``Σ_a ρ̂_E(s, a)`` is the empirical state occupancy.
* A stationary policy with a given state-action occupancy:
  ``π(a|s) = ρ(s, a) / Σ_b ρ(s, b)`` (Puterman 1994, Thm 6.9.1; Syed et al. 2008, Thm 1);
  uniform where the occupancy is zero. Used to turn a mixture of policies (projection
  algorithm, SMILe) into one stationary policy with the same occupancy and so the same
  expected return under every reward.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import as_float_array
from bayesirl.data.demos import Demonstrations, check_demonstrations
from bayesirl.data.mdp import MDP
from bayesirl.solvers.occupancy import empirical_feature_counts, state_action_occupancy

__all__ = [
    "empirical_occupancy",
    "expert_feature_expectations",
    "occupancy_policy",
    "mixture_policy",
    "check_policy",
    "expert_labels",
    "validate_demos",
    "with_demonstrated_starts",
]

#: Occupancy below which a state counts as unvisited when a policy is read off an occupancy.
OCCUPANCY_FLOOR = 1e-12


def empirical_occupancy(mdp: MDP, demos: Demonstrations, discount: float | None = None) -> Array:
    """Empirical discounted state-action occupancy of demonstrations.

    Args:
        mdp: the MDP (its γ unless ``discount`` is given).
        demos: N trajectories.
        discount: γ; 1.0 gives visit counts per trajectory.

    Returns:
        (S, A) ``ρ̂_E(s, a) = (1/N) Σ_n Σ_t γ^t 1[s_t = s, a_t = a]``; in terminal states the
        weight of the step is split evenly over the A actions.
    """
    gamma = mdp.discount if discount is None else discount
    T = demos.states.shape[1]
    weights = jnp.asarray(gamma, mdp.next_probs.dtype) ** jnp.arange(T, dtype=mdp.next_probs.dtype)
    weights = jnp.where(demos.mask, weights[None, :], 0.0)
    terminal = mdp.terminal[demos.states]
    A = mdp.num_actions
    one_hot = jax.nn.one_hot(demos.actions, A, dtype=weights.dtype)
    spread = jnp.where(terminal[..., None], 1.0 / A, one_hot)
    occ = jnp.zeros((mdp.num_states, A), weights.dtype)
    occ = occ.at[demos.states].add(weights[..., None] * spread)
    return occ / demos.num_trajectories


def expert_feature_expectations(mdp: MDP, demos: Demonstrations,
                                discount: float | None = None) -> Array:
    """Empirical feature expectations ``μ̂_E = (1/N) Σ_n Σ_t γ^t φ(s_t, a_t)`` (F,)
    (Abbeel & Ng 2004, Sec. 3)."""
    return jnp.mean(empirical_feature_counts(mdp, demos, discount), axis=0)


def occupancy_policy(occupancy: Array) -> Array:
    """The stationary policy ``π(a|s) = ρ(s, a) / Σ_b ρ(s, b)`` of an (S, A) occupancy measure;
    uniform in states with zero occupancy (Puterman 1994, Thm 6.9.1). Returns (S, A)."""
    total = jnp.sum(occupancy, axis=-1, keepdims=True)
    A = occupancy.shape[-1]
    return jnp.where(total > OCCUPANCY_FLOOR, occupancy / jnp.maximum(total, OCCUPANCY_FLOOR),
                     1.0 / A)


def mixture_policy(mdp: MDP, policies: Array, mixture_weights: Array) -> Array:
    """One stationary policy whose occupancy equals that of a mixture of policies.

    A mixture picks policy i with probability λ_i at the start of an episode and follows it;
    its occupancy is ``Σ_i λ_i ρ_{π_i}``, which the stationary policy
    :func:`occupancy_policy` of that sum attains exactly (Syed et al. 2008, Thm 1), so both
    have the same expected return under every reward.

    Args:
        mdp: the MDP.
        policies: (I, S, A) action probabilities.
        mixture_weights: (I,) λ, non-negative, summing to 1.

    Returns:
        (S, A) stationary policy.
    """
    occ = jax.vmap(lambda p: state_action_occupancy(mdp, p))(policies)
    return occupancy_policy(jnp.einsum("i,isa->sa", mixture_weights, occ))


def check_policy(mdp: MDP, policy, name: str = "policy") -> np.ndarray:
    """Validate an (S, A) table of action probabilities and return it as float64 numpy.

    Raises:
        ValueError: wrong shape, negative entries or rows that do not sum to 1 (within 1e-6).
        TypeError: non-numeric input.
    """
    pi = as_float_array(policy, name, ndim=2)
    if pi.shape != (mdp.num_states, mdp.num_actions):
        raise ValueError(f"{name}: expected shape (S, A) = ({mdp.num_states}, "
                         f"{mdp.num_actions}), got {pi.shape}")
    if (pi < 0).any() or not np.allclose(pi.sum(-1), 1.0, atol=1e-6):
        raise ValueError(f"{name}: expected action probabilities (rows >= 0 summing to 1)")
    return pi


def expert_labels(rng_key: PRNGKey, expert_policy: Array, states: Array) -> Array:
    """The simulated expert's answers: one action per queried state, drawn from
    ``expert_policy[s]`` — with an optimal policy whose ties are split evenly
    (``greedy_policy(value_iteration(mdp, true_reward).q_values)``) this is the expert of
    :func:`~bayesirl.active.run_active_learning`: its optimal action, exact ties broken at random.

    Args:
        rng_key: PRNG key.
        expert_policy: (S, A) action probabilities.
        states: (L,) int queried states.

    Returns:
        (L,) int32 actions.
    """
    keys = jax.random.split(rng_key, states.shape[0])
    logits = jnp.log(expert_policy[states])
    return jax.vmap(jax.random.categorical)(keys, logits).astype(jnp.int32)


def validate_demos(mdp: MDP, demos: Demonstrations) -> None:
    """Check ``demos`` against ``mdp`` (:func:`~bayesirl.data.demos.check_demonstrations`)
    and that there is at least one trajectory.

    Raises:
        TypeError: ``demos`` is not a :class:`~bayesirl.data.demos.Demonstrations`.
        ValueError: as :func:`~bayesirl.data.demos.check_demonstrations`.
    """
    if not isinstance(demos, Demonstrations):
        raise TypeError(f"demos: expected Demonstrations, got {type(demos).__name__}")
    check_demonstrations(mdp, demos)


def with_demonstrated_starts(mdp: MDP, demos: Demonstrations) -> MDP:
    """``mdp`` with its initial distribution replaced by the demonstrations' empirical start
    distribution ``(1/N) Σ_n 1[s_0^n = s]``.

    Feature expectations and occupancy measures estimated from N demonstrations are those of
    this start distribution, so matching them (projection algorithm, GAIL, AIRL) is only
    possible from it (Abbeel & Ng 2004 assume the expert's start distribution is the MDP's).

    Returns:
        A new :class:`~bayesirl.data.mdp.MDP` (``mdp`` is not modified).
    """
    starts = demos.states[:, 0]
    p0 = jnp.zeros(mdp.num_states, mdp.initial_distribution.dtype).at[starts].add(1.0)
    return mdp._replace(initial_distribution=p0 / demos.num_trajectories)
