"""One entry point for inference: NUTS, random-walk Metropolis–Hastings, MAP, Laplace or SVI.

:func:`fit` runs any NumPyro model; :func:`fit_demonstrations` builds the Boltzmann IRL model
from an MDP and demonstrations and calls it. Both return ArviZ ``InferenceData``; the reward
weights are the posterior variable ``reward_weights`` with dims (chain, draw, feature).
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS, init_to_uniform

from bayesirl import _arviz
from bayesirl._deprecation import renamed_arguments
from bayesirl._validate import check_scalar
from bayesirl.data.demos import Demonstrations, check_demonstrations
from bayesirl.inference.fit_policy_walk import fit_policy_walk
from bayesirl.inference.laplace import fit_laplace
from bayesirl.inference.map import fit_boltzmann_map, fit_map
from bayesirl.inference.svi import fit_svi
from bayesirl.inference import predictive
from bayesirl.inference.random_walk_kernel import RandomWalkMH
from bayesirl.likelihoods import Q_KINDS, demonstration_pairs
from bayesirl.data.mdp import MDP
from bayesirl.models import SOURCES, Evidence, check_betas, check_prior, irl_model
from bayesirl.solvers.occupancy import empirical_feature_counts
from bayesirl.data.preferences import Preferences

__all__ = ["METHODS", "MH_DEFAULTS", "fit", "fit_evidence", "fit_demonstrations",
           "default_progress_bar"]

#: Inference methods accepted by :func:`fit`.
METHODS = ("nuts", "mh", "map", "laplace", "svi")
#: ``RandomWalkMH`` settings of ``fit(method="mh")`` unless ``kernel_kwargs`` overrides them:
#: a dense proposal covariance for up to 32 parameters (``DENSE_AUTO_MAX_DIM``). Polar
#: (sphere-native) proposals,
#: ``kernel_kwargs={"sphere_sites": ("reward_weights_raw",)}``, are not the default: on
#: Brown's 5×5 feature gridworld (L2-sphere prior, hard Q, β = 10) they gave a bulk ESS of
#: 40–70 per 2000 draws against 500–750 for the dense covariance on the latent z, whose
#: posterior is a ridge (one-hot features leave a constant shift unidentified) that an
#: isotropic step on the sphere cannot follow.
MH_DEFAULTS = {"dense_covariance": "auto"}
#: Variables of the IRL models and their dims (besides chain and draw).
DIMS = {
    "reward_weights": ["feature"],
    "reward_weights_raw": ["feature"],
    "scaled_reward_weights": ["feature"],
}


def default_progress_bar() -> bool:
    """True when stderr is a terminal: a default for command-line front ends.

    :func:`fit` itself follows NumPyro (a progress bar unless ``progress_bar=False``;
    NumPyro turns it off in CI).
    """
    return bool(sys.stderr.isatty())


def _chain_method(method: str, num_chains: int) -> str:
    if num_chains == 1:
        return "sequential"
    if jax.local_device_count() >= num_chains:
        return "parallel"
    # Vectorised NUTS waits for the longest tree in the batch; MH steps cost the same.
    return "vectorized" if method == "mh" else "sequential"


def fit(
    model,
    *model_args,
    method: str = "nuts",
    num_samples: int = 1000,
    num_warmup: int = 1000,
    num_chains: int = 4,
    thinning: int = 1,
    seed: int = 0,
    progress_bar: bool = True,
    chain_method: str | None = None,
    coords: dict | None = None,
    dims: dict | None = None,
    kernel_kwargs: dict | None = None,
    _observed_data: dict | None = None,
    **model_kwargs,
) -> _arviz.InferenceData:
    """Fit a NumPyro model by NUTS, random-walk MH or MAP and return ArviZ ``InferenceData``.

    * ``"nuts"``: ``numpyro.infer.NUTS`` (Hoffman & Gelman 2014) with step-size and diagonal
      mass adaptation during warm-up; needs a differentiable model (use soft Q).
    * ``"mh"``: :class:`~bayesirl.inference.random_walk.RandomWalkMH` (Metropolis–Hastings over the
      unconstrained parameters, step size and covariance adapted during warm-up); gradient-free,
      so it also suits hard-max Q. Default :data:`MH_DEFAULTS`: a dense proposal covariance up
      to 32 parameters.
    * ``"map"``: maximises the log posterior with scipy's L-BFGS-B on the jitted potential and
      its gradient, from ``num_chains`` random starts; the best is returned as a single draw
      (chain = 1, draw = 1). It is the mode in NumPyro's *unconstrained* space (the potential
      includes the log-Jacobian of transforms; identical to the constrained mode for the
      Gaussian/Laplace weight priors with β fixed).
    * ``"laplace"``: the MAP plus the inverse Hessian of the potential there, a Gaussian in
      the unconstrained space (:func:`~bayesirl.inference.laplace.fit_laplace`); C × M
      independent draws. Needs a differentiable model (soft Q).
    * ``"svi"``: NumPyro SVI with a full-rank Gaussian autoguide
      (:func:`~bayesirl.inference.svi.fit_svi`; ``kernel_kwargs`` may set ``num_steps`` and
      ``learning_rate``); C × M independent draws from the fitted guide.

    Chains run in parallel over JAX devices when ``jax.local_device_count() >= num_chains``
    (GPUs, or CPU host devices made with ``numpyro.set_host_device_count`` /
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before JAX starts).

    Args:
        model: a NumPyro model.
        model_args: positional arguments passed to the model.
        model_kwargs: keyword arguments passed to the model.
        method: one of :data:`METHODS`.
        num_samples: kept draws per chain (ignored by ``"map"``).
        num_warmup: warm-up (adaptation) iterations per chain, discarded.
        num_chains: C chains (MAP: random restarts).
        thinning: keep every ``thinning``-th draw, so a chain runs ``num_samples · thinning``
            iterations after warm-up (useful for MH, whose draws are strongly autocorrelated).
        seed: PRNG seed.
        progress_bar: show NumPyro's progress bar (NumPyro hides it in CI).
        chain_method: NumPyro's ``"sequential"``, ``"parallel"`` or ``"vectorized"``; default
            parallel when there are enough JAX devices, else vectorized for MH and sequential
            for NUTS.
        coords, dims: ArviZ coordinates and dims for the posterior variables.
        kernel_kwargs: passed to ``NUTS``, ``RandomWalkMH`` or (MAP) ``scipy.optimize.minimize``
            options.

    Returns:
        ``InferenceData`` with groups ``posterior`` and ``sample_stats``; ``posterior.attrs``
        holds ``method``, ``num_chains``, ``num_warmup``, ``num_samples``, ``seed`` and
        ``sampling_time_s`` (wall time of warm-up and sampling, compilation included).

    Raises:
        ValueError: unknown ``method``, non-positive counts.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    num_samples = check_scalar(num_samples, "num_samples", low=1, integer=True)
    num_warmup = check_scalar(num_warmup, "num_warmup", low=0, integer=True)
    num_chains = check_scalar(num_chains, "num_chains", low=1, integer=True)
    thinning = check_scalar(thinning, "thinning", low=1, integer=True)
    seed = check_scalar(seed, "seed", low=0, integer=True)
    rng_key = jax.random.PRNGKey(seed)
    attrs = dict(method=method, num_chains=num_chains, num_warmup=num_warmup,
                 num_samples=num_samples, thinning=thinning, seed=seed)
    if method == "map":
        return fit_map(model, model_args, model_kwargs, rng_key=rng_key, num_restarts=num_chains,
                       coords=coords, dims=dims, attrs=attrs, options=kernel_kwargs)
    if method == "laplace":
        return fit_laplace(model, model_args, model_kwargs, rng_key=rng_key,
                           num_samples=num_samples, num_chains=num_chains, coords=coords,
                           dims=dims, attrs=attrs, options=kernel_kwargs)
    if method == "svi":
        return fit_svi(model, model_args, model_kwargs, rng_key=rng_key, num_samples=num_samples,
                       num_chains=num_chains, coords=coords, dims=dims, attrs=attrs,
                       **(kernel_kwargs or {}))
    kernel_kwargs = dict(kernel_kwargs or {})
    if method == "nuts":
        kernel = NUTS(model, init_strategy=init_to_uniform(radius=1.0), **kernel_kwargs)
        extra = ("diverging", "accept_prob", "num_steps", "potential_energy")
    else:
        kernel_kwargs = {**MH_DEFAULTS, **kernel_kwargs}
        kernel = RandomWalkMH(model, init_strategy=init_to_uniform(radius=1.0), **kernel_kwargs)
        extra = ("diverging", "accept_prob", "potential_energy")
    mcmc = MCMC(
        kernel,
        num_warmup=num_warmup,
        num_samples=num_samples * thinning,
        num_chains=num_chains,
        thinning=thinning,
        chain_method=chain_method or _chain_method(method, num_chains),
        progress_bar=progress_bar,
    )
    start = time.perf_counter()
    mcmc.run(rng_key, *model_args, extra_fields=extra, **model_kwargs)
    jax.block_until_ready(mcmc.get_samples())
    elapsed = time.perf_counter() - start
    idata = _mcmc_idata(mcmc, coords, dims, _observed_data)
    idata.posterior.attrs.update(attrs, sampling_time_s=elapsed,
                                 chain_method=mcmc.chain_method)
    return idata


#: ArviZ's names of NumPyro's per-draw fields (as ``az.from_numpyro`` writes them).
_STAT_NAMES = {"potential_energy": "lp", "num_steps": "n_steps", "accept_prob": "acceptance_rate"}


def _mcmc_idata(mcmc, coords, dims, observed_data):
    """InferenceData of a finished ``MCMC``: ``posterior``, ``sample_stats`` (ArviZ's names:
    ``lp`` = −potential energy, ``n_steps``, ``tree_depth``, ``acceptance_rate``) and, when
    ``observed_data`` is given, that group. With ``observed_data=None`` ArviZ's
    ``from_numpyro`` finds the observations by running the model once more (eagerly: ~30
    small compilations), which the IRL models avoid by passing their data."""
    if observed_data is None:
        return _arviz.from_numpyro(mcmc, coords=coords, dims=dims)
    stats = {}
    for name, value in mcmc.get_extra_fields(group_by_chain=True).items():
        if isinstance(value, (dict, tuple)):
            continue
        value = np.asarray(value)
        stats[_STAT_NAMES.get(name, name)] = -value if name == "potential_energy" else value
        if name == "num_steps":
            stats["tree_depth"] = np.log2(value).astype(int) + 1
    idata = _arviz.from_draws(mcmc.get_samples(group_by_chain=True), coords=coords, dims=dims,
                              sample_stats=stats)
    return _arviz.with_groups(idata, observed_data=observed_data) if observed_data else idata


def _uses_warm_map(evidence, prior, betas, q, fit_kwargs) -> bool:
    """True when ``method="map"`` can run the warm-started MAP: Boltzmann evidence only, a
    Gaussian prior, a fixed β, soft or hard Q, and no ``kernel_kwargs={"warm_start": False}``
    (the key is removed from ``fit_kwargs["kernel_kwargs"]`` either way)."""
    options = dict(fit_kwargs.get("kernel_kwargs") or {})
    warm = options.pop("warm_start", True)
    if "kernel_kwargs" in fit_kwargs:
        fit_kwargs["kernel_kwargs"] = options
    beta = betas.get("boltzmann", 1.0)
    return (bool(warm) and evidence.sources() == ("boltzmann",) and prior == "gaussian"
            and not isinstance(beta, dist.Distribution) and q in ("soft", "hard"))


def _fit_warm_map(mdp, pairs, coords, *, prior_scale, beta, q, solver_kwargs, num_samples=1000,
                  num_warmup=1000, num_chains=4, thinning=1, seed=0, progress_bar=True,
                  chain_method=None, kernel_kwargs=None):
    """``fit(irl_model, ..., method="map")`` by :func:`~bayesirl.inference.map.fit_boltzmann_map`:
    the same arguments checks, random starts, target and ``InferenceData`` layout."""
    del progress_bar, chain_method  # accepted and ignored, as by fit(method="map")
    check_scalar(num_samples, "num_samples", low=1, integer=True)
    num_warmup = check_scalar(num_warmup, "num_warmup", low=0, integer=True)
    num_chains = check_scalar(num_chains, "num_chains", low=1, integer=True)
    thinning = check_scalar(thinning, "thinning", low=1, integer=True)
    seed = check_scalar(seed, "seed", low=0, integer=True)
    attrs = dict(method="map", num_chains=num_chains, num_warmup=num_warmup, num_samples=1,
                 thinning=thinning, seed=seed)
    return fit_boltzmann_map(mdp, pairs, prior_scale=prior_scale, beta=beta, q=q,
                             solver_kwargs=solver_kwargs, rng_key=jax.random.PRNGKey(seed),
                             num_restarts=num_chains, coords=coords, dims=DIMS, attrs=attrs,
                             options=kernel_kwargs)


@renamed_arguments(delta="margin")
def fit_evidence(
    mdp: MDP,
    *,
    likelihoods=("boltzmann",),
    demos: Demonstrations | None = None,
    preferences: tuple[Demonstrations, Preferences] | None = None,
    method: str = "nuts",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    betas: dict | None = None,
    q: str = "soft",
    maxent_horizon: int | None = None,
    margin: float = 0.0,
    predictive_groups: bool | None = None,
    feature_names=None,
    solver_kwargs: dict | None = None,
    **fit_kwargs,
) -> _arviz.InferenceData:
    """Posterior over reward weights from any combination of evidence sources.

    Builds :func:`~bayesirl.models.irl_model` — shared weights, one likelihood per source,
    each with its own rationality β — and runs :func:`fit`.

    Args:
        mdp: the MDP.
        likelihoods: names from :data:`~bayesirl.models.SOURCES`: ``"boltzmann"`` and/or
            ``"maxent"`` (need ``demos``), ``"bradley-terry"`` (needs ``preferences``).
        demos: expert demonstrations.
        preferences: ``(trajectories, comparisons)`` as returned by
            :func:`~bayesirl.data.preferences.load_preferences` or
            :func:`~bayesirl.data.preferences.synthetic_preferences`.
        method: ``"nuts"``, ``"mh"``, ``"map"``, ``"laplace"`` or ``"svi"``. ``"map"`` with
            Boltzmann evidence only, a Gaussian prior, a fixed β and soft or hard Q runs the
            warm-started MAP (:func:`~bayesirl.inference.map.fit_boltzmann_map`: each MDP
            solve starts from the previous evaluation's values; same starts, optimum and
            ``InferenceData`` layout as :func:`fit`'s MAP, 2.7× faster at 10^5 states);
            ``kernel_kwargs={"warm_start": False}`` forces the generic NumPyro-potential MAP.
        prior, prior_scale: prior over the weights.
        betas: ``{source: β}`` fixed numbers or NumPyro distributions (learned); default 1.
        q: soft or hard Q for the Boltzmann source.
        maxent_horizon: T for finite-horizon MaxEnt (None: discounted).
        margin: indifference margin δ of the weak-preference model (needed > 0 when labels
            include "equal"; ``delta``: deprecated alias).
        predictive_groups: add the ``log_likelihood``, ``posterior_predictive``,
            ``observed_data`` and ``constant_data`` groups
            (:func:`~bayesirl.inference.predictive.add_predictive_groups`; one extra model
            evaluation per draw); default on unless MAP or more than
            :data:`~bayesirl.inference.predictive.DEFAULT_MAX_VALUES` values.
        feature_names: F labels for the ``feature`` coordinate.
        solver_kwargs: solver tolerances.
        **fit_kwargs: see :func:`fit`.

    Returns:
        ``InferenceData`` with ``reward_weights`` (chain, draw, feature) and the learned β's.

    Raises:
        ValueError / TypeError: unknown or duplicated likelihood names, a source without its
        data, bad priors / β's, "equal" labels with margin 0, data that do not fit the MDP.
    """
    names = [likelihoods] if isinstance(likelihoods, str) else list(likelihoods)
    bad = [n for n in names if n not in SOURCES]
    if bad or not names or len(set(names)) != len(names):
        raise ValueError(f"likelihoods: expected distinct names from {SOURCES}, got {names}")
    if q not in Q_KINDS:
        raise ValueError(f"q: expected one of {Q_KINDS}, got {q!r}")
    check_scalar(prior_scale, "prior_scale", low=0.0, low_open=True)
    check_scalar(margin, "margin", low=0.0)
    if maxent_horizon is not None:
        check_scalar(maxent_horizon, "maxent_horizon", low=1, integer=True)
    if ("boltzmann" in names or "maxent" in names) and demos is None:
        raise ValueError("demos: the boltzmann and maxent likelihoods need demonstrations")
    if "bradley-terry" in names and preferences is None:
        raise ValueError("preferences: the bradley-terry likelihood needs preferences")
    parts = {}
    if demos is not None and ("boltzmann" in names or "maxent" in names):
        check_demonstrations(mdp, demos)
        pairs = demonstration_pairs(mdp, demos)
        if "boltzmann" in names:
            parts["boltzmann"] = pairs
        if "maxent" in names:
            if maxent_horizon is not None and demos.states.shape[1] > maxent_horizon:
                raise ValueError(f"maxent_horizon: demonstrations have {demos.states.shape[1]} "
                                 f"steps, more than the horizon {maxent_horizon}")
            parts["maxent"] = pairs
    if "bradley-terry" in names:
        trajectories, prefs = preferences
        check_demonstrations(mdp, trajectories)
        if margin == 0 and bool(np.any(np.asarray(prefs.label) == 2)):
            raise ValueError("margin: 'equal' answers need the weak-preference model, "
                             "margin > 0 (the command line's --delta)")
        if int(np.max(np.asarray(prefs.first))) >= trajectories.num_trajectories or int(
                np.max(np.asarray(prefs.second))) >= trajectories.num_trajectories:
            raise ValueError("preferences: a comparison refers to an unknown trajectory")
        parts["preference_features"] = empirical_feature_counts(mdp, trajectories)
        parts["preferences"] = prefs
    evidence = Evidence(**parts)
    betas = dict(betas or {})
    check_betas(prior, betas, evidence.sources())
    feature_names = list(range(mdp.num_features)) if feature_names is None else list(feature_names)
    if len(feature_names) != mdp.num_features:
        raise ValueError(f"feature_names: expected {mdp.num_features} names, got {len(feature_names)}")
    model_kwargs = dict(prior=prior, prior_scale=prior_scale, betas=betas, q=q,
                        maxent_horizon=maxent_horizon, margin=margin, solver_kwargs=solver_kwargs)
    observed = predictive.observed_data(evidence)
    coords = {"feature": feature_names}
    if method == "map" and _uses_warm_map(evidence, prior, betas, q, fit_kwargs):
        idata = _fit_warm_map(mdp, evidence.boltzmann, coords, prior_scale=prior_scale,
                              beta=float(betas.get("boltzmann", 1.0)), q=q,
                              solver_kwargs=solver_kwargs, **fit_kwargs)
    else:
        idata = fit(irl_model, mdp, evidence, method=method, coords=coords, dims=DIMS,
                    _observed_data=observed, **model_kwargs, **fit_kwargs)
    if predictive_groups is None:  # on where the size is reasonable (not for MAP's one draw)
        predictive_groups = method != "map" and predictive.predictive_size(
            idata, evidence) <= predictive.DEFAULT_MAX_VALUES
    if predictive_groups:
        idata = predictive.add_predictive_groups(idata, mdp, evidence,
                                                 seed=idata.posterior.attrs.get("seed", 0),
                                                 **model_kwargs)
    return idata


def fit_demonstrations(
    mdp: MDP,
    demos: Demonstrations,
    *,
    method: str = "nuts",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    beta=1.0,
    q: str = "soft",
    feature_names=None,
    solver_kwargs: dict | None = None,
    **fit_kwargs,
) -> _arviz.InferenceData:
    """Posterior over reward weights from demonstrations of a Boltzmann-rational expert.

    :func:`fit_evidence` with the Boltzmann likelihood only (Ramachandran & Amir 2007), or,
    with ``method="policy_walk"``, the fast exact PolicyWalk sampler of that posterior
    (:func:`~bayesirl.inference.fit_policy_walk.fit_policy_walk`: hard Q, a sphere prior and
    a fixed β only; ``fit_kwargs`` may then also hold its sampler settings and
    ``predictive_groups``, not ``progress_bar``/``chain_method``/``kernel_kwargs``).

    Args:
        mdp: the MDP.
        demos: the demonstrations (pairs in terminal states are skipped).
        method: ``"nuts"``, ``"mh"``, ``"map"``, ``"laplace"``, ``"svi"`` or
            ``"policy_walk"``. ``"map"`` with a Gaussian prior and a fixed β is the
            warm-started MAP (see :func:`fit_evidence`; opt out with
            ``kernel_kwargs={"warm_start": False}``).
        prior, prior_scale, beta, q, solver_kwargs: see
            :func:`~bayesirl.models.boltzmann_irl_model`.
        feature_names: F labels for the ``feature`` coordinate; default 0 … F−1.
        **fit_kwargs: ``num_samples``, ``num_warmup``, ``num_chains``, ``thinning``, ``seed``,
            ``progress_bar``, ``chain_method``, ``kernel_kwargs`` (see :func:`fit`).

    Returns:
        ``InferenceData`` whose posterior has ``reward_weights`` (chain, draw, feature) and,
        when learned, ``beta``.

    Raises:
        ValueError / TypeError: bad prior/β/q combination, demonstrations that do not fit the
        MDP, no usable pairs.
    """
    if method == "policy_walk":
        fit_kwargs.pop("progress_bar", None)  # no progress bar: one compiled scan
        if solver_kwargs:
            raise ValueError("solver_kwargs: method 'policy_walk' solves by cached policy "
                             "iteration; pass its tol/max_rounds instead, got "
                             f"{solver_kwargs!r}")
        return fit_policy_walk(mdp, demos, beta=beta, prior=prior, q=q,
                               feature_names=feature_names, **fit_kwargs)
    check_prior(prior, beta)
    return fit_evidence(mdp, likelihoods=("boltzmann",), demos=demos, method=method, prior=prior,
                        prior_scale=prior_scale, betas={"boltzmann": beta}, q=q,
                        feature_names=feature_names, solver_kwargs=solver_kwargs, **fit_kwargs)
