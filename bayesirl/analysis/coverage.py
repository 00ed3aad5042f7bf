"""Does the α-VaR policy-loss bound hold? Coverage, tightness and loss over many worlds.

A simulation study of a Bayesian IRL posterior draws many worlds with a known true reward,
fits each, and asks for the posterior's evaluation policy: is the (1 − δ)-confidence upper
bound on the α-quantile of its loss (Brown & Niekum, AAAI 2018; :mod:`bayesirl.analysis.bounds`)
at least the loss under the TRUE reward? Over the worlds:

* coverage — the share of worlds where the bound holds (it should be >= 1 − δ-ish when the
  model is right: the bound is on the posterior α-quantile, so with a correct posterior and a
  truth drawn from the prior it holds in at least about α of the worlds);
* tightness — mean bound / mean true loss (1 is the ideal; large is a loose bound);
* the mean true normalised EVD (nEVD) of the evaluation policy.

The loss is the nEVD (Trinh, Chen & Brown, HRI 2024): 0 for an optimal policy, 1 for one no
better than the uniformly random policy. Two kinds of world:

* an MDP: :func:`check_policy_bound` solves the MDP for every draw
  (:func:`~bayesirl.analysis.posterior.policy_losses`) and the true loss with the true reward;
* a finite set of candidate policies known by their expected feature counts (trajectory
  features without a transition model, e.g. rollouts of a continuous-control task):
  :func:`candidate_losses` gives the nEVD relative to the best candidate and a reference
  (uniformly random) candidate, and :func:`check_bound` compares any loss draws with a true loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from bayesirl._typing import Array, ArrayLike
from bayesirl._validate import as_float_array, check_scalar
from bayesirl.analysis.bounds import SAMPLE_SIZES, value_at_risk_bound
from bayesirl.analysis.posterior import policy_losses
from bayesirl.data.mdp import MDP
from bayesirl.solvers.evaluation import normalized_evd, value_differences

__all__ = [
    "BoundCheck",
    "CoverageSummary",
    "check_bound",
    "check_policy_bound",
    "candidate_losses",
    "summarise_bound_checks",
]


class BoundCheck(NamedTuple):
    """One world: the α-VaR bound on the evaluation policy's loss against its true loss.

    Attributes:
        bound: the (1 − δ)-confidence upper bound on the α-quantile of the posterior loss.
        true_loss: the loss under the true reward (same units, e.g. nEVD).
        holds: ``bound >= true_loss``.
        num_samples: draws the order statistic was taken from (after thinning).
    """

    bound: float
    true_loss: float
    holds: bool
    num_samples: int


class CoverageSummary(NamedTuple):
    """Bound checks over W worlds.

    Attributes:
        num_worlds: W.
        coverage: share of worlds where the bound holds, in [0, 1].
        tightness: mean bound / mean true loss (``inf`` when every true loss is 0 and some bound
            is not; ``nan`` when both are 0).
        mean_loss: mean true loss (e.g. nEVD) of the evaluation policies.
        mean_bound: mean bound.
    """

    num_worlds: int
    coverage: float
    tightness: float
    mean_loss: float
    mean_bound: float


def check_bound(loss_draws: ArrayLike, true_loss: float, alpha: float = 0.95,
                delta: float = 0.05, *, sample_size: str = "ess") -> BoundCheck:
    """Compare the α-VaR bound from posterior loss draws with the true loss.

    Args:
        loss_draws: (M,) or (C, D) loss of the evaluation policy under each posterior draw.
        true_loss: the loss under the true reward.
        alpha, delta: quantile level and failure probability (see
            :func:`~bayesirl.analysis.bounds.value_at_risk_bound`).
        sample_size: ``"ess"`` (default: thin each chain to its effective sample size, as the
            binomial argument of the bound needs independent draws) or ``"draws"``.

    Returns:
        :class:`BoundCheck`.

    Raises:
        ValueError: a non-finite ``true_loss``, and as
            :func:`~bayesirl.analysis.bounds.value_at_risk_bound` (bad α/δ, too few draws).
    """
    if sample_size not in SAMPLE_SIZES:
        raise ValueError(f"sample_size: expected one of {SAMPLE_SIZES}, got {sample_size!r}")
    true_loss = check_scalar(true_loss, "true_loss")
    var = value_at_risk_bound(loss_draws, alpha, delta, sample_size=sample_size)
    return BoundCheck(var.bound, true_loss, bool(var.bound >= true_loss), var.num_samples)


def check_policy_bound(mdp: MDP, true_reward: ArrayLike, weight_draws: ArrayLike,
                       policy: ArrayLike, alpha: float = 0.95, delta: float = 0.05, *,
                       sample_size: str = "ess") -> BoundCheck:
    """Does the α-VaR bound on the nEVD of ``policy`` hold in this MDP?

    The posterior side is the nEVD of ``policy`` under each draw's reward ``φ w`` in ``mdp``
    (:func:`~bayesirl.analysis.posterior.policy_losses`); the true side its nEVD under
    ``true_reward``, which need not lie in the span of ``mdp``'s features (a misspecified
    model). Evaluate in new dynamics (transfer) by passing that MDP.

    Args:
        mdp: the MDP the loss is measured in (features (S, F) or (S, A, F) of the model).
        true_reward: (S,) or (S, A) the true reward (reward units).
        weight_draws: (C, D, F) posterior draws per chain, or (M, F) draws of one chain.
        policy: (S, A) the evaluation policy (action probabilities).
        alpha, delta, sample_size: as :func:`check_bound`.

    Returns:
        :class:`BoundCheck` (losses unitless nEVD).

    Raises:
        ValueError: shapes that do not fit ``mdp``, and as :func:`check_bound`.
    """
    draws = as_float_array(weight_draws, "weight_draws", ndim=(2, 3))
    chains = draws if draws.ndim == 3 else draws[None]
    C, D, F = chains.shape
    nevd = np.asarray(policy_losses(mdp, chains.reshape(C * D, F), policy).nevd)
    truth = float(normalized_evd(mdp, jnp.asarray(true_reward, mdp.features.dtype),
                                 jnp.asarray(policy, mdp.features.dtype)))
    return check_bound(nevd.reshape(C, D), truth, alpha, delta, sample_size=sample_size)


def candidate_losses(weights: ArrayLike, feature_expectations: ArrayLike, policy: int,
                     uniform: int) -> Array:
    """nEVD of one candidate policy among P, under each reward draw, from feature expectations.

    With a linear reward ``w·φ`` a policy's expected return is ``w·μ`` (μ its expected feature
    counts; Abbeel & Ng 2004), so without a transition model the loss of candidate ``policy``
    is measured against the best candidate: ``EVD = max_p w·μ_p − w·μ_policy`` and
    ``nEVD = EVD / (max_p w·μ_p − w·μ_uniform)`` (the MDP definition of Trinh, Chen & Brown
    2024 with the optimum taken over the candidates; 0 where no candidate beats ``uniform``).

    Args:
        weights: (..., F) reward weights, e.g. (M, F) draws or (F,) the true weights.
        feature_expectations: (P, F) expected feature counts of each candidate.
        policy: index of the evaluated candidate, 0 <= policy < P.
        uniform: index of the reference (uniformly random) candidate.

    Returns:
        (...,) nEVD (unitless).

    Raises:
        ValueError: shapes that do not match, or an index outside 0 … P − 1.
    """
    w = as_float_array(weights, "weights")
    mu = as_float_array(feature_expectations, "feature_expectations", ndim=2)
    if w.ndim < 1 or w.shape[-1] != mu.shape[1]:
        raise ValueError(f"weights: expected shape (..., F) with F = {mu.shape[1]} (the "
                         f"features of feature_expectations), got {w.shape}")
    P = mu.shape[0]
    for name, index in (("policy", policy), ("uniform", uniform)):
        check_scalar(index, name, low=0, high=P - 1, integer=True)
    returns = w @ mu.T  # (..., P)
    _, nevd = value_differences(jnp.max(returns, axis=-1), returns[..., policy],
                                returns[..., uniform])
    return nevd


def summarise_bound_checks(checks: Sequence[BoundCheck]) -> CoverageSummary:
    """Coverage, tightness and mean loss of bound checks over worlds.

    Args:
        checks: one :class:`BoundCheck` per world (at least one).

    Returns:
        :class:`CoverageSummary`.

    Raises:
        ValueError: no checks.
    """
    if len(checks) == 0:
        raise ValueError("checks: expected at least one BoundCheck, got none")
    bound = np.array([c.bound for c in checks], float)
    loss = np.array([c.true_loss for c in checks], float)
    mean_bound, mean_loss = float(bound.mean()), float(loss.mean())
    if mean_loss > 0:
        tightness = mean_bound / mean_loss
    else:
        tightness = math.nan if mean_bound == 0 else math.inf
    coverage = float(np.mean([c.holds for c in checks]))
    return CoverageSummary(len(checks), coverage, tightness, mean_loss, mean_bound)
