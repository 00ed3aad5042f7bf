"""Pointwise log-likelihood and posterior-predictive simulation for the Bayesian IRL models.

ArviZ's model checks need two more groups besides the posterior: ``log_likelihood`` (one
value per observation and draw, for PSIS-LOO, Vehtari, Gelman & Gabry 2017) and
``posterior_predictive`` (replicated data from each draw, for posterior-predictive checks,
Gelman et al. 2013, ch. 6). For :func:`~bayesirl.models.reward_model` the observations are
those of its evidence sources (:data:`~bayesirl.likelihoods.registry.SOURCES`), e.g.

* ``boltzmann_actions`` / ``maxent_actions``: one per demonstrated state-action pair (P,);
  summed per trajectory with :func:`group_log_likelihood` and :func:`pair_trajectories`
  (leave-one-trajectory-out);
* ``preference_labels``: one per comparison (P,).

:func:`log_likelihood` reruns the model once per draw (one MDP solve each) through
``numpyro.infer.log_likelihood``; :func:`posterior_predictive` draws new actions at the
demonstrated states and new labels for the same comparisons through ``numpyro.infer.Predictive``;
:func:`simulate_demonstrations` rolls out whole trajectories of each draw's policy (masks and
terminal states as in :func:`~bayesirl.data.demos.rollout`). :func:`add_predictive_groups`
stores the groups, with ``observed_data`` and ``constant_data`` (the states, times and compared
trajectories), in an ``InferenceData``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import Predictive
from numpyro.infer import log_likelihood as _numpyro_log_likelihood

from bayesirl import _arviz
from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.data.demos import Demonstrations, rollout
from bayesirl.data.mdp import MDP, reward_from_weights
from bayesirl.likelihoods import boltzmann_q_values, maxent_logits
from bayesirl.likelihoods.noisy_boltzmann import check_epsilon, noisy_boltzmann_policy
from bayesirl.inference.engine import merge_arguments, split_arguments
from bayesirl.likelihoods.registry import SOURCES, policy_sources
from bayesirl.likelihoods.registry import Evidence

__all__ = [
    "DEFAULT_MAX_VALUES",
    "MAX_LOG_LIKELIHOOD_VALUES",
    "observed_sites",
    "observed_data",
    "without_observations",
    "posterior_samples",
    "log_likelihood",
    "posterior_predictive",
    "pair_trajectories",
    "group_log_likelihood",
    "simulate_demonstrations",
    "predictive_size",
    "add_predictive_groups",
]

#: :func:`add_predictive_groups` is on by default up to this many stored values
#: (draws × observations, both groups together): 4 million float64 ≈ 32 MB.
DEFAULT_MAX_VALUES = 4_000_000
#: Beyond :data:`DEFAULT_MAX_VALUES`, the fits still store the pointwise log-likelihood alone
#: (what PSIS-LOO and ``bayesirl compare`` need) up to this many values (≈ 128 MB of float64;
#: e.g. 2000 draws of 2929 choices: 5.9 million).
MAX_LOG_LIKELIHOOD_VALUES = 16_000_000


def _observed(evidence: Evidence):
    """(source name, EvidenceSource) of the sources with observations to resample."""
    return [(name, SOURCES[name]) for name in evidence.sources()
            if SOURCES[name].observations is not None]


def observed_sites(evidence: Evidence) -> tuple[str, ...]:
    """Names of the observed sites of the model of ``evidence``, in source order."""
    return tuple(source.site for _, source in _observed(evidence))


def observed_data(evidence: Evidence) -> dict:
    """The observations of the model of ``evidence``: ``{site: (P_site,) int array}`` for
    each observed site (:func:`observed_sites`), as ArviZ's ``observed_data`` group holds them."""
    return _data_groups(evidence)[0]


def without_observations(evidence: Evidence) -> Evidence:
    """The same covariates with the observations removed (set to None), so that the model
    samples them: its prior or posterior predictive."""
    return Evidence({name: (SOURCES[name].replace_observations(data, None)
                            if SOURCES[name].replace_observations is not None else data)
                     for name, data in evidence.items()})


def posterior_samples(idata) -> dict:
    """The posterior variables of ``idata`` as a dict of arrays (C, D, …)."""
    return {k: jnp.asarray(v.values) for k, v in idata.posterior.data_vars.items()}


@partial(jax.jit, static_argnames=("static", "sites"))
def _log_likelihood_program(samples, dynamic, *, static, sites):
    args, kwargs = merge_arguments(dynamic, static)
    values = _numpyro_log_likelihood(static.model, samples, *args, batch_ndims=2, **kwargs)
    return {k: values[k] for k in sites}


@partial(jax.jit, static_argnames=("static", "sites"))
def _predictive_program(rng_key, samples, dynamic, *, static, sites):
    args, kwargs = merge_arguments(dynamic, static)
    draws = Predictive(static.model, samples, batch_ndims=2, return_sites=list(sites))(
        rng_key, *args, **kwargs)
    return {k: jnp.asarray(v, jnp.int32) for k, v in draws.items()}


def _model_call(mdp, evidence, model_kwargs):
    from bayesirl.models import reward_model

    return split_arguments(reward_model, (evidence, mdp), dict(model_kwargs))


def log_likelihood(samples: dict, mdp: MDP | None, evidence: Evidence, **model_kwargs) -> dict:
    """Log-likelihood of each observation under each draw (nats).

    One compiled program per (model settings, shapes): the draws, the MDP and the evidence are
    its arguments.

    Args:
        samples: posterior draws shaped (C, D, …) (:func:`posterior_samples`).
        mdp: the MDP of the fit (None without one).
        evidence: the evidence of the fit.
        **model_kwargs: the keyword arguments of :func:`~bayesirl.models.reward_model` used by
            the fit (prior, prior_scale, betas, q, maxent_horizon, margin, solver_kwargs).

    Returns:
        ``{site: (C, D, P_site)}`` for each observed site (:func:`observed_sites`); the prior's
        ``numpyro.factor`` terms are not observations and are left out. Their sum over sites
        and observations is the model's log density minus the log prior.
    """
    dynamic, static = _model_call(mdp, evidence, model_kwargs)
    return _log_likelihood_program(samples, dynamic, static=static,
                                   sites=observed_sites(evidence))


def posterior_predictive(rng_key: PRNGKey, samples: dict, mdp: MDP | None, evidence: Evidence,
                         **model_kwargs) -> dict:
    """Replicated observations: actions at the demonstrated states and times, labels of the
    same comparisons, ... (whatever each source observes).

    Args:
        rng_key: PRNG key.
        samples: posterior draws shaped (C, D, …).
        mdp, evidence, model_kwargs: as for the fit (see :func:`log_likelihood`).

    Returns:
        ``{site: (C, D, P_site)}`` int32 draws from ``p(y_rep | θ)`` for each observed site.
    """
    dynamic, static = _model_call(mdp, without_observations(evidence), model_kwargs)
    return _predictive_program(rng_key, samples, dynamic, static=static,
                               sites=observed_sites(evidence))


def pair_trajectories(mdp: MDP, demos: Demonstrations) -> np.ndarray:
    """(P,) index of the trajectory of each pair of
    :func:`~bayesirl.likelihoods.demonstration_pairs` (same order: padding and terminal
    states dropped)."""
    states, _, mask = (np.asarray(x) for x in demos)
    keep = mask & ~np.asarray(mdp.terminal)[np.minimum(states, mdp.num_states - 1)]
    return np.broadcast_to(np.arange(states.shape[0])[:, None], states.shape)[keep]


def group_log_likelihood(values: Array, groups: Array, num_groups: int) -> Array:
    """Sum the pointwise log-likelihood (…, P) over groups (e.g. trajectories).

    Args:
        values: (…, P) log-likelihood per pair.
        groups: (P,) group index in [0, num_groups).
        num_groups: G.

    Returns:
        (…, G) log-likelihood per group; a group without pairs gets 0.
    """
    one_hot = jax.nn.one_hot(jnp.asarray(groups), num_groups, dtype=jnp.asarray(values).dtype)
    return jnp.asarray(values) @ one_hot


def _policy(mdp, weights, beta, epsilon, likelihood, q, horizon, solver_kwargs):
    reward = reward_from_weights(mdp, weights)
    if likelihood == "boltzmann":
        return jax.nn.softmax(boltzmann_q_values(mdp, reward, beta, q, **solver_kwargs), -1)
    if "epsilon" in SOURCES[likelihood].options:  # the ε-contaminated Boltzmann demonstrator
        return noisy_boltzmann_policy(boltzmann_q_values(mdp, reward, beta, q, **solver_kwargs),
                                      epsilon)
    return jnp.exp(maxent_logits(mdp, reward, beta, horizon, **solver_kwargs))


def simulate_demonstrations(rng_key: PRNGKey, mdp: MDP, weights: Array, *, num_trajectories: int,
                            horizon: int, beta=1.0, likelihood: str = "boltzmann",
                            q: str = "soft", maxent_horizon: int | None = None,
                            initial_states: Array | None = None,
                            solver_kwargs: dict | None = None, epsilon=0.0) -> Demonstrations:
    """Roll out N trajectories of the demonstrator's policy under each of M reward draws.

    The policy is the Boltzmann policy ``softmax(β Q(·; φ w))`` (soft or hard Q), its
    ε-contaminated form ``(1 − ε) softmax(β Q) + ε / A`` (``noisy-boltzmann``) or the
    MaxEnt policy (time-dependent for a finite ``maxent_horizon``, Ziebart 2010). A
    trajectory stops when it enters a terminal state (that state is its last masked step,
    with action 0), as in :func:`~bayesirl.data.demos.rollout`.

    Args:
        rng_key: PRNG key.
        mdp: the MDP.
        weights: (M, F) reward-weight draws.
        num_trajectories: N >= 1 per draw.
        horizon: T >= 1 steps (<= ``maxent_horizon`` for the finite-horizon MaxEnt policy).
        beta: rationality β (scalar or (M,)).
        likelihood: the name of a policy source (``EvidenceSource.policy``: Boltzmann or MaxEnt).
        q: ``"soft"`` or ``"hard"`` (Boltzmann).
        maxent_horizon: T_max of the finite-horizon MaxEnt model, None for discounted.
        initial_states: optional (N,) start states; default drawn from p0.
        solver_kwargs: solver tolerances.
        epsilon: contamination ε in [0, 1] of ``noisy-boltzmann`` (scalar or (M,) draws).

    Returns:
        :class:`~bayesirl.data.demos.Demonstrations` with arrays shaped (M, N, T).

    Raises:
        ValueError: bad counts, unknown ``likelihood``, weights not (M, F), a horizon longer
            than ``maxent_horizon``, or a scalar ``epsilon`` outside [0, 1].
    """
    N = check_scalar(num_trajectories, "num_trajectories", low=1, integer=True)
    T = check_scalar(horizon, "horizon", low=1, integer=True)
    if likelihood not in policy_sources(SOURCES):
        raise ValueError(f"likelihood: expected one of {', '.join(policy_sources(SOURCES))}, "
                         f"got {likelihood!r}")
    if np.ndim(epsilon) == 0:
        check_epsilon(epsilon)
    weights = jnp.asarray(weights)
    if weights.ndim != 2 or weights.shape[1] != mdp.num_features:
        raise ValueError(f"weights: expected shape (M, F) with F = {mdp.num_features}, "
                         f"got {weights.shape}")
    if ("maxent_horizon" in SOURCES[likelihood].options and maxent_horizon is not None
            and T > maxent_horizon):
        raise ValueError(f"horizon: expected <= maxent_horizon = {maxent_horizon}, got {T}")
    M = weights.shape[0]
    betas = jnp.broadcast_to(jnp.asarray(beta, weights.dtype), (M,))
    epsilons = jnp.broadcast_to(jnp.asarray(epsilon, weights.dtype), (M,))
    kwargs = solver_kwargs or {}
    starts = None if initial_states is None else jnp.asarray(initial_states, jnp.int32)
    if starts is not None and starts.shape != (N,):
        raise ValueError(f"initial_states: expected shape ({N},), got {starts.shape}")

    def one_draw(key, w, b, e):
        policy = _policy(mdp, w, b, e, likelihood, q, maxent_horizon, kwargs)
        keys = jax.random.split(key, N)
        if starts is None:
            return jax.vmap(lambda k: rollout(k, mdp, policy, T))(keys)
        return jax.vmap(lambda k, s0: rollout(k, mdp, policy, T, s0))(keys, starts)

    return jax.vmap(one_draw)(jax.random.split(rng_key, M), weights, betas, epsilons)


def predictive_size(idata, evidence: Evidence) -> int:
    """Number of values the two groups take: 2 × draws × observations."""
    draws = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
    obs = sum(source.num_observations(evidence[name]) for name, source in _observed(evidence))
    return 2 * draws * obs


def _data_groups(evidence: Evidence):
    """``(observed, constant, dims)`` of the sources of ``evidence``."""
    observed, constant, dims = {}, {}, {}
    for name, source in _observed(evidence):
        data = evidence[name]
        observed[source.site] = np.asarray(source.observations(data))
        dims[source.site] = [source.dim]
        for key, value in source.constants(data).items():
            constant[key] = np.asarray(value)
            dims[key] = [source.dim]
    return observed, constant, dims


def add_predictive_groups(idata, mdp: MDP, evidence: Evidence, *, seed: int = 0,
                          posterior_predictive_draws: bool = True, **model_kwargs):
    """A new InferenceData with ``log_likelihood``, ``posterior_predictive``,
    ``observed_data`` and ``constant_data`` added.

    Dims: ``boltzmann_pair``, ``maxent_pair`` (P pairs) and ``comparison`` (P comparisons);
    ``constant_data`` holds ``boltzmann_states``, ``maxent_states``, ``maxent_times``,
    ``preference_first`` and ``preference_second``. Then ``az.loo(idata,
    var_name="boltzmann_actions")`` and ``az.plot_ppc`` work.

    Args:
        idata: the fit (its posterior holds the model's latent sites).
        mdp, evidence, model_kwargs: exactly as passed to
            :func:`~bayesirl.models.reward_model` by the fit.
        seed: PRNG seed of the replicated data.
        posterior_predictive_draws: False stores the log-likelihood only.

    Returns:
        a new ``InferenceData``; ``idata`` is not modified.
    """
    samples = posterior_samples(idata)
    ll = {k: np.asarray(v) for k, v in log_likelihood(samples, mdp, evidence,
                                                      **model_kwargs).items()}
    pp = None
    if posterior_predictive_draws:
        pp = {k: np.asarray(v) for k, v in posterior_predictive(
            jax.random.PRNGKey(seed), samples, mdp, evidence, **model_kwargs).items()}
    observed, constant, dims = _data_groups(evidence)
    return _arviz.with_groups(idata, log_likelihood=ll, posterior_predictive=pp,
                              observed_data=observed, constant_data=constant, dims=dims)
