"""The active-learning loop with a simulated expert: query → answer → update → stop.

The expert knows the true reward (:func:`expert_action`, :func:`expert_preference`). The
posterior is the particle posterior of :mod:`bayesirl.inference.smc`: every answer reweights
the particles, and (``updater="smc"``) a resample–move step restores them when their effective
sample size falls. The queries are chosen by :mod:`bayesirl.active.acquisitions`.

The loop stops when the demonstration-sufficiency test passes (Trinh, Chen & Brown 2024: the
α-VaR upper bound on the normalised EVD of the evaluation policy is below ε) or the query
budget is spent.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._deprecation import renamed_arguments
from bayesirl._io import write_json
from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.active.acquisitions import (
    PREFERENCE_ACQUISITIONS,
    STATE_ACQUISITIONS,
    candidate_policies,
    candidate_trajectories,
    choose_pairs,
    choose_states,
    preference_scores,
    state_scores,
)
from bayesirl.data.envs import Environment
from bayesirl.inference.smc import (
    importance_ess,
    importance_posterior,
    make_answers,
    observe_action,
    observe_preference,
    rejuvenate,
    resample,
)
from bayesirl.data.mdp import MDP, reward_from_weights
from bayesirl.solvers.occupancy import empirical_feature_counts
from bayesirl.data.preferences import trajectory_returns
from bayesirl.solvers import greedy_policy, value_iteration
from bayesirl.solvers.evaluation import normalized_evd

__all__ = [
    "sufficiency_stop",
    "QueryRecord",
    "expert_action",
    "expert_preference",
    "run_active_learning",
]


def sufficiency_stop(mdp: MDP, epsilon: float = 0.1, alpha: float = 0.95, delta: float = 0.05
                     ) -> Callable[[Array, Array], tuple[bool, float | None]]:
    """The default stopping rule: the demonstration-sufficiency test (Trinh, Chen & Brown 2024).

    Returns ``stop(draws (n, F), eval_policy (S, A)) -> (sufficient, bound)``: the
    (1 − δ)-confidence α-VaR upper bound on the normalised EVD of ``eval_policy`` over the
    posterior draws (:func:`~bayesirl.analysis.bounds.demonstration_sufficiency`) is below ε. With
    fewer draws than the bound needs it answers ``(False, None)``.

    Raises:
        ValueError: ε, α or δ out of range.
    """
    from bayesirl.analysis.bounds import check_alpha_delta, demonstration_sufficiency, minimum_samples
    from bayesirl.analysis.posterior import policy_losses

    epsilon = check_scalar(epsilon, "epsilon", low=0.0, low_open=True)
    alpha, delta = check_alpha_delta(alpha, delta)
    needed = minimum_samples(alpha, delta)

    def stop(draws, policy):
        if draws.shape[0] < needed:
            return False, None
        nevd = np.asarray(policy_losses(mdp, draws, policy).nevd)
        verdict = demonstration_sufficiency(nevd, epsilon, alpha, delta)
        return verdict.sufficient, verdict.bound

    return stop


class QueryRecord(NamedTuple):
    """One step of the loop (JSON-serialisable via ``_asdict``).

    Attributes:
        step: 1-based query number.
        query: ``[state]`` or ``[index of A, index of B]`` in the candidate trajectories.
        answer: the expert's action, or 0 (A), 1 (B), 2 (about equal).
        score: acquisition score of the query.
        true_nevd: normalised EVD of the evaluation policy under the true reward.
        bound: the stop test's bound (α-VaR bound on the nEVD), ``None`` when not computed.
        sufficient: the stop test passed.
        ess: effective sample size of the particles after the answer (before any move).
        acceptance: MH acceptance rate of the move after this answer, ``None`` if no move.
    """

    step: int
    query: list
    answer: int
    score: float
    true_nevd: float
    bound: float | None
    sufficient: bool
    ess: float
    acceptance: float | None = None


def _policy_of_mean(mdp: MDP, weights: Array) -> Array:
    return value_iteration(mdp, reward_from_weights(mdp, weights.mean(0))).policy


UPDATERS = ("smc", "importance")


# --------------------------------------------------------------------------------------
# The simulated expert
# --------------------------------------------------------------------------------------
def expert_action(rng_key: PRNGKey, expert_policy: Array, state: int) -> int:
    """The simulated expert's answer to a state query: an action drawn from its policy.

    Args:
        rng_key: PRNG key.
        expert_policy: (S, A) the expert's action probabilities (the loop uses the optimal
            policy of the true reward, ties split evenly, so ties are broken at random).
        state: the queried state.

    Returns:
        The action index.
    """
    return int(jax.random.choice(rng_key, expert_policy.shape[1], p=expert_policy[state]))


def expert_preference(rng_key: PRNGKey, return_a: float, return_b: float, beta: float,
                      margin: float = 0.0) -> int:
    """The simulated expert's answer to "A or B?": the trajectory of higher true return.

    Args:
        rng_key: PRNG key (used on an exact tie only).
        return_a, return_b: true discounted returns of the two trajectories (reward units).
        beta: rationality β of the answer model.
        margin: indifference margin: "about equal" when ``β·|return_a − return_b| <= margin``
            (only when ``margin > 0``).

    Returns:
        0 (A preferred), 1 (B preferred) or 2 (about equal); either of 0 and 1 at random on
        an exact tie with ``margin == 0``.
    """
    diff = return_a - return_b
    if margin > 0 and beta * abs(diff) <= margin:
        return 2  # "about equal": within the indifference margin
    if diff == 0:
        return int(jax.random.bernoulli(rng_key))  # an exact tie: either answer
    return 0 if diff > 0 else 1


# --------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------
class _PreferencePool(NamedTuple):
    """Candidate trajectories, their true returns and the (P,) candidate pairs."""

    returns: np.ndarray
    first: np.ndarray
    second: np.ndarray
    features_a: Array
    features_b: Array


def _preference_pool(rng_key, env, post, expert, num_candidates) -> _PreferencePool:
    mdp = env.mdp
    k_roll, k_pick = jax.random.split(rng_key)
    picks = jax.random.choice(k_pick, post.weights.shape[0],
                              (num_candidates - num_candidates // 2,), replace=False)
    policies = candidate_policies(mdp, expert, post.weights[picks], num_candidates)
    trajs = candidate_trajectories(k_roll, mdp, policies, env.max_episode_steps)
    features = empirical_feature_counts(mdp, trajs)
    returns = np.asarray(trajectory_returns(mdp, env.true_reward, trajs))
    ia, ib = np.triu_indices(num_candidates, k=1)
    return _PreferencePool(returns, ia, ib, features[jnp.asarray(ia)], features[jnp.asarray(ib)])


class _Settings(NamedTuple):
    """The validated settings of one run of :func:`run_active_learning`."""

    kind: str
    acquisition: str
    budget: int
    beta: float
    margin: float
    num_posterior_samples: int
    updater: str
    ess_threshold: float
    num_move_steps: int
    prior: str
    stop: Callable | None
    progress: bool


def _ask(cfg: _Settings, mdp, post, draws, idx, keys, expert, pool, asked):
    """Choose a query, get the expert's answer, reweight: (post, query, answer, asked, score,
    answer entry)."""
    k_acq, k_ans = keys
    if cfg.kind == "state":
        scores = state_scores(cfg.acquisition, mdp, draws, beta=cfg.beta, rng_key=k_acq,
                              probs=jnp.exp(post.action_log_probs[idx]))
        choice = choose_states(scores, mdp, asked)
        s = int(choice.indices[0])
        a = expert_action(k_ans, expert, s)
        return observe_action(post, s, a), [s], a, s, choice.scores[0], (s, a)
    scores = preference_scores(cfg.acquisition, draws, pool.features_a, pool.features_b,
                               beta=cfg.beta, margin=cfg.margin, rng_key=k_acq)
    choice = choose_pairs(scores, asked)
    p = int(choice.indices[0])
    label = expert_preference(k_ans, pool.returns[pool.first[p]], pool.returns[pool.second[p]],
                              cfg.beta, cfg.margin)
    post = observe_preference(post, pool.features_a[p], pool.features_b[p], label, cfg.margin)
    entry = (pool.features_a[p] - pool.features_b[p], label)
    return post, [int(pool.first[p]), int(pool.second[p])], label, p, choice.scores[0], entry


def _progress_line(cfg: _Settings, rec: QueryRecord) -> str:
    moved = "" if rec.acceptance is None else f"  moved (acc {rec.acceptance:.2f})"
    bound = "" if rec.bound is None else f"  nEVD bound {rec.bound:.4f}"
    return (f"query {rec.step:3d}: {cfg.kind} {rec.query} -> {rec.answer}  true nEVD "
            f"{rec.true_nevd:.4f}  ESS {rec.ess:.0f}" + moved + bound
            + ("  SUFFICIENT" if rec.sufficient else ""))


def _check_settings(env, kind, acquisition, budget, updater, ess_threshold, stop, epsilon,
                    alpha, confidence_delta, progress, **rest) -> _Settings:
    if kind not in ("state", "preference"):
        raise ValueError(f"kind: expected 'state' or 'preference', got {kind!r}")
    names = STATE_ACQUISITIONS if kind == "state" else PREFERENCE_ACQUISITIONS
    if acquisition not in names:
        raise ValueError(f"acquisition: expected one of {names} for {kind} queries, "
                         f"got {acquisition!r}")
    if updater not in UPDATERS:
        raise ValueError(f"updater: expected one of {UPDATERS}, got {updater!r}")
    if getattr(env, "true_reward", None) is None:
        raise ValueError("env: the simulated expert needs env.true_reward; got None")
    budget = check_scalar(budget, "budget", low=1, integer=True)
    ess_threshold = check_scalar(ess_threshold, "ess_threshold", low=0.0, high=1.0)
    if stop == "sufficiency":
        stop = sufficiency_stop(env.mdp, epsilon, alpha, confidence_delta)
    elif stop is not None and not callable(stop):
        raise ValueError(f"stop: expected 'sufficiency', None or a callable, got {stop!r}")
    progress = sys.stderr.isatty() if progress is None else progress
    return _Settings(kind, acquisition, budget, updater=updater, ess_threshold=ess_threshold,
                     stop=stop, progress=progress, **rest)


def _run(cfg: _Settings, env: Environment, rng_key: PRNGKey, num_particles: int,
         num_candidates: int, history_path) -> list[QueryRecord]:
    mdp = env.mdp
    k_prior, k_cand, key = jax.random.split(rng_key, 3)
    post = importance_posterior(k_prior, mdp, num_particles, cfg.prior, cfg.beta,
                                with_actions=cfg.kind == "state")
    M = post.weights.shape[0]
    expert = greedy_policy(value_iteration(mdp, env.true_reward).q_values)
    pool = (_preference_pool(k_cand, env, post, expert, num_candidates)
            if cfg.kind == "preference" else None)
    num_queries = (int((~np.asarray(mdp.terminal)).sum()) if cfg.kind == "state"
                   else num_candidates * (num_candidates - 1) // 2)
    asked, answers, history = [], {"state": [], "preference": []}, []
    for step in range(1, cfg.budget + 1):
        if len(asked) >= num_queries:  # every state / pair asked: nothing left to learn from
            if cfg.progress:
                print(f"stopping: all {num_queries} {cfg.kind} queries have been asked",
                      file=sys.stderr)
            break
        key, k_draw, k_acq, k_ans, k_move, k_stop = jax.random.split(key, 6)
        idx = resample(k_draw, post, cfg.num_posterior_samples)
        post, query, answer, index, score, entry = _ask(
            cfg, mdp, post, post.weights[idx], idx, (k_acq, k_ans), expert, pool, asked)
        asked.append(index)
        answers[cfg.kind].append(entry)
        ess = importance_ess(post)
        acceptance = None
        if cfg.updater == "smc" and ess < cfg.ess_threshold * M:
            packed = make_answers(cfg.budget, mdp.num_features, answers["state"],
                                  answers["preference"], post.weights.dtype)
            post, acceptance = rejuvenate(k_move, post, mdp, packed, prior=cfg.prior,
                                          margin=cfg.margin, num_steps=cfg.num_move_steps)
        n = int(min(cfg.num_posterior_samples, importance_ess(post)))
        draws = post.weights[resample(k_stop, post, max(n, 1))]
        policy = _policy_of_mean(mdp, draws)
        nevd = float(normalized_evd(mdp, env.true_reward, policy))
        sufficient, bound = cfg.stop(draws, policy) if cfg.stop is not None else (False, None)
        history.append(QueryRecord(step, query, answer, float(score), nevd,
                                   None if bound is None else float(bound), bool(sufficient),
                                   ess, acceptance))
        if cfg.progress:
            print(_progress_line(cfg, history[-1]), file=sys.stderr)
        if history_path is not None:
            _write_history(history_path, history)
        if sufficient:
            break
    return history


@renamed_arguments(key="rng_key", num_prior_samples="num_particles", delta="margin")
def run_active_learning(
    env: Environment,
    *,
    kind: str = "state",
    acquisition: str = "bald",
    budget: int = 20,
    rng_key: PRNGKey | None = None,
    num_particles: int = 4000,
    num_posterior_samples: int = 500,
    prior: str = "l1-sphere",
    beta: float = 10.0,
    margin: float = 0.0,
    num_candidates: int = 40,
    updater: str = "smc",
    ess_threshold: float = 0.5,
    num_move_steps: int = 5,
    stop: Callable[[Array, Array], tuple[bool, float | None]] | str | None = "sufficiency",
    epsilon: float = 0.1,
    alpha: float = 0.95,
    confidence_delta: float = 0.05,
    progress: bool | None = None,
    history_path: str | os.PathLike | None = None,
) -> list[QueryRecord]:
    """Run the query → answer → update → stop loop with a simulated expert (known reward).

    State queries: the expert shows its optimal action (ties broken at random) in the chosen
    state (:func:`expert_action`). Preference queries: candidate trajectories are rollouts of
    noisy policies (from optimal to uniform) and of the optimal policies of prior draws
    (:func:`~bayesirl.active.acquisitions.candidate_policies`); the expert prefers the one
    with the higher true return (:func:`expert_preference`).

    The posterior is M weighted particles (:class:`~bayesirl.inference.smc.ImportancePosterior`):
    each answer reweights them; with ``updater="smc"``, when the effective sample size falls
    below ``ess_threshold``·M they are resampled and moved by ``num_move_steps`` MH steps that
    start from the previous particles (:func:`~bayesirl.inference.smc.rejuvenate`). The
    evaluation policy is the optimal policy of the posterior-mean reward. After each answer the
    stop test runs on ``min(num_posterior_samples, ESS)`` resampled draws.

    Args:
        env: environment with a known true reward (``env.true_reward``).
        kind: ``"state"`` or ``"preference"``.
        acquisition: a name from :data:`~bayesirl.active.STATE_ACQUISITIONS` or
            :data:`~bayesirl.active.PREFERENCE_ACQUISITIONS`.
        budget: maximum number of queries.
        rng_key: PRNG key (default ``PRNGKey(0)``; ``key``: deprecated alias).
        num_particles: M particles (``num_prior_samples``: deprecated alias).
        num_posterior_samples: equally weighted draws given to the acquisitions and the stop test.
        prior, beta: the model (prior over weights, rationality β). On the unit spheres
            rewards are of order 1/F per feature, so a near-optimal expert needs β large
            against the value gaps (e.g. β = 100–1000 for FrozenLake's 16 one-hot features;
            with β = 10 its answers carry almost no information).
        margin: indifference margin of preference answers (``delta``: deprecated alias).
        num_candidates: candidate trajectories for preference queries (pairs: all of them).
        updater: ``"smc"`` (reweight, then resample–move when the ESS is low) or
            ``"importance"`` (reweight the prior draws only; cheap, degenerates with many
            answers).
        ess_threshold: fraction of M below which the SMC updater moves the particles.
        num_move_steps: MH steps per move.
        stop: ``"sufficiency"`` (default: :func:`sufficiency_stop` with ``epsilon``,
            ``alpha`` and ``confidence_delta``), ``None`` (run the whole budget), or a callable
            ``stop(draws (n, F), eval_policy (S, A)) -> (sufficient, bound)``.
        epsilon, alpha, confidence_delta: the sufficiency test: stop when the
            (1 − confidence_delta)-confidence α-VaR bound on the nEVD is below ε.
        progress: print one line per query to stderr (default: when stderr is a terminal).
        history_path: write the history as JSON there after every query (atomic replace; a
            failed run leaves the last complete history).

    Returns:
        The history, one :class:`QueryRecord` per query. It is shorter than ``budget`` when
        the stop test passed or every non-terminal state (every candidate pair) was asked.

    Raises:
        ValueError: unknown kind, acquisition, updater or stop; non-positive budget; an
            environment without a true reward.
    """
    cfg = _check_settings(env, kind, acquisition, budget, updater, ess_threshold, stop,
                          epsilon, alpha, confidence_delta, progress, beta=beta, margin=margin,
                          num_posterior_samples=num_posterior_samples,
                          num_move_steps=num_move_steps, prior=prior)
    rng_key = jax.random.PRNGKey(0) if rng_key is None else rng_key
    return _run(cfg, env, rng_key, num_particles, num_candidates, history_path)


def _write_history(path, history):
    write_json(path, [r._asdict() for r in history], indent=1)
