"""Sample-based MaxEnt likelihood of demonstrations when the dynamics are unknown.

The MaxEnt trajectory distribution (Ziebart et al. 2008) is ``p(τ | w) = D(τ) exp(β w·Φ_τ) /
Z(w)`` with ``D(τ)`` the probability the (unknown) dynamics and start distribution give the
trajectory and ``Z(w) = Σ_τ D(τ) exp(β w·Φ_τ)``. Dropping ``D`` (it does not depend on w), the
log-likelihood of D demonstrations is ``Σ_d β w·Φ_d − D log Z(w)``. Relative-entropy IRL
(Boularias, Kober & Peters, AISTATS 2011, eq. 7–8) and guided cost learning (Finn, Levine &
Abbeel 2016, eq. 3) estimate Z by importance sampling over K background trajectories rolled
out in the same environment under a policy π_b with known action probabilities: since
``q(τ) = D(τ) π_b(τ)``, the dynamics cancel and

    Ẑ(w) = (1/K) Σ_k exp(β w·Φ_k − log π_b(τ_k)),

whose gradient gives the self-normalised importance weights
``ŵ_k ∝ exp(β w·Φ_k) / π_b(τ_k)`` of Boularias et al. (their ∇ = μ̂_E − Σ_k ŵ_k Φ_k).

**The posterior is approximate.** Ẑ is unbiased for Z, but log Ẑ is biased low (Jensen) and
noisy, and its error depends on w: where the background rarely visits trajectories that
``exp(β w·Φ)`` favours (e.g. near the demonstrations), Ẑ underestimates Z, the likelihood is
too high there and the posterior is over-confident toward those w. With a fixed background the
error is deterministic in w (the same Ẑ at every MCMC step), so the sampler targets the exact
posterior of an approximate likelihood. The error vanishes as K grows and is small where the
importance weights are balanced: :func:`importance_ess` reports their effective sample size
per posterior draw, and :func:`check_importance_ess` warns when it collapses.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._typing import Array
from bayesirl.likelihoods.source import EvidenceInputs, EvidenceSource, ModelContext

__all__ = [
    "SOURCE",
    "SampleMaxEntData",
    "ImportanceWeightWarning",
    "MIN_ESS_FRACTION",
    "log_partition_estimate",
    "sample_maxent_log_likelihood",
    "importance_log_weights",
    "importance_ess",
    "check_importance_ess",
]

#: Default warning threshold: minimum ESS of the importance weights as a fraction of K.
MIN_ESS_FRACTION = 0.01


class ImportanceWeightWarning(UserWarning):
    """The importance weights of the sample-based partition function have collapsed."""


def importance_log_weights(weights: Array, background_counts: Array, background_log_probs: Array,
                           beta=1.0) -> Array:
    """Unnormalised log importance weights ``β w·Φ_k − log π_b(τ_k)`` for ONE weight vector.

    Args:
        weights: (F,) reward weights w.
        background_counts: (K, F) feature counts of the background trajectories.
        background_log_probs: (K,) ``log π_b(τ_k)``, the log-probability of each background
            trajectory's actions under its sampling policy (nats; dynamics excluded).
        beta: rationality β.

    Returns:
        (K,) log-weights.
    """
    return beta * (background_counts @ weights) - background_log_probs


def log_partition_estimate(weights: Array, background_counts: Array, background_log_probs: Array,
                           beta=1.0) -> Array:
    """``log Ẑ(w) = logsumexp_k(β w·Φ_k − log π_b(τ_k)) − log K`` (Boularias et al. 2011).

    Args: as :func:`importance_log_weights`.

    Returns:
        () the log partition-function estimate (nats).
    """
    log_w = importance_log_weights(weights, background_counts, background_log_probs, beta)
    return jax.scipy.special.logsumexp(log_w) - jnp.log(log_w.shape[0])


def sample_maxent_log_likelihood(weights: Array, demo_counts: Array, background_counts: Array,
                                 background_log_probs: Array, beta=1.0) -> Array:
    """Sample-based MaxEnt log-likelihood of D demonstrations for ONE weight vector.

    ``Σ_d β w·Φ_d − D log Ẑ(w)`` with Ẑ from :func:`log_partition_estimate` (Boularias,
    Kober & Peters 2011; Finn et al. 2016). Approximate: see the module docstring. With the
    background equal to every possible trajectory and ``π_b`` uniform over them
    (``log π_b = −log K``), Ẑ is the exact partition function.

    Args:
        weights: (F,) reward weights.
        demo_counts: (D, F) feature counts of the demonstrations.
        background_counts: (K, F) feature counts of the background trajectories.
        background_log_probs: (K,) their log sampling probabilities (nats).
        beta: rationality β.

    Returns:
        () log-likelihood (nats). Differentiable in ``weights`` and ``beta``.
    """
    fit = beta * jnp.sum(demo_counts @ weights)
    return fit - demo_counts.shape[0] * log_partition_estimate(
        weights, background_counts, background_log_probs, beta)


def _ess_one(weights, background_counts, background_log_probs, beta):
    log_w = importance_log_weights(weights, background_counts, background_log_probs, beta)
    lse = jax.scipy.special.logsumexp
    return jnp.exp(2 * lse(log_w) - lse(2 * log_w))


def importance_ess(weights: Array, background_counts: Array, background_log_probs: Array,
                   beta=1.0) -> Array:
    """Effective sample size ``(Σ_k ŵ_k)² / Σ_k ŵ_k²`` of the importance weights per draw.

    Kish's ESS, between 1 (one background trajectory carries all the weight) and K (equal
    weights).

    Args:
        weights: (M, F) posterior draws of the reward weights.
        background_counts: (K, F), background_log_probs: (K,), as in
            :func:`importance_log_weights`.
        beta: β, scalar or (M,) per draw.

    Returns:
        (M,) ESS per draw.
    """
    weights = jnp.asarray(weights)
    beta = jnp.broadcast_to(jnp.asarray(beta, weights.dtype), weights.shape[:1])
    return jax.vmap(_ess_one, in_axes=(0, None, None, 0))(
        weights, jnp.asarray(background_counts, weights.dtype),
        jnp.asarray(background_log_probs, weights.dtype), beta)


def check_importance_ess(ess, num_background: int, min_fraction: float = MIN_ESS_FRACTION,
                         *, stacklevel: int = 2) -> bool:
    """Warn (:class:`ImportanceWeightWarning`) when the importance weights collapse.

    Args:
        ess: (M,) or (C, D) ESS per draw (:func:`importance_ess`).
        num_background: K.
        min_fraction: warn when the median ESS is below ``min_fraction · K`` or below 2.
        stacklevel: passed to :func:`warnings.warn`.

    Returns:
        True when the weights are healthy (no warning), False when a warning was issued.
    """
    ess = np.asarray(ess, np.float64).reshape(-1)
    median = float(np.median(ess))
    threshold = max(2.0, min_fraction * num_background)
    if median >= threshold:
        return True
    warnings.warn(
        f"sample-based MaxEnt: the importance weights of the partition function have collapsed "
        f"(median ESS {median:.1f} of K = {num_background} background trajectories, minimum "
        f"{float(ess.min()):.1f}); the estimate of Z is unreliable and the posterior is "
        "over-confident. Add background trajectories closer to the demonstrations (e.g. rollouts "
        "of the demonstrator with noise) or use fewer, shorter features.",
        ImportanceWeightWarning, stacklevel=stacklevel)
    return False


# ---------------------------------------------------------------------------------------------
# The evidence source
# ---------------------------------------------------------------------------------------------


class SampleMaxEntData(NamedTuple):
    """The data of the sample-based MaxEnt source.

    Attributes:
        demo_counts: (D, F) feature counts of the demonstrations.
        background_counts: (K, F) feature counts of the background trajectories.
        background_log_probs: (K,) their log sampling probabilities ``log π_b(τ_k)``.
    """

    demo_counts: Array
    background_counts: Array
    background_log_probs: Array


def _ids(ids, name: str, N: int) -> np.ndarray:
    from bayesirl._validate import as_index_array

    idx = as_index_array(ids, name, N)
    if idx.size == 0:
        raise ValueError(f"{name}: expected at least one trajectory id, got none")
    return idx


def _build_sample_maxent(inputs: EvidenceInputs, options: dict) -> SampleMaxEntData:
    """Demonstration and background rows of the world's trajectory set, checked."""
    trajectories = inputs.trajectories
    if inputs.demonstration_ids is None or trajectories is None:
        if inputs.background_ids is not None:
            raise ValueError("background: background trajectories need demonstrations")
        raise ValueError("demonstrations: the sample-maxent likelihood needs demonstration ids "
                         "into a trajectory set")
    N = trajectories.num_trajectories
    demo = _ids(inputs.demonstration_ids, "demonstrations", N)
    back = (np.setdiff1d(np.arange(N), demo) if inputs.background_ids is None
            else _ids(inputs.background_ids, "background", N))
    if back.size == 0:
        raise ValueError("background: expected at least one background trajectory, got none")
    if trajectories.log_probs is None:
        raise ValueError("trajectories: the sample-based MaxEnt likelihood needs the "
                         "sampling log-probabilities (log_probs) of the background")
    dtype = jnp.result_type(float)
    counts = np.asarray(trajectories.feature_counts)
    return SampleMaxEntData(jnp.asarray(counts[demo], dtype), jnp.asarray(counts[back], dtype),
                            jnp.asarray(np.asarray(trajectories.log_probs)[back], dtype))


def _observe_sample_maxent(context: ModelContext, data: SampleMaxEntData, beta, options) -> None:
    """The factor ``"sample_maxent"``: ``Σ_d β w·Φ_d − D log Ẑ(w)`` (Boularias et al. 2011)."""
    import numpyro

    numpyro.factor("sample_maxent", sample_maxent_log_likelihood(
        context.weights, data.demo_counts, data.background_counts, data.background_log_probs,
        beta))


#: Sample-based MaxEnt demonstrations (no MDP) as an evidence source.
SOURCE = EvidenceSource(
    name="sample-maxent", site="sample_maxent", dim="demonstration", needs_mdp=False,
    requires="demonstrations",
    worlds=("trajectories",),
    build=_build_sample_maxent, observe=_observe_sample_maxent,
    description="MaxEnt demonstrations without dynamics, the partition function importance-"
                "sampled over background trajectories (Boularias et al. 2011)",
    num_features=lambda data: data.demo_counts.shape[-1])
