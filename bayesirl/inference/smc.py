"""The particle posterior of the reward: importance reweighting and resample–move SMC.

An :class:`ImportancePosterior` holds M weighted particles of the reward weights. Every answer
(an expert's action in a state, or a preference between two trajectories) reweights them by
its likelihood (self-normalised importance sampling; an update costs O(M), the per-particle
Boltzmann action log-probabilities being computed once). When the effective sample size
(:func:`importance_ess`) falls, :func:`rejuvenate` resamples the particles and moves them by
random-walk Metropolis–Hastings steps targeting prior × likelihood of all answers so far
(resample–move sequential Monte Carlo: Gilks & Berzuini 2001; Chopin 2002). The active
learning loop (:mod:`bayesirl.active.loop`) is its main user.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._deprecation import renamed_arguments
from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.data.mdp import MDP
from bayesirl.inference.accept import log_uniform, metropolis_accept, select
from bayesirl.inference.chain import run_chain
from bayesirl.inference.proposals import gaussian_step
from bayesirl.likelihoods import PreferenceChoice, action_log_probabilities
from bayesirl.models import project_to_sphere

__all__ = [
    "PRIOR_LATENTS",
    "ImportancePosterior",
    "importance_posterior",
    "observe_action",
    "observe_preference",
    "importance_ess",
    "resample",
    "Answers",
    "make_answers",
    "answers_log_likelihood",
    "rejuvenate",
]


class ImportancePosterior(NamedTuple):
    """Weighted particles of the reward posterior (a JAX pytree).

    The particles start as prior draws with equal weights; every answer adds its
    log-likelihood to ``log_weight`` (importance reweighting) and to ``log_likelihood`` (the
    data term the MCMC moves of :func:`rejuvenate` target). :func:`rejuvenate` resamples and
    moves the particles, which resets ``log_weight`` to 0 (a resample–move step of sequential
    Monte Carlo; Chopin 2002).

    Attributes:
        latent: (M, F) unconstrained draws ``z`` whose prior is simple: ``w = z / ‖z‖₁`` with
            ``z`` i.i.d. Laplace (uniform on the L1 sphere), ``w = z / ‖z‖₂`` with ``z``
            Gaussian (uniform on the L2 sphere), or ``w = z`` (Gaussian prior).
        weights: (M, F) reward weights of the particles.
        log_weight: (M,) unnormalised log importance weights.
        log_likelihood: (M,) log-likelihood of every answer so far.
        action_log_probs: (M, S, A) per-particle Boltzmann log-probabilities ``log p_m(a|s)``,
            or ``None`` when the posterior was built without them (preference queries only).
        beta: () rationality β of the answers' model.
    """

    latent: Array
    weights: Array
    log_weight: Array
    log_likelihood: Array
    action_log_probs: Array | None
    beta: Array


#: Weight priors the particle posterior can draw its particles from.
PRIOR_LATENTS = ("l1-sphere", "l2-sphere", "gaussian")


def _latent_to_weights(prior: str, z: Array) -> Array:
    if prior == "gaussian":
        return z
    return project_to_sphere(z, 1 if prior == "l1-sphere" else 2)


def _latent_log_prior(prior: str, z: Array) -> Array:
    if prior == "l1-sphere":
        return -jnp.sum(jnp.abs(z), axis=-1)
    return -0.5 * jnp.sum(z ** 2, axis=-1)


@renamed_arguments(key="rng_key", num_samples="num_particles")
def importance_posterior(rng_key: PRNGKey, mdp: MDP, num_particles: int = 4000,
                         prior: str = "l1-sphere", beta: float = 10.0, q: str = "soft", *,
                         with_actions: bool = True) -> ImportancePosterior:
    """Draw M prior particles and precompute their Boltzmann action log-probabilities.

    Args:
        rng_key: PRNG key.
        mdp: the MDP.
        num_particles: M (``num_samples`` is a deprecated alias).
        prior: ``"l1-sphere"`` (Brown & Niekum 2018), ``"l2-sphere"`` or ``"gaussian"``.
        beta: rationality β of the demonstrator and of preference answers.
        q: soft or hard Q.
        with_actions: compute ``action_log_probs`` (one vmapped solve per particle); needed
            for state queries and action answers, not for preferences.

    Returns:
        :class:`ImportancePosterior` with equal weights.

    Raises:
        ValueError: unknown prior, non-positive M.
    """
    M = check_scalar(num_particles, "num_particles", low=1, integer=True)
    if prior not in PRIOR_LATENTS:
        raise ValueError(f"prior: expected one of {PRIOR_LATENTS}, got {prior!r}")
    F = mdp.num_features
    dtype = mdp.features.dtype
    draw = jax.random.laplace if prior == "l1-sphere" else jax.random.normal
    z = draw(rng_key, (M, F), dtype)
    w = _latent_to_weights(prior, z)
    alp = action_log_probabilities(mdp, w, beta, q) if with_actions else None
    zeros = jnp.zeros(M, dtype)
    return ImportancePosterior(z, w, zeros, zeros, alp, jnp.asarray(beta, dtype))


def _add(post: ImportancePosterior, ll: Array) -> ImportancePosterior:
    return post._replace(log_weight=post.log_weight + ll, log_likelihood=post.log_likelihood + ll)


def observe_action(post: ImportancePosterior, state, action) -> ImportancePosterior:
    """Bayes update with the expert's action in a state (Boltzmann likelihood).

    Raises:
        ValueError: the posterior has no ``action_log_probs``.
    """
    if post.action_log_probs is None:
        raise ValueError("post: built with with_actions=False; action answers need the "
                         "per-particle action probabilities")
    return _add(post, post.action_log_probs[:, state, action])


@renamed_arguments(delta="margin")
def observe_preference(post: ImportancePosterior, features_a: Array, features_b: Array, label,
                       margin: float = 0.0) -> ImportancePosterior:
    """Bayes update with a comparison of trajectories A and B (label 0: A, 1: B, 2: equal).

    The answer model is :class:`~bayesirl.likelihoods.PreferenceChoice` (Bradley–Terry for
    ``margin`` = 0; the weak-preference model with indifference margin ``margin`` otherwise).

    Args:
        post: the particles, M of them.
        features_a, features_b: (F,) feature counts of the two trajectories.
        label: 0, 1 or 2.
        margin: indifference margin (``delta`` is a deprecated alias), >= 0.

    Returns:
        The reweighted :class:`ImportancePosterior`.
    """
    x = post.beta * (post.weights @ (features_a - features_b))
    return _add(post, PreferenceChoice(x, margin).log_prob(jnp.asarray(label)))


def _normalized(post: ImportancePosterior) -> Array:
    return jax.nn.softmax(post.log_weight)


def importance_ess(post: ImportancePosterior) -> float:
    """Kish effective sample size ``1 / Σ w̃²`` of the normalised importance weights."""
    w = _normalized(post)
    return float(1.0 / jnp.sum(w ** 2))


@renamed_arguments(key="rng_key")
def resample(rng_key: PRNGKey, post: ImportancePosterior, num: int) -> Array:
    """(num,) indices of equally weighted posterior draws by systematic resampling
    (``post.weights[indices]`` are the draws; Kitagawa 1996)."""
    w = np.asarray(_normalized(post), dtype=np.float64)
    u = (np.asarray(jax.random.uniform(rng_key, ())) + np.arange(num)) / num
    return jnp.asarray(np.minimum(np.searchsorted(np.cumsum(w), u), len(w) - 1))


class Answers(NamedTuple):
    """Answers so far, padded to a fixed capacity Q so that :func:`rejuvenate` compiles once.

    Attributes:
        states, actions: (Q,) int, state queries and the expert's actions.
        action_mask: (Q,) bool, which of those entries are answers.
        feature_diffs: (Q, F) ``Φ(A) − Φ(B)`` of compared trajectories.
        labels: (Q,) int, 0 (A preferred), 1 (B) or 2 (about equal).
        preference_mask: (Q,) bool.
    """

    states: Array
    actions: Array
    action_mask: Array
    feature_diffs: Array
    labels: Array
    preference_mask: Array


def make_answers(capacity: int, num_features: int, actions=(), preferences=(),
                 dtype=jnp.float32) -> Answers:
    """Pack answers into :class:`Answers`.

    Args:
        capacity: Q, at least the number of answers of each kind.
        num_features: F.
        actions: sequence of ``(state, action)``.
        preferences: sequence of ``(feature_diff (F,), label)``.

    Raises:
        ValueError: more answers than ``capacity``.
    """
    if len(actions) > capacity or len(preferences) > capacity:
        raise ValueError(f"capacity: {capacity} is smaller than the number of answers "
                         f"({len(actions)} actions, {len(preferences)} preferences)")
    states = np.zeros(capacity, np.int32)
    acts = np.zeros(capacity, np.int32)
    amask = np.zeros(capacity, bool)
    for i, (s, a) in enumerate(actions):
        states[i], acts[i], amask[i] = s, a, True
    diffs = np.zeros((capacity, num_features))
    labels = np.zeros(capacity, np.int32)
    pmask = np.zeros(capacity, bool)
    for i, (d, label) in enumerate(preferences):
        diffs[i], labels[i], pmask[i] = np.asarray(d), label, True
    return Answers(jnp.asarray(states), jnp.asarray(acts), jnp.asarray(amask),
                   jnp.asarray(diffs, dtype), jnp.asarray(labels), jnp.asarray(pmask))


@renamed_arguments(delta="margin")
def answers_log_likelihood(weights: Array, action_log_probs: Array | None, answers: Answers,
                           beta, margin: float = 0.0) -> Array:
    """Log-likelihood of all answers for one particle.

    Args:
        weights: (F,) reward weights.
        action_log_probs: (S, A) Boltzmann log-probabilities of those weights, or ``None``
            when there are no action answers.
        answers: :class:`Answers`.
        beta: rationality β of the preference answers.
        margin: indifference margin of the preference model (``delta``: deprecated alias).

    Returns:
        () log-likelihood.
    """
    ll = jnp.zeros((), weights.dtype)
    if action_log_probs is not None:
        picked = action_log_probs[answers.states, answers.actions]
        ll = ll + jnp.sum(jnp.where(answers.action_mask, picked, 0.0))
    x = beta * (answers.feature_diffs @ weights)
    lp = PreferenceChoice(x, margin).log_prob(answers.labels)
    return ll + jnp.sum(jnp.where(answers.preference_mask, lp, 0.0))


#: Scale of the random-walk proposal relative to the particles' covariance (Roberts,
#: Gelman & Gilks 1997: 2.38/√F is optimal for Gaussian targets).
RW_SCALE = 2.38


@partial(jax.jit, static_argnames=("prior", "q", "margin", "num_steps"))
def _move(rng_key, latent, weights, log_lik, alp, answers, mdp, beta, *, prior, q, margin,
          num_steps):
    M, F = latent.shape
    cov = jnp.cov(latent.T).reshape(F, F) + 1e-10 * jnp.eye(F, dtype=latent.dtype)
    chol = jnp.linalg.cholesky(cov) * (RW_SCALE / np.sqrt(F))

    def log_lik_all(w, a):
        if a is None:
            return jax.vmap(lambda v: answers_log_likelihood(v, None, answers, beta, margin))(w)
        return jax.vmap(lambda v, p: answers_log_likelihood(v, p, answers, beta, margin))(w, a)

    def step(carry, k):
        (z, w, ll, a), accepted_sum = carry
        k_prop, k_acc = jax.random.split(k)
        eps = jax.random.normal(k_prop, (M, F), z.dtype)
        z_new = jax.vmap(lambda x, e: gaussian_step(x, e, chol, 1.0))(z, eps)
        w_new = _latent_to_weights(prior, z_new)
        a_new = None if a is None else action_log_probabilities(mdp, w_new, beta, q)
        ll_new = log_lik_all(w_new, a_new)
        log_ratio = (ll_new + _latent_log_prior(prior, z_new)
                     - ll - _latent_log_prior(prior, z))
        _, accept = metropolis_accept(log_ratio, log_uniform(k_acc, (M,), z.dtype))
        moved = select(accept, (z_new, w_new, ll_new, a_new), (z, w, ll, a))
        return moved, accepted_sum + accept.mean()

    ((z, w, ll, a), accepted), _ = run_chain(
        step, ((latent, weights, log_lik, alp), jnp.zeros((), latent.dtype)),
        jax.random.split(rng_key, num_steps), num_warmup=0, num_kept=1, thinning=num_steps,
        record=lambda c: None)
    return z, w, ll, a, accepted / num_steps


@renamed_arguments(key="rng_key", delta="margin")
def rejuvenate(rng_key: PRNGKey, post: ImportancePosterior, mdp: MDP, answers: Answers, *,
               prior: str = "l1-sphere", q: str = "soft", margin: float = 0.0,
               num_steps: int = 5) -> tuple[ImportancePosterior, float]:
    """Resample the particles and move them by random-walk Metropolis–Hastings.

    The warm-started posterior update of the loop: the particles after the last answer are
    the starting points of M parallel MH chains (vectorised, one kernel) that target
    prior × likelihood of all ``answers``; the proposal is Gaussian in the latent space with
    the particles' covariance scaled by 2.38/√F. Every move re-solves the moved particles'
    MDPs (one vmapped solve) when there are action answers. Resample–move SMC (Gilks &
    Berzuini 2001; Chopin 2002): the particles stay distributed as the posterior, and their
    diversity (lost by reweighting) is restored.

    Args:
        rng_key: PRNG key.
        post: the current particles (their ``log_likelihood`` must be that of ``answers``).
        mdp: the MDP.
        answers: every answer so far (:func:`make_answers`).
        prior, q: the model, as for :func:`importance_posterior`.
        margin: indifference margin of the preference answers (``delta``: deprecated).
        num_steps: MH steps per particle.

    Returns:
        ``(posterior, acceptance_rate)`` with equal weights.

    Raises:
        ValueError: unknown prior, ``num_steps`` < 1.
    """
    if prior not in PRIOR_LATENTS:
        raise ValueError(f"prior: expected one of {PRIOR_LATENTS}, got {prior!r}")
    num_steps = check_scalar(num_steps, "num_steps", low=1, integer=True)
    k_res, k_move = jax.random.split(rng_key)
    M = post.weights.shape[0]
    idx = resample(k_res, post, M)
    take = lambda x: None if x is None else x[idx]
    z, w, ll, a, rate = _move(k_move, post.latent[idx], post.weights[idx],
                              post.log_likelihood[idx], take(post.action_log_probs), answers,
                              mdp, post.beta, prior=prior, q=q, margin=float(margin),
                              num_steps=num_steps)
    return post._replace(latent=z, weights=w, log_weight=jnp.zeros_like(ll),
                         log_likelihood=ll, action_log_probs=a), float(rate)
