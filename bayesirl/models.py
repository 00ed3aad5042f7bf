"""NumPyro models: priors over linear reward weights and the Bayesian IRL model.

The posterior is composed of replaceable pieces: a prior over the reward weights w
(:func:`sample_reward_weights`), a rationality β (fixed or with a prior), a solver (soft or hard
Q) and a likelihood (:class:`~bayesirl.likelihoods.BoltzmannPolicy` on the demonstration pairs).

Identifiability (Ng & Russell 2000): rewards are identified only up to positive scale and, with
one-hot (or any partition of unity) features, a constant shift. Fix the scale either with β
fixed and a Gaussian/Laplace prior on w, or with a unit-sphere prior on w (L1 or L2) — required
when β is learned, because the likelihood depends on β·w only.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from typing import NamedTuple

from bayesirl._deprecation import renamed_arguments
from bayesirl._typing import Array
from bayesirl.likelihoods import (
    BoltzmannPolicy,
    DemonstrationPairs,
    boltzmann_q_values,
)
from bayesirl.likelihoods.registry import Evidence
from bayesirl.likelihoods.source import EvidenceInputs, ModelContext
from bayesirl.likelihoods.registry import SOURCES as _REGISTRY
from bayesirl.likelihoods.value_space import ValueSpaceWhitening, value_space_terms
from bayesirl.data.mdp import MDP, reward_from_weights

__all__ = [
    "MODEL_OPTIONS",
    "TRAJECTORY_SOURCES",
    "build_evidence",
    "check_options",
    "reward_model",
    "trajectory_evidence",
    "trajectory_model",
    "EvidenceInputs",
    "PRIORS",
    "value_space_irl_model",
    "ScaledSphere",
    "sample_reward_weights",
    "sample_beta",
    "sample_scaled_weights",
    "boltzmann_irl_model",
    "irl_model",
    "Evidence",
    "SOURCES",
    "beta_site",
    "sample_weights_and_betas",
    "check_betas",
    "check_prior",
    "check_beta_identifiable",
    "SPHERE_PRIORS",
]

#: Priors over reward weights accepted by :func:`sample_reward_weights`.
PRIORS = ("gaussian", "laplace", "l1-sphere", "l2-sphere")
#: Weight priors under which a β can be learned (the likelihood depends on β·w only).
SPHERE_PRIORS = ("l1-sphere", "l2-sphere")
#: Every evidence source (likelihood) a model can hold, in model order.
SOURCES = tuple(_REGISTRY)
#: The sources that need no MDP (trajectory features).
TRAJECTORY_SOURCES = tuple(name for name, s in _REGISTRY.items() if "trajectories" in s.worlds)
_SPHERE_PRIORS = SPHERE_PRIORS


def check_beta_identifiable(prior: str, learned, sources) -> None:
    """Refuse learned β's whose scale the weights' prior leaves unidentified.

    The likelihoods depend on ``β·w`` only (Ramachandran & Amir 2007, Eq. 2), so when every
    source's β is learned the weights need a unit-sphere prior; a Gaussian/Laplace prior
    leaves a ridge in the posterior. One source with a fixed β pins the scale.

    Args:
        prior: the weights' prior, one of :data:`PRIORS`.
        learned: names of the sources whose β is learned (a distribution).
        sources: names of all sources of the model.

    Raises:
        ValueError: if ``learned`` is every source (and not empty) and ``prior`` is not in
            :data:`SPHERE_PRIORS`.
    """
    learned, sources = list(learned), list(sources)
    if learned and len(learned) == len(sources) and prior not in SPHERE_PRIORS:
        raise ValueError(
            f"beta: a prior on β needs a unit-sphere prior on the weights "
            f"(prior='l1-sphere' or 'l2-sphere'), got prior={prior!r}; the likelihood "
            "depends on β·w only, so free scales on both are not identified"
        )


def check_prior(prior: str, beta) -> None:
    """Validate a (prior, β) combination eagerly.

    Raises:
        ValueError: unknown prior; a β that is not a finite number > 0; or a learned β (a
            distribution) with a Gaussian/Laplace prior, which leaves the scale of β·w
            unidentified (a ridge in the posterior).
        TypeError: β neither a number nor a NumPyro distribution.
    """
    if prior not in PRIORS:
        raise ValueError(f"prior: expected one of {PRIORS}, got {prior!r}")
    if isinstance(beta, dist.Distribution):
        check_beta_identifiable(prior, ["beta"], ["beta"])
        return
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)):
        raise TypeError(f"beta: expected a number > 0 or a numpyro distribution, got {beta!r}")
    if not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta: expected a finite number > 0, got {beta!r}")


def sample_reward_weights(num_features: int, prior: str = "gaussian", scale: float = 1.0):
    """Sample the NumPyro site ``"reward_weights"`` (F,) from a prior.

    * ``"gaussian"``: w_f ~ Normal(0, scale) independently.
    * ``"laplace"``: w_f ~ Laplace(0, scale) independently (sparse rewards).
    * ``"l2-sphere"``: w uniform on the unit L2 sphere — a latent z ~ Normal(0, I) and
      ``w = z / ‖z‖₂`` (deterministic site), with the radial factor ``(F − 1) log ‖z‖`` added so
      that the density of z stays radially symmetric (w still uniform) but vanishes at z = 0;
      without it NUTS diverges near the origin and the MAP collapses to z = 0.
    * ``"l1-sphere"``: w uniform on the unit L1 sphere (Brown & Niekum 2018): z ~ Laplace(0, 1)^F,
      ``w = z / ‖z‖₁``, radial factor ``(F − 1) log ‖z‖₁``.

    The latent of the sphere priors is the site ``"reward_weights_raw"``. ``scale`` is ignored
    by them.

    Returns:
        (F,) reward weights.
    """
    F = num_features
    if prior == "gaussian":
        return numpyro.sample("reward_weights", dist.Normal(0.0, scale).expand([F]).to_event(1))
    if prior == "laplace":
        return numpyro.sample("reward_weights", dist.Laplace(0.0, scale).expand([F]).to_event(1))
    if prior == "l2-sphere":
        z = numpyro.sample("reward_weights_raw", dist.Normal(0.0, 1.0).expand([F]).to_event(1))
        norm = jnp.linalg.norm(z)
    elif prior == "l1-sphere":
        z = numpyro.sample("reward_weights_raw", dist.Laplace(0.0, 1.0).expand([F]).to_event(1))
        norm = jnp.sum(jnp.abs(z))
    else:
        raise ValueError(f"prior: expected one of {PRIORS}, got {prior!r}")
    numpyro.factor("reward_weights_radial", (F - 1) * jnp.log(norm))
    return numpyro.deterministic("reward_weights", z / norm)


def project_to_sphere(weights: Array, norm: int = 1) -> Array:
    """Divide ``weights`` (…, F) by their L1 (``norm=1``) or L2 (``norm=2``) norm.

    Applied to i.i.d. Laplace (L1) or Gaussian (L2) draws it gives the uniform distribution on
    the unit sphere (Brown & Niekum 2018 use the L1 sphere).
    """
    return weights / jnp.linalg.norm(weights, ord=norm, axis=-1, keepdims=True)


class ScaledSphere(dist.Distribution):
    """Distribution of ``θ = β·w`` with w uniform on the unit L1 or L2 sphere and β ~ ``scale``.

    Sampling the product θ directly instead of (w, β) removes the funnel between the scale and
    the direction (the Boltzmann likelihood depends on θ only), so NUTS samples it without
    divergences. With ``r = ‖θ‖`` the density is::

        log p(θ) = log p_β(r) − (F − 1) log r − log |S^{F−1}|,

    where ``|S^{F−1}|`` is the surface measure of the unit sphere: ``2 π^{F/2} / Γ(F/2)`` for
    L2 and ``2^F / (F − 1)!`` for L1 (cone measure). β = ‖θ‖ and w = θ / ‖θ‖.

    Args:
        scale: a NumPyro distribution over β > 0 (e.g. ``LogNormal``, ``Gamma``).
        dim: F >= 1.
        norm: 1 or 2.
    """

    arg_constraints = {}
    support = dist.constraints.real_vector
    reparametrized_params = []

    def __init__(self, scale: dist.Distribution, dim: int, norm: int = 2, *, validate_args=None):
        if norm not in (1, 2):
            raise ValueError(f"norm: expected 1 or 2, got {norm!r}")
        self.scale, self.dim, self.norm = scale, int(dim), norm
        super().__init__(batch_shape=(), event_shape=(self.dim,), validate_args=validate_args)

    def _log_surface(self):
        F = self.dim
        if self.norm == 2:
            return jnp.log(2.0) + 0.5 * F * jnp.log(jnp.pi) - jax.scipy.special.gammaln(0.5 * F)
        return F * jnp.log(2.0) - jax.scipy.special.gammaln(float(F))

    def sample(self, key, sample_shape=()):
        k1, k2 = jax.random.split(key)
        beta = self.scale.sample(k1, sample_shape)
        shape = sample_shape + (self.dim,)
        draw = jax.random.normal if self.norm == 2 else jax.random.laplace
        return beta[..., None] * project_to_sphere(draw(k2, shape), self.norm)

    def log_prob(self, value):
        r = jnp.linalg.norm(value, ord=self.norm, axis=-1)
        return self.scale.log_prob(r) - (self.dim - 1) * jnp.log(r) - self._log_surface()


def sample_beta(beta):
    """Deprecated (unused by the library): β itself when fixed, else the site ``"beta"``.

    :func:`irl_model` samples each source's β under the name of :func:`beta_site`.
    """
    warnings.warn("sample_beta is deprecated: irl_model samples β itself (see beta_site)",
                  DeprecationWarning, stacklevel=2)
    if isinstance(beta, dist.Distribution):
        return numpyro.sample("beta", beta)
    return beta


def sample_scaled_weights(num_features: int, prior: str, beta, beta_name: str = "beta"):
    """Sample ``θ = β·w`` (site ``"scaled_reward_weights"``) for a learned β with a sphere prior.

    Returns ``(w, β)`` as the deterministic sites ``"reward_weights"`` and ``beta_name``. See
    :class:`ScaledSphere`.
    """
    if prior not in _SPHERE_PRIORS:
        raise ValueError(f"prior: a learned β needs one of {_SPHERE_PRIORS}, got {prior!r}")
    norm = 1 if prior == "l1-sphere" else 2
    theta = numpyro.sample("scaled_reward_weights", ScaledSphere(beta, num_features, norm))
    r = jnp.linalg.norm(theta, ord=norm)
    return numpyro.deterministic("reward_weights", theta / r), numpyro.deterministic(beta_name, r)


def beta_site(source: str, sources: tuple[str, ...]) -> str:
    """Name of the β site of ``source``: ``"beta"`` alone, ``"beta_<source>"`` in a joint model."""
    return "beta" if len(sources) == 1 else "beta_" + source.replace("-", "_")


def sample_weights_and_betas(num_features: int, sources: tuple[str, ...], prior: str,
                             prior_scale: float = 1.0, betas: dict | None = None):
    """Sample the shared reward weights w and the rationality β of every evidence source.

    A β given as a NumPyro distribution is learned (site :func:`beta_site`); under a sphere
    prior the first learned β and w are sampled jointly as a :class:`ScaledSphere`
    (:func:`sample_scaled_weights`), since the likelihood depends on β·w only. A missing β is 1.

    Args:
        num_features: F.
        sources: names of the evidence sources of the model.
        prior, prior_scale: prior over w (see :func:`sample_reward_weights`).
        betas: ``{source: β}`` numbers or NumPyro distributions.

    Returns:
        ``(w, beta_values)``: (F,) weights and ``{source: β}`` (numbers or sampled values).
    """
    betas = dict(betas or {})
    learned = [src for src in sources if isinstance(betas.get(src, 1.0), dist.Distribution)]
    beta_values: dict = {}
    if learned and prior in SPHERE_PRIORS:
        first = learned[0]
        w, beta_values[first] = sample_scaled_weights(num_features, prior, betas[first],
                                                      beta_site(first, sources))
    else:
        w = sample_reward_weights(num_features, prior, prior_scale)
    for src in sources:
        if src not in beta_values:
            b = betas.get(src, 1.0)
            beta_values[src] = (numpyro.sample(beta_site(src, sources), b)
                                if isinstance(b, dist.Distribution) else b)
    return w, beta_values


def check_betas(prior: str, betas: dict, sources: tuple[str, ...]) -> None:
    """Validate the β of every source.

    Raises:
        ValueError: a β for an absent source, or every β learned with a Gaussian/Laplace prior
            (the scale of β·w is then not identified).
        TypeError: a β neither a positive number nor a NumPyro distribution.
    """
    if prior not in PRIORS:
        raise ValueError(f"prior: expected one of {PRIORS}, got {prior!r}")
    unknown = set(betas) - set(sources)
    if unknown:
        raise ValueError(f"betas: no evidence for {sorted(unknown)}; sources are {sources}")
    learned = [src for src in sources if isinstance(betas.get(src, 1.0), dist.Distribution)]
    for src in sources:
        b = betas.get(src, 1.0)
        if not isinstance(b, dist.Distribution):
            check_prior(prior, b)
    check_beta_identifiable(prior, learned, sources)


#: Model options the evidence sources read, with their defaults.
MODEL_OPTIONS = {"q": "soft", "maxent_horizon": None, "margin": 0.0, "solver_kwargs": None,
                 "epsilon": None, "hierarchy": None}


def check_options(evidence: Evidence, options: dict) -> dict:
    """The model options with defaults filled in; ValueError for an option no source of the
    model reads (see :data:`MODEL_OPTIONS`)."""
    unknown = sorted(set(options) - set(MODEL_OPTIONS))
    if unknown:
        raise ValueError(f"model options: unknown {unknown}; expected some of "
                         f"{list(MODEL_OPTIONS)}")
    return {**MODEL_OPTIONS, **options}


def reward_model(evidence: Evidence, mdp: MDP | None = None, *, prior: str = "gaussian",
                 prior_scale: float = 1.0, betas: dict | None = None, **options):
    """The Bayesian IRL model: shared reward weights, one likelihood per evidence source.

    ``w ~ prior`` (F,), ``R = φ w`` when there is an MDP; for each source present in
    ``evidence``, in the registry's order (:data:`~bayesirl.likelihoods.registry.SOURCES`), its
    likelihood with its own rationality β (a fixed number, or a NumPyro distribution: learned):

    * ``boltzmann`` — ``a_i | s_i ~ BoltzmannPolicy(Q(s_i, ·; β R))`` with soft or hard Q
      (Ramachandran & Amir 2007), observed site ``"boltzmann_actions"``;
    * ``maxent`` — ``a_i | s_i, t_i ~ π_t(· | s_i)``, the maximum-causal-entropy policy of β R,
      finite horizon ``maxent_horizon`` or discounted (Ziebart 2010), site ``"maxent_actions"``;
    * ``noisy-boltzmann`` — ``a_i | s_i ~ (1 − ε) BoltzmannPolicy + ε uniform``, ε at the site
      ``"epsilon"`` (prior Beta(1, 9) unless the option ``epsilon`` fixes it or gives
      another prior; Zheng et al. 2014), site ``"noisy_boltzmann_actions"``;
    * ``bradley-terry`` — ``label_p ~ PreferenceChoice(β w·(Φ_first − Φ_second), margin)``
      (Brown et al. 2019, 2020; Bıyık et al. 2019 for margin > 0), site
      ``"preference_labels"``; no MDP solve;
    * ``sample-maxent`` — the factor ``"sample_maxent"``, ``Σ_d β w·Φ_d − D log Ẑ(w)``
      (Boularias et al. 2011); no MDP;
    * ``plackett-luce`` — ``order_r ~ PlackettLuce(β w·Φ[options_r])``, each ranking of
      trajectories one observation (Plackett 1975; Luce 1959), site ``"ranking_orders"``; no
      MDP solve.

    The first learned β is sampled jointly with the direction as ``θ = β·w``
    (:class:`ScaledSphere`, needs a sphere prior); further learned β's are sampled from their
    priors; β sites are named by :func:`beta_site`.

    Args:
        evidence: the data of each source (:class:`~bayesirl.likelihoods.registry.Evidence`).
        mdp: the MDP, needed by the sources that solve it (None without).
        prior, prior_scale: prior over w (see :func:`sample_reward_weights`).
        betas: ``{source: β}``; missing sources get β = 1.
        **options: model options the sources read: ``q`` (``"soft"`` or ``"hard"``),
            ``maxent_horizon`` (T, or None for discounted), ``margin`` (indifference margin
            δ >= 0 of weak preferences), ``solver_kwargs`` (tolerances of the discounted
            solvers), ``epsilon`` (the contamination ε of ``noisy-boltzmann``: None for the
            prior Beta(1, 9), a number in [0, 1], or a NumPyro distribution on [0, 1]),
            ``hierarchy`` (a :class:`~bayesirl.likelihoods.luce.Hierarchy` of the ``choice``
            source: per-person weights; None: one reward for everyone).
    """
    from bayesirl.likelihoods.registry import SOURCES as REGISTRY

    options = {**MODEL_OPTIONS, **options}
    sources = evidence.sources()
    num_features = mdp.num_features if mdp is not None else evidence.num_features
    w, beta_values = sample_weights_and_betas(num_features, sources, prior, prior_scale, betas)
    context = ModelContext(w, mdp, None if mdp is None else reward_from_weights(mdp, w))
    for name in sources:
        REGISTRY[name].observe(context, evidence[name], beta_values[name], options)


@renamed_arguments(delta="margin")
def irl_model(mdp: MDP, evidence: Evidence, *, prior: str = "gaussian", prior_scale: float = 1.0,
              betas: dict | None = None, q: str = "soft", maxent_horizon: int | None = None,
              margin: float = 0.0, solver_kwargs: dict | None = None):
    """:func:`reward_model` with an MDP, in the argument order of earlier releases
    (``irl_model(mdp, evidence, ...)``; ``delta``: deprecated alias of ``margin``).

    Args:
        mdp, evidence, prior, prior_scale, betas, q, maxent_horizon, margin, solver_kwargs:
            see :func:`reward_model`.
    """
    reward_model(evidence, mdp, prior=prior, prior_scale=prior_scale, betas=betas, q=q,
                 maxent_horizon=maxent_horizon, margin=margin, solver_kwargs=solver_kwargs)


def trajectory_model(evidence: Evidence, *, prior: str = "gaussian", prior_scale: float = 1.0,
                     betas: dict | None = None, margin: float = 0.0):
    """:func:`reward_model` without an MDP (trajectory features: Bradley–Terry and
    sample-based MaxEnt; Bayesian REX, Brown et al. 2020).

    Args:
        evidence, prior, prior_scale, betas, margin: see :func:`reward_model`.
    """
    reward_model(evidence, None, prior=prior, prior_scale=prior_scale, betas=betas,
                 margin=margin)


def build_evidence(names, inputs: EvidenceInputs, **options) -> Evidence:
    """The :class:`~bayesirl.likelihoods.registry.Evidence` of the sources ``names``, each built
    (and checked) from the world's raw evidence by its source's ``build``.

    Args:
        names: source names (from :data:`~bayesirl.likelihoods.registry.SOURCES`), distinct.
        inputs: the raw evidence (:class:`~bayesirl.likelihoods.source.EvidenceInputs`).
        **options: the model options (``maxent_horizon``, ``margin``, ...).

    Raises:
        ValueError: unknown, repeated or no names; a source whose evidence is missing or does
            not fit (the message names the input).
    """
    from bayesirl.likelihoods.registry import SOURCES as REGISTRY

    names = [names] if isinstance(names, str) else list(names)
    bad = [n for n in names if n not in REGISTRY]
    if bad or not names or len(set(names)) != len(names):
        raise ValueError(f"likelihoods: expected distinct names from {tuple(REGISTRY)}, got "
                         f"{names}")
    options = {**MODEL_OPTIONS, **options}
    return Evidence({name: REGISTRY[name].build(inputs, options) for name in names})


def trajectory_evidence(trajectories, *, preferences=None, demonstrations=None, background=None,
                        dtype=None, rankings=None) -> Evidence:
    """Evidence from one trajectory set (no MDP): Bradley–Terry over ``preferences``,
    sample-based MaxEnt over the rows ``demonstrations`` with the ``background`` rows (default:
    every other row) and/or Plackett–Luce over ``rankings`` (R rankings of rows, each one
    observation); ``dtype`` casts its floating arrays (default: JAX's default float). The
    margin of 'equal' labels is not checked here (the model's ``margin`` is).

    Raises:
        ValueError: no evidence; ids out of range; a background without log-probabilities.
    """
    if preferences is None and demonstrations is None and rankings is None:
        raise ValueError("preferences, demonstrations, rankings: expected at least one source of "
                         "evidence")
    names = (["bradley-terry"] if preferences is not None else []) + (
        ["sample-maxent"] if demonstrations is not None else []) + (
        ["plackett-luce"] if rankings is not None else [])
    if demonstrations is None and background is not None:
        raise ValueError("background: background trajectories need demonstrations")
    inputs = EvidenceInputs(trajectories=trajectories, preferences=preferences,
                            demonstration_ids=demonstrations, background_ids=background,
                            rankings=rankings)
    evidence = build_evidence(names, inputs, margin=1.0)
    if dtype is None:
        return evidence
    return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating)
                        else x, evidence)


def boltzmann_irl_model(
    mdp: MDP,
    pairs: DemonstrationPairs,
    *,
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    beta=1.0,
    q: str = "soft",
    solver_kwargs: dict | None = None,
):
    """Bayesian IRL with a Boltzmann-rational demonstrator (Ramachandran & Amir 2007).

    ``w ~ prior``, ``β`` fixed or ``β ~ beta``, ``R = φ w``, and each demonstrated pair
    ``a_i | s_i ~ BoltzmannPolicy(Q(s_i, ·; R), β)`` (observed site ``"boltzmann_actions"``).
    :func:`irl_model` with Boltzmann evidence only.

    Args:
        mdp: the MDP (features (S, F) or (S, A, F)).
        pairs: the P demonstration pairs outside terminal states.
        prior: one of :data:`PRIORS`.
        prior_scale: scale of the Gaussian/Laplace prior (reward units per feature).
        beta: rationality β > 0, or a NumPyro distribution over β (needs a sphere prior).
        q: ``"soft"`` or ``"hard"`` Q-values (see :func:`~bayesirl.likelihoods.boltzmann_q_values`).
        solver_kwargs: tolerances / ``max_iterations`` for the solver.

    With β learned, the latent is ``θ = β·w`` (site ``scaled_reward_weights``, distribution
    :class:`ScaledSphere`) and ``reward_weights`` and ``beta`` are deterministic sites: the
    same posterior as sampling (w, β), without the funnel between them.
    """
    reward_model(Evidence(boltzmann=pairs), mdp, prior=prior, prior_scale=prior_scale,
                 betas={"boltzmann": beta}, q=q, solver_kwargs=solver_kwargs)


def value_space_irl_model(mdp: MDP, pairs: DemonstrationPairs, *, prior_scale: float = 10.0,
                          beta: float = 1.0, whitening: ValueSpaceWhitening | None = None):
    """Per-state-reward Bayesian IRL sampled in value space (ValueWalk; Bajgar et al. 2024).

    The latent is the (S,) soft value V of θ = β·R (site ``"values"``, improper flat);
    ``R = θ(V)/β`` by one backup (:func:`~bayesirl.likelihoods.value_space.value_space_terms`)
    is the deterministic site ``"reward"``; the prior ``R(s) ~ Normal(0, prior_scale)`` enters
    with the change-of-variables term ``log|det(I − γ P_π)| − S log β``, so the posterior of R is
    exactly that of the reward-space model (``boltzmann_irl_model`` with identity features,
    ``prior="gaussian"``, soft Q) — without an MDP solve per evaluation. Soft Q only.

    Args:
        mdp: the MDP (S states; a dense (S, S) log-determinant per evaluation: S up to ~10^3).
        pairs: the P demonstration pairs.
        prior_scale: standard deviation of the Gaussian prior on each state reward.
        beta: fixed rationality β > 0.
        whitening: optional :class:`~bayesirl.likelihoods.value_space.ValueSpaceWhitening`;
            then the latent is ``"values_whitened"`` z (improper flat) and ``"values" = loc +
            scale_tril @ z`` is deterministic — the same posterior of V and R (constant
            Jacobian), but near-isotropic for NUTS when built by
            :func:`~bayesirl.inference.value_space.value_space_whitening` (Laplace at the mode).
    """
    S = mdp.num_states
    flat = dist.ImproperUniform(dist.constraints.real_vector, (), (S,))
    if whitening is None:
        v = numpyro.sample("values", flat)
    else:
        z = numpyro.sample("values_whitened", flat)
        v = numpyro.deterministic("values", whitening.loc + whitening.scale_tril @ z)
    terms = value_space_terms(mdp, v, pairs.states, prior_scale, beta)
    numpyro.deterministic("reward", terms.reward)
    numpyro.factor("reward_prior", terms.log_prior)
    with numpyro.plate("boltzmann_pairs", pairs.states.shape[0]):
        numpyro.sample("boltzmann_actions", BoltzmannPolicy(terms.logits, 1.0),
                       obs=pairs.actions)
