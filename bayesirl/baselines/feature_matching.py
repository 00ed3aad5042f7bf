"""Feature matching and max-margin IRL: the projection algorithm of apprenticeship learning
(Abbeel & Ng, ICML 2004) and the linear programme of Ng & Russell (ICML 2000).

Both assume a linear reward ``R = φ w`` and return point estimates — no posterior. The
projection algorithm returns a *mixture* of policies whose feature expectations are within ε
of the expert's (so its expected return is within ε‖w‖₂ of the expert's for every reward,
Abbeel & Ng 2004, Sec. 3); the reward weights it visits are by-products, not estimates of the
expert's reward. Max-margin IRL returns weights under which the demonstrated actions beat the
others by the largest total margin, violations penalised (Ng & Russell 2000, Sec. 4).
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
    policy_evaluation,
    value_iteration,
)

__all__ = ["MaxMarginResult", "ProjectionResult", "max_margin", "projection"]


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
        margins: (S,) ``min_{a ≠ a_E(s)} Q*(s, a_E(s)) − Q*(s, a)`` under the returned reward
            in demonstrated states, NaN elsewhere (reward units). Where every margin is >= 0 the
            demonstrated actions are optimal for the returned reward; a negative margin is a
            demonstrated action that the soft-constrained LP gave up.
        iterations: LP solves (one per completion of the expert policy).
        converged: whether the completion stopped changing (the expert policy completed by
            the returned reward's optimal policy is then the one the LP was solved for).
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


def _margin_rows(G: np.ndarray, expert_actions: np.ndarray):
    """(K, F) rows ΔG with ``ΔG · w = Q^π(s, a_E(s)) − Q^π(s, a)``, one per demonstrated state s
    and action a ≠ a_E(s), and (K,) the index j of s among the demonstrated states."""
    observed = np.flatnonzero(expert_actions >= 0)
    A = G.shape[1]
    a_e = expert_actions[observed]
    diff = G[observed, a_e][:, None, :] - G[observed]          # (n, A, F)
    keep = np.arange(A)[None, :] != a_e[:, None]               # (n, A)
    j = np.broadcast_to(np.arange(observed.size)[:, None], keep.shape)
    return observed, diff[keep], j[keep]


def _solve_lp(G: np.ndarray, expert_actions: np.ndarray, l1_penalty: float,
              violation_penalty: float | None):
    """Ng & Russell (2000) LP: max Σ_s t_s − λ‖w‖₁, |w_i| <= 1, with for every demonstrated s
    and a ≠ a_E(s): Sec. 4 (``violation_penalty`` k) ``t_s <= ΔQ`` and ``t_s <= k ΔQ``, t_s free,
    i.e. ``t_s = p(min_a ΔQ)``; Sec. 3.2 (k None) ``t_s <= ΔQ``, ``t_s >= 0``.
    Variables x = [w (F), u (F) >= |w|, t (n)]; returns (w, demonstrated states)."""
    observed, diff, j = _margin_rows(G, expert_actions)
    n, F = observed.size, G.shape[-1]
    K = diff.shape[0]
    slopes = [1.0] if violation_penalty is None else [1.0, violation_penalty]
    t_part = np.zeros((K, n))
    t_part[np.arange(K), j] = 1.0
    blocks = [np.hstack([-k * diff, np.zeros((K, F)), t_part]) for k in slopes]
    eye, zeros = np.eye(F), np.zeros((F, n))
    rows = np.vstack(blocks + [np.hstack([eye, -eye, zeros]), np.hstack([-eye, -eye, zeros])])
    c = np.concatenate([np.zeros(F), np.full(F, l1_penalty), -np.ones(n)])
    t_bounds = (0.0, None) if violation_penalty is None else (None, None)
    bounds = [(-1.0, 1.0)] * F + [(0.0, 1.0)] * F + [t_bounds] * n
    res = scipy.optimize.linprog(c, A_ub=rows, b_ub=np.zeros(rows.shape[0]), bounds=bounds,
                                 method="highs")
    if res.status != 0:
        raise RuntimeError(f"max_margin: the LP solver failed ({res.message})")
    return res.x[:F], observed


def _state_margins(G: np.ndarray, expert_actions: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(S,) ``min_{a ≠ a_E(s)} Q(s, a_E(s)) − Q(s, a)`` with ``Q = G · w`` in demonstrated
    states, NaN elsewhere."""
    observed, diff, j = _margin_rows(G, expert_actions)
    margins = np.full(expert_actions.shape[0], np.nan)
    margins[observed] = np.full(observed.size, np.inf)
    np.minimum.at(margins, observed[j], diff @ w)
    return margins


def max_margin(mdp: MDP, demos: Demonstrations, *, l1_penalty: float = 0.0,
               violation_penalty: float | None = 2.0,
               max_iterations: int = 10) -> MaxMarginResult:
    """Max-margin IRL: the linear programme of Ng & Russell (ICML 2000), solved by scipy's HiGHS.

    For the expert policy π (demonstrated action a_E(s) in each demonstrated state),
    ``Q^π(s, a) = G(s, a) · w`` is linear in the weights (Ng & Russell 2000, Sec. 4, linear
    function approximation; Thm 3 / Eq. 4 in matrix form for φ = I). With
    ``ΔQ(s, a) = Q^π(s, a_E(s)) − Q^π(s, a)`` solve, over the demonstrated states s::

        maximise  Σ_s min_{a ≠ a_E(s)} p(ΔQ(s, a)) − λ ‖w‖₁   s.t.  |w_i| <= 1,

    with Ng & Russell's Sec. 4 penalty ``p(x) = x`` for x >= 0 and ``k x`` for x < 0
    (k = ``violation_penalty``, theirs is 2): the optimality constraints are soft, a violated
    one costs k times its size. With ``violation_penalty=None`` the constraints are hard
    (``ΔQ >= 0``, the Sec. 3.2 LP with R_max = 1 on the features).

    Why soft by default: with demonstrations π is known only in demonstrated states and is
    completed elsewhere (below); under a poor completion (the first is uniform) the true reward
    usually violates some hard constraint — the demonstrated action leads towards states where
    the completion does badly — and often only the degenerate rewards (``w = 0``, or any
    constant reward when the features sum to one) satisfy them all. The hard LP then returns
    a reward under which every action ties, and its policy is the uniform one (normalised EVD
    1). More demonstrations add constraints and make this more likely. The soft LP excludes a
    degenerate reward whenever some reward has a positive total penalised margin.

    Where we go beyond the paper: we complete π with the optimal policy of the current weights
    (uniform at first) and re-solve until the completion stops changing (``converged``). The
    structured max-margin variant (Ratliff, Bagnell & Zinkevich, ICML 2006, maximum margin
    planning) is not implemented. In each demonstrated state a_E(s) is its most frequent
    demonstrated action (ties: the lowest index).

    Args:
        mdp: the MDP.
        demos: expert demonstrations.
        l1_penalty: λ >= 0 on ‖w‖₁ (Ng & Russell's simplicity penalty).
        violation_penalty: k >= 1, the slope of p for violated constraints; None for hard
            constraints.
        max_iterations: cap on LP solves (completions).

    Returns:
        :class:`MaxMarginResult`.

    Raises:
        ValueError / TypeError: demonstrations that do not fit the MDP or without any
            non-terminal step; a negative ``l1_penalty``; a ``violation_penalty`` below 1.
        RuntimeError: the LP solver fails (it should not: the LP is feasible and bounded).
    """
    validate_demos(mdp, demos)
    lam = check_scalar(l1_penalty, "l1_penalty", low=0.0)
    if violation_penalty is not None:
        violation_penalty = check_scalar(violation_penalty, "violation_penalty", low=1.0)
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
        w, _ = _solve_lp(G, expert_actions, lam, violation_penalty)
        solution = value_iteration(mdp, reward_from_weights(
            mdp, jnp.asarray(w, mdp.features.dtype)))
        new_completion = np.asarray(solution.policy, np.float64)
        if np.allclose(new_completion[~observed], completion[~observed]):
            converged = True
            break
        completion = new_completion
    q_star = np.asarray(solution.q_values, np.float64)
    margins = _state_margins(q_star[..., None], expert_actions, np.ones(1))
    return MaxMarginResult(
        weights=jnp.asarray(w), policy=solution.policy,
        expert_actions=jnp.asarray(expert_actions), margins=jnp.asarray(margins),
        iterations=iteration, converged=converged)
