"""BIRL posterior by the fast PolicyWalk sampler, as ArviZ ``InferenceData`` (opt-in).

:func:`fit_policy_walk` runs
:func:`~bayesirl.inference.policy_walk.sample_policy_walk_independence` — an exact
Metropolis–Hastings sampler of the posterior of Ramachandran & Amir (2007): reward weights w
uniform on the unit L1 or L2 sphere, a Boltzmann demonstrator with a FIXED rationality β over
hard-max Q* — and returns the layout of :func:`~bayesirl.inference.fit.fit_demonstrations`:
``reward_weights`` (chain, draw, feature), ``sample_stats`` (``lp``, ``acceptance_rate``,
``optimal_return``), ``observed_data`` and, by default when small, the predictive groups.
:func:`~bayesirl.inference.fit.fit_demonstrations` dispatches ``method="policy-walk"`` here.

Its C chains share one cache of optimal policies (a new chain mostly reuses policies the
others found), so many chains cost little more than a few: :data:`DEFAULT_NUM_CHAINS`.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from bayesirl import _arviz
from bayesirl._validate import check_scalar
from bayesirl.data.demos import Demonstrations, check_demonstrations
from bayesirl.data.mdp import MDP
from bayesirl.inference import predictive
from bayesirl.inference.policy_walk import sample_policy_walk_independence
from bayesirl.likelihoods import demonstration_pairs
from bayesirl.models import SPHERE_PRIORS, Evidence, project_to_sphere

__all__ = ["DEFAULT_NUM_CHAINS", "NORMS", "fit_policy_walk", "policy_walk_posterior"]

#: Suggested chain count (the command line's default for ``--sampler policy-walk``): the
#: chains share the policy cache, so 64 cost little more than 4 once the cache is warm, and
#: give R-hat and ESS from many short chains.
DEFAULT_NUM_CHAINS = 64
#: Sphere of each supported prior (``ord`` of the norm).
NORMS = {"l1-sphere": 1, "l2-sphere": 2}


def _check_settings(prior, beta, q) -> int:
    """The norm of ``prior``; ValueError/TypeError for settings the sampler does not support."""
    if q != "hard":
        raise ValueError(f"q: method 'policy_walk' samples the hard-max Q* posterior of "
                         f"Ramachandran & Amir (2007); expected q='hard', got {q!r}")
    if prior not in SPHERE_PRIORS:
        raise ValueError(f"prior: method 'policy_walk' needs a uniform prior on the unit sphere, "
                         f"expected one of {SPHERE_PRIORS}, got {prior!r}")
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)):
        raise TypeError(f"beta: method 'policy_walk' needs a fixed rationality, a number > 0, "
                        f"got {beta!r} (a learned β needs method='nuts' or 'mh')")
    check_scalar(beta, "beta", low=0.0, low_open=True)
    return NORMS[prior]


def _initial_weights(seed: int, num_chains: int, num_features: int, norm: int, dtype):
    """(C, F) draws from the uniform prior on the unit sphere: normalised i.i.d. Laplace (L1)
    or Gaussian (L2) draws (:func:`~bayesirl.models.project_to_sphere`)."""
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 1)
    shape = (num_chains, num_features)
    draw = jax.random.laplace if norm == 1 else jax.random.normal
    return project_to_sphere(draw(key, shape, dtype), norm)


def _idata(result, feature_names, observed, attrs):
    """InferenceData of :class:`IndependenceSamples` (weights (C, D, F) on the sphere; the
    sphere priors' latent ``reward_weights_raw`` is stored as the same unit vectors, so that
    :func:`~bayesirl.models.irl_model` conditioned on it gives these weights)."""
    s = result.samples
    weights = np.asarray(s.weights)
    C, D = weights.shape[:2]
    log_lik = np.asarray(s.log_likelihood)
    stats = {"lp": log_lik,
             "acceptance_rate": np.broadcast_to(np.asarray(s.acceptance_rate)[:, None], (C, D)),
             "optimal_return": np.asarray(s.optimal_return)}
    dims = {"reward_weights": ["feature"], "reward_weights_raw": ["feature"]}
    idata = _arviz.from_draws({"reward_weights": weights, "reward_weights_raw": weights},
                              coords={"feature": feature_names}, dims=dims, sample_stats=stats,
                              attrs=attrs)
    return _arviz.with_groups(idata, observed_data=observed)


def fit_policy_walk(
    mdp: MDP,
    demos: Demonstrations,
    *,
    beta,
    prior: str = "l2-sphere",
    q: str = "hard",
    num_samples: int = 1000,
    num_warmup: int = 1000,
    num_chains: int = DEFAULT_NUM_CHAINS,
    thinning: int = 1,
    seed: int = 0,
    feature_names=None,
    predictive_groups: bool | None = None,
    **sampler_kwargs,
) -> _arviz.InferenceData:
    """Posterior over reward weights by the fast PolicyWalk sampler (Ramachandran & Amir 2007).

    Target: ``p(w | D) ∝ U_sphere(w) · Π_{(s,a) ∈ D} exp(β Q*_w(s, a)) / Σ_b exp(β Q*_w(s, b))``
    with w on the unit L1 or L2 sphere and Q* the hard-max optimal Q-values of the reward
    ``φ w`` (Eq. 2–3 of the paper); the sampler is exact MH (see
    :mod:`~bayesirl.inference.policy_walk`).

    Args:
        mdp: the MDP (S states, A actions, F features).
        demos: N demonstrations (pairs in terminal states are skipped).
        beta: fixed rationality β > 0 (1/reward units).
        prior: ``"l2-sphere"`` or ``"l1-sphere"``.
        q: must be ``"hard"`` (accepted for the signature of ``fit_demonstrations``).
        num_samples: kept draws D per chain.
        num_warmup: burn-in steps per chain (adaptation; discarded), >= 4.
        num_chains: C chains; they share the cache of optimal policies.
        thinning: keep every ``thinning``-th state, so a chain runs ``num_warmup +
            num_samples · thinning`` steps.
        seed: PRNG seed (initial points: prior draws; moves).
        feature_names: F labels of the ``feature`` coordinate; default 0 … F−1.
        predictive_groups: add ``log_likelihood`` / ``posterior_predictive`` / ``constant_data``
            (:func:`~bayesirl.inference.predictive.add_predictive_groups`; one MDP solve per
            draw, which may cost more than the sampling); default on up to
            :data:`~bayesirl.inference.predictive.DEFAULT_MAX_VALUES` values.
            ``observed_data`` is always added.
        **sampler_kwargs: ``independence_prob``, ``df``, ``inflation``, ``step_size``,
            ``cache_size``, ``tol``, ``max_rounds`` of
            :func:`~bayesirl.inference.policy_walk.sample_policy_walk_independence`.

    Returns:
        ``InferenceData``: posterior ``reward_weights`` (and ``reward_weights_raw``, the same
        unit vectors) (C, D, F); ``sample_stats`` ``lp`` (C, D) (the log-likelihood in nats:
        the log posterior up to the uniform prior's constant), ``acceptance_rate`` (C, D) (each chain's mean
        after burn-in), ``optimal_return`` (C, D); ``observed_data``; ``posterior.attrs``:
        ``method="policy-walk"``, ``num_chains``, ``num_warmup``, ``num_samples``,
        ``thinning``, ``seed``, ``beta``, ``prior``, ``sampling_time_s`` (compilation
        included), ``exact_solves``, ``proposals``, ``independence_accept``,
        ``max_rounds``, ``all_converged`` (0/1).

    Raises:
        ValueError: ``q`` not ``"hard"``, ``prior`` not a sphere prior, ``beta`` not > 0,
            non-positive counts, ``num_warmup`` < 4, bad ``feature_names``, demonstrations that
            do not fit the MDP or leave no pairs, bad ``sampler_kwargs``.
        TypeError: ``beta`` not a number (e.g. a distribution: β must be fixed).
    """
    check_demonstrations(mdp, demos)
    pairs = demonstration_pairs(mdp, demos)
    idata = policy_walk_posterior(mdp, pairs, beta=beta, prior=prior, q=q,
                                  num_samples=num_samples, num_warmup=num_warmup,
                                  num_chains=num_chains, thinning=thinning, seed=seed,
                                  feature_names=feature_names, **sampler_kwargs)
    evidence = Evidence(boltzmann=pairs)
    if predictive_groups is None:
        predictive_groups = predictive.predictive_size(
            idata, evidence) <= predictive.DEFAULT_MAX_VALUES
    if predictive_groups:
        idata = predictive.add_predictive_groups(
            idata, mdp, evidence, seed=seed, prior=prior, betas={"boltzmann": float(beta)},
            q="hard")
    return idata


def policy_walk_posterior(mdp: MDP, pairs, *, beta, prior: str = "l2-sphere", q: str = "hard",
                          num_samples: int = 1000, num_warmup: int = 1000,
                          num_chains: int = DEFAULT_NUM_CHAINS, thinning: int = 1, seed: int = 0,
                          feature_names=None, **sampler_kwargs) -> _arviz.InferenceData:
    """:func:`fit_policy_walk` from demonstration pairs, without the predictive groups.

    Args:
        mdp: the MDP (S states, A actions, F features).
        pairs: the P demonstration pairs (:func:`~bayesirl.likelihoods.demonstration_pairs`).
        beta, prior, q: see :func:`fit_policy_walk`.
        num_samples, num_warmup, num_chains, thinning, seed: see :func:`fit_policy_walk`.
        feature_names, sampler_kwargs: see :func:`fit_policy_walk`.

    Returns:
        ``InferenceData`` with the posterior (C, D, F), ``sample_stats`` and ``observed_data``.

    Raises:
        ValueError / TypeError: as :func:`fit_policy_walk`.
    """
    norm = _check_settings(prior, beta, q)
    num_samples = check_scalar(num_samples, "num_samples", low=1, integer=True)
    num_warmup = check_scalar(num_warmup, "num_warmup", low=4, integer=True)
    num_chains = check_scalar(num_chains, "num_chains", low=1, integer=True)
    thinning = check_scalar(thinning, "thinning", low=1, integer=True)
    seed = check_scalar(seed, "seed", low=0, integer=True)
    feature_names = list(range(mdp.num_features)) if feature_names is None else list(feature_names)
    if len(feature_names) != mdp.num_features:
        raise ValueError(f"feature_names: expected {mdp.num_features} names, got "
                         f"{len(feature_names)}")
    if int(np.asarray(pairs.states).size) == 0:
        raise ValueError("demos: no state-action pairs outside terminal states")
    dtype = mdp.next_probs.dtype
    init = _initial_weights(seed, num_chains, mdp.num_features, norm, dtype)
    start = time.perf_counter()
    result = sample_policy_walk_independence(
        jax.random.PRNGKey(seed), mdp, pairs, init, beta=float(beta),
        num_steps=num_warmup + num_samples * thinning, burn_in=num_warmup, thinning=thinning,
        norm=norm, **sampler_kwargs)
    result = jax.block_until_ready(result)
    elapsed = time.perf_counter() - start
    s = result.samples
    attrs = dict(method="policy-walk", num_chains=num_chains, num_warmup=num_warmup,
                 num_samples=num_samples, thinning=thinning, seed=seed, beta=float(beta),
                 prior=prior, sampling_time_s=elapsed, exact_solves=int(result.exact_solves),
                 proposals=int(result.proposals),
                 independence_accept=float(result.independence_accept),
                 max_rounds=int(s.max_rounds), all_converged=int(bool(s.all_converged)))
    evidence = Evidence(boltzmann=pairs)
    return _idata(result, feature_names, predictive.observed_data(evidence), attrs)
