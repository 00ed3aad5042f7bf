"""High-confidence policy evaluation without an MDP, from rollout feature counts.

For a linear reward ``R = w·φ`` the expected return of a policy π is ``w·μ(π)`` with μ(π) its
expected (discounted) feature counts, estimated by the mean feature counts of its rollouts.
Given M posterior draws of w this gives M draws of each candidate policy's return; from them a
posterior mean, an equal-tailed credible interval, and the (1 − δ)-confidence α-VaR lower bound
of Brown, Coleman, Srinivasan & Niekum (ICML 2020, Sec. 5, "high-confidence policy
evaluation"): the bound of :func:`~bayesirl.analysis.bounds.value_at_risk_bound` applied to the
loss ``−w·μ(π)`` (performance) or ``w·μ(π_ref) − w·μ(π)`` (regret against a reference policy).

Units: with a unit-sphere prior the returns are in units of the unit-norm reward (only their
order and ratios are identified, Ng & Russell 2000); :func:`normalized_returns` maps them to a
scale-free 0 (a low reference policy) – 1 (a high reference policy) per draw.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bayesirl._validate import as_float_array, check_scalar
from bayesirl.analysis.bounds import value_at_risk_bound

__all__ = [
    "PolicyEvaluation",
    "expected_feature_counts_from_rollouts",
    "policy_returns",
    "normalized_returns",
    "evaluate_policies",
    "regret_bound",
    "rank_policies",
]


class PolicyEvaluation(NamedTuple):
    """Posterior summaries of the expected returns of P candidate policies.

    Attributes:
        names: P policy names.
        mean: (P,) posterior-mean return.
        lower, upper: (P,) equal-tailed credible interval at level ``credibility``.
        lower_bound: (P,) (1 − δ)-confidence α-VaR lower bound on the return.
        credibility: level of the interval (e.g. 0.9).
        alpha, delta: of the bound.
        num_samples: n draws used by the bound (after thinning with ``sample_size="ess"``).
    """

    names: tuple
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    lower_bound: np.ndarray
    credibility: float
    alpha: float
    delta: float
    num_samples: np.ndarray


def expected_feature_counts_from_rollouts(feature_counts) -> np.ndarray:
    """μ̂(π): the mean of the rollouts' feature counts, (N, F) -> (F,).

    Raises:
        ValueError: not a non-empty finite (N, F) array.
    """
    x = as_float_array(feature_counts, "feature_counts", ndim=2)
    if x.shape[0] == 0:
        raise ValueError("feature_counts: expected at least one rollout, got none")
    return x.mean(axis=0)


def _draws(weights) -> np.ndarray:
    w = as_float_array(weights, "weights", ndim=(2, 3))
    if w.shape[-2] == 0 or w.shape[-1] == 0:
        raise ValueError(f"weights: expected draws (M, F) or (C, D, F), got shape {w.shape}")
    return w


def policy_returns(weights, policy_feature_counts) -> np.ndarray:
    """Posterior draws of the expected returns ``w_m·μ(π_p)``.

    Args:
        weights: (M, F) or (C, D, F) posterior draws of the reward weights.
        policy_feature_counts: (P, F) expected feature counts μ(π_p) of P policies.

    Returns:
        (M, P) or (C, D, P) returns (reward units).

    Raises:
        ValueError: ranks, a feature-count mismatch or non-finite values.
    """
    w = _draws(weights)
    mu = as_float_array(policy_feature_counts, "policy_feature_counts", ndim=2)
    if mu.shape[1] != w.shape[-1]:
        raise ValueError(f"policy_feature_counts: expected F = {w.shape[-1]} features per policy, "
                         f"got shape {mu.shape}")
    return w @ mu.T


def normalized_returns(returns, low: int, high: int) -> np.ndarray:
    """Per-draw normalised returns ``(G_p − G_low) / (G_high − G_low)``: 0 = policy ``low``,
    1 = policy ``high`` (e.g. uniformly random and the expert), scale-free.

    Args:
        returns: (..., P) returns per draw (:func:`policy_returns`).
        low, high: indices of the two reference policies.

    Returns:
        (..., P) normalised returns; draws where the two references tie give NaN.

    Raises:
        ValueError: bad indices, ``low == high``.
    """
    g = as_float_array(returns, "returns")
    P = g.shape[-1] if g.ndim else 0
    for name, i in (("low", low), ("high", high)):
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < P:
            raise ValueError(f"{name}: expected a policy index in [0, {P}), got {i!r}")
    if low == high:
        raise ValueError(f"low, high: expected two different reference policies, got {low}")
    span = g[..., high] - g[..., low]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (g - g[..., low, None]) / span[..., None]
    return np.where(span[..., None] != 0, out, np.nan)


def evaluate_policies(returns, names=None, *, credibility: float = 0.9, alpha: float = 0.95,
                      delta: float = 0.05, sample_size: str = "draws") -> PolicyEvaluation:
    """Posterior mean, credible interval and α-VaR lower bound of P policies' returns.

    The lower bound is ``−VaR_α(−G)``: with probability >= 1 − δ over the draws, at most a
    fraction 1 − α of the posterior puts the return below it (Brown et al. 2020, Sec. 5).

    Args:
        returns: (M, P) or (C, D, P) posterior draws of the returns (:func:`policy_returns`
            or :func:`normalized_returns`).
        names: P names; default ``"0" … "P-1"``.
        credibility: level of the equal-tailed interval, in (0, 1).
        alpha, delta, sample_size: of :func:`~bayesirl.analysis.bounds.value_at_risk_bound`.

    Returns:
        :class:`PolicyEvaluation`.

    Raises:
        ValueError: bad shapes, non-finite returns, levels outside (0, 1), too few draws.
    """
    g = as_float_array(returns, "returns", ndim=(2, 3))
    credibility = check_scalar(credibility, "credibility", low=0.0, high=1.0, low_open=True,
                               high_open=True)
    P = g.shape[-1]
    names = tuple(str(i) for i in range(P)) if names is None else tuple(names)
    if len(names) != P:
        raise ValueError(f"names: expected {P} names, got {len(names)}")
    flat = g.reshape(-1, P)
    tail = (1 - credibility) / 2
    bounds = [value_at_risk_bound(-g[..., p], alpha, delta, sample_size=sample_size)
              for p in range(P)]
    return PolicyEvaluation(
        names, flat.mean(axis=0), np.quantile(flat, tail, axis=0),
        np.quantile(flat, 1 - tail, axis=0), np.array([-b.bound for b in bounds]),
        float(credibility), float(alpha), float(delta),
        np.array([b.num_samples for b in bounds]))


def regret_bound(returns, policy: int, reference: int, *, alpha: float = 0.95,
                 delta: float = 0.05, sample_size: str = "draws") -> float:
    """(1 − δ)-confidence α-VaR upper bound on the regret ``w·μ(π_ref) − w·μ(π)``.

    Brown et al. (2020, Sec. 5): how much worse than ``reference`` the ``policy`` can be, at
    posterior level α.

    Args:
        returns: (M, P) or (C, D, P) posterior draws of the returns.
        policy, reference: policy indices.
        alpha, delta, sample_size: as :func:`~bayesirl.analysis.bounds.value_at_risk_bound`.

    Returns:
        The bound (reward units); negative when ``policy`` is better with high confidence.

    Raises:
        ValueError: bad indices, and as ``value_at_risk_bound``.
    """
    g = as_float_array(returns, "returns", ndim=(2, 3))
    P = g.shape[-1]
    for name, i in (("policy", policy), ("reference", reference)):
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < P:
            raise ValueError(f"{name}: expected a policy index in [0, {P}), got {i!r}")
    regret = g[..., reference] - g[..., policy]
    return value_at_risk_bound(regret, alpha, delta, sample_size=sample_size).bound


def rank_policies(evaluation: PolicyEvaluation) -> list[tuple[str, float, float]]:
    """Policies ordered by their lower bound, best first: ``(name, lower_bound, mean)``.

    Ties in the bound are broken by the posterior mean.
    """
    order = sorted(range(len(evaluation.names)),
                   key=lambda p: (-evaluation.lower_bound[p], -evaluation.mean[p]))
    return [(evaluation.names[p], float(evaluation.lower_bound[p]), float(evaluation.mean[p]))
            for p in order]
