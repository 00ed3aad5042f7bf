"""The active-learning loop with a simulated expert: query → answer → update → stop.

Two posterior updaters:

* :class:`ImportancePosterior` — M draws from the prior, reweighted by the likelihood of every
  answer (self-normalised importance sampling). An update costs O(M); the per-sample Boltzmann
  action log-probabilities are computed once (one vmapped solve per draw). Exact in the limit
  M → ∞ and the right tool for low-dimensional rewards (a few features); watch its effective
  sample size (:func:`importance_ess`), which shrinks as the posterior concentrates.
* MCMC — refit :func:`~bayesirl.inference.fit_evidence` on all answers so far (any dimension),
  warm-started from the previous draws; slower.

The loop stops when the demonstration-sufficiency test passes (Trinh, Chen & Brown 2024: the
α-VaR upper bound on the normalised EVD of the evaluation policy is below ε) or the query
budget is spent.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.active import (
    PREFERENCE_ACQUISITIONS,
    STATE_ACQUISITIONS,
    candidate_trajectories,
    choose_pairs,
    choose_states,
    preference_scores,
    state_scores,
)
from bayesirl.envs import Environment
from bayesirl.likelihoods import boltzmann_q_values
from bayesirl.mdp import MDP, reward_from_weights
from bayesirl.occupancy import empirical_feature_counts
from bayesirl.preferences import PreferenceChoice, trajectory_returns
from bayesirl.solvers import greedy_policy, value_iteration

__all__ = [
    "ImportancePosterior",
    "importance_posterior",
    "observe_action",
    "observe_preference",
    "importance_ess",
    "resample",
    "normalized_evd",
    "QueryRecord",
    "run_active_learning",
]


class ImportancePosterior(NamedTuple):
    """Prior draws with accumulated log-likelihoods (a JAX pytree).

    Attributes:
        weights: (M, F) draws of the reward weights from the prior.
        log_likelihood: (M,) accumulated log-likelihood of every answer so far.
        action_log_probs: (M, S, A) per-draw Boltzmann log-probabilities ``log p_m(a|s)``.
        beta: () rationality β of the simulated answers' model.
    """

    weights: Array
    log_likelihood: Array
    action_log_probs: Array
    beta: Array


def importance_posterior(key: PRNGKey, mdp: MDP, num_samples: int = 4000, prior: str = "l1-sphere",
                         beta: float = 10.0, q: str = "soft") -> ImportancePosterior:
    """Draw M prior samples and precompute their Boltzmann action log-probabilities.

    Args:
        key: PRNG key.
        mdp: the MDP.
        num_samples: M.
        prior: ``"l1-sphere"`` (Brown & Niekum 2018), ``"l2-sphere"`` or ``"gaussian"``.
        beta: rationality β of the demonstrator and of preference answers.
        q: soft or hard Q.

    Raises:
        ValueError: unknown prior or non-positive counts.
    """
    M = check_scalar(num_samples, "num_samples", low=1, integer=True)
    F = mdp.num_features
    dtype = mdp.features.dtype
    if prior == "l1-sphere":
        z = jax.random.laplace(key, (M, F), dtype)
        w = z / jnp.sum(jnp.abs(z), axis=1, keepdims=True)
    elif prior == "l2-sphere":
        z = jax.random.normal(key, (M, F), dtype)
        w = z / jnp.linalg.norm(z, axis=1, keepdims=True)
    elif prior == "gaussian":
        w = jax.random.normal(key, (M, F), dtype)
    else:
        raise ValueError(f"prior: expected 'l1-sphere', 'l2-sphere' or 'gaussian', got {prior!r}")
    logits = jax.vmap(lambda v: boltzmann_q_values(mdp, reward_from_weights(mdp, v), beta, q))(w)
    return ImportancePosterior(w, jnp.zeros(M, dtype), jax.nn.log_softmax(logits, -1),
                               jnp.asarray(beta, dtype))


def observe_action(post: ImportancePosterior, state, action) -> ImportancePosterior:
    """Bayes update with the expert's action in a state (Boltzmann likelihood)."""
    return post._replace(log_likelihood=post.log_likelihood + post.action_log_probs[:, state, action])


def observe_preference(post: ImportancePosterior, features_a: Array, features_b: Array, label,
                       delta: float = 0.0) -> ImportancePosterior:
    """Bayes update with a comparison of trajectories A and B (label 0: A, 1: B, 2: equal)."""
    x = post.beta * (post.weights @ (features_a - features_b))
    return post._replace(log_likelihood=post.log_likelihood
                         + PreferenceChoice(x, delta).log_prob(jnp.asarray(label)))


def _normalized(post: ImportancePosterior) -> Array:
    return jax.nn.softmax(post.log_likelihood)


def importance_ess(post: ImportancePosterior) -> float:
    """Kish effective sample size ``1 / Σ w̃²`` of the normalised importance weights."""
    w = _normalized(post)
    return float(1.0 / jnp.sum(w ** 2))


def resample(key: PRNGKey, post: ImportancePosterior, num: int) -> Array:
    """(num,) indices of equally weighted posterior draws by systematic resampling
    (``post.weights[indices]`` are the draws)."""
    w = np.asarray(_normalized(post), dtype=np.float64)
    u = (np.asarray(jax.random.uniform(key, ())) + np.arange(num)) / num
    return jnp.asarray(np.minimum(np.searchsorted(np.cumsum(w), u), len(w) - 1))


def normalized_evd(mdp: MDP, reward: Array, policy: Array) -> Array:
    """Normalised EVD (Trinh, Chen & Brown 2024): ``(ρ(π*) − ρ(π)) / (ρ(π*) − ρ(π_uniform))``,
    0 for an optimal policy, 1 for the uniformly random one."""
    from bayesirl.evaluation import expected_value_difference

    uniform = jnp.full((mdp.num_states, mdp.num_actions), 1.0 / mdp.num_actions, reward.dtype)
    worst = expected_value_difference(mdp, reward, uniform)
    return expected_value_difference(mdp, reward, policy) / jnp.maximum(worst, 1e-12)


class QueryRecord(NamedTuple):
    """One step of the loop (JSON-serialisable via ``_asdict``)."""

    step: int
    query: list
    answer: int
    score: float
    true_nevd: float
    bound: float | None
    sufficient: bool
    ess: float


def _policy_of_mean(mdp: MDP, weights: Array) -> Array:
    return value_iteration(mdp, reward_from_weights(mdp, weights.mean(0))).policy


def run_active_learning(
    env: Environment,
    *,
    kind: str = "state",
    acquisition: str = "bald",
    budget: int = 20,
    key: PRNGKey | None = None,
    num_prior_samples: int = 4000,
    num_posterior_samples: int = 500,
    prior: str = "l1-sphere",
    beta: float = 10.0,
    delta: float = 0.0,
    num_candidates: int = 40,
    stop: Callable[[Array, Array], tuple[bool, float | None]] | None = None,
    progress: bool | None = None,
    history_path: str | os.PathLike | None = None,
) -> list[QueryRecord]:
    """Run the query → answer → update loop with a simulated expert who knows the true reward.

    State queries: the expert shows its optimal action (ties broken at random) in the chosen
    state. Preference queries: candidate trajectories are rollouts of noisy policies (from
    optimal to uniform) and of the optimal policies of prior draws; the expert prefers the one
    with the higher true return ("equal" within ``delta`` when ``delta`` > 0).

    Args:
        env: environment with a known true reward.
        kind: ``"state"`` or ``"preference"``.
        acquisition: a name from :data:`~bayesirl.active.STATE_ACQUISITIONS` or
            :data:`~bayesirl.active.PREFERENCE_ACQUISITIONS`.
        budget: maximum number of queries.
        key: PRNG key (default ``PRNGKey(0)``).
        num_prior_samples: M of the :class:`ImportancePosterior`.
        num_posterior_samples: equally weighted draws given to the acquisitions and the stop test.
        prior, beta, delta: the model.
        num_candidates: candidate trajectories for preference queries (pairs: all of them).
        stop: ``stop(draws (n, F), eval_policy (S, A)) -> (sufficient, bound)``; default: never
            stop early (run the whole budget).
        progress: print one line per query (default: when stderr is a terminal).
        history_path: write the history as JSON there after every query (atomic rename).

    Returns:
        The history, one :class:`QueryRecord` per query.

    Raises:
        ValueError: unknown kind/acquisition, non-positive budget.
    """
    if kind not in ("state", "preference"):
        raise ValueError(f"kind: expected 'state' or 'preference', got {kind!r}")
    names = STATE_ACQUISITIONS if kind == "state" else PREFERENCE_ACQUISITIONS
    if acquisition not in names:
        raise ValueError(f"acquisition: expected one of {names} for {kind} queries, got {acquisition!r}")
    budget = check_scalar(budget, "budget", low=1, integer=True)
    key = jax.random.PRNGKey(0) if key is None else key
    progress = sys.stderr.isatty() if progress is None else progress
    mdp = env.mdp
    k_prior, k_cand, key = jax.random.split(key, 3)
    post = importance_posterior(k_prior, mdp, num_prior_samples, prior, beta)
    expert = greedy_policy(value_iteration(mdp, env.true_reward).q_values)
    asked: list[int] = []
    if kind == "preference":
        trajs, Phi = _candidates(k_cand, env, post, expert, num_candidates)
        returns = np.asarray(trajectory_returns(mdp, env.true_reward, trajs))
        ia, ib = np.triu_indices(num_candidates, k=1)
        Phi_a, Phi_b = Phi[jnp.asarray(ia)], Phi[jnp.asarray(ib)]
    history: list[QueryRecord] = []
    for step in range(1, budget + 1):
        key, k_draw, k_acq, k_ans = jax.random.split(key, 4)
        idx = resample(k_draw, post, num_posterior_samples)
        draws = post.weights[idx]
        if kind == "state":
            scores = state_scores(acquisition, mdp, draws, beta=beta, key=k_acq,
                                  probs=jnp.exp(post.action_log_probs[idx]))
            choice = choose_states(scores, mdp, asked)
            s = int(choice.indices[0])
            a = int(jax.random.choice(k_ans, mdp.num_actions, p=expert[s]))
            post = observe_action(post, s, a)
            query, answer = [s], a
        else:
            scores = preference_scores(acquisition, draws, Phi_a, Phi_b, beta=beta, delta=delta,
                                       key=k_acq)
            choice = choose_pairs(scores, asked)
            p = int(choice.indices[0])
            diff = returns[ia[p]] - returns[ib[p]]
            label = 2 if (delta > 0 and abs(diff) <= 1e-9) else (0 if diff >= 0 else 1)
            post = observe_preference(post, Phi_a[p], Phi_b[p], label, delta)
            query, answer = [int(ia[p]), int(ib[p])], label
        asked.append(query[0] if kind == "state" else p)
        draws = post.weights[resample(k_draw, post, num_posterior_samples)]
        policy = _policy_of_mean(mdp, draws)
        nevd = float(normalized_evd(mdp, env.true_reward, policy))
        sufficient, bound = stop(draws, policy) if stop is not None else (False, None)
        rec = QueryRecord(step, query, answer, float(choice.scores[0]), nevd,
                          None if bound is None else float(bound), bool(sufficient),
                          importance_ess(post))
        history.append(rec)
        if progress:
            print(f"query {step:3d}: {kind} {query} -> {answer}  true nEVD {nevd:.4f}"
                  + (f"  bound {bound:.4f}" if bound is not None else ""), file=sys.stderr)
        if history_path is not None:
            _write_history(history_path, history)
        if sufficient:
            break
    return history


def _candidates(key, env, post, expert, num):
    mdp = env.mdp
    k_mix, k_roll, k_pick = jax.random.split(key, 3)
    half = num // 2
    eps = jnp.linspace(0.0, 1.0, half)[:, None, None]
    uniform = jnp.full_like(expert, 1.0 / mdp.num_actions)
    noisy = (1 - eps) * expert[None] + eps * uniform[None]
    picks = jax.random.choice(k_pick, post.weights.shape[0], (num - half,), replace=False)
    sampled = jax.vmap(lambda w: value_iteration(mdp, reward_from_weights(mdp, w)).policy)(
        post.weights[picks])
    trajs = candidate_trajectories(k_roll, mdp, jnp.concatenate([noisy, sampled]),
                                   env.max_episode_steps)
    return trajs, empirical_feature_counts(mdp, trajs)


def _write_history(path, history):
    path = os.fspath(path)
    with open(path + ".tmp", "w") as f:
        json.dump([r._asdict() for r in history], f, indent=1)
    os.replace(path + ".tmp", path)
