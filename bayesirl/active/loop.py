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

import os
import sys
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._io import write_json
from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.active.acquisitions import (
    PREFERENCE_ACQUISITIONS,
    STATE_ACQUISITIONS,
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

__all__ = [
    "sufficiency_stop",
    "normalized_evd",
    "QueryRecord",
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


def normalized_evd(mdp: MDP, reward: Array, policy: Array) -> Array:
    """Normalised EVD (Trinh, Chen & Brown 2024): ``(ρ(π*) − ρ(π)) / (ρ(π*) − ρ(π_uniform))``,
    0 for an optimal policy, 1 for the uniformly random one.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward (e.g. ``env.true_reward``).
        policy: (S, A) action probabilities.

    Returns:
        () dimensionless; 0 when every policy is as good as the uniform one.
    """
    from bayesirl.solvers.evaluation import expected_return

    uniform = jnp.full((mdp.num_states, mdp.num_actions), 1.0 / mdp.num_actions, reward.dtype)
    best = expected_return(mdp, reward, value_iteration(mdp, reward).policy)
    ret = expected_return(mdp, reward, policy)
    # ρ* >= ρ(π): the max absorbs solver-tolerance ties, as in posterior.policy_losses
    best = jnp.maximum(best, ret)
    return (best - ret) / jnp.maximum(best - expected_return(mdp, reward, uniform), 1e-12)


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
    state. Preference queries: candidate trajectories are rollouts of noisy policies (from
    optimal to uniform) and of the optimal policies of prior draws; the expert prefers the one
    with the higher true return, answers "about equal" when β·|return difference| <= ``delta``
    (δ > 0), and picks either at random on an exact tie (δ = 0).

    The posterior is M weighted particles (:class:`ImportancePosterior`): each answer
    reweights them; with ``updater="smc"``, when the effective sample size falls below
    ``ess_threshold``·M they are resampled and moved by ``num_move_steps`` MH steps that start
    from the previous particles (:func:`rejuvenate`, a warm-started update). The evaluation
    policy is the optimal policy of the posterior-mean reward. After each answer the stop test
    runs on ``min(num_posterior_samples, ESS)`` resampled draws.

    Args:
        env: environment with a known true reward (``env.true_reward``).
        kind: ``"state"`` or ``"preference"``.
        acquisition: a name from :data:`~bayesirl.active.STATE_ACQUISITIONS` or
            :data:`~bayesirl.active.PREFERENCE_ACQUISITIONS`.
        budget: maximum number of queries.
        key: PRNG key (default ``PRNGKey(0)``).
        num_prior_samples: M particles.
        num_posterior_samples: equally weighted draws given to the acquisitions and the stop test.
        prior, beta, delta: the model (prior over weights, rationality β, indifference δ).
            On the unit spheres rewards are of order 1/F per feature, so a near-optimal expert
            needs β large against the value gaps (e.g. β = 100–1000 for FrozenLake's 16
            one-hot features; with β = 10 its answers carry almost no information).
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
    if kind not in ("state", "preference"):
        raise ValueError(f"kind: expected 'state' or 'preference', got {kind!r}")
    names = STATE_ACQUISITIONS if kind == "state" else PREFERENCE_ACQUISITIONS
    if acquisition not in names:
        raise ValueError(f"acquisition: expected one of {names} for {kind} queries, got {acquisition!r}")
    if updater not in UPDATERS:
        raise ValueError(f"updater: expected one of {UPDATERS}, got {updater!r}")
    if getattr(env, "true_reward", None) is None:
        raise ValueError("env: the simulated expert needs env.true_reward; got None")
    budget = check_scalar(budget, "budget", low=1, integer=True)
    ess_threshold = check_scalar(ess_threshold, "ess_threshold", low=0.0, high=1.0)
    mdp = env.mdp
    if stop == "sufficiency":
        stop = sufficiency_stop(mdp, epsilon, alpha, confidence_delta)
    elif stop is not None and not callable(stop):
        raise ValueError(f"stop: expected 'sufficiency', None or a callable, got {stop!r}")
    key = jax.random.PRNGKey(0) if key is None else key
    progress = sys.stderr.isatty() if progress is None else progress
    k_prior, k_cand, key = jax.random.split(key, 3)
    post = importance_posterior(k_prior, mdp, num_prior_samples, prior, beta,
                                with_actions=kind == "state")
    M = post.weights.shape[0]
    expert = greedy_policy(value_iteration(mdp, env.true_reward).q_values)
    asked: list[int] = []
    action_answers: list[tuple[int, int]] = []
    preference_answers: list[tuple[Array, int]] = []
    if kind == "preference":
        trajs, Phi = _candidates(k_cand, env, post, expert, num_candidates)
        returns = np.asarray(trajectory_returns(mdp, env.true_reward, trajs))
        ia, ib = np.triu_indices(num_candidates, k=1)
        Phi_a, Phi_b = Phi[jnp.asarray(ia)], Phi[jnp.asarray(ib)]
    history: list[QueryRecord] = []
    num_queries = (int((~np.asarray(mdp.terminal)).sum()) if kind == "state"
                   else num_candidates * (num_candidates - 1) // 2)
    for step in range(1, budget + 1):
        if len(asked) >= num_queries:  # every state / pair asked: nothing left to learn from
            if progress:
                print(f"stopping: all {num_queries} {kind} queries have been asked",
                      file=sys.stderr)
            break
        key, k_draw, k_acq, k_ans, k_move, k_stop = jax.random.split(key, 6)
        idx = resample(k_draw, post, num_posterior_samples)
        draws = post.weights[idx]
        if kind == "state":
            scores = state_scores(acquisition, mdp, draws, beta=beta, key=k_acq,
                                  probs=jnp.exp(post.action_log_probs[idx]))
            choice = choose_states(scores, mdp, asked)
            s = int(choice.indices[0])
            a = int(jax.random.choice(k_ans, mdp.num_actions, p=expert[s]))
            post = observe_action(post, s, a)
            action_answers.append((s, a))
            query, answer = [s], a
        else:
            scores = preference_scores(acquisition, draws, Phi_a, Phi_b, beta=beta, delta=delta,
                                       key=k_acq)
            choice = choose_pairs(scores, asked)
            p = int(choice.indices[0])
            diff = returns[ia[p]] - returns[ib[p]]
            if delta > 0 and beta * abs(diff) <= delta:
                label = 2  # "about equal": within the indifference margin
            elif diff == 0:
                label = int(jax.random.bernoulli(k_ans))  # an exact tie: either answer
            else:
                label = 0 if diff > 0 else 1
            post = observe_preference(post, Phi_a[p], Phi_b[p], label, delta)
            preference_answers.append((Phi_a[p] - Phi_b[p], label))
            query, answer = [int(ia[p]), int(ib[p])], label
        asked.append(query[0] if kind == "state" else p)
        ess = importance_ess(post)
        acceptance = None
        if updater == "smc" and ess < ess_threshold * M:
            answers = make_answers(budget, mdp.num_features, action_answers, preference_answers,
                                   post.weights.dtype)
            post, acceptance = rejuvenate(k_move, post, mdp, answers, prior=prior,
                                          delta=delta, num_steps=num_move_steps)
        n = int(min(num_posterior_samples, importance_ess(post)))
        draws = post.weights[resample(k_stop, post, max(n, 1))]
        policy = _policy_of_mean(mdp, draws)
        nevd = float(normalized_evd(mdp, env.true_reward, policy))
        sufficient, bound = stop(draws, policy) if stop is not None else (False, None)
        rec = QueryRecord(step, query, answer, float(choice.scores[0]), nevd,
                          None if bound is None else float(bound), bool(sufficient), ess,
                          acceptance)
        history.append(rec)
        if progress:
            print(f"query {step:3d}: {kind} {query} -> {answer}  true nEVD {nevd:.4f}  "
                  f"ESS {ess:.0f}" + ("" if acceptance is None else f"  moved (acc {acceptance:.2f})")
                  + ("" if bound is None else f"  nEVD bound {bound:.4f}")
                  + ("  SUFFICIENT" if sufficient else ""), file=sys.stderr)
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
    write_json(path, [r._asdict() for r in history], indent=1)
