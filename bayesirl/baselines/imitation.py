"""Behavioural cloning as a Bayesian baseline, and the interactive imitation learners DAgger
(Ross, Gordon & Bagnell, AISTATS 2011) and SMILe (Ross & Bagnell, AISTATS 2010).

**Bayesian behavioural cloning.** Each state's action distribution θ_s gets an independent
Dirichlet(α_s) prior; with n_s(a) demonstrated actions in s the posterior is the conjugate
``Dirichlet(α_s + n_s)`` (e.g. Gelman et al., BDA3, Sec. 3.4), its mean
``(α_s(a) + n_s(a)) / Σ_b (α_s(b) + n_s(b))`` and each component's marginal
``Beta(α_s(a) + n_s(a), Σ_b (α_s(b) + n_s(b)) − α_s(a) − n_s(a))``.
**Fallback for unvisited states:** with no data the posterior is the prior, whose mean is the
uniform policy for a symmetric prior (pass an (S, A) concentration to encode a different
fallback, e.g. ``κ · π_default``). The point policy used for evaluation is the posterior mode's
greedy choice: the most frequent demonstrated action (ties split), uniform where unvisited.

**The simulated expert** is the one of :func:`~bayesirl.active.run_active_learning`: an
(S, A) expert policy — its optimal policy with ties split evenly — asked for an action in any
state (:func:`~bayesirl.baselines.common.expert_labels`). Budgets count expert labels
(state-action pairs), the currency in which DAgger and SMILe are compared with learners from
demonstrations (a demonstration of L non-terminal steps is L labels).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import as_float_array, check_scalar
from bayesirl.baselines.common import check_policy, expert_labels, validate_demos
from bayesirl.data.demos import Demonstrations, rollout, state_action_counts
from bayesirl.data.mdp import MDP
from bayesirl.solvers import greedy_policy

__all__ = [
    "BCPosterior",
    "behavioural_cloning",
    "bc_from_counts",
    "bc_credible_intervals",
    "sample_bc_policies",
    "DAggerResult",
    "dagger",
    "SMILeResult",
    "smile",
]


class BCPosterior(NamedTuple):
    """Dirichlet–categorical posterior over each state's action distribution.

    Attributes:
        concentration: (S, A) posterior Dirichlet parameters α + n.
        counts: (S, A) demonstrated actions per state n (terminal states excluded).
        visited: (S,) bool, states with at least one demonstrated action.
        mean_policy: (S, A) posterior mean ``(α + n) / Σ_a (α + n)``.
        policy: (S, A) point policy: the most frequent demonstrated action(s) in visited
            states (ties split evenly), the prior mean (uniform for a symmetric prior) elsewhere.
    """

    concentration: Array
    counts: Array
    visited: Array
    mean_policy: Array
    policy: Array


def _prior(mdp: MDP, prior_concentration) -> np.ndarray:
    alpha = as_float_array(prior_concentration, "prior_concentration", ndim=(0, 2))
    if alpha.ndim == 0:
        alpha = np.full((mdp.num_states, mdp.num_actions), float(alpha))
    if alpha.shape != (mdp.num_states, mdp.num_actions):
        raise ValueError(f"prior_concentration: expected a number or shape (S, A) = "
                         f"({mdp.num_states}, {mdp.num_actions}), got {alpha.shape}")
    if (alpha <= 0).any():
        raise ValueError("prior_concentration: expected every entry > 0")
    return alpha


def bc_from_counts(counts: Array, prior_concentration: Array) -> BCPosterior:
    """The :class:`BCPosterior` of (S, A) action counts under an (S, A) Dirichlet prior
    (validated inputs; jit-compatible)."""
    concentration = prior_concentration + counts
    visited = jnp.sum(counts, axis=-1) > 0
    mean = concentration / jnp.sum(concentration, axis=-1, keepdims=True)
    prior_mean = prior_concentration / jnp.sum(prior_concentration, axis=-1, keepdims=True)
    mode = greedy_policy(counts)
    return BCPosterior(concentration, counts, visited, mean,
                       jnp.where(visited[:, None], mode, prior_mean))


def behavioural_cloning(mdp: MDP, demos: Demonstrations, *,
                        prior_concentration=1.0) -> BCPosterior:
    """Bayesian behavioural cloning: the conjugate Dirichlet posterior of each state's action
    distribution (see the module docstring; Pomerleau 1991 for cloning, BDA3 Sec. 3.4 for the
    conjugate update).

    Args:
        mdp: the MDP (only S, A and the terminal states are used).
        demos: demonstrations; steps in terminal states carry no action and are skipped.
        prior_concentration: α > 0, a number (symmetric Dirichlet(α, …, α) in every state) or
            an (S, A) array.

    Returns:
        :class:`BCPosterior`.

    Raises:
        ValueError / TypeError: demonstrations that do not fit the MDP, a non-positive or
        wrongly shaped prior.
    """
    validate_demos(mdp, demos)
    alpha = jnp.asarray(_prior(mdp, prior_concentration), mdp.next_probs.dtype)
    return bc_from_counts(state_action_counts(mdp, demos), alpha)


def bc_credible_intervals(posterior: BCPosterior, prob: float = 0.94) -> tuple[Array, Array]:
    """Equal-tailed credible intervals of every action probability θ_s(a): quantiles
    ``(1 ∓ prob)/2`` of the Beta marginal of the Dirichlet posterior.

    Args:
        posterior: a :class:`BCPosterior`.
        prob: credible mass in (0, 1).

    Returns:
        (lower, upper), each (S, A).

    Raises:
        ValueError: ``prob`` outside (0, 1).
    """
    prob = check_scalar(prob, "prob", low=0.0, high=1.0, low_open=True, high_open=True)
    a = np.asarray(posterior.concentration, np.float64)
    b = a.sum(-1, keepdims=True) - a
    lower = scipy.stats.beta.ppf((1 - prob) / 2, a, b)
    upper = scipy.stats.beta.ppf((1 + prob) / 2, a, b)
    return jnp.asarray(lower), jnp.asarray(upper)


def sample_bc_policies(rng_key: PRNGKey, posterior: BCPosterior, num_samples: int) -> Array:
    """(M, S, A) draws of the whole policy from the Dirichlet posterior (independent states)."""
    M = check_scalar(num_samples, "num_samples", low=1, integer=True)
    return jax.random.dirichlet(rng_key, posterior.concentration,
                                (M,) + posterior.concentration.shape[:-1])


# ---------------------------------------------------------------------------------------------
# DAgger and SMILe
# ---------------------------------------------------------------------------------------------


class DAggerResult(NamedTuple):
    """Result of :func:`dagger` (I iterations, L expert labels).

    Attributes:
        policy: (S, A) the final cloned policy (``posterior.policy``).
        posterior: the :class:`BCPosterior` of the aggregated dataset.
        states, actions: (L,) the aggregated dataset, in the order it was collected.
        dataset_sizes: (I,) dataset size after each iteration.
        iterations: I.
        converged: True when the label budget was spent exactly.
    """

    policy: Array
    posterior: BCPosterior
    states: Array
    actions: Array
    dataset_sizes: Array
    iterations: int
    converged: bool


def _labelled_rollout(key, mdp, policy, expert_policy, horizon, remaining):
    k_roll, k_label = jax.random.split(key)
    traj = _rollout_jit(k_roll, mdp, policy, horizon)
    keep = np.asarray(traj.mask) & ~np.asarray(mdp.terminal)[np.asarray(traj.states)]
    states = np.asarray(traj.states)[keep][:remaining]
    actions = np.asarray(expert_labels(k_label, expert_policy, jnp.asarray(states)))
    return states, actions


_rollout_jit = jax.jit(rollout, static_argnames="horizon")


def _counts(S, A, states, actions, dtype):
    counts = np.zeros((S, A))
    np.add.at(counts, (np.asarray(states, np.int64), np.asarray(actions, np.int64)), 1.0)
    return jnp.asarray(counts, dtype)


def _check_interactive(mdp, expert_policy, budget, horizon, demos):
    expert = check_policy(mdp, expert_policy, "expert_policy")
    budget = check_scalar(budget, "budget", low=1, integer=True)
    horizon = check_scalar(horizon, "horizon", low=1, integer=True)
    if demos is not None:
        validate_demos(mdp, demos)
    return jnp.asarray(expert, mdp.next_probs.dtype), budget, horizon


def _initial_data(mdp, demos, budget):
    if demos is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keep = np.asarray(demos.mask) & ~np.asarray(mdp.terminal)[np.asarray(demos.states)]
    return np.asarray(demos.states)[keep][:budget], np.asarray(demos.actions)[keep][:budget]


def dagger(rng_key: PRNGKey, mdp: MDP, expert_policy: Array, *, budget: int, horizon: int,
           demos: Demonstrations | None = None, mixing: float = 0.0,
           prior_concentration=1.0) -> DAggerResult:
    """DAgger (Ross, Gordon & Bagnell, AISTATS 2011, Algorithm 3.1) with Bayesian cloning.

    Start from the demonstrations' labelled pairs D (or, without ``demos``, from one rollout
    of the expert: β_1 = 1). At each further iteration i: clone π̂_i from D
    (:func:`behavioural_cloning`), run ``π_i = β_i π* + (1 − β_i) π̂_i`` (per-step mixture,
    β_i = ``mixing``^(i−1)) for one trajectory of ``horizon`` steps from p0, ask the expert for
    its action in every visited non-terminal state, and add those pairs to D — truncated so
    that D never exceeds ``budget`` labels. **The dataset grows by exactly
    min(non-terminal steps of the rollout, labels left) per iteration** and the loop ends when
    the budget is spent.

    Args:
        rng_key: PRNG key.
        mdp: the MDP.
        expert_policy: (S, A) the simulated expert (see the module docstring).
        budget: total expert labels, the demonstrations' pairs included.
        horizon: T, the length of each rollout.
        demos: the initial demonstrations (optional).
        mixing: p in β_i = p^(i−1) for i >= 2 (0: the learner alone, as Ross et al. recommend).
        prior_concentration: Dirichlet prior of the cloning step.

    Returns:
        :class:`DAggerResult`.

    Raises:
        ValueError / TypeError: a bad expert policy, budget, horizon, mixing or prior.
    """
    expert, budget, T = _check_interactive(mdp, expert_policy, budget, horizon, demos)
    p = check_scalar(mixing, "mixing", low=0.0, high=1.0)
    alpha = jnp.asarray(_prior(mdp, prior_concentration), mdp.next_probs.dtype)
    S, A, dtype = mdp.num_states, mdp.num_actions, mdp.next_probs.dtype
    states, actions = _initial_data(mdp, demos, budget)
    sizes, key = [], rng_key
    if demos is None:
        key, sub = jax.random.split(key)
        states, actions = _labelled_rollout(sub, mdp, expert, expert, T, budget)
    sizes.append(states.size)
    stalled = 0
    while states.size < budget and stalled < 10:
        learner = bc_from_counts(_counts(S, A, states, actions, dtype), alpha).policy
        beta = p ** len(sizes)
        key, sub = jax.random.split(key)
        new_s, new_a = _labelled_rollout(sub, mdp, beta * expert + (1 - beta) * learner,
                                         expert, T, budget - states.size)
        stalled = stalled + 1 if new_s.size == 0 else 0  # e.g. starts in terminal states
        states, actions = np.concatenate([states, new_s]), np.concatenate([actions, new_a])
        sizes.append(states.size)
    post = bc_from_counts(_counts(S, A, states, actions, dtype), alpha)
    return DAggerResult(post.policy, post, jnp.asarray(states), jnp.asarray(actions),
                        jnp.asarray(sizes), len(sizes), states.size == budget)


class SMILeResult(NamedTuple):
    """Result of :func:`smile` (I iterations).

    Attributes:
        policy: (S, A) the final learned policy π̃_I (the expert's share removed, renormalised).
        policies: (I, S, A) the cloned policies π̂*_1 … π̂*_I.
        mixture_weights: (I,) their weights in π̃_I, ``α (1 − α)^(j−1) / (1 − (1 − α)^I)``.
        expert_weight: () (1 − α)^I, the expert's share in π_I before it is removed.
        num_labels: expert labels used.
        iterations: I.
        converged: True when the label budget was spent exactly.
    """

    policy: Array
    policies: Array
    mixture_weights: Array
    expert_weight: Array
    num_labels: int
    iterations: int
    converged: bool


def smile(rng_key: PRNGKey, mdp: MDP, expert_policy: Array, *, budget: int, horizon: int,
          demos: Demonstrations | None = None, alpha: float = 0.3,
          prior_concentration=1.0) -> SMILeResult:
    """SMILe (Ross & Bagnell, AISTATS 2010, Sec. 4.2, Algorithm "SMILe") with Bayesian cloning.

    π_0 = π* (the expert). At iteration n: run π_{n−1} for one trajectory of ``horizon``
    steps from p0, label its non-terminal states by the expert, clone π̂*_n from *these*
    labels only, and set ``π_n = (1 − α)^n π* + α Σ_{j<=n} (1 − α)^(j−1) π̂*_j`` (a per-step
    mixture). The returned policy removes the expert: ``π̃_n = (π_n − (1 − α)^n π*) /
    (1 − (1 − α)^n)``. With ``demos`` the first iteration's data are the demonstrations
    (rollouts of π_0 = π*). Iterations continue until the label budget is spent.

    Args:
        rng_key, mdp, budget, horizon, demos, prior_concentration: as in :func:`dagger`.
        expert_policy: (S, A) the simulated expert.
        alpha: α in (0, 1], the mixing rate (the paper's α ≈ 1/T guarantee; larger is faster).

    Returns:
        :class:`SMILeResult`.

    Raises:
        ValueError / TypeError: as :func:`dagger`, or α outside (0, 1].
    """
    expert, budget, T = _check_interactive(mdp, expert_policy, budget, horizon, demos)
    a = check_scalar(alpha, "alpha", low=0.0, high=1.0, low_open=True)
    prior = jnp.asarray(_prior(mdp, prior_concentration), mdp.next_probs.dtype)
    S, A, dtype = mdp.num_states, mdp.num_actions, mdp.next_probs.dtype
    key, used, learned, stalled = rng_key, 0, [], 0
    states, actions = _initial_data(mdp, demos, budget)
    current = expert
    while used < budget and stalled < 10:
        if not (learned == [] and demos is not None):
            key, sub = jax.random.split(key)
            states, actions = _labelled_rollout(sub, mdp, current, expert, T, budget - used)
        stalled = stalled + 1 if states.size == 0 else 0
        if states.size == 0:
            continue
        used += states.size
        learned.append(bc_from_counts(_counts(S, A, states, actions, dtype), prior).policy)
        n = len(learned)
        weights = a * (1 - a) ** jnp.arange(n, dtype=dtype)
        current = (1 - a) ** n * expert + jnp.einsum("j,jsa->sa", weights, jnp.stack(learned))
    if not learned:
        raise ValueError("budget: no expert label could be collected (every rollout started "
                         "in a terminal state)")
    n = len(learned)
    weights = a * (1 - a) ** jnp.arange(n, dtype=dtype) / (1 - (1 - a) ** n)
    policies = jnp.stack(learned)
    return SMILeResult(jnp.einsum("j,jsa->sa", weights, policies), policies, weights,
                       jnp.asarray((1 - a) ** n, dtype), used, n, used == budget)
