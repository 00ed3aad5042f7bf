"""Feature matching and max-margin IRL: the projection algorithm of apprenticeship learning
(Abbeel & Ng, ICML 2004) and the linear programme of Ng & Russell (ICML 2000).

Both assume a linear reward ``R = φ w`` and return point estimates — no posterior. The
projection algorithm returns a *mixture* of policies whose feature expectations are within ε
of the expert's (so its expected return is within ε‖w‖₂ of the expert's for every reward,
Abbeel & Ng 2004, Sec. 3); the reward weights it visits are by-products, not estimates of the
expert's reward. Max-margin IRL returns weights under which the demonstrated actions are
optimal by the largest total margin.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from bayesirl._typing import Array
from bayesirl._validate import check_scalar
from bayesirl.baselines.common import (
    expert_feature_expectations,
    mixture_policy,
    validate_demos,
    with_demonstrated_starts,
)
from bayesirl.data.demos import Demonstrations, state_action_counts
from bayesirl.data.mdp import MDP, reward_from_weights
from bayesirl.solvers import (
    expected_feature_counts,
    expected_next_values,
    greedy_policy,
    policy_evaluation,
    value_iteration,
)

__all__ = ["ProjectionResult", "projection", "MaxMarginResult", "max_margin"]


class ProjectionResult(NamedTuple):
    """Result of :func:`projection` (I = number of policies computed, including π^(0)).

    Attributes:
        weights: (F,) the last reward weights ``w^(i) = μ_E − μ̄^(i−1)`` (not normalised).
        policies: (I, S, A) the policies π^(0), …, π^(I−1).
        feature_expectations: (I, F) their feature expectations μ^(i).
        mixture_weights: (I,) λ_i >= 0, summing to 1, with ``Σ λ_i μ^(i) = μ̄``.
        mixture_feature_expectations: (F,) μ̄, the projection's point closest to μ_E.
        mixture_policy: (S, A) one stationary policy with the mixture's occupancy (and so
            feature expectations μ̄; :func:`~bayesirl.baselines.common.mixture_policy`).
        nearest_policy: (S, A) the single π^(i) whose μ^(i) is nearest to μ_E (Euclidean).
        nearest_index: i of that policy.
        expert_feature_expectations: (F,) μ_E, the empirical feature expectations.
        distances: (I,) ``t^(i) = ‖μ_E − μ̄^(i−1)‖₂`` after each step (the last is the final
            distance).
        iterations: number of RL steps (optimal-policy computations) performed.
        converged: whether ``‖μ_E − μ̄‖₂ <= tolerance`` was reached.
    """

    weights: Array
    policies: Array
    feature_expectations: Array
    mixture_weights: Array
    mixture_feature_expectations: Array
    mixture_policy: Array
    nearest_policy: Array
    nearest_index: int
    expert_feature_expectations: Array
    distances: Array
    iterations: int
    converged: bool


@jax.jit
def _rl_step(mdp: MDP, weights: Array):
    policy = value_iteration(mdp, reward_from_weights(mdp, weights)).policy
    return policy, expected_feature_counts(mdp, policy)


def _project(mu_bar, mu, mu_e):
    """Abbeel & Ng (2004) Sec. 3.1 step 2: orthogonal projection of μ_E onto the segment
    [μ̄, μ]; returns the step c in [0, 1] with μ̄_new = μ̄ + c (μ − μ̄)."""
    d = mu - mu_bar
    dd = float(d @ d)
    if dd <= 0.0:
        return 0.0
    return float(np.clip(d @ (mu_e - mu_bar) / dd, 0.0, 1.0))


def projection(mdp: MDP, demos: Demonstrations, *, tolerance: float = 1e-2,
               max_iterations: int = 100, initial_policy: Array | None = None,
               match_starts: bool = True) -> ProjectionResult:
    """Apprenticeship learning by the projection algorithm (Abbeel & Ng, ICML 2004, Sec. 3.1).

    ``μ̄^(0) = μ(π^(0))``; at step i: ``w^(i) = μ_E − μ̄^(i−1)``, ``t^(i) = ‖w^(i)‖₂``; stop
    when ``t^(i) <= ε``; else ``π^(i)`` = optimal policy of ``R = φ w^(i)`` (value
    iteration), ``μ^(i) = μ(π^(i))`` (exact, :func:`~bayesirl.solvers.expected_feature_counts`)
    and ``μ̄^(i)`` = orthogonal projection of μ_E onto the line through μ̄^(i−1) and μ^(i)
    (the paper's update), here clipped to the segment so that μ̄ stays a convex combination
    of the μ^(j) — whose weights λ we track exactly (the paper recovers them by a QP).

    Args:
        mdp: the MDP (features (S, F) or (S, A, F); discount γ).
        demos: expert demonstrations; μ_E is their mean discounted feature counts
            (:func:`~bayesirl.baselines.common.expert_feature_expectations`).
        tolerance: ε, in feature-expectation units (discounted feature counts).
        max_iterations: cap on RL steps; check ``converged``.
        initial_policy: (S, A) π^(0); default uniform.
        match_starts: compute μ(π) from the demonstrations' empirical start distribution
            (:func:`~bayesirl.baselines.common.with_demonstrated_starts`), the only one from
            which μ_E can be matched; False uses the MDP's p0.

    Returns:
        :class:`ProjectionResult`.

    Raises:
        ValueError / TypeError: demonstrations that do not fit the MDP, a non-positive
        ``tolerance`` or ``max_iterations``.
    """
    validate_demos(mdp, demos)
    eps = check_scalar(tolerance, "tolerance", low=0.0, low_open=True)
    max_iterations = check_scalar(max_iterations, "max_iterations", low=1, integer=True)
    solve_mdp = with_demonstrated_starts(mdp, demos) if match_starts else mdp
    mu_e = np.asarray(expert_feature_expectations(mdp, demos), np.float64)
    S, A = mdp.num_states, mdp.num_actions
    pi0 = (jnp.full((S, A), 1.0 / A, mdp.next_probs.dtype) if initial_policy is None
           else jnp.asarray(initial_policy, mdp.next_probs.dtype))
    policies = [pi0]
    mus = [np.asarray(expected_feature_counts(solve_mdp, pi0), np.float64)]
    lam = [1.0]
    mu_bar = mus[0].copy()
    w = mu_e - mu_bar
    distances = [float(np.linalg.norm(w))]
    iterations = 0
    while distances[-1] > eps and iterations < max_iterations:
        policy, mu = _rl_step(solve_mdp, jnp.asarray(w, mdp.features.dtype))
        mu = np.asarray(mu, np.float64)
        iterations += 1
        c = _project(mu_bar, mu, mu_e)
        lam = [(1.0 - c) * x for x in lam] + [c]
        policies.append(policy)
        mus.append(mu)
        mu_bar = mu_bar + c * (mu - mu_bar)
        w = mu_e - mu_bar
        distances.append(float(np.linalg.norm(w)))
    stacked = jnp.stack(policies)
    lam_arr = jnp.asarray(lam, mdp.next_probs.dtype)
    nearest = int(np.argmin([np.linalg.norm(mu_e - m) for m in mus]))
    return ProjectionResult(
        weights=jnp.asarray(w), policies=stacked, feature_expectations=jnp.asarray(np.stack(mus)),
        mixture_weights=lam_arr, mixture_feature_expectations=jnp.asarray(mu_bar),
        mixture_policy=mixture_policy(solve_mdp, stacked, lam_arr),
        nearest_policy=stacked[nearest], nearest_index=nearest,
        expert_feature_expectations=jnp.asarray(mu_e), distances=jnp.asarray(distances),
        iterations=iterations, converged=bool(distances[-1] <= eps))


# ---------------------------------------------------------------------------------------------
# Max-margin IRL (Ng & Russell 2000)
# ---------------------------------------------------------------------------------------------


class MaxMarginResult(NamedTuple):
    """Result of :func:`max_margin`.

    Attributes:
        weights: (F,) reward weights, each in [−1, 1].
        policy: (S, A) the optimal policy of ``R = φ w`` (value iteration, ties split).
        expert_actions: (S,) the demonstrated action of each state, −1 where unobserved.
        margins: (S,) ``t_s = min_{a ≠ a_E(s)} Q^π(s, a_E(s)) − Q^π(s, a)`` at the LP optimum in
            demonstrated states (>= 0), NaN elsewhere; π is the expert policy completed at
            unobserved states. When ``converged``, Q^π = Q* and these are the margins by which
            the demonstrated actions beat every other action under the returned reward.
        iterations: LP solves (one per completion of the expert policy).
        converged: whether the completion stopped changing (the completed expert policy is
            then optimal for the returned reward).
    """

    weights: Array
    policy: Array
    expert_actions: Array
    margins: Array
    iterations: int
    converged: bool


def _q_features(mdp: MDP, policy: Array) -> Array:
    """(S, A, F) G with Q^π(s, a) = G(s, a) · w for every w: ``G = φ + γ E[Ψ(s')]``,
    ``Ψ = (I − γ P_π)^{-1} φ_π`` the per-state discounted feature expectations."""
    S, A, F = mdp.num_states, mdp.num_actions, mdp.num_features
    phi = mdp.features if mdp.features.ndim == 3 else jnp.broadcast_to(
        mdp.features[:, None, :], (S, A, F))

    def column(phi_f):
        psi = policy_evaluation(mdp, phi_f, policy).values
        return phi_f + mdp.discount * expected_next_values(mdp, psi)

    return jax.vmap(column, in_axes=-1, out_axes=-1)(phi)


_q_features_jit = jax.jit(_q_features)


def _solve_lp(G: np.ndarray, expert_actions: np.ndarray, l1_penalty: float):
    """Ng & Russell (2000) Sec. 4 LP: max Σ_s t_s − λ‖w‖₁ s.t. t_s <= ΔQ(s, a) ∀ a ≠ a_E(s),
    t_s >= 0, |w_i| <= 1. Variables x = [w (F), u (F), t (n)]."""
    observed = np.flatnonzero(expert_actions >= 0)
    n, (S, A, F) = observed.size, G.shape
    rows = []
    for j, s in enumerate(observed):
        a_e = expert_actions[s]
        for a in range(A):
            if a != a_e:
                row = np.zeros(2 * F + n)
                row[:F] = -(G[s, a_e] - G[s, a])
                row[2 * F + j] = 1.0
                rows.append(row)
    eye = np.eye(F)
    zeros = np.zeros((F, n))
    rows = np.vstack(rows + [np.hstack([eye, -eye, zeros]), np.hstack([-eye, -eye, zeros])])
    c = np.concatenate([np.zeros(F), np.full(F, l1_penalty), -np.ones(n)])
    bounds = [(-1.0, 1.0)] * F + [(0.0, 1.0)] * F + [(0.0, None)] * n
    res = scipy.optimize.linprog(c, A_ub=rows, b_ub=np.zeros(rows.shape[0]), bounds=bounds,
                                 method="highs")
    if res.status != 0:
        raise RuntimeError(f"max_margin: the LP solver failed ({res.message})")
    return res.x[:F], observed, res.x[2 * F:]


def max_margin(mdp: MDP, demos: Demonstrations, *, l1_penalty: float = 0.0,
               max_iterations: int = 10) -> MaxMarginResult:
    """Max-margin IRL: the linear programme of Ng & Russell (ICML 2000), solved by scipy's HiGHS.

    For the expert policy π (demonstrated action a_E(s) in each demonstrated state),
    ``Q^π(s, a) = G(s, a) · w`` is linear in the weights (Ng & Russell 2000, Sec. 4, linear
    function approximation; Thm 3 / Eq. 4 in matrix form for φ = I). Solve::

        maximise  Σ_{s demonstrated} t_s − λ ‖w‖₁
        s.t.      t_s <= Q^π(s, a_E(s)) − Q^π(s, a)   for every a ≠ a_E(s),
                  t_s >= 0,  |w_i| <= 1,

    i.e. Ng & Russell's Sec. 3.2 objective (the sum of the margins by which the expert's
    action beats the best other action, with their hard optimality constraints and R_max = 1)
    on the features. ``w = 0`` is always feasible (the degenerate solution they discuss): it is
    returned when no reward in the box makes any demonstrated action strictly better.

    Where we go beyond the paper: with demonstrations the expert policy is known only in
    demonstrated states, but Q^π needs π everywhere. We complete π with the optimal policy of
    the current weights (uniform at first) and re-solve until the completion stops changing
    (``converged``); at that point π is greedy w.r.t. its own Q, hence optimal
    (policy improvement theorem), so the margins are margins in Q*. The structured
    max-margin variant (Ratliff, Bagnell & Zinkevich, ICML 2006, maximum margin planning) is not
    implemented. In each demonstrated state a_E(s) is its most frequent demonstrated action
    (ties: the lowest index).

    Args:
        mdp: the MDP.
        demos: expert demonstrations.
        l1_penalty: λ >= 0 on ‖w‖₁ (Ng & Russell's simplicity penalty).
        max_iterations: cap on LP solves (completions).

    Returns:
        :class:`MaxMarginResult`.

    Raises:
        ValueError / TypeError: demonstrations that do not fit the MDP or without any
            non-terminal step; a negative ``l1_penalty``.
        RuntimeError: the LP solver fails (it should not: the LP is feasible and bounded).
    """
    validate_demos(mdp, demos)
    lam = check_scalar(l1_penalty, "l1_penalty", low=0.0)
    max_iterations = check_scalar(max_iterations, "max_iterations", low=1, integer=True)
    counts = np.asarray(state_action_counts(mdp, demos))
    observed = counts.sum(-1) > 0
    if not observed.any():
        raise ValueError("demos: no demonstrated action outside terminal states")
    expert_actions = np.where(observed, counts.argmax(-1), -1)
    S, A = mdp.num_states, mdp.num_actions
    dtype = mdp.next_probs.dtype
    completion = np.full((S, A), 1.0 / A)
    converged = False
    for iteration in range(1, max_iterations + 1):
        policy = np.where(observed[:, None], np.eye(A)[np.maximum(expert_actions, 0)],
                          completion)
        G = np.asarray(_q_features_jit(mdp, jnp.asarray(policy, dtype)), np.float64)
        w, obs_idx, t = _solve_lp(G, expert_actions, lam)
        optimal = np.asarray(value_iteration(mdp, reward_from_weights(
            mdp, jnp.asarray(w, mdp.features.dtype))).q_values, np.float64)
        new_completion = np.asarray(greedy_policy(jnp.asarray(optimal)))
        if np.allclose(new_completion[~observed], completion[~observed]):
            converged = True
            break
        completion = new_completion
    margins = np.full(S, np.nan)
    margins[obs_idx] = t
    reward = reward_from_weights(mdp, jnp.asarray(w, mdp.features.dtype))
    return MaxMarginResult(
        weights=jnp.asarray(w), policy=value_iteration(mdp, reward).policy,
        expert_actions=jnp.asarray(expert_actions), margins=jnp.asarray(margins),
        iterations=iteration, converged=converged)
