"""One entry point for inference over reward posteriors, and one for any NumPyro model.

* :func:`fit_reward` — the posterior of :func:`bayesirl.models.reward_model` for any evidence
  (:class:`~bayesirl.likelihoods.registry.Evidence`), with or without an MDP, by any sampler of
  the registry (:data:`~bayesirl.inference.samplers.SAMPLERS`) or ``method="auto"``
  (:mod:`bayesirl.inference.auto`); diagnoses the draws and warns like the command line.
* :func:`fit_evidence`, :func:`fit_demonstrations`, :func:`fit_trajectories` — the same from
  demonstrations, preferences and trajectory features, building the evidence first.
* :func:`fit` — any NumPyro model by a generic sampler (NUTS, the random walk, MAP, Laplace,
  SVI).

All return ArviZ ``InferenceData``; the reward weights are the posterior variable
``reward_weights`` with dims (chain, draw, feature). The defaults of every sampler (draws,
warm-up, thinning, chains) are the registry's, shared with the command line.
"""

from __future__ import annotations

import sys
import warnings

import jax
import numpy as np

from bayesirl import _arviz
from bayesirl._deprecation import renamed_arguments
from bayesirl._validate import check_scalar
from bayesirl.analysis.diagnostics import diagnose, diagnostics_warning
from bayesirl.data.demos import Demonstrations
from bayesirl.data.mdp import MDP
from bayesirl.data.preferences import Preferences
from bayesirl.data.trajectories import Trajectories
from bayesirl.inference import predictive
from bayesirl.inference.auto import Choice, PrecisionWarning, choose_sampler, precision_reason
from bayesirl.inference.samplers import (
    HIERARCHY_NUTS_LENGTHS,
    SAMPLERS,
    Problem,
    canonical_name,
    check_supported,
    get_sampler,
    resolve_settings,
)
from bayesirl.likelihoods import Q_KINDS
from bayesirl.likelihoods.bradley_terry import default_margin
from bayesirl.likelihoods.sample_maxent import (
    MIN_ESS_FRACTION,
    check_importance_ess,
    importance_ess,
)
from bayesirl.likelihoods.registry import Evidence
from bayesirl.likelihoods.source import EvidenceInputs
from bayesirl.models import (
    beta_site,
    build_evidence,
    check_betas,
    check_prior,
)

__all__ = ["METHODS", "fit", "fit_reward", "fit_evidence", "fit_demonstrations",
           "fit_trajectories", "default_progress_bar"]

#: Inference methods: ``"auto"`` and every registered sampler.
METHODS = ("auto",) + tuple(SAMPLERS)


def default_progress_bar() -> bool:
    """True when stderr is a terminal: a default for command-line front ends.

    :func:`fit` itself shows a progress bar unless ``progress_bar=False``.
    """
    return bool(sys.stderr.isatty())


def fit(
    model,
    *model_args,
    method: str = "nuts",
    num_samples: int | None = None,
    num_warmup: int | None = None,
    num_chains: int | None = None,
    thinning: int | None = None,
    seed: int = 0,
    progress_bar: bool = True,
    chain_method: str | None = None,
    coords: dict | None = None,
    dims: dict | None = None,
    kernel_kwargs: dict | None = None,
    _observed_data: dict | None = None,
    **model_kwargs,
) -> _arviz.InferenceData:
    """Fit a NumPyro model by NUTS, random-walk MH, MAP, Laplace or SVI.

    * ``"nuts"``: NumPyro's NUTS (Hoffman & Gelman 2014) with step-size and diagonal mass
      adaptation during warm-up; needs a differentiable model (use soft Q).
    * ``"mh"``: the adaptive random walk of :mod:`bayesirl.inference.random_walk`
      (Metropolis–Hastings over the unconstrained parameters, step size and covariance adapted
      during warm-up; a dense covariance up to 32 parameters); gradient-free.
    * ``"map"``: L-BFGS-B on the potential from ``num_chains`` random starts; the best is
      returned as a single draw (the mode in NumPyro's *unconstrained* space).
    * ``"laplace"``: the MAP plus the inverse Hessian there; C × M independent draws.
    * ``"svi"``: NumPyro SVI with a full-rank Gaussian guide (``kernel_kwargs`` may set
      ``num_steps`` and ``learning_rate``).

    NUTS and the random walk run as one compiled program whose array arguments are the
    model's array arguments: another fit of the same model with data of the same shapes does
    not recompile (:mod:`bayesirl.inference.engine`). Chains run in parallel over JAX devices
    when ``jax.local_device_count() >= num_chains``.

    Args:
        model: a NumPyro model.
        model_args, model_kwargs: its arguments (array leaves are traced; every other leaf
            must be hashable).
        method: ``"nuts"``, ``"mh"``, ``"map"``, ``"laplace"`` or ``"svi"``.
        num_samples, num_warmup, num_chains, thinning: default: the sampler's
            (:data:`~bayesirl.inference.samplers.SAMPLERS`; e.g. NUTS 500 / 500 / 4 / 1, the
            random walk 1000 / 20000 / 4 / 150).
        seed: PRNG seed.
        progress_bar: show a progress bar (NUTS and the random walk).
        chain_method: ``"parallel"``, ``"vectorized"`` or ``"sequential"``.
        coords, dims: ArviZ coordinates and dims for the posterior variables.
        kernel_kwargs: NUTS or random-walk options, scipy options (MAP), SVI steps.

    Returns:
        ``InferenceData`` with groups ``posterior`` and ``sample_stats``; ``posterior.attrs``
        holds ``method``, ``num_chains``, ``num_warmup``, ``num_samples``, ``thinning``,
        ``seed`` and ``sampling_time_s`` (compilation included).

    Raises:
        ValueError: unknown ``method`` or one that needs a reward posterior, non-positive counts.
    """
    sampler = get_sampler(method)
    if sampler.run_model is None:
        raise ValueError(f"method: {sampler.name} samples reward posteriors only; use "
                         f"fit_reward / fit_demonstrations, or one of "
                         f"{[n for n, s in SAMPLERS.items() if s.run_model is not None]}")
    settings = resolve_settings(sampler, None, num_samples=num_samples, num_warmup=num_warmup,
                                num_chains=num_chains, thinning=thinning, seed=seed,
                                progress_bar=progress_bar, chain_method=chain_method,
                                kernel_kwargs=kernel_kwargs)
    idata = sampler.run_model(model, model_args, model_kwargs, settings, coords, dims)
    if _observed_data:
        idata = _arviz.with_groups(idata, observed_data=_observed_data)
    return idata


def check_model_settings(prior, prior_scale, betas, q, margin, maxent_horizon, sources):
    """Validate the model settings of a fit (ValueError/TypeError naming the argument)."""
    if q is not None and q not in Q_KINDS:
        raise ValueError(f"q: expected one of {Q_KINDS}, got {q!r}")
    check_scalar(prior_scale, "prior_scale", low=0.0, low_open=True)
    check_scalar(margin, "margin", low=0.0)
    if maxent_horizon is not None:
        check_scalar(maxent_horizon, "maxent_horizon", low=1, integer=True)
    check_betas(prior, betas, sources)


def _check_epsilon_option(epsilon, sources):
    """ε checked (:func:`~bayesirl.likelihoods.noisy_boltzmann.check_epsilon`); refused when
    no source of the model reads it."""
    from bayesirl.likelihoods.noisy_boltzmann import check_epsilon
    from bayesirl.likelihoods.registry import SOURCES

    epsilon = check_epsilon(epsilon)
    if epsilon is not None and not any("epsilon" in SOURCES[s].options for s in sources):
        raise ValueError(f"epsilon: only the noisy-boltzmann likelihood reads it; the "
                         f"likelihoods are {', '.join(sources)}")
    return epsilon


#: Samplers refused with per-person weights: the joint mode of (w̄, τ, z) is not where the
#: posterior mass is (on a 30-person panel the mode put the population sd of a weight at 2.5,
#: NUTS at 0.56 [0.19, 0.97] around the truth 0.8), so a MAP and a Laplace approximation at it
#: are confidently wrong.
HIERARCHY_REFUSED_SAMPLERS = ("map", "laplace", "laplace-imh")


def _check_hierarchy_option(hierarchy, evidence: Evidence, num_features: int,
                            method: str = "auto"):
    """The validated :class:`~bayesirl.likelihoods.luce.Hierarchy` (or None); ValueError
    without choice evidence, or with a sampler of :data:`HIERARCHY_REFUSED_SAMPLERS`."""
    if hierarchy is None:
        return None
    from bayesirl.likelihoods.luce import Hierarchy

    if "choice" not in evidence:
        raise ValueError("hierarchy: per-person weights need choice evidence (the 'choice' "
                         f"source), got sources {list(evidence.sources())}")
    if method in HIERARCHY_REFUSED_SAMPLERS:
        raise ValueError(f"method: {method} is not offered with per-person weights: the joint "
                         "mode of a hierarchical model lies away from its posterior mass (the "
                         "person scales come out far too large); use nuts, or svi as the fast "
                         "option")
    if not isinstance(hierarchy, Hierarchy):
        raise TypeError(f"hierarchy: expected a Hierarchy (bayesirl.likelihoods.luce), got "
                        f"{type(hierarchy).__name__}")
    return Hierarchy.checked(hierarchy.features, num_features, hierarchy.scale,
                             hierarchy.concentration)


def _name_person_dims(idata, random_names: list) -> None:
    """Name the dims of the per-person sites: ``random_feature`` (R, labelled by the varying
    features' names) and ``person`` (I); add ``person_correlation`` (the R(R − 1)/2
    correlations, dim ``random_feature_pair``), whose mixing the diagnostics check instead of
    its Cholesky factor's (in place)."""
    post = idata.posterior
    rename = {}
    for var, dims in (("person_scales", ("random_feature",)),
                      ("person_z", ("person", "random_feature"))):
        if var in post:
            rename.update({old: new for old, new in zip(post[var].dims[2:], dims)
                           if old != new})
    post = post.rename_dims(rename) if rename else post
    post = post.assign_coords(random_feature=[str(n) for n in random_names])
    if "person_correlation_cholesky" in post:  # the correlations, checked instead of L
        chol = np.asarray(post["person_correlation_cholesky"])
        corr = chol @ np.swapaxes(chol, -1, -2)
        i, j = np.triu_indices(corr.shape[-1], 1)
        pairs = [f"{random_names[a]}~{random_names[b]}" for a, b in zip(i, j)]
        post = post.assign(person_correlation=(("chain", "draw", "random_feature_pair"),
                                               corr[..., i, j]))
        post = post.assign_coords(random_feature_pair=pairs)
        derived = list(np.atleast_1d(post.attrs.get("derived_variables", ())).tolist())
        post.attrs["derived_variables"] = derived + ["person_correlation_cholesky"]
    idata.posterior = post


def _choose(method: str, problem: Problem, q: str | None) -> Choice:
    if method == "auto":
        return choose_sampler(problem, q)
    name = canonical_name(method)
    q_used = q or ("hard" if name == "policy-walk" else "soft")
    return Choice(name, q_used, 0, "chosen by the caller", None)


def fit_reward(
    evidence: Evidence,
    mdp: MDP | None = None,
    *,
    method: str = "auto",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    betas: dict | None = None,
    q: str | None = None,
    maxent_horizon: int | None = None,
    margin: float = 0.0,
    solver_kwargs: dict | None = None,
    epsilon=None,
    hierarchy=None,
    feature_names=None,
    predictive_groups: bool | None = None,
    num_samples: int | None = None,
    num_warmup: int | None = None,
    num_chains: int | None = None,
    thinning: int | None = None,
    seed: int = 0,
    progress_bar: bool = False,
    chain_method: str | None = None,
    kernel_kwargs: dict | None = None,
    retry: bool = True,
    warn: bool = True,
    min_ess_fraction: float = MIN_ESS_FRACTION,
) -> _arviz.InferenceData:
    """The posterior over reward weights of :func:`~bayesirl.models.reward_model`.

    Args:
        evidence: the data of each evidence source (:func:`~bayesirl.models.build_evidence`).
        mdp: the MDP (needed by the Boltzmann and MaxEnt sources), or None.
        method: ``"auto"`` (:func:`~bayesirl.inference.auto.choose_sampler`; the choice and
            its reason are in ``posterior.attrs["sampler_reason"]``) or a registered sampler
            (:data:`~bayesirl.inference.samplers.SAMPLERS`).
        prior, prior_scale: prior over the weights.
        betas: ``{source: β}`` fixed numbers or NumPyro distributions (learned); default 1.
        q: ``"soft"`` or ``"hard"`` Q of the Boltzmann source; None: soft, unless the sampler
            is PolicyWalk (the hard-Q BIRL posterior).
        maxent_horizon: T of the finite-horizon MaxEnt model (None: discounted).
        margin: indifference margin δ >= 0 of weak preferences.
        solver_kwargs: tolerances of the discounted solvers.
        epsilon: the contamination ε of the ``noisy-boltzmann`` source: None (learned, prior
            Beta(1, 9); posterior variable ``epsilon``), a fixed number in [0, 1], or a NumPyro
            distribution on [0, 1] (its prior).
        hierarchy: per-person weights of the ``choice`` source around the population mean
            ``reward_weights`` (a :class:`~bayesirl.likelihoods.luce.Hierarchy`; posterior
            variables ``person_scales``, ``person_correlation_cholesky``, ``person_z``), or
            None (one reward for everyone).
        feature_names: F labels of the ``feature`` coordinate (default 0 … F−1).
        predictive_groups: add ``log_likelihood``, ``posterior_predictive``,
            ``observed_data`` and ``constant_data``
            (:func:`~bayesirl.inference.predictive.add_predictive_groups`); default on unless
            MAP or more than :data:`~bayesirl.inference.predictive.DEFAULT_MAX_VALUES` values
            (then the log-likelihood alone, for PSIS-LOO, up to
            :data:`~bayesirl.inference.predictive.MAX_LOG_LIKELIHOOD_VALUES` values).
        num_samples, num_warmup, num_chains, thinning: default: the sampler's.
        seed: PRNG seed of inference.
        progress_bar: show a progress bar.
        chain_method: ``"parallel"``, ``"vectorized"`` or ``"sequential"``.
        kernel_kwargs: sampler-specific options.
        retry: with ``method="auto"``, when the diagnostics fail, run the rule's fallback once
            (``posterior.attrs["retried_from"]`` names the first sampler).
        warn: emit a :class:`~bayesirl.analysis.diagnostics.DiagnosticsWarning` when R-hat,
            ESS, divergences or the acceptance rate fail (also recorded in
            ``posterior.attrs["diagnostics_problems"]``).
        min_ess_fraction: with sample-based MaxEnt evidence, warn when the median ESS of the
            importance weights is below this fraction of the background.

    Returns:
        ``InferenceData`` with ``reward_weights`` (chain, draw, feature), the learned β's and,
        with sample-based MaxEnt evidence, ``importance_ess`` (chain, draw);
        ``posterior.attrs``: ``method``, ``sources``, ``q``, ``sampler_rule``,
        ``sampler_reason``, the sampler's settings and ``sampling_time_s``.

    Raises:
        ValueError / TypeError: bad settings, a sampler that cannot sample this posterior.

    Warns:
        DiagnosticsWarning: the draws fail a diagnostic (see ``warn``).
        ImportanceWeightWarning: sample-based MaxEnt's importance weights collapsed.
    """
    if not isinstance(evidence, Evidence):
        raise TypeError(f"evidence: expected an Evidence, got {type(evidence).__name__}")
    if not evidence.sources():
        raise ValueError("evidence: expected at least one source of evidence, got none")
    betas = dict(betas or {})
    check_model_settings(prior, prior_scale, betas, q, margin, maxent_horizon, evidence.sources())
    epsilon = _check_epsilon_option(epsilon, evidence.sources())
    num_features = mdp.num_features if mdp is not None else evidence.num_features
    names = list(range(num_features)) if feature_names is None else list(feature_names)
    if len(names) != num_features:
        raise ValueError(f"feature_names: expected {num_features} names, got {len(names)}")
    hierarchy = _check_hierarchy_option(hierarchy, evidence, num_features,
                                        canonical_name(method) if method != "auto" else method)
    options = dict(q=q or "soft", maxent_horizon=maxent_horizon, margin=float(margin),
                   solver_kwargs=solver_kwargs, epsilon=epsilon, hierarchy=hierarchy)
    problem = Problem(evidence, mdp, prior, float(prior_scale), betas, options, names)
    precision = precision_reason(problem)
    if precision and not jax.config.jax_enable_x64:
        warnings.warn(f"computing in float32 although {precision}; enable float64 before "
                      "building the MDP: jax.config.update('jax_enable_x64', True)",
                      PrecisionWarning, stacklevel=2)
    choice = _choose(method, problem, q)
    if hierarchy is not None and choice.sampler == "nuts":
        num_samples = num_samples or HIERARCHY_NUTS_LENGTHS["num_samples"]
        num_warmup = HIERARCHY_NUTS_LENGTHS["num_warmup"] if num_warmup is None else num_warmup
    user = dict(num_samples=num_samples, num_warmup=num_warmup, num_chains=num_chains,
                thinning=thinning, seed=seed, progress_bar=progress_bar,
                chain_method=chain_method, kernel_kwargs=kernel_kwargs)
    idata, diag = _run(problem, choice, user)
    if method == "auto" and retry and choice.fallback and diag is not None and diag.problems:
        first = choice
        choice = Choice(choice.fallback, choice.q, choice.rule,
                        f"{first.sampler}'s diagnostics failed ({diag.problems[0]}); retried "
                        f"with {choice.fallback}", None)
        idata, diag = _run(problem, choice, user)
        idata.posterior.attrs["retried_from"] = first.sampler
    if hierarchy is not None:  # what person_weights needs to rebuild each person's weights
        _name_person_dims(idata, [names[i] for i in hierarchy.features])
        idata.posterior.attrs.update(
            hierarchy_features=list(hierarchy.features), hierarchy_scale=hierarchy.scale,
            hierarchy_concentration=hierarchy.concentration)
    replicated = True
    if predictive_groups is None:
        size = predictive.predictive_size(idata, evidence) if SAMPLERS[
            choice.sampler].draws else None
        predictive_groups = size is not None and (
            size // 2 <= predictive.MAX_LOG_LIKELIHOOD_VALUES)
        replicated = size is not None and size <= predictive.DEFAULT_MAX_VALUES
    if predictive_groups:
        idata = predictive.add_predictive_groups(
            idata, mdp, evidence, seed=seed, posterior_predictive_draws=replicated,
            **_problem_kwargs(problem, choice))
    elif "observed_data" not in idata.groups():
        observed = predictive.observed_data(evidence)
        if observed:
            idata = _arviz.with_groups(idata, observed_data=observed)
    if "sample-maxent" in evidence:
        _attach_importance_ess(idata, evidence, betas.get("sample-maxent", 1.0),
                               check_scalar(min_ess_fraction, "min_ess_fraction", low=0.0,
                                            high=1.0))
    if diag is not None and diag.problems:
        idata.posterior.attrs["diagnostics_problems"] = list(diag.problems)
        if warn and SAMPLERS[choice.sampler].draws:  # a MAP is a point by choice: no warning
            warnings.warn(diagnostics_warning(diag), _diagnostics_warning_class(), stacklevel=2)
    return idata


def _diagnostics_warning_class():
    from bayesirl.analysis.diagnostics import DiagnosticsWarning

    return DiagnosticsWarning


def _problem_kwargs(problem: Problem, choice: Choice) -> dict:
    kwargs = problem.model_kwargs()
    kwargs["q"] = choice.q
    return kwargs


def _run(problem: Problem, choice: Choice, user: dict):
    """Run the chosen sampler; returns ``(idata, Diagnostics or None for a point estimate)``."""
    sampler = SAMPLERS[choice.sampler]
    problem = problem._replace(options={**problem.options, "q": choice.q})
    check_supported(sampler, problem)
    settings = resolve_settings(sampler, problem, **user)
    idata = sampler.run(problem, settings)
    attrs = idata.posterior.attrs
    attrs.update(method=sampler.name, sources=list(problem.sources), q=choice.q,
                 sampler_rule=choice.rule, sampler_reason=choice.reason)
    if not sampler.draws:
        return idata, diagnose(idata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        diag = diagnose(idata, _checked_variables(idata))
    return idata, diag


def _checked_variables(idata) -> list[str]:
    """The variables whose mixing is checked: the reward weights, every β site, ε and the
    population standard deviations of per-person weights."""
    post = idata.posterior
    return ["reward_weights"] + [v for v in post.data_vars
                                 if v in ("beta", "epsilon", "person_scales")
                                 or v.startswith("beta_")]


def _attach_importance_ess(idata, evidence: Evidence, beta, min_fraction=MIN_ESS_FRACTION):
    post = idata.posterior
    w = np.asarray(post["reward_weights"])
    C, D, F = w.shape
    site = beta_site("sample-maxent", evidence.sources())
    beta = np.asarray(post[site]).reshape(-1) if site in post else float(beta)
    data = evidence["sample-maxent"]
    ess = np.asarray(importance_ess(w.reshape(-1, F), data.background_counts,
                                    data.background_log_probs, beta)).reshape(C, D)
    post["importance_ess"] = (("chain", "draw"), ess)
    K = int(data.background_counts.shape[0])
    post.attrs["num_background"] = K
    check_importance_ess(ess, K, min_fraction, stacklevel=5)


@renamed_arguments(delta="margin")
def fit_evidence(
    mdp: MDP,
    *,
    likelihoods=("boltzmann",),
    demos: Demonstrations | None = None,
    preferences: tuple[Demonstrations, Preferences] | None = None,
    rankings: tuple | None = None,
    method: str = "auto",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    betas: dict | None = None,
    q: str | None = None,
    maxent_horizon: int | None = None,
    margin: float | None = None,
    predictive_groups: bool | None = None,
    feature_names=None,
    solver_kwargs: dict | None = None,
    **fit_kwargs,
) -> _arviz.InferenceData:
    """Posterior over reward weights from any combination of evidence sources on an MDP.

    Builds the evidence (:func:`~bayesirl.models.build_evidence`) and runs :func:`fit_reward`.

    Args:
        mdp: the MDP.
        likelihoods: source names (:data:`bayesirl.models.SOURCES`): ``"boltzmann"``,
            ``"noisy-boltzmann"`` and/or ``"maxent"`` (need ``demos``), ``"bradley-terry"``
            (needs ``preferences``), ``"plackett-luce"`` (needs ``rankings``).
        demos: expert demonstrations.
        preferences: ``(trajectories, comparisons)`` as returned by
            :func:`~bayesirl.data.preferences.load_preferences` or
            :func:`~bayesirl.data.preferences.synthetic_preferences`.
        rankings: ``(trajectories, rankings)``: N trajectories (Demonstrations) and R rankings
            of them (:class:`~bayesirl.data.rankings.TrajectoryRankings` or R lists of indices
            best first), each ranking one Plackett–Luce observation.
        method, prior, prior_scale, betas, q, maxent_horizon: see :func:`fit_reward`.
            With ``"noisy-boltzmann"``, ``epsilon=`` (a keyword passed on to
            :func:`fit_reward`) fixes the contamination ε or sets its prior.
        predictive_groups, feature_names, solver_kwargs: see :func:`fit_reward`.
        margin: indifference margin δ >= 0 of weak preferences; default
            :func:`~bayesirl.likelihoods.bradley_terry.default_margin` (1 when the comparisons
            include "about equal" answers, else 0), as on the command line (``delta``:
            deprecated alias).
        **fit_kwargs: ``num_samples``, ``num_warmup``, ``num_chains``, ``thinning``, ``seed``,
            ``progress_bar``, ``chain_method``, ``kernel_kwargs``, ``retry``, ``warn``.

    Returns:
        ``InferenceData`` with ``reward_weights`` (chain, draw, feature) and the learned β's.

    Raises:
        ValueError / TypeError: unknown or duplicated likelihood names, a source without its
        data, bad priors / β's, "equal" labels with margin 0, data that do not fit the MDP.
    """
    trajs, prefs = preferences if preferences is not None else (None, None)
    if margin is None:
        margin = default_margin(prefs)
    ranked, orders = rankings if rankings is not None else (None, None)
    inputs = EvidenceInputs(mdp=mdp, demonstrations=demos, preference_trajectories=trajs,
                            preferences=prefs, rankings=orders, ranking_trajectories=ranked)
    evidence = build_evidence(likelihoods, inputs, maxent_horizon=maxent_horizon, margin=margin)
    return fit_reward(evidence, mdp, method=method, prior=prior, prior_scale=prior_scale,
                      betas=betas, q=q, maxent_horizon=maxent_horizon, margin=margin,
                      solver_kwargs=solver_kwargs, feature_names=feature_names,
                      predictive_groups=predictive_groups, **fit_kwargs)


def fit_demonstrations(
    mdp: MDP,
    demos: Demonstrations,
    *,
    method: str = "auto",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    beta=1.0,
    q: str | None = None,
    feature_names=None,
    solver_kwargs: dict | None = None,
    **fit_kwargs,
) -> _arviz.InferenceData:
    """Posterior over reward weights from demonstrations of a Boltzmann-rational expert
    (Ramachandran & Amir 2007): :func:`fit_evidence` with the Boltzmann likelihood only.

    Args:
        mdp: the MDP.
        demos: the demonstrations (pairs in terminal states are skipped).
        method: ``"auto"`` or a sampler (``"policy-walk"``: the fast exact PolicyWalk sampler,
            hard Q, a sphere prior and a fixed β; ``"map"`` with a Gaussian prior and a fixed β
            warm-starts its solves).
        prior, prior_scale, beta, q, solver_kwargs: the model (see :func:`fit_reward`).
        feature_names: F labels for the ``feature`` coordinate; default 0 … F−1.
        **fit_kwargs: ``num_samples``, ``num_warmup``, ``num_chains``, ``thinning``, ``seed``,
            ``progress_bar``, ``chain_method``, ``kernel_kwargs``, ``predictive_groups``,
            ``retry``, ``warn``.

    Returns:
        ``InferenceData`` whose posterior has ``reward_weights`` (chain, draw, feature) and,
        when learned, ``beta``.

    Raises:
        ValueError / TypeError: bad prior/β/q combination, demonstrations that do not fit the
        MDP, no usable pairs.
    """
    check_prior(prior, beta)
    if method != "auto" and canonical_name(method) == "policy-walk" and solver_kwargs:
        raise ValueError("solver_kwargs: method 'policy-walk' solves by cached policy "
                         f"iteration; pass its tol/max_rounds instead, got {solver_kwargs!r}")
    return fit_evidence(mdp, likelihoods=("boltzmann",), demos=demos, method=method, prior=prior,
                        prior_scale=prior_scale, betas={"boltzmann": beta}, q=q,
                        feature_names=feature_names, solver_kwargs=solver_kwargs, **fit_kwargs)


def fit_trajectories(
    trajectories: Trajectories,
    *,
    preferences: Preferences | None = None,
    demonstrations=None,
    background=None,
    rankings=None,
    method: str = "auto",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    betas: dict | None = None,
    margin: float | None = None,
    **fit_kwargs,
) -> _arviz.InferenceData:
    """Posterior over linear reward weights from trajectory features, without an MDP.

    Bayesian REX (Brown et al., ICML 2020) for preferences, sample-based MaxEnt (Boularias et
    al. 2011) for demonstrations, Plackett–Luce (Plackett 1975) for rankings, or several in
    one posterior (shared w, one β per source).

    Args:
        trajectories: N trajectories (feature counts Φ (N, F)).
        preferences: comparisons over ``trajectories`` (Bradley–Terry / weak / rankings).
        demonstrations: (D,) ids of demonstrations for the sample-based MaxEnt likelihood.
        background: (K,) ids of background trajectories with sampling log-probabilities;
            default every non-demonstration trajectory.
        rankings: R rankings of ``trajectories`` (:class:`~bayesirl.data.rankings.
            TrajectoryRankings`, or R lists of ids best first), each ONE Plackett–Luce
            observation (the ``plackett-luce`` source; e.g.
            :func:`~bayesirl.data.rollouts.rank_by_noise` for a D-REX ladder).
        method: ``"auto"`` or a sampler.
        prior, prior_scale: prior over w (see :func:`~bayesirl.models.sample_reward_weights`).
        betas: ``{"bradley-terry" | "sample-maxent" | "plackett-luce": β}``, numbers or NumPyro
            distributions.
        margin: weak-preference margin δ >= 0; needed > 0 when labels include "equal";
            default :func:`~bayesirl.likelihoods.bradley_terry.default_margin` (1 with
            "equal" answers, else 0), as on the command line.
        **fit_kwargs: see :func:`fit_reward`. With ``method="mh"``, the L2-sphere prior and
            more than 32 features the random walk moves the direction by polar steps.

    Returns:
        ``InferenceData``: ``reward_weights`` (chain, draw, feature), learned β's, and with
        demonstrations ``importance_ess`` (chain, draw); ``posterior.attrs["sources"]``.

    Warns:
        ImportanceWeightWarning: the importance weights collapsed (median ESS below 1 % of K).

    Raises:
        TypeError: ``trajectories`` is not a :class:`Trajectories`.
        ValueError: no evidence, bad ids, "equal" labels with ``margin = 0``, a background
            without log-probabilities, bad prior/β, and as :func:`fit_reward`.
    """
    if not isinstance(trajectories, Trajectories):
        raise TypeError(f"trajectories: expected a Trajectories, got {type(trajectories).__name__}")
    if margin is None:
        margin = default_margin(preferences)
    margin = float(check_scalar(margin, "margin", low=0.0))
    if preferences is None and demonstrations is None and rankings is None:
        raise ValueError("preferences, demonstrations, rankings: expected at least one source of "
                         "evidence")
    if demonstrations is None and background is not None:
        raise ValueError("background: background trajectories need demonstrations")
    names = (["bradley-terry"] if preferences is not None else []) + (
        ["sample-maxent"] if demonstrations is not None else []) + (
        ["plackett-luce"] if rankings is not None else [])
    inputs = EvidenceInputs(trajectories=trajectories, preferences=preferences,
                            demonstration_ids=demonstrations, background_ids=background,
                            rankings=rankings)
    evidence = build_evidence(names, inputs, margin=margin)
    feature_names = trajectories.feature_names or list(range(trajectories.num_features))
    return fit_reward(evidence, None, method=method, prior=prior, prior_scale=prior_scale,
                      betas=betas, margin=margin, feature_names=list(feature_names),
                      **fit_kwargs)

