"""The registry of samplers: name → how to run it, its defaults, what it supports.

Every inference method of the package is one :class:`Sampler` entry here, read by
:func:`bayesirl.inference.fit.fit` and :func:`~bayesirl.inference.fit.fit_reward`, the
configuration and the command line's ``--sampler``, simulation-based calibration and the docs.
The defaults of an entry are those of the Python API and of the command line alike.

A sampler runs a :class:`Problem` — the posterior of :func:`bayesirl.models.reward_model`
for some evidence, MDP and model settings — with :class:`Settings` (draws, chains, seed, ...).
Generic samplers (NUTS, the random walk, MAP, Laplace, SVI) also run any NumPyro model
(``run_model``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayesirl import _arviz
from bayesirl.inference.engine import sample_model
from bayesirl.models import SPHERE_PRIORS, reward_model
from bayesirl.likelihoods.registry import policy_sources

__all__ = ["DIMS", "HIERARCHY_NUTS_DEFAULTS", "HIERARCHY_NUTS_LENGTHS", "SAMPLERS", "Problem", "Requirements", "Sampler", "Settings",
           "canonical_name", "check_supported", "get_sampler", "problem_reasons",
           "requirement_reasons", "resolve_settings", "sampler_names"]

#: Variables of the reward models and their dims (besides chain and draw).
DIMS = {"reward_weights": ["feature"], "reward_weights_raw": ["feature"],
        "scaled_reward_weights": ["feature"]}
#: Largest S for PolicyWalk: its cache holds K·S·A·F floats and its exact solves are dense.
POLICY_WALK_MAX_STATES = 2000
#: The random walk's kernel defaults for the L2-sphere prior above this many features: the
#: polar (sphere-native) walk of the direction, the chains' random numbers drawn together.
#: Measured at Bayesian REX's size (66 pairs × 64 features, β = 1, 256 vectorised chains):
#: bulk ESS of w[0] per MH step 0.0092–0.0104 against 0.0022 for the Gaussian walk of the
#: latent with a diagonal covariance, and ~1.2× the steps per second.
SPHERE_MH_MIN_FEATURES = 33
SPHERE_MH_DEFAULTS = {"sphere_sites": ("reward_weights_raw",), "shared_random_numbers": True}


class Problem(NamedTuple):
    """A reward posterior to compute: :func:`~bayesirl.models.reward_model` on some data.

    Attributes:
        evidence: the data of each evidence source.
        mdp: the MDP (S states, A actions, F features), or None (trajectory features).
        prior: prior over the reward weights (:data:`bayesirl.models.PRIORS`).
        prior_scale: its scale (Gaussian / Laplace priors).
        betas: ``{source: β}``, fixed numbers or NumPyro distributions (learned).
        options: the model options (``q``, ``maxent_horizon``, ``margin``, ``solver_kwargs``).
        feature_names: F labels of the ``feature`` coordinate.
    """

    evidence: Any
    mdp: Any
    prior: str
    prior_scale: float
    betas: dict
    options: dict
    feature_names: list

    @property
    def sources(self) -> tuple[str, ...]:
        """Names of the evidence sources."""
        return self.evidence.sources()

    @property
    def learned_beta(self) -> bool:
        """True when some source's β has a prior."""
        return any(isinstance(self.betas.get(s, 1.0), dist.Distribution) for s in self.sources)

    @property
    def num_features(self) -> int:
        """F."""
        return len(self.feature_names)

    @property
    def num_states(self) -> int:
        """S (0 without an MDP)."""
        return 0 if self.mdp is None else int(self.mdp.num_states)

    @property
    def discount(self) -> float | None:
        """γ of the MDP (None without one)."""
        return None if self.mdp is None else float(self.mdp.discount)

    @property
    def max_fixed_beta(self) -> float:
        """Largest fixed β of the sources (1 when every β is learned)."""
        fixed = [float(self.betas.get(s, 1.0)) for s in self.sources
                 if not isinstance(self.betas.get(s, 1.0), dist.Distribution)]
        return max(fixed, default=1.0)

    def model_kwargs(self) -> dict:
        """Keyword arguments of :func:`~bayesirl.models.reward_model`; fixed β's and the prior
        scale as arrays, so that they are arguments of a compiled program, not part of its key
        (a sweep over β reuses one program)."""
        dtype = jnp.result_type(float)
        betas = {k: v if isinstance(v, dist.Distribution) else jnp.asarray(v, dtype)
                 for k, v in self.betas.items()}
        return dict(prior=self.prior, prior_scale=jnp.asarray(self.prior_scale, dtype),
                    betas=betas, **self.options)


class Settings(NamedTuple):
    """How long and how a sampler runs.

    Attributes:
        num_samples: kept draws per chain (MAP: 1).
        num_warmup: warm-up iterations per chain (adaptation; discarded).
        num_chains: C chains (MAP: random restarts).
        thinning: transitions per kept draw.
        seed: PRNG seed of inference.
        progress_bar: show a progress bar.
        chain_method: ``"parallel"``, ``"vectorized"``, ``"sequential"`` or None (by devices).
        kernel_kwargs: sampler-specific options (NUTS or random-walk options, scipy options
            for MAP, SVI steps, PolicyWalk proposals ...).
    """

    num_samples: int
    num_warmup: int
    num_chains: int
    thinning: int
    seed: int = 0
    progress_bar: bool = False
    chain_method: str | None = None
    kernel_kwargs: dict = {}


class Requirements(NamedTuple):
    """What a sampler supports (None: anything).

    Attributes:
        sources: evidence sources it can sample (a frozenset of names), or None.
        priors: weight priors, or None.
        q: Q kinds of the Boltzmann source, or None.
        fixed_beta: every β must be a number.
        needs_mdp: the problem must have an MDP.
        max_states: largest S.
        gradients: the sampler differentiates the log density (hard-max Q is piecewise
            linear: allowed, but its gradients jump).
    """

    sources: frozenset | None = None
    priors: tuple | None = None
    q: tuple | None = None
    fixed_beta: bool = False
    needs_mdp: bool = False
    max_states: int | None = None
    gradients: bool = False


@dataclass(frozen=True)
class Sampler:
    """One inference method.

    Attributes:
        name: its name (``fit(method=NAME)``, ``--sampler NAME``).
        run: ``run(problem, settings) -> InferenceData`` for reward posteriors.
        run_model: ``run_model(model, args, kwargs, settings, coords, dims) -> InferenceData``
            for any NumPyro model, or None (reward posteriors only).
        defaults: default ``num_samples``, ``num_warmup``, ``num_chains``, ``thinning``.
        requirements: what it supports (:class:`Requirements`).
        description: one line, with the source.
        kernel_defaults: ``problem -> dict`` of default ``kernel_kwargs`` for a problem.
        aliases: other accepted spellings of ``name``.
        draws: True when its output are posterior draws (False for a point estimate).
        engine_kernel: the kernel of :mod:`bayesirl.inference.engine` it runs (``"nuts"``,
            ``"mh"``), or None; simulation-based calibration runs these for many datasets.
    """

    name: str
    run: Callable
    run_model: Callable | None
    defaults: dict
    requirements: Requirements
    description: str
    kernel_defaults: Callable[[Problem], dict] = field(default=lambda problem: {})
    aliases: tuple[str, ...] = ()
    draws: bool = True
    engine_kernel: str | None = None


# ---------------------------------------------------------------------------------------------
# Run functions
# ---------------------------------------------------------------------------------------------

#: ArviZ's names of NumPyro's per-draw fields.
_STAT_NAMES = {"potential_energy": "lp", "num_steps": "n_steps", "accept_prob": "acceptance_rate"}


def _attrs(name: str, settings: Settings) -> dict:
    return dict(method=name, num_chains=settings.num_chains, num_warmup=settings.num_warmup,
                num_samples=settings.num_samples, thinning=settings.thinning, seed=settings.seed)


def _mcmc_model(kernel: str):
    def run_model(model, args, kwargs, settings: Settings, coords=None, dims=None):
        draws = sample_model(model, args, kwargs, kernel=kernel,
                             rng_key=jax.random.PRNGKey(settings.seed),
                             num_chains=settings.num_chains, num_warmup=settings.num_warmup,
                             num_samples=settings.num_samples, thinning=settings.thinning,
                             chain_method=settings.chain_method,
                             kernel_options=settings.kernel_kwargs,
                             progress_bar=settings.progress_bar)
        stats = {}
        for name, value in draws.fields.items():
            value = np.asarray(value)
            stats[_STAT_NAMES.get(name, name)] = -value if name == "potential_energy" else value
            if name == "num_steps":
                stats["tree_depth"] = np.log2(np.maximum(value, 1)).astype(int) + 1
        attrs = dict(_attrs(kernel, settings), sampling_time_s=draws.seconds,
                     chain_method=draws.chain_method,
                     **{f"kernel_{k}": int(v) if isinstance(v, bool) else v
                        for k, v in draws.info.items()})
        posterior = {k: np.asarray(v) for k, v in draws.sites.items()
                     if not k.endswith("_radial")}
        return _arviz.from_draws(posterior, coords=coords, dims=dims, sample_stats=stats,
                                 attrs=attrs)

    def run(problem: Problem, settings: Settings):
        return run_model(reward_model, (problem.evidence, problem.mdp), problem.model_kwargs(),
                         settings, coords={"feature": problem.feature_names}, dims=DIMS)

    return run, run_model


def _map_model(model, args, kwargs, settings: Settings, coords=None, dims=None):
    from bayesirl.inference.map import fit_map

    return fit_map(model, args, kwargs, rng_key=jax.random.PRNGKey(settings.seed),
                   num_restarts=settings.num_chains, coords=coords, dims=dims,
                   attrs=_attrs("map", settings), options=settings.kernel_kwargs or None)


def _warm_map_applies(problem: Problem) -> bool:
    """The warm-started MAP fits Boltzmann evidence only, a Gaussian prior, a fixed β, soft or
    hard Q."""
    return (problem.sources == ("boltzmann",) and problem.prior == "gaussian"
            and not problem.learned_beta and problem.mdp is not None)


def _map(problem: Problem, settings: Settings):
    """MAP; for the Boltzmann model with a Gaussian prior and a fixed β each MDP solve is
    warm-started from the previous evaluation (same starts and optimum, 2.7× faster at 10^5
    states; ``posterior.attrs["map_path"]`` says which ran)."""
    from bayesirl.inference.map import fit_boltzmann_map

    options = dict(settings.kernel_kwargs or {})
    warm = bool(options.pop("warm_start", True)) and _warm_map_applies(problem)
    coords = {"feature": problem.feature_names}
    settings = settings._replace(kernel_kwargs=options)
    if warm:
        attrs = dict(_attrs("map", settings), map_path="warm-started")
        idata = fit_boltzmann_map(
            problem.mdp, problem.evidence["boltzmann"], prior_scale=problem.prior_scale,
            beta=float(problem.betas.get("boltzmann", 1.0)), q=problem.options["q"],
            solver_kwargs=problem.options.get("solver_kwargs"),
            rng_key=jax.random.PRNGKey(settings.seed), num_restarts=settings.num_chains,
            coords=coords, dims=DIMS, attrs=attrs, options=options or None)
    else:
        idata = _map_model(reward_model, (problem.evidence, problem.mdp),
                           problem.model_kwargs(), settings, coords, DIMS)
        idata.posterior.attrs["map_path"] = "generic"
    return idata


def _laplace_model(model, args, kwargs, settings: Settings, coords=None, dims=None):
    from bayesirl.inference.laplace import fit_laplace

    return fit_laplace(model, args, kwargs, rng_key=jax.random.PRNGKey(settings.seed),
                       num_samples=settings.num_samples, num_chains=settings.num_chains,
                       coords=coords, dims=dims, attrs=_attrs("laplace", settings),
                       options=settings.kernel_kwargs or None)


def _svi_model(model, args, kwargs, settings: Settings, coords=None, dims=None):
    from bayesirl.inference.svi import fit_svi

    return fit_svi(model, args, kwargs, rng_key=jax.random.PRNGKey(settings.seed),
                   num_samples=settings.num_samples, num_chains=settings.num_chains,
                   coords=coords, dims=dims, attrs=_attrs("svi", settings),
                   **(settings.kernel_kwargs or {}))


def _generic(run_model: Callable) -> Callable:
    def run(problem: Problem, settings: Settings):
        return run_model(reward_model, (problem.evidence, problem.mdp), problem.model_kwargs(),
                         settings, {"feature": problem.feature_names}, DIMS)

    return run


def _policy_walk(problem: Problem, settings: Settings):
    from bayesirl.inference.fit_policy_walk import policy_walk_posterior

    return policy_walk_posterior(
        problem.mdp, problem.evidence["boltzmann"], beta=float(problem.betas.get("boltzmann", 1.0)),
        prior=problem.prior, q=problem.options["q"], num_samples=settings.num_samples,
        num_warmup=settings.num_warmup, num_chains=settings.num_chains,
        thinning=settings.thinning, seed=settings.seed, feature_names=problem.feature_names,
        **(settings.kernel_kwargs or {}))


def _laplace_imh(problem: Problem, settings: Settings):
    from bayesirl.inference.independence_mh import fit_laplace_imh

    options = dict(settings.kernel_kwargs or {})
    idata = fit_laplace_imh(
        problem.mdp, problem.evidence["boltzmann"], prior_scale=problem.prior_scale,
        beta=float(problem.betas.get("boltzmann", 1.0)), q=problem.options["q"],
        solver_kwargs=problem.options.get("solver_kwargs"), seed=settings.seed,
        num_chains=max(2, settings.num_chains), num_warmup=max(1, settings.num_warmup),
        max_draws=settings.num_samples + max(1, settings.num_warmup) + 4, **options)
    idata = _arviz.from_draws(
        {"reward_weights": np.asarray(idata.posterior["reward_weights"])},
        coords={"feature": problem.feature_names}, dims=DIMS,
        sample_stats={k: np.asarray(v) for k, v in idata.sample_stats.data_vars.items()},
        attrs={**dict(idata.posterior.attrs), **_attrs("laplace-imh", settings)})
    return idata


_NUTS_RUN, _NUTS_MODEL = _mcmc_model("nuts")
_MH_RUN, _MH_MODEL = _mcmc_model("mh")


#: NUTS settings of per-person weights (a hierarchy): a higher target acceptance (smaller steps
#: where the person scales are small) and longer runs: on the Dutch train panel (235 people, 4
#: varying weights) 4 × 500 draws left R-hat 1.055 and bulk ESS 64 on the correlation.
HIERARCHY_NUTS_DEFAULTS = dict(target_accept_prob=0.9)
#: NUTS run lengths of per-person weights when none are given (see above).
HIERARCHY_NUTS_LENGTHS = dict(num_warmup=1000, num_samples=1000)


def _nuts_kernel_defaults(problem: Problem) -> dict:
    return dict(HIERARCHY_NUTS_DEFAULTS) if problem.options.get("hierarchy") is not None else {}


def _mh_kernel_defaults(problem: Problem) -> dict:
    if (problem.mdp is None and problem.prior == "l2-sphere"
            and problem.num_features >= SPHERE_MH_MIN_FEATURES):
        return dict(SPHERE_MH_DEFAULTS)
    return {}


#: Every sampler, by name.
SAMPLERS: dict[str, Sampler] = {s.name: s for s in (
    Sampler("nuts", _NUTS_RUN, _NUTS_MODEL,
            dict(num_samples=500, num_warmup=500, num_chains=4, thinning=1),
            Requirements(gradients=True),
            "the No-U-Turn sampler (Hoffman & Gelman 2014; NumPyro), step size and diagonal mass "
            "adapted during warm-up; needs gradients (soft Q)",
            kernel_defaults=_nuts_kernel_defaults, engine_kernel="nuts"),
    Sampler("mh", _MH_RUN, _MH_MODEL,
            dict(num_samples=1000, num_warmup=20_000, num_chains=4, thinning=150),
            Requirements(),
            "adaptive random-walk Metropolis–Hastings on the unconstrained parameters (Haario et "
            "al. 2001); gradient-free, so it also suits hard Q and very sharp likelihoods",
            kernel_defaults=_mh_kernel_defaults, engine_kernel="mh"),
    Sampler("map", _map, _map_model,
            dict(num_samples=1, num_warmup=0, num_chains=4, thinning=1),
            Requirements(),
            "maximum a posteriori weights by L-BFGS-B from random starts (a point, not a "
            "posterior; warm-started solves for Boltzmann evidence, Gaussian prior, fixed β)",
            draws=False),
    Sampler("laplace", _generic(_laplace_model), _laplace_model,
            dict(num_samples=1000, num_warmup=0, num_chains=4, thinning=1),
            Requirements(gradients=True),
            "Laplace approximation: a Gaussian at the MAP with the inverse Hessian (Tierney & "
            "Kadane 1986)"),
    Sampler("svi", _generic(_svi_model), _svi_model,
            dict(num_samples=1000, num_warmup=0, num_chains=4, thinning=1),
            Requirements(gradients=True),
            "stochastic variational inference with a full-rank Gaussian guide (Kucukelbir et "
            "al. 2017)"),
    Sampler("policy-walk", _policy_walk, None,
            dict(num_samples=1000, num_warmup=1000, num_chains=64, thinning=1),
            Requirements(sources=frozenset({"boltzmann"}), priors=SPHERE_PRIORS, q=("hard",),
                         fixed_beta=True, needs_mdp=True, max_states=POLICY_WALK_MAX_STATES),
            "PolicyWalk (Ramachandran & Amir 2007) with a fitted independence proposal and a "
            "shared cache of optimal policies: the fast exact BIRL sampler (hard Q, sphere "
            "prior, fixed β)", aliases=("policy_walk",)),
    Sampler("laplace-imh", _laplace_imh, None,
            dict(num_samples=2000, num_warmup=10, num_chains=4, thinning=1),
            Requirements(sources=frozenset({"boltzmann"}), priors=("gaussian",), fixed_beta=True,
                         needs_mdp=True),
            "for 10^5+ states: warm-started MAP, Laplace approximation, then exact independence "
            "MH with a Student-t proposal (Tierney 1994), run until R-hat and ESS pass",
            aliases=("laplace_imh",)),
)}


def sampler_names() -> tuple[str, ...]:
    """Names of the registered samplers."""
    return tuple(SAMPLERS)


def canonical_name(name: str) -> str:
    """The registry name of ``name`` or of one of its aliases.

    Raises:
        ValueError: no such sampler (the message lists the known ones).
    """
    if isinstance(name, str):
        if name in SAMPLERS:
            return name
        for sampler in SAMPLERS.values():
            if name in sampler.aliases:
                return sampler.name
    raise ValueError(f"method: expected one of {', '.join(('auto',) + sampler_names())}, "
                     f"got {name!r}")


def get_sampler(name: str) -> Sampler:
    """The registered sampler ``name`` (aliases accepted); ValueError when unknown."""
    return SAMPLERS[canonical_name(name)]


def requirement_reasons(requirements: Requirements, *, sources, prior: str, q: str,
                        learned_beta: bool, has_mdp: bool, num_states: int = 0
                        ) -> list[tuple[str, str]]:
    """Why a sampler with ``requirements`` cannot sample a model (an empty list when it can).

    Args:
        requirements: the sampler's :class:`Requirements`.
        sources: the model's evidence source names.
        prior: the weights' prior.
        q: the Q kind of the Boltzmann / MaxEnt sources.
        learned_beta: whether some β has a prior.
        has_mdp: whether there is an MDP.
        num_states: S (0 when unknown).

    Returns:
        ``(argument, phrase)`` per unmet requirement: the model argument at fault (``mdp``,
        ``likelihoods``, ``prior``, ``q``, ``beta``) and what is missing.
    """
    req = requirements
    reasons = []
    if req.needs_mdp and not has_mdp:
        reasons.append(("mdp", "it needs an MDP"))
    if req.sources is not None and not set(sources) <= req.sources:
        reasons.append(("likelihoods", f"it samples {', '.join(sorted(req.sources))} evidence "
                                       f"only, got {', '.join(sources)}"))
    if req.priors is not None and prior not in req.priors:
        reasons.append(("prior", f"it needs prior {' or '.join(req.priors)}, got {prior}"))
    if req.q is not None and policy_sources(sources) and q not in req.q:
        reasons.append(("q", f"it needs q {' or '.join(req.q)}, got {q}"))
    if req.fixed_beta and learned_beta:
        reasons.append(("beta", "it needs a fixed β (a number > 0), got a prior on β"))
    if req.max_states is not None and num_states > req.max_states:
        reasons.append(("mdp", f"it is meant for at most {req.max_states} states, got "
                               f"{num_states}"))
    return reasons


def problem_reasons(sampler: Sampler, problem: Problem) -> list[tuple[str, str]]:
    """Why ``sampler`` cannot run ``problem``: ``(argument, phrase)`` pairs, empty when it can
    (see :func:`requirement_reasons`)."""
    return requirement_reasons(sampler.requirements, sources=problem.sources,
                               prior=problem.prior, q=problem.options.get("q", "soft"),
                               learned_beta=problem.learned_beta,
                               has_mdp=problem.mdp is not None, num_states=problem.num_states)


def check_supported(sampler: Sampler, problem: Problem) -> None:
    """Refuse a problem ``sampler`` cannot run.

    Raises:
        ValueError: naming the argument at fault (TypeError for a prior on β where a number is
            needed).
    """
    reasons = problem_reasons(sampler, problem)
    if reasons:
        argument = reasons[0][0]
        error = TypeError if argument == "beta" else ValueError
        raise error(f"{argument}: method {sampler.name} cannot sample this posterior: "
                    f"{'; '.join(phrase for _, phrase in reasons)}")


def resolve_settings(sampler: Sampler, problem: Problem | None, *, num_samples=None,
                     num_warmup=None, num_chains=None, thinning=None, seed=0,
                     progress_bar=False, chain_method=None, kernel_kwargs=None) -> Settings:
    """Settings of a run: the given values, the sampler's defaults for the others.

    Raises:
        ValueError / TypeError: a count out of range (named).
    """
    from bayesirl._validate import check_scalar

    d = sampler.defaults
    given = dict(num_samples=num_samples, num_warmup=num_warmup, num_chains=num_chains,
                 thinning=thinning)
    values = {k: d[k] if v is None else v for k, v in given.items()}
    lows = dict(num_samples=1, num_warmup=0, num_chains=1, thinning=1)
    values = {k: check_scalar(v, k, low=lows[k], integer=True) for k, v in values.items()}
    seed = check_scalar(seed, "seed", low=0, integer=True)
    kernel = dict(sampler.kernel_defaults(problem) if problem is not None else {})
    kernel.update(kernel_kwargs or {})
    return Settings(seed=seed, progress_bar=bool(progress_bar), chain_method=chain_method,
                    kernel_kwargs=kernel, **values)
