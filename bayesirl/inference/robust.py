"""Posteriors that stay honest when the demonstrator model is wrong: bagged and tempered.

Both change how much the evidence counts, through weights on the likelihood sites of
:func:`~bayesirl.models.reward_model` (:func:`weighted_reward_model`), never the model itself:

* **BayesBag** (:func:`fit_bagged`; Bühlmann 2014; Huggins & Miller 2023, "Reproducible model
  selection using bagged posteriors", Bayesian Analysis 18(1), and Huggins & Miller,
  "Robust inference and model criticism using bagged posteriors", arXiv:1912.07104): B
  bootstrap resamples of the evidence, one posterior per resample, draws pooled,
  ``p_bag(w | D) = (1/B) Σ_b p(w | D*_b)``. Under misspecification its spread grows with the
  sampling variability of the data (the posterior of a resample moves when the data move),
  where the plain posterior's shrinks like 1/N whatever the fit. Demonstrations are resampled
  by whole demonstration (the pairs of one trajectory are not independent), comparisons one
  by one; the multiplicities are the likelihood weights, so the B fits run one compiled
  program.
* **Power (tempered) posterior** (:func:`fit_tempered`): ``p_η(w | D) ∝ p(w) p(D | w)^η``,
  η ∈ (0, 1] (Grünwald 2012; Grünwald & van Ommen 2017; Bissiri, Holmes & Walker 2016), with
  η chosen on held-out demonstrations (:func:`select_learning_rate`), see there.

Every fit of one problem — the B resamples, the η grid, the final fit — has the same shapes
and differs only in the weights, which are arguments of the compiled sampler: one compilation
(:mod:`bayesirl.inference.engine`).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats
from numpyro.primitives import Messenger

from bayesirl import _arviz
from bayesirl._typing import Array
from bayesirl._validate import check_scalar
from bayesirl.analysis.diagnostics import diagnose
from bayesirl.data.demos import Demonstrations
from bayesirl.data.mdp import MDP
from bayesirl.inference.auto import choose_sampler
from bayesirl.inference.predictive import pair_trajectories
from bayesirl.inference.samplers import (
    DIMS,
    SAMPLERS,
    Problem,
    canonical_name,
    check_supported,
    resolve_settings,
)
from bayesirl.likelihoods.boltzmann import action_log_probabilities
from bayesirl.likelihoods.bradley_terry import default_margin
from bayesirl.likelihoods.registry import SOURCES, Evidence
from bayesirl.likelihoods.source import EvidenceInputs
from bayesirl.models import beta_site, build_evidence, reward_model

__all__ = [
    "ROBUST_METHODS",
    "LEARNING_RATES",
    "DEFAULT_NUM_BOOTSTRAPS",
    "BootstrapWeights",
    "LearningRateChoice",
    "bootstrap_weights",
    "evidence_groups",
    "weighted_reward_model",
    "fit_weighted",
    "fit_bagged",
    "fit_tempered",
    "select_learning_rate",
    "heldout_pvalues",
    "INTERVAL_MISS_RATE",
    "MISS_TEST_LEVEL",
]

#: The robust posteriors a user can pick (None: the plain posterior).
ROBUST_METHODS = ("bayesbag", "tempered")
#: Default grid of learning rates η tried by :func:`select_learning_rate`, largest first.
LEARNING_RATES = (1.0, 0.5, 0.25, 0.125, 0.0625)
#: Default number B of bootstrap resamples of :func:`fit_bagged`. Huggins & Miller use
#: B = 50–100 for model selection; the pooled α-VaR bound needs far fewer (each resample
#: contributes C × M draws), and each resample is one fit.
DEFAULT_NUM_BOOTSTRAPS = 10
def _resamplable(name: str) -> bool:
    """Whether a source's observations can be resampled one group at a time: an observed site
    per observation (not a factor such as sample-based MaxEnt's sum over its demonstrations)
    of demonstrations or comparisons (rankings are not grouped yet)."""
    source = SOURCES[name]
    return source.observations is not None and source.requires in ("demonstrations",
                                                                    "preferences")
#: Samplers that run the weighted model (any NumPyro model); PolicyWalk and laplace-imh sample
#: the plain Boltzmann posterior only, so "auto" falls back to this one for them.
_WEIGHTED_FALLBACK = "mh"


# ---------------------------------------------------------------------------------------------
# Weights on the likelihood sites
# ---------------------------------------------------------------------------------------------


class _ScaleSites(Messenger):
    """Multiply the log-density of the named sample (or factor) sites by given scales.

    Unlike ``numpyro.handlers.scale`` it touches only the named sites (not the prior) and
    accepts zero weights (an observation left out of a resample).
    """

    def __init__(self, fn=None, scales: dict | None = None):
        self.scales = dict(scales or {})
        super().__init__(fn)

    def process_message(self, msg):
        scale = self.scales.get(msg["name"])
        if scale is not None and msg["type"] == "sample":
            msg["scale"] = scale if msg["scale"] is None else scale * msg["scale"]


def weighted_reward_model(evidence: Evidence, mdp: MDP | None = None,
                          observation_weights: dict | None = None, learning_rate=1.0,
                          **model_kwargs):
    """:func:`~bayesirl.models.reward_model` with weighted, tempered likelihood terms.

    The log-density is ``log p(w) + η Σ_source Σ_i c_i log p(y_i | w)``: each observation i of a
    source (a demonstrated state-action pair, a comparison) counts ``c_i`` times (bootstrap
    multiplicities; default 1) and the whole likelihood is raised to the power η
    (``learning_rate``). η = 1 with unit weights is the plain posterior.

    Args:
        evidence: the data of each source.
        mdp: the MDP, or None.
        observation_weights: ``{source: (P,) weights >= 0}`` for some sources (the order of
            their observations, e.g. :func:`~bayesirl.likelihoods.demonstration_pairs`);
            missing sources weigh 1. A factor source (sample-maxent) takes no per-observation
            weights.
        learning_rate: η > 0 (may be a traced scalar).
        **model_kwargs: as :func:`~bayesirl.models.reward_model`.
    """
    weights = observation_weights or {}
    eta = jnp.asarray(learning_rate)
    scales = {}
    for name in evidence.sources():
        c = weights.get(name)
        scales[SOURCES[name].site] = eta if c is None else eta * c
    with _ScaleSites(scales=scales):
        reward_model(evidence, mdp, **model_kwargs)


# ---------------------------------------------------------------------------------------------
# Bootstrap weights
# ---------------------------------------------------------------------------------------------


class BootstrapWeights(NamedTuple):
    """Bootstrap multiplicities of the groups of observations and of each observation.

    Attributes:
        group_counts: (B, N) times each of the N groups (demonstrations, comparisons) is drawn
            in each resample; every row sums to the bootstrap size M.
        weights: (B, P) multiplicity of each observation: that of its group.
    """

    group_counts: np.ndarray
    weights: np.ndarray


def bootstrap_weights(groups, num_groups: int, num_bootstraps: int, *,
                      bootstrap_size: int | None = None, seed: int = 0) -> BootstrapWeights:
    """Multiplicities of B bootstrap resamples of N groups, spread to their observations.

    Resample b draws M groups uniformly with replacement: ``counts_b ~ Multinomial(M, 1/N)``;
    observation p gets its group's count (Efron 1979; resampling whole groups is the block /
    cluster bootstrap: the observations of one group are not independent).

    Args:
        groups: (P,) group index in [0, N) of each observation.
        num_groups: N >= 1.
        num_bootstraps: B >= 1.
        bootstrap_size: M >= 1 groups per resample; default N (Huggins & Miller's default).
        seed: seed of the resampling.

    Returns:
        :class:`BootstrapWeights` (float64 weights).

    Raises:
        ValueError: B, N or M below 1, or group indices outside [0, N).
    """
    N = check_scalar(num_groups, "num_groups", low=1, integer=True)
    B = check_scalar(num_bootstraps, "num_bootstraps", low=1, integer=True)
    M = N if bootstrap_size is None else check_scalar(bootstrap_size, "bootstrap_size", low=1,
                                                      integer=True)
    groups = np.asarray(groups)
    if groups.ndim != 1 or (groups.size and (groups.min() < 0 or groups.max() >= N)):
        raise ValueError(f"groups: expected a (P,) array of indices in [0, {N}), got "
                         f"shape {groups.shape}")
    rng = np.random.default_rng(check_scalar(seed, "seed", low=0, integer=True))
    counts = rng.multinomial(M, np.full(N, 1.0 / N), size=B)
    return BootstrapWeights(counts, counts[:, groups].astype(np.float64))


def evidence_groups(evidence: Evidence, mdp: MDP | None, demos: Demonstrations | None
                    ) -> dict[str, tuple[np.ndarray, int, str]]:
    """The resampling groups of each source: ``{source: (groups (P,), N, unit)}``.

    Boltzmann / MaxEnt pairs are grouped by demonstration (``unit="demonstrations"``; both
    sources share it, so they are resampled together); comparisons are their own groups
    (``unit="preferences"``).

    Raises:
        ValueError: a source that cannot be resampled per observation (sample-maxent's
            likelihood is one factor).
    """
    out = {}
    for name in evidence.sources():
        if not _resamplable(name):
            supported = [n for n in SOURCES if _resamplable(n)]
            raise ValueError(f"likelihoods: the {name} likelihood cannot be resampled per "
                             f"observation; bagging supports {supported}")
        if SOURCES[name].requires == "demonstrations":
            out[name] = (pair_trajectories(mdp, demos), int(np.asarray(demos.states).shape[0]),
                         "demonstrations")
        else:
            P = SOURCES[name].num_observations(evidence[name])
            out[name] = (np.arange(P), P, "preferences")
    return out


# ---------------------------------------------------------------------------------------------
# One weighted fit, and the problem they share
# ---------------------------------------------------------------------------------------------


class _Run(NamedTuple):
    problem: Problem
    sampler: str
    reason: str
    settings: object


def _prepare(mdp, likelihoods, demos, preferences, method, prior, prior_scale, betas, q,
             maxent_horizon, margin, feature_names, solver_kwargs, user) -> _Run:
    """Evidence, problem and sampler as :func:`~bayesirl.inference.fit.fit_evidence` builds
    them; a sampler that cannot run a weighted model is replaced by the random walk."""
    from bayesirl.inference.fit import check_model_settings

    trajs, prefs = preferences if preferences is not None else (None, None)
    if margin is None:
        margin = default_margin(prefs)
    inputs = EvidenceInputs(mdp=mdp, demonstrations=demos, preference_trajectories=trajs,
                            preferences=prefs)
    evidence = build_evidence(likelihoods, inputs, maxent_horizon=maxent_horizon, margin=margin)
    betas = dict(betas or {})
    check_model_settings(prior, prior_scale, betas, q, margin, maxent_horizon,
                          evidence.sources())
    F = mdp.num_features if mdp is not None else evidence.num_features
    names = list(range(F)) if feature_names is None else list(feature_names)
    if len(names) != F:
        raise ValueError(f"feature_names: expected {F} names, got {len(names)}")
    options = dict(q=q or "soft", maxent_horizon=maxent_horizon, margin=float(margin),
                   solver_kwargs=solver_kwargs)
    problem = Problem(evidence, mdp, prior, float(prior_scale), betas, options, names)
    if method == "auto":
        choice = choose_sampler(problem, q)
        name, reason, q_used = choice.sampler, choice.reason, choice.q
    else:
        name, reason = canonical_name(method), "chosen by the caller"
        q_used = q or "soft"
    if SAMPLERS[name].run_model is None:
        if method != "auto":
            raise ValueError(f"method: {name} samples the plain posterior only; a robust "
                             f"posterior needs one of "
                             f"{[n for n, s in SAMPLERS.items() if s.run_model is not None]}")
        name, reason = _WEIGHTED_FALLBACK, f"{reason}; {name} samples the plain posterior " \
                                           f"only, so the weighted fits use {_WEIGHTED_FALLBACK}"
    problem = problem._replace(options={**options, "q": q_used})
    sampler = SAMPLERS[name]
    check_supported(sampler, problem)
    settings = resolve_settings(sampler, problem, **user)
    return _Run(problem, name, reason, settings)


def _fit_one(run: _Run, weights: dict | None, learning_rate: float, seed: int):
    problem = run.problem
    dtype = jnp.result_type(float)
    given = weights or {}
    # Every resamplable source gets a weight array (ones when not given): one pytree
    # structure, hence one compiled program, for plain, bagged and tempered fits alike.
    weights = {name: jnp.asarray(given[name], dtype) if name in given else
               jnp.ones(SOURCES[name].num_observations(problem.evidence[name]), dtype)
               for name in problem.sources if _resamplable(name)}
    args = (problem.evidence, problem.mdp, weights, jnp.asarray(learning_rate, dtype))
    settings = run.settings._replace(seed=seed)
    idata = SAMPLERS[run.sampler].run_model(
        weighted_reward_model, args, problem.model_kwargs(), settings,
        {"feature": problem.feature_names}, DIMS)
    idata.posterior.attrs.update(method=run.sampler, sources=list(problem.sources),
                                 q=problem.options["q"], sampler_reason=run.reason)
    return idata


def _user(num_samples, num_warmup, num_chains, thinning, seed, progress_bar, chain_method,
          kernel_kwargs) -> dict:
    return dict(num_samples=num_samples, num_warmup=num_warmup, num_chains=num_chains,
                thinning=thinning, seed=seed, progress_bar=progress_bar,
                chain_method=chain_method, kernel_kwargs=kernel_kwargs)


def _check_learning_rate(value, name: str = "learning_rate") -> float:
    return check_scalar(value, name, low=0.0, high=1.0, low_open=True)


def _diagnostics_problems(idata) -> list[str]:
    if SAMPLERS[idata.posterior.attrs["method"]].draws is False:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(diagnose(idata, ["reward_weights"]).problems)


def fit_weighted(
    mdp: MDP,
    *,
    likelihoods=("boltzmann",),
    demos: Demonstrations | None = None,
    preferences=None,
    observation_weights: dict | None = None,
    learning_rate: float = 1.0,
    method: str = "auto",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    betas: dict | None = None,
    q: str | None = None,
    maxent_horizon: int | None = None,
    margin: float | None = None,
    feature_names=None,
    solver_kwargs: dict | None = None,
    num_samples: int | None = None,
    num_warmup: int | None = None,
    num_chains: int | None = None,
    thinning: int | None = None,
    seed: int = 0,
    progress_bar: bool = False,
    chain_method: str | None = None,
    kernel_kwargs: dict | None = None,
) -> _arviz.InferenceData:
    """The posterior of :func:`weighted_reward_model`: weighted and tempered evidence.

    With unit weights and η = 1 it is the posterior of
    :func:`~bayesirl.inference.fit.fit_evidence` for the same arguments and seed (the same
    draws). The arguments are those of :func:`~bayesirl.inference.fit.fit_evidence`, plus:

    Args:
        observation_weights: ``{source: (P,) weights >= 0}`` (see
            :func:`weighted_reward_model`); default 1 for every observation.
        learning_rate: η in (0, 1].
        method: ``"auto"`` or a sampler that runs any NumPyro model (NUTS, ``"mh"``, MAP,
            Laplace, SVI); where ``"auto"`` would pick PolicyWalk or laplace-imh (plain
            Boltzmann posteriors only), the random walk runs instead.

    Returns:
        ``InferenceData`` with ``reward_weights`` (chain, draw, feature); ``posterior.attrs``:
        ``method``, ``sources``, ``q``, ``learning_rate``, the sampler's settings.

    Raises:
        ValueError / TypeError: as :func:`~bayesirl.inference.fit.fit_evidence`; η outside
        (0, 1]; weights of the wrong shape, negative or for an absent source.
    """
    eta = _check_learning_rate(learning_rate)
    run = _prepare(mdp, likelihoods, demos, preferences, method, prior, prior_scale, betas, q,
                   maxent_horizon, margin, feature_names, solver_kwargs,
                   _user(num_samples, num_warmup, num_chains, thinning, seed, progress_bar,
                         chain_method, kernel_kwargs))
    weights = _check_weights(run.problem.evidence, observation_weights)
    idata = _fit_one(run, weights, eta, run.settings.seed)
    idata.posterior.attrs["learning_rate"] = eta
    return idata


def _check_weights(evidence: Evidence, weights: dict | None) -> dict:
    out = {}
    for name, value in (weights or {}).items():
        if name not in evidence.sources():
            raise ValueError(f"observation_weights: no evidence for {name!r}; sources are "
                             f"{evidence.sources()}")
        if not _resamplable(name):
            raise ValueError(f"observation_weights: the {name} likelihood is one factor and "
                             f"takes no per-observation weights")
        P = SOURCES[name].num_observations(evidence[name])
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != (P,) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"observation_weights[{name!r}]: expected {P} finite weights >= 0, "
                             f"got shape {arr.shape}")
        out[name] = arr
    return out


# ---------------------------------------------------------------------------------------------
# BayesBag
# ---------------------------------------------------------------------------------------------


def _pool(fits: list, attrs: dict) -> _arviz.InferenceData:
    """One InferenceData whose chains are the chains of every fit, in order."""
    post = {}
    for var in fits[0].posterior.data_vars:
        post[var] = np.concatenate([np.asarray(f.posterior[var]) for f in fits], axis=0)
    coords = {"feature": list(fits[0].posterior["feature"].values)}
    return _arviz.from_draws(post, coords=coords, dims=DIMS, attrs=attrs)


def fit_bagged(
    mdp: MDP,
    *,
    likelihoods=("boltzmann",),
    demos: Demonstrations | None = None,
    preferences=None,
    num_bootstraps: int = DEFAULT_NUM_BOOTSTRAPS,
    bootstrap_fraction: float = 1.0,
    method: str = "auto",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    betas: dict | None = None,
    q: str | None = None,
    maxent_horizon: int | None = None,
    margin: float | None = None,
    feature_names=None,
    solver_kwargs: dict | None = None,
    num_samples: int | None = None,
    num_warmup: int | None = None,
    num_chains: int | None = None,
    thinning: int | None = None,
    seed: int = 0,
    progress_bar: bool = False,
    chain_method: str | None = None,
    kernel_kwargs: dict | None = None,
) -> _arviz.InferenceData:
    """The bagged posterior (BayesBag): the pooled posteriors of B bootstrap resamples.

    ``p_bag(w | D) = (1/B) Σ_b p(w | D*_b)`` (Bühlmann 2014; Huggins & Miller 2023, Eq. 1).
    Each resample draws ``M = round(bootstrap_fraction · N)`` demonstrations with replacement
    (whole demonstrations: their pairs are not independent) and, independently,
    ``round(bootstrap_fraction · P)`` comparisons; the multiplicities are the likelihood
    weights (:func:`weighted_reward_model`), so the B fits share one compiled program.
    Huggins & Miller's default is M = N (``bootstrap_fraction=1``); a smaller M widens the
    bagged posterior further.

    What it is for: when the model is right, the bagged posterior is about twice as wide as
    the plain one in the large-sample limit (it adds the sampling variance of the data to the
    posterior's); when it is wrong, the plain posterior still concentrates like 1/N around
    the best wrong fit, while the bagged one keeps the spread of that fit across datasets —
    what a bound has to cover.

    Args:
        mdp: the MDP. ``likelihoods``, ``demos``, ``preferences``, ``method``, ``prior``,
            ``prior_scale``, ``betas``, ``q``, ``maxent_horizon``, ``margin``,
            ``feature_names`` and ``solver_kwargs`` are as for
            :func:`~bayesirl.inference.fit.fit_evidence` (``method`` as :func:`fit_weighted`).
        num_bootstraps: B >= 1 resamples (each one fit).
        bootstrap_fraction: M / N > 0 (M rounded, at least 1); default 1 (M = N).
        num_samples: draws of each of the B fits; ``num_warmup``, ``num_chains``,
            ``thinning``, ``progress_bar``, ``chain_method`` and ``kernel_kwargs`` are also
            those of each fit.
        seed: seed of the resampling and (``seed + b``) of fit b.

    Returns:
        ``InferenceData`` whose posterior has B × C chains (the C chains of resample 0, then
        of resample 1, ...); ``posterior.attrs``: ``robust="bayesbag"``, ``num_bootstraps``,
        ``bootstrap_fraction``, ``bootstrap_sizes`` (M per source), ``chains_per_bootstrap``,
        ``method``, ``sources``, ``diagnostics_problems`` (of the individual fits). R-hat
        across the pooled chains is meaningless (they sample different posteriors).

    Raises:
        ValueError: as :func:`fit_weighted`; B < 1 or ``bootstrap_fraction`` <= 0 (named); a
            source that cannot be resampled per observation (e.g. sample-based MaxEnt).
        TypeError: as :func:`fit_weighted`.
    """
    B = check_scalar(num_bootstraps, "num_bootstraps", low=1, integer=True)
    fraction = check_scalar(bootstrap_fraction, "bootstrap_fraction", low=0.0, low_open=True)
    run = _prepare(mdp, likelihoods, demos, preferences, method, prior, prior_scale, betas, q,
                   maxent_horizon, margin, feature_names, solver_kwargs,
                   _user(num_samples, num_warmup, num_chains, thinning, seed, progress_bar,
                         chain_method, kernel_kwargs))
    groups = evidence_groups(run.problem.evidence, mdp, demos)
    units: dict[str, BootstrapWeights] = {}
    sizes = {}
    for name, (ids, N, unit) in groups.items():
        if unit not in units:
            M = max(1, int(round(fraction * N)))
            units[unit] = bootstrap_weights(np.arange(N), N, B, bootstrap_size=M,
                                            seed=run.settings.seed + 7919 * (len(units) + 1))
        sizes[name] = int(units[unit].group_counts[0].sum())
    weights = {name: units[unit].group_counts[:, ids].astype(np.float64)
               for name, (ids, N, unit) in groups.items()}
    fits, problems = [], []
    for b in range(B):
        idata = _fit_one(run, {name: w[b] for name, w in weights.items()}, 1.0,
                         run.settings.seed + b)
        problems += [f"resample {b}: {p}" for p in _diagnostics_problems(idata)]
        fits.append(idata)
    attrs = {k: v for k, v in fits[0].posterior.attrs.items()
             if k not in ("seed", "sampling_time_s", "num_chains")}
    attrs.update(robust="bayesbag", num_bootstraps=B, bootstrap_fraction=fraction,
                 bootstrap_sizes=[sizes[n] for n in groups],
                 bootstrap_sources=list(groups), chains_per_bootstrap=run.settings.num_chains,
                 num_chains=B * run.settings.num_chains, seed=run.settings.seed,
                 sampling_time_s=float(sum(f.posterior.attrs.get("sampling_time_s", 0.0)
                                           for f in fits)),
                 diagnostics_problems=problems)
    return _pool(fits, attrs)


# ---------------------------------------------------------------------------------------------
# Tempered posterior with a learning rate chosen on held-out demonstrations
# ---------------------------------------------------------------------------------------------


class LearningRateChoice(NamedTuple):
    """The learning rate η picked by :func:`select_learning_rate`, and why.

    Attributes:
        learning_rate: the chosen η.
        learning_rates: (G,) the η tried, largest first.
        misses: (G,) held-out demonstrations outside their posterior-predictive interval.
        num_heldout: J, the held-out demonstrations.
        max_misses: the most misses accepted (binomial test, see :func:`select_learning_rate`).
        heldout: (J,) indices of the held-out demonstrations.
    """

    learning_rate: float
    learning_rates: tuple
    misses: tuple
    num_heldout: int
    max_misses: int
    heldout: np.ndarray


#: Miss rate of the posterior-predictive intervals checked by :func:`select_learning_rate`
#: (the intervals are the central 90 %).
INTERVAL_MISS_RATE = 0.1
#: Level of the test that a learning rate's intervals miss more often than
#: :data:`INTERVAL_MISS_RATE`: an η is rejected when its misses exceed the (1 − this) binomial
#: quantile.
MISS_TEST_LEVEL = 0.05


def heldout_pvalues(mdp: MDP, weights: Array, demos: Demonstrations, heldout, *,
                    beta=1.0, q: str = "soft", seed: int = 0) -> np.ndarray:
    """Posterior-predictive p-values of the held-out demonstrations' action log-likelihood.

    For demonstration j and draw m, ``T_obs = Σ_{(s,a) ∈ j} log π_m(a | s)`` (Boltzmann policy
    of draw m) and ``T_rep`` the same for actions ``a' ~ π_m(· | s)`` replicated at the same
    states; ``p_j = P_m(T_rep < T_obs) + ½ P_m(T_rep = T_obs)`` (Gelman, Meng & Stern 1996,
    posterior-predictive p-value with the discrepancy T).

    Args:
        mdp: the MDP.
        weights: (M, F) posterior draws of the reward weights.
        demos: the demonstrations (N, T).
        heldout: (J,) indices of the held-out demonstrations.
        beta: β of the Boltzmann likelihood (scalar or (M,)).
        q: ``"soft"`` or ``"hard"``.
        seed: seed of the replicated actions.

    Returns:
        (J,) p-values in [0, 1].
    """
    log_pi = np.asarray(action_log_probabilities(mdp, jnp.asarray(weights), beta, q))  # (M,S,A)
    states, actions, mask = (np.asarray(x) for x in demos)
    keep = mask & ~np.asarray(mdp.terminal)[np.minimum(states, mdp.num_states - 1)]
    rng = np.random.default_rng(seed)
    pvals = []
    for j in np.asarray(heldout):
        s, a = states[j][keep[j]], actions[j][keep[j]]
        lp = log_pi[:, s, :]                                             # (M, L, A)
        t_obs = lp[:, np.arange(s.size), a].sum(-1)
        cum = np.cumsum(np.exp(lp), axis=-1)
        u = rng.random(lp.shape[:2])[..., None]
        rep = np.minimum((u > cum).sum(-1), lp.shape[-1] - 1)             # (M, L)
        t_rep = np.take_along_axis(lp, rep[..., None], -1)[..., 0].sum(-1)
        pvals.append(np.mean(t_rep < t_obs) + 0.5 * np.mean(t_rep == t_obs))
    return np.asarray(pvals)


def _split(num_demos: int, heldout_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    J = min(num_demos - 1, max(1, int(round(heldout_fraction * num_demos))))
    order = np.random.default_rng(seed).permutation(num_demos)
    return np.sort(order[J:]), np.sort(order[:J])


def _beta_draws(idata, betas: dict, sources):
    b = betas.get("boltzmann", 1.0)
    if isinstance(b, (int, float, np.integer, np.floating)):
        return float(b)
    return np.asarray(idata.posterior[beta_site("boltzmann", tuple(sources))]).reshape(-1)


def _select(run: _Run, demos, learning_rates, heldout_fraction, seed) -> LearningRateChoice:
    N = int(np.asarray(demos.states).shape[0])
    train, heldout = _split(N, heldout_fraction, seed)
    trajectory = pair_trajectories(run.problem.mdp, demos)
    keep = np.isin(trajectory, train).astype(np.float64)
    weights = {name: keep for name in run.problem.sources
               if SOURCES[name].requires == "demonstrations"}
    J = heldout.size
    max_misses = int(scipy.stats.binom.ppf(1.0 - MISS_TEST_LEVEL, J, INTERVAL_MISS_RATE))
    misses = []
    for eta in learning_rates:
        idata = _fit_one(run, weights, eta, run.settings.seed)
        w = np.asarray(idata.posterior["reward_weights"])
        w = w.reshape(-1, w.shape[-1])
        p = heldout_pvalues(run.problem.mdp, w, demos, heldout,
                            beta=_beta_draws(idata, run.problem.betas, run.problem.sources),
                            q=run.problem.options["q"], seed=seed)
        misses.append(int(np.sum((p < INTERVAL_MISS_RATE / 2) | (p > 1 - INTERVAL_MISS_RATE / 2))))
    accepted = [eta for eta, m in zip(learning_rates, misses) if m <= max_misses]
    chosen = accepted[0] if accepted else learning_rates[int(np.argmin(misses))]
    return LearningRateChoice(float(chosen), tuple(learning_rates), tuple(misses), J, max_misses,
                              heldout)


def _check_learning_rates(learning_rates) -> tuple:
    try:
        grid = tuple(sorted((_check_learning_rate(v, "learning_rates") for v in learning_rates),
                            reverse=True))
    except TypeError:
        raise TypeError(f"learning_rates: expected numbers in (0, 1], got {learning_rates!r}") \
            from None
    if not grid:
        raise ValueError("learning_rates: expected at least one learning rate, got none")
    return grid


def select_learning_rate(
    mdp: MDP,
    demos: Demonstrations,
    *,
    learning_rates=LEARNING_RATES,
    heldout_fraction: float = 0.5,
    **fit_kwargs,
) -> LearningRateChoice:
    """The largest η whose tempered posterior predicts held-out demonstrations at the nominal
    rate.

    Splits the N demonstrations at random into training and held-out ones
    (``heldout_fraction`` of them held out; at least one of each), fits the tempered posterior
    ``p_η(w | D_train)`` for each η of the grid (the held-out pairs get weight 0: one compiled
    program), and computes for each held-out demonstration the posterior-predictive p-value of
    its action log-likelihood (:func:`heldout_pvalues`). A demonstration misses when its p-value
    is outside the central ``1 −`` :data:`INTERVAL_MISS_RATE` interval. The η chosen is the
    largest whose misses do not exceed the ``1 −`` :data:`MISS_TEST_LEVEL` quantile of
    Binomial(J, :data:`INTERVAL_MISS_RATE`) (no evidence at level 0.05 that its intervals
    miss too often); when every η is rejected, the one with the fewest misses (the smallest
    of ties' largest).

    Why this rule rather than SafeBayes: R-SafeBayes (Grünwald & van Ommen 2017) needs a
    posterior for every prefix of the data (one fit per demonstration per η), and its
    criterion — the posterior-expected log loss — rewards concentration, which is what makes
    the bounds fail. Calibrating posterior-predictive intervals on held-out demonstrations
    costs one fit per η (G fits) and targets the property a bound needs: the posterior's
    uncertainty should be as large as its errors on new data. Posterior-predictive p-values
    are conservative when the model is right (Meng 1994), so η = 1 passes then.

    Args:
        mdp: the MDP.
        demos: the N >= 2 demonstrations (the Boltzmann source is checked).
        learning_rates: the η grid, each in (0, 1]; default :data:`LEARNING_RATES`.
        heldout_fraction: share of demonstrations held out, in (0, 1).
        **fit_kwargs: as :func:`fit_weighted` (``likelihoods`` must include
            ``"boltzmann"``).

    Returns:
        :class:`LearningRateChoice`.

    Raises:
        ValueError: fewer than 2 demonstrations, no Boltzmann source, an η outside (0, 1],
            ``heldout_fraction`` outside (0, 1).
    """
    grid = _check_learning_rates(learning_rates)
    fraction = check_scalar(heldout_fraction, "heldout_fraction", low=0.0, high=1.0,
                            low_open=True, high_open=True)
    run = _prepare_from_kwargs(mdp, demos, fit_kwargs)
    return _select(run, demos, grid, fraction, run.settings.seed)


_FIT_DEFAULTS = dict(likelihoods=("boltzmann",), preferences=None, method="auto",
                     prior="gaussian", prior_scale=1.0, betas=None, q=None, maxent_horizon=None,
                     margin=None, feature_names=None, solver_kwargs=None)
_USER_KEYS = ("num_samples", "num_warmup", "num_chains", "thinning", "seed", "progress_bar",
              "chain_method", "kernel_kwargs")


def _prepare_from_kwargs(mdp, demos, fit_kwargs) -> _Run:
    unknown = sorted(set(fit_kwargs) - set(_FIT_DEFAULTS) - set(_USER_KEYS))
    if unknown:
        raise TypeError(f"unexpected keyword arguments {unknown}")
    model = {k: fit_kwargs.get(k, v) for k, v in _FIT_DEFAULTS.items()}
    user = _user(*(fit_kwargs.get(k, 0 if k == "seed" else (False if k == "progress_bar"
                                                               else None)) for k in _USER_KEYS))
    if demos is None or int(np.asarray(demos.states).shape[0]) < 2:
        raise ValueError("demos: choosing the learning rate on held-out demonstrations needs "
                         "at least 2 demonstrations")
    if "boltzmann" not in tuple(model["likelihoods"]):
        raise ValueError("likelihoods: the learning rate is chosen on the Boltzmann "
                         "likelihood of held-out demonstrations; include 'boltzmann' or pass "
                         "a number as learning_rate")
    return _prepare(mdp, model["likelihoods"], demos, model["preferences"], model["method"],
                    model["prior"], model["prior_scale"], model["betas"], model["q"],
                    model["maxent_horizon"], model["margin"], model["feature_names"],
                    model["solver_kwargs"], user)


def fit_tempered(
    mdp: MDP,
    *,
    demos: Demonstrations | None = None,
    learning_rate: float | str = "calibrated",
    learning_rates=LEARNING_RATES,
    heldout_fraction: float = 0.5,
    **fit_kwargs,
) -> _arviz.InferenceData:
    """The power (tempered) posterior ``p_η(w | D) ∝ p(w) p(D | w)^η``, η ∈ (0, 1].

    Raising the likelihood to η < 1 (Grünwald 2012, "The safe Bayesian"; Grünwald & van Ommen
    2017; Bissiri, Holmes & Walker 2016; Miller & Dunson 2019's coarsened posterior is
    approximately one) makes the evidence count as ηN observations: the posterior keeps the
    same centre but is about 1/√η wider, and it is consistent under misspecification where
    the plain posterior (η = 1) can concentrate on a wrong reward.

    Args:
        mdp: the MDP.
        demos: the demonstrations.
        learning_rate: η in (0, 1], or ``"calibrated"``: chosen by
            :func:`select_learning_rate` on held-out demonstrations (then the posterior is
            fitted on every demonstration with the chosen η).
        learning_rates, heldout_fraction: the grid and split of :func:`select_learning_rate`.
        **fit_kwargs: as :func:`fit_weighted` (``likelihoods``, ``preferences``, ``method``,
            ``prior``, ``betas``, ``num_samples``, ``seed``, ...).

    Returns:
        ``InferenceData`` with ``reward_weights`` (chain, draw, feature); ``posterior.attrs``:
        ``robust="tempered"``, ``learning_rate`` and, when calibrated,
        ``learning_rate_grid``, ``learning_rate_misses``, ``learning_rate_heldout`` (J) and
        ``learning_rate_max_misses``.

    Raises:
        ValueError / TypeError: η outside (0, 1] or not ``"calibrated"``; as
        :func:`select_learning_rate` and :func:`fit_weighted`.
    """
    if isinstance(learning_rate, str):
        if learning_rate != "calibrated":
            raise ValueError(f"learning_rate: expected a number in (0, 1] or 'calibrated', "
                             f"got {learning_rate!r}")
        grid = _check_learning_rates(learning_rates)
        fraction = check_scalar(heldout_fraction, "heldout_fraction", low=0.0, high=1.0,
                                low_open=True, high_open=True)
        run = _prepare_from_kwargs(mdp, demos, fit_kwargs)
        choice = _select(run, demos, grid, fraction, run.settings.seed)
        idata = _fit_one(run, None, choice.learning_rate, run.settings.seed)
        idata.posterior.attrs.update(
            robust="tempered", learning_rate=choice.learning_rate,
            learning_rate_grid=list(choice.learning_rates),
            learning_rate_misses=list(choice.misses), learning_rate_heldout=choice.num_heldout,
            learning_rate_max_misses=choice.max_misses)
        return idata
    idata = fit_weighted(mdp, demos=demos, learning_rate=learning_rate, **fit_kwargs)
    idata.posterior.attrs["robust"] = "tempered"
    return idata
