"""Active learning: score the next query from posterior samples of the reward weights.

Every acquisition is a pure function of M posterior samples, batched over candidates (states
or trajectory pairs); higher scores are better. The per-sample quantities are computed with
``jax.vmap`` over samples — no Python loop over draws.

State queries ("which state should the expert demonstrate next?"), from the per-sample
Boltzmann action probabilities ``p_m(a|s)``:

* :func:`binned_action_entropy` — Lopes, Melo & Montesano (ECML 2009): for each (s, a) the
  distribution of ``p_m(a|s)`` over samples, discretised into K bins on [0, 1]; the score is
  ``(1/A) Σ_a H(bins)``;
* :func:`mean_policy_entropy` — entropy of the posterior-mean policy ``H(p̄(·|s))``;
* :func:`action_mutual_information` — BALD (Houlsby et al. 2011):
  ``H(p̄(·|s)) − (1/M) Σ_m H(p_m(·|s))``, the information the expert's answer carries about w;
* :func:`value_loss_var` — ActiveVaR (Brown, Cui & Niekum, CoRL 2018): the α-quantile over
  samples of the per-state value loss ``V*_{R_m}(s) − V^{π_eval}_{R_m}(s)``.

Preference queries ("which pair of trajectories should be compared next?"), from the answer
probabilities ``P(q | A, B, w_m)`` of :class:`~bayesirl.data.preferences.PreferenceChoice`:

* :func:`preference_mutual_information` — Bıyık et al. (CoRL 2019):
  ``(1/M) Σ_m Σ_q P(q|w_m) log(M P(q|w_m) / Σ_m' P(q|w_m'))`` (maximised);
* :func:`preference_volume_removal` — Sadigh et al. (RSS 2017): the expected volume removed,
  ``1 − Σ_q p̄_q²`` with ``p̄_q = (1/M) Σ_m P(q|w_m)``, i.e. the query that MINIMISES
  ``Σ_q (Σ_m P(q|w_m))²`` scores highest (splits the posterior most evenly).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._deprecation import renamed_arguments
from bayesirl._typing import Array, PRNGKey
from bayesirl.data.demos import noisy_policies, policy_rollouts
from bayesirl.data.mdp import MDP, reward_from_weights
from bayesirl.likelihoods import PreferenceChoice, action_log_probabilities
from bayesirl.solvers import policy_evaluation, value_iteration

__all__ = [
    "STATE_ACQUISITIONS",
    "PREFERENCE_ACQUISITIONS",
    "QueryChoice",
    "action_log_probabilities",
    "action_probabilities",
    "binned_action_entropy",
    "mean_policy_entropy",
    "action_mutual_information",
    "value_loss_var",
    "state_scores",
    "choose_states",
    "preference_answer_probabilities",
    "preference_mutual_information",
    "preference_volume_removal",
    "preference_scores",
    "choose_pairs",
    "candidate_policies",
    "candidate_trajectories",
]

#: State acquisitions by name (``"random"`` is the baseline).
STATE_ACQUISITIONS = ("entropy", "mean-entropy", "bald", "active-var", "random")
#: Preference acquisitions by name (``"random"`` is the baseline).
PREFERENCE_ACQUISITIONS = ("mutual-information", "volume-removal", "random")
#: Bins of the action-probability histogram (Lopes et al. 2009 use 10).
NUM_BINS = 10


def _entropy(p: Array, axis=-1) -> Array:
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=axis)


@partial(jax.jit, static_argnames=("q",))
def action_probabilities(mdp: MDP, weights: Array, beta=1.0, q: str = "soft") -> Array:
    """Per-sample Boltzmann action probabilities ``p_m(a|s)``: (M, S, A), the exponential of
    :func:`action_log_probabilities` (same arguments)."""
    return jnp.exp(action_log_probabilities(mdp, weights, beta, q))


def binned_action_entropy(probs: Array, num_bins: int = NUM_BINS) -> Array:
    """Lopes, Melo & Montesano (2009) state score: mean over actions of the entropy of the
    histogram (``num_bins`` bins on [0, 1]) of ``p_m(a|s)`` across samples.

    Args:
        probs: (M, S, A) per-sample action probabilities.
        num_bins: K >= 2.

    Returns:
        (S,) scores in [0, log K]; 0 where all samples agree.
    """
    bins = jnp.clip(jnp.floor(probs * num_bins).astype(jnp.int32), 0, num_bins - 1)
    onehot = jax.nn.one_hot(bins, num_bins, dtype=probs.dtype)  # (M, S, A, K)
    hist = jnp.mean(onehot, axis=0)  # (S, A, K)
    return jnp.mean(_entropy(hist), axis=-1)


def mean_policy_entropy(probs: Array) -> Array:
    """Entropy of the posterior-mean policy, ``H(p̄(·|s))``; (M, S, A) -> (S,)."""
    return _entropy(jnp.mean(probs, axis=0))


def action_mutual_information(probs: Array) -> Array:
    """BALD: ``H(p̄(·|s)) − mean_m H(p_m(·|s))``, mutual information between the expert's
    action in s and the reward; (M, S, A) -> (S,), >= 0."""
    return mean_policy_entropy(probs) - jnp.mean(_entropy(probs), axis=0)


@jax.jit
def value_loss_var(mdp: MDP, weights: Array, eval_policy: Array, alpha: float = 0.95) -> Array:
    """ActiveVaR score (Brown, Cui & Niekum 2018): α-quantile over samples of the per-state
    value loss ``V*_{R_m}(s) − V^{π_eval}_{R_m}(s)``.

    Args:
        mdp: the MDP.
        weights: (M, F) posterior samples.
        eval_policy: (S, A) the policy being evaluated (e.g. optimal for the MAP reward).
        alpha: quantile level in (0, 1).

    Returns:
        (S,) scores (reward units), ~0 where ``eval_policy`` is optimal under every sample.
    """
    def loss(w):
        r = reward_from_weights(mdp, w)
        return value_iteration(mdp, r).values - policy_evaluation(mdp, r, eval_policy).values

    losses = jax.vmap(loss)(weights)  # (M, S)
    return jnp.quantile(losses, alpha, axis=0)


def _random_scores(rng_key, num: int) -> Array:
    """(num,) uniform scores: the baseline acquisition ``"random"``."""
    if rng_key is None:
        raise ValueError("rng_key: the random acquisition needs a PRNG key")
    return jax.random.uniform(rng_key, (num,))


@renamed_arguments(key="rng_key")
def state_scores(acquisition: str, mdp: MDP, weights: Array, *, beta=1.0, q: str = "soft",
                 eval_policy: Array | None = None, alpha: float = 0.95,
                 rng_key: PRNGKey | None = None, probs: Array | None = None) -> Array:
    """Score every state with a named acquisition (see :data:`STATE_ACQUISITIONS`).

    Args:
        acquisition: ``"entropy"`` (binned, Lopes et al.), ``"mean-entropy"``, ``"bald"``,
            ``"active-var"`` or ``"random"``.
        mdp: the MDP.
        weights: (M, F) posterior samples.
        beta, q: the demonstrator model (for the action probabilities).
        eval_policy: (S, A) for ``"active-var"``; default the optimal policy of the mean weights.
        alpha: quantile level of ``"active-var"``.
        rng_key: PRNG key for ``"random"`` (``key``: deprecated alias).
        probs: (M, S, A) precomputed :func:`action_probabilities` of ``weights`` (saves M
            solves when the caller has them).

    Returns:
        (S,) scores (higher is a better query).

    Raises:
        ValueError: unknown acquisition, or ``"random"`` without a key.
    """
    if acquisition not in STATE_ACQUISITIONS:
        raise ValueError(f"acquisition: expected one of {STATE_ACQUISITIONS}, got {acquisition!r}")
    weights = jnp.asarray(weights)
    if acquisition == "random":
        return _random_scores(rng_key, mdp.num_states)
    if acquisition == "active-var":
        if eval_policy is None:
            eval_policy = value_iteration(mdp, reward_from_weights(mdp, weights.mean(0))).policy
        return value_loss_var(mdp, weights, eval_policy, alpha)
    if probs is None:
        probs = action_probabilities(mdp, weights, beta, q)
    return {"entropy": binned_action_entropy, "mean-entropy": mean_policy_entropy,
            "bald": action_mutual_information}[acquisition](probs)


class QueryChoice(NamedTuple):
    """The top-k queries and their scores, best first.

    Attributes:
        indices: (k,) chosen states (or candidate-pair indices).
        scores: (k,) their scores.
    """

    indices: np.ndarray
    scores: np.ndarray


def choose_states(scores: Array, mdp: MDP, asked=(), k: int = 1) -> QueryChoice:
    """Top-k states by score, excluding terminal and already-asked states.

    Args:
        scores: (S,) acquisition scores (higher is better).
        mdp: the MDP (its terminal states are never asked).
        asked: indices of states asked already.
        k: number of states to return, >= 1.

    Returns:
        :class:`QueryChoice` with (k,) indices and scores (fewer when fewer states are left).

    Raises:
        ValueError: ``k`` < 1 or no state left to ask about.
    """
    scores = np.array(scores, dtype=float)
    excluded = np.asarray(mdp.terminal).copy()
    excluded[np.asarray(list(asked), dtype=int)] = True
    if k < 1:
        raise ValueError(f"k: expected an integer >= 1, got {k}")
    if excluded.all():
        raise ValueError("asked: every non-terminal state has been asked already")
    scores[excluded] = -np.inf
    order = np.argsort(-scores, kind="stable")[: min(k, int((~excluded).sum()))]
    return QueryChoice(order, scores[order])


@renamed_arguments(delta="margin")
def preference_answer_probabilities(weights: Array, features_a: Array, features_b: Array,
                                    beta=1.0, margin: float = 0.0) -> Array:
    """``P(q | A, B, w_m)`` for every sample and candidate pair.

    Args:
        weights: (M, F) samples.
        features_a, features_b: (P, F) discounted feature counts of the two trajectories of
            each candidate pair.
        beta: rationality β (scalar or (M,)).
        margin: weak-preference margin (0: two answers; ``delta``: deprecated alias).

    Returns:
        (M, P, 3) probabilities of (A preferred, B preferred, about equal).
    """
    beta = jnp.broadcast_to(jnp.asarray(beta, weights.dtype), weights.shape[:1])
    x = beta[:, None] * ((features_a - features_b) @ weights.T).T  # (M, P)
    return jnp.exp(PreferenceChoice(x, margin).logits)


def preference_mutual_information(probs: Array) -> Array:
    """Bıyık et al. (2019): mutual information between the answer and w; (M, Q, 3) -> (Q,)."""
    return _entropy(jnp.mean(probs, axis=0)) - jnp.mean(_entropy(probs), axis=0)


def preference_volume_removal(probs: Array) -> Array:
    """Sadigh et al. (2017): expected removed volume ``1 − Σ_q p̄_q²``; (M, Q, 3) -> (Q,).

    Maximising it minimises ``Σ_q (Σ_m P(q|w_m))²``, the direction of the original objective.
    """
    return 1.0 - jnp.sum(jnp.mean(probs, axis=0) ** 2, axis=-1)


@renamed_arguments(key="rng_key", delta="margin")
def preference_scores(acquisition: str, weights: Array, features_a: Array, features_b: Array,
                      *, beta=1.0, margin: float = 0.0, rng_key: PRNGKey | None = None) -> Array:
    """Score candidate pairs with a named acquisition (see :data:`PREFERENCE_ACQUISITIONS`).

    Args:
        acquisition: ``"mutual-information"`` (Bıyık et al. 2019), ``"volume-removal"``
            (Sadigh et al. 2017) or ``"random"``.
        weights: (M, F) posterior samples.
        features_a, features_b: (P, F) feature counts of the trajectories of each pair.
        beta: rationality β (scalar or (M,)).
        margin: weak-preference margin (``delta``: deprecated alias).
        rng_key: PRNG key for ``"random"`` (``key``: deprecated alias).

    Returns:
        (P,) scores (higher is a better query).

    Raises:
        ValueError: unknown acquisition, or ``"random"`` without a key.
    """
    if acquisition not in PREFERENCE_ACQUISITIONS:
        raise ValueError(f"acquisition: expected one of {PREFERENCE_ACQUISITIONS}, got {acquisition!r}")
    if acquisition == "random":
        return _random_scores(rng_key, features_a.shape[0])
    probs = preference_answer_probabilities(jnp.asarray(weights), features_a, features_b, beta,
                                            margin)
    if acquisition == "mutual-information":
        return preference_mutual_information(probs)
    return preference_volume_removal(probs)


def choose_pairs(scores: Array, asked=(), k: int = 1) -> QueryChoice:
    """Top-k candidate pairs by score, excluding already-asked candidate indices.

    Args:
        scores: (P,) acquisition scores of the candidate pairs.
        asked: indices of pairs asked already.
        k: number of pairs to return, >= 1.

    Returns:
        :class:`QueryChoice` with (k,) pair indices and scores.

    Raises:
        ValueError: ``k`` < 1 or every pair asked already.
    """
    scores = np.array(scores, dtype=float)
    if k < 1:
        raise ValueError(f"k: expected an integer >= 1, got {k}")
    scores[np.asarray(list(asked), dtype=int)] = -np.inf
    if np.isneginf(scores).all():
        raise ValueError("asked: every candidate pair has been asked already")
    order = np.argsort(-scores, kind="stable")[:k]
    order = order[np.isfinite(scores[order])]
    return QueryChoice(order, scores[order])


def candidate_policies(mdp: MDP, base_policy: Array, weights: Array, num_candidates: int
                       ) -> Array:
    """Policies whose rollouts make informative preference queries.

    ``num_candidates // 2`` noisy versions of ``base_policy`` (from it to uniformly random,
    :func:`~bayesirl.data.demos.noisy_policies`) followed by the optimal policies of the
    rewards of the first ``num_candidates − num_candidates // 2`` rows of ``weights`` (e.g.
    posterior draws), as in the synthetic rankings of Brown et al. (2019).

    Args:
        mdp: the MDP.
        base_policy: (S, A) e.g. the expert's or the posterior-mean reward's optimal policy.
        weights: (M, F) reward weights, M >= ``num_candidates − num_candidates // 2``.
        num_candidates: N >= 2.

    Returns:
        (N, S, A) action probabilities.
    """
    half = num_candidates // 2
    noisy = noisy_policies(mdp, base_policy, half)
    sampled = jax.vmap(lambda w: value_iteration(mdp, reward_from_weights(mdp, w)).policy)(
        weights[: num_candidates - half])
    return jnp.concatenate([noisy, sampled.astype(noisy.dtype)])


#: One rollout of each policy: :func:`bayesirl.data.demos.policy_rollouts` under the name of
#: the preference queries' candidate trajectories (``key``: deprecated alias of ``rng_key``).
candidate_trajectories = renamed_arguments(key="rng_key")(policy_rollouts)
