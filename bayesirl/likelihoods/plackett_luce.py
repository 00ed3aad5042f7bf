"""Plackett–Luce likelihood of rankings of trajectories: one ranking is ONE observation.

A ranking ``τ_{o_1} ≻ τ_{o_2} ≻ … ≻ τ_{o_L}`` of L of the K trajectories offered, with the
linear return ``u_k = w·Φ_k`` of the discounted feature counts Φ and rationality β, has the
Plackett–Luce probability (Plackett 1975, Eq. 1; Luce 1959)

    p(o) = Π_{j=1}^{L} exp(β u_{o_j}) / Σ_{i offered, not among o_1 … o_{j−1}} exp(β u_i),

a sequence of Boltzmann-rational choices of the best remaining trajectory; L = K for a full
ranking, L < K for a top-L ranking. With K = 2 it is the Bradley–Terry model of
:mod:`bayesirl.likelihoods.bradley_terry`, ``σ(β (u_A − u_B))``.

Why not the pairs: T-REX and Bayesian REX (Brown et al., ICML 2019, 2020) and D-REX
(Brown, Goo & Niekum, CoRL 2019) turn a ranking of K trajectories into its K(K − 1)/2 ordered
pairs and score each with Bradley–Terry as if it were independent; the log-likelihood then
grows like K² instead of K and the posterior is over-confident. Here the ranking contributes
its K − 1 (or L) choice terms once. The pointwise log-likelihood (ArviZ ``log_likelihood``
group, PSIS-LOO) has one entry per ranking.

One likelihood evaluation is a matrix–vector product ``Φ w``, a gather and a reverse cumulative
logsumexp per ranking (:func:`~bayesirl.likelihoods.choice.plackett_luce_log_probability`);
no MDP solve.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import numpyro

from bayesirl._typing import Array
from bayesirl.data.rankings import PADDING, make_trajectory_rankings
from bayesirl.likelihoods.choice import PlackettLuce, plackett_luce_log_probability
from bayesirl.likelihoods.source import EvidenceInputs, EvidenceSource, ModelContext

__all__ = ["SOURCE", "RankingData", "ranking_data", "ranking_log_likelihood",
           "pointwise_ranking_log_likelihood", "observe_trajectory_rankings"]


class RankingData(NamedTuple):
    """The data of the Plackett–Luce source (a JAX pytree).

    Attributes:
        features: (N, F) discounted feature counts Φ of the trajectories.
        options: (R, K) int32 trajectory index of each option slot of each ranking (0 in
            padding slots).
        available: (R, K) bool, True for the slots holding an offered trajectory.
        order: (R, K) int32, the observed rankings: a permutation of the slots 0 … K−1 per row,
            best first (ranked, then offered but unranked, then padding).
        length: (R,) int32 number L of ranked positions.
    """

    features: Array
    options: Array
    available: Array
    order: Array
    length: Array

    @property
    def num_rankings(self) -> int:
        """R, the number of rankings (observations)."""
        return self.order.shape[0]


def ranking_data(features, rankings) -> RankingData:
    """The source's data from feature counts and rankings of their rows.

    Args:
        features: (N, F) discounted feature counts Φ of the trajectories.
        rankings: :class:`~bayesirl.data.rankings.TrajectoryRankings`, or anything
            :func:`~bayesirl.data.rankings.make_trajectory_rankings` accepts (R lists of row
            indices best first).

    Returns:
        RankingData whose option slots list each ranking's trajectories in ranked order (so
        ``order`` is ``0 … K−1`` on every row).

    Raises:
        ValueError: ``features`` not a finite (N, F) array; a ranking that refers to a row
            outside [0, N), or as :func:`~bayesirl.data.rankings.make_trajectory_rankings`.
    """
    dtype = jnp.result_type(float)
    features = jnp.asarray(features, dtype)
    if features.ndim != 2:
        raise ValueError(f"features: expected an (N, F) array of feature counts, got shape "
                         f"{features.shape}")
    if not bool(jnp.all(jnp.isfinite(features))):
        raise ValueError("features: the feature counts hold NaN or inf")
    checked = make_trajectory_rankings(rankings, int(features.shape[0]))
    ids = np.asarray(checked.order)
    R, K = ids.shape
    return RankingData(features, jnp.asarray(np.where(ids == PADDING, 0, ids), jnp.int32),
                       jnp.asarray(ids != PADDING),
                       jnp.asarray(np.broadcast_to(np.arange(K, dtype=np.int32), (R, K))),
                       checked.length)


def pointwise_ranking_log_likelihood(weights: Array, data: RankingData, beta=1.0) -> Array:
    """Log-probability of each ranking for ONE weight vector.

    Args:
        weights: (F,) reward weights w.
        data: the R rankings and the feature counts (:func:`ranking_data`).
        beta: rationality β (scalar).

    Returns:
        (R,) ``log p(order_r)`` (nats). Source: Plackett 1975, Eq. 1.
    """
    utilities = (data.features @ weights)[data.options]
    logits = jnp.where(data.available, jnp.asarray(beta, utilities.dtype) * utilities, -jnp.inf)
    return plackett_luce_log_probability(logits, data.order, data.length)


def ranking_log_likelihood(weights: Array, data: RankingData, beta=1.0) -> Array:
    """Log-likelihood ``Σ_r log p(order_r)`` of R rankings for ONE weight vector (batch over
    weights with ``jax.vmap``).

    Args:
        weights: (F,) reward weights w.
        data: the rankings (:func:`ranking_data`).
        beta: rationality β (scalar).

    Returns:
        () log-likelihood (nats). Source: Plackett 1975; Luce 1959.
    """
    return jnp.sum(pointwise_ranking_log_likelihood(weights, data, beta))


def observe_trajectory_rankings(returns: Array, data: RankingData, beta=1.0) -> None:
    """The rankings as an observed NumPyro site, inside a model.

    ``order_r ~ PlackettLuce(β u[options_r], available_r, length_r)`` in the plate
    ``"trajectory_rankings"``, site ``"ranking_orders"``; ``order=None`` in ``data`` samples
    full rankings (prior / posterior predictive, simulation-based calibration).

    Args:
        returns: (N,) returns ``u = Φ w`` of the trajectories.
        data: the R rankings (:class:`RankingData`).
        beta: rationality β (scalar, may be a sampled site).
    """
    utilities = returns[data.options]
    with numpyro.plate("trajectory_rankings", data.options.shape[0]):
        numpyro.sample("ranking_orders",
                       PlackettLuce(utilities, data.available, beta, data.length),
                       obs=data.order)


# ---------------------------------------------------------------------------------------------
# The evidence source
# ---------------------------------------------------------------------------------------------


def _build_rankings(inputs: EvidenceInputs, options: dict) -> RankingData:
    """Feature counts of the ranked trajectories (the trajectory world's rows, or the MDP
    world's ranked trajectories) and the rankings, checked."""
    if inputs.rankings is None:
        raise ValueError("rankings: the plackett-luce likelihood needs rankings")
    if inputs.trajectories is not None:
        features = inputs.trajectories.feature_counts
    elif inputs.mdp is not None and inputs.ranking_trajectories is not None:
        from bayesirl.data.demos import check_demonstrations
        from bayesirl.solvers.occupancy import empirical_feature_counts

        check_demonstrations(inputs.mdp, inputs.ranking_trajectories)
        features = empirical_feature_counts(inputs.mdp, inputs.ranking_trajectories)
    else:
        raise ValueError("rankings: the ranked trajectories are missing (a trajectory set, or "
                         "the MDP's ranked trajectories)")
    return ranking_data(features, inputs.rankings)


def _observe_rankings(context: ModelContext, data: RankingData, beta, options) -> None:
    """``order_r ~ PlackettLuce(β w·Φ[options_r])`` at the observed site ``"ranking_orders"``."""
    observe_trajectory_rankings(data.features @ context.weights, data, beta)


#: Plackett–Luce rankings of trajectories as an evidence source.
SOURCE = EvidenceSource(
    name="plackett-luce", site="ranking_orders", dim="ranking", needs_mdp=False,
    requires="rankings",
    worlds=("mdp", "trajectories"),
    build=_build_rankings, observe=_observe_rankings,
    observations=lambda data: data.order,
    replace_observations=lambda data, order: data._replace(order=order),
    constants=lambda data: {"ranking_length": data.length},
    description="rankings of trajectories, each one observation: Plackett–Luce "
                "(Plackett 1975; Luce 1959; D-REX ladders, Brown et al. 2019)",
    num_features=lambda data: data.features.shape[-1])
