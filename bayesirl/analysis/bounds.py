"""High-confidence bounds on policy loss from posterior samples, and demonstration sufficiency.

Given n posterior draws of a loss Z (e.g. the expected value difference, EVD, of an evaluation
policy under each sampled reward; :mod:`bayesirl.analysis.posterior` computes them), the α-quantile of
Z (the α-value-at-risk, α-VaR) is bounded from above with confidence 1 − δ by an order
statistic (Brown & Niekum, AAAI 2018, Sec. 4): sort ``Z_(1) <= … <= Z_(n)``; then
``P(q_α <= Z_(k)) >= 1 − δ`` for the smallest k with ``BinomCDF(k − 1; n, α) >= 1 − δ``,
because the number of draws below ``q_α`` is Binomial(n, α). A k <= n exists only when
``α^n <= δ``, i.e. ``n >= ln δ / ln α``. We use the exact binomial CDF; the paper's normal
approximation ``⌈nα + z_{1−δ} √(nα(1 − α)) − 0.5⌉`` is one sample too optimistic near n = 500.

The binomial argument needs independent draws. MCMC draws are autocorrelated, so
``sample_size="ess"`` thins each chain to about the effective sample size (ArviZ's quantile
ESS at α) before taking the order statistic.

Demonstration sufficiency (Trinh, Chen & Brown, HRI 2024): the demonstrations are sufficient
when the α-VaR bound on the normalised EVD (nEVD) of the evaluation policy is below ε.

Baseline: the worst-case feature-count bound ``‖μ̂_E − μ(π_eval)‖_∞`` (Abbeel & Ng 2004; used
as the comparison in Brown & Niekum 2018) bounds the EVD for every reward with ‖w‖₁ <= 1 —
if μ̂_E were the expert's exact feature expectations.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import scipy.special

from bayesirl import _arviz
from bayesirl._typing import Array, ArrayLike
from bayesirl._validate import as_float_array, check_policy_concrete, check_scalar
from bayesirl.data.demos import Demonstrations
from bayesirl.data.mdp import MDP
from bayesirl.solvers.occupancy import empirical_feature_counts, expected_feature_counts

__all__ = [
    "SAMPLE_SIZES",
    "VaRBound",
    "SufficiencyVerdict",
    "minimum_samples",
    "order_statistic_index",
    "value_at_risk_bound",
    "conditional_value_at_risk",
    "demonstration_sufficiency",
    "feature_count_bound",
]

#: How the number of samples n of the order-statistic bound is counted.
SAMPLE_SIZES = ("draws", "ess")


class VaRBound(NamedTuple):
    """A (1 − δ)-confidence upper bound on the α-quantile of a loss.

    Attributes:
        bound: the k-th smallest of the n samples used (units of the loss).
        alpha: the quantile level α.
        delta: the allowed failure probability δ (confidence 1 − δ).
        order_index: k, 1-based.
        num_samples: n, the samples the order statistic was taken from (after thinning).
        num_draws: the draws given (before thinning).
        effective_sample_size: the ESS used for thinning (``None`` with ``"draws"``).
    """

    bound: float
    alpha: float
    delta: float
    order_index: int
    num_samples: int
    num_draws: int
    effective_sample_size: float | None


class SufficiencyVerdict(NamedTuple):
    """Are the demonstrations sufficient? (Trinh, Chen & Brown 2024)

    Attributes:
        sufficient: ``bound < epsilon``.
        bound: the α-VaR upper bound on the loss (normalised EVD by default).
        epsilon: the tolerated loss ε.
        alpha: quantile level α.
        delta: failure probability δ.
        num_samples: n used by the order statistic.
        quantity: what the loss is (e.g. ``"nEVD"``).
    """

    sufficient: bool
    bound: float
    epsilon: float
    alpha: float
    delta: float
    num_samples: int
    quantity: str


def check_alpha_delta(alpha, delta) -> tuple[float, float]:
    """Validate α and δ of a quantile bound: both strictly inside (0, 1); returns them as floats.

    Raises:
        ValueError: α or δ outside (0, 1), naming the argument.
    """
    alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    delta = check_scalar(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    return alpha, delta


def minimum_samples(alpha: float, delta: float) -> int:
    """Fewest samples for which the order-statistic bound exists: smallest n with α^n <= δ.

    Raises:
        ValueError: α or δ outside (0, 1).
    """
    alpha, delta = check_alpha_delta(alpha, delta)
    n = max(1, math.ceil(math.log(delta) / math.log(alpha)))
    while alpha ** n > delta:  # guard against round-off in the ratio of logs
        n += 1
    while n > 1 and alpha ** (n - 1) <= delta:
        n -= 1
    return n


def _binomial_cdf(k: np.ndarray, n: int, p: float) -> np.ndarray:
    """P(X <= k) for X ~ Binomial(n, p), through the regularised incomplete beta function:
    ``BinomCDF(k; n, p) = I_{1−p}(n − k, k + 1)`` for 0 <= k < n, and 1 for k >= n."""
    k = np.asarray(k)
    out = np.ones(k.shape)
    inside = k < n
    kk = k[inside]
    out[inside] = scipy.special.betainc(n - kk, kk + 1, 1.0 - p)
    return np.where(k < 0, 0.0, out)


def order_statistic_index(num_samples: int, alpha: float, delta: float) -> int:
    """k, the 1-based order statistic that bounds the α-quantile with confidence 1 − δ.

    The smallest k with ``BinomCDF(k − 1; n, α) >= 1 − δ`` (Brown & Niekum 2018, exact
    binomial form).

    Args:
        num_samples: n >= 1 independent samples.
        alpha: quantile level in (0, 1).
        delta: failure probability in (0, 1).

    Returns:
        k in 1 … n.

    Raises:
        ValueError: α/δ outside (0, 1), n < 1, or too few samples (``n < ln δ / ln α``; the
            message gives the minimum).
    """
    alpha, delta = check_alpha_delta(alpha, delta)
    n = check_scalar(num_samples, "num_samples", low=1, integer=True)
    needed = minimum_samples(alpha, delta)
    if n < needed:
        raise ValueError(
            f"num_samples: the α-VaR bound with α = {alpha:g} and δ = {delta:g} needs at least "
            f"{needed} samples (n >= ln δ / ln α), got {n}; draw more samples, lower α or "
            "raise δ")
    k = np.arange(1, n + 1)
    cdf = _binomial_cdf(k - 1, n, alpha)
    ok = np.nonzero(cdf >= 1.0 - delta)[0]
    return int(k[ok[0]]) if ok.size else n


def _as_losses(losses, name: str = "losses") -> np.ndarray:
    arr = as_float_array(losses, name, ndim=(1, 2))
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one draw, got none")
    return arr


def thin_to_ess(values: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Thin (C, D) draws chain by chain to about their quantile ESS at α."""
    chains = values if values.ndim == 2 else values[None, :]
    total = chains.size
    ess = _arviz.quantile_ess(chains, alpha)
    if not np.isfinite(ess) or ess <= 0:  # constant draws: every draw is as good as any
        ess = float(total)
    ess = min(float(ess), float(total))
    stride = max(1, math.ceil(total / ess))
    return chains[:, ::stride].reshape(-1), ess


def value_at_risk_bound(losses: ArrayLike, alpha: float = 0.95, delta: float = 0.05, *,
                        sample_size: str = "draws") -> VaRBound:
    """(1 − δ)-confidence upper bound on the α-VaR of a loss from posterior draws.

    Brown & Niekum (AAAI 2018), Sec. 4: the k-th order statistic of n draws with k from
    :func:`order_statistic_index`. With ``sample_size="ess"`` each chain is first thinned by
    the stride ``⌈M / ESS⌉`` (ESS: ArviZ's quantile ESS at α over all chains), so n is about
    the ESS and the draws about independent — the assumption of the binomial argument.

    Args:
        losses: (M,) draws or (C, D) draws per chain (needed for a meaningful ESS), e.g. the
            EVD of each draw (reward units) or the nEVD (unitless).
        alpha: quantile level α in (0, 1), e.g. 0.95.
        delta: failure probability δ in (0, 1): the bound holds with probability >= 1 − δ.
        sample_size: ``"draws"`` (n = M) or ``"ess"`` (thin to the effective sample size).

    Returns:
        :class:`VaRBound`.

    Raises:
        ValueError: bad α/δ/``sample_size``, non-finite losses, or too few samples for α and
            δ (needs ``n >= ln δ / ln α``; with ``"ess"`` n is the thinned count).
    """
    if sample_size not in SAMPLE_SIZES:
        raise ValueError(f"sample_size: expected one of {SAMPLE_SIZES}, got {sample_size!r}")
    alpha, delta = check_alpha_delta(alpha, delta)
    values = _as_losses(losses)
    ess = None
    used = values.reshape(-1)
    if sample_size == "ess":
        used, ess = thin_to_ess(values, alpha)
    n = used.size
    try:
        k = order_statistic_index(n, alpha, delta)
    except ValueError as err:
        what = (f"after thinning to the effective sample size ({ess:.1f} of {values.size} draws)"
                if ess is not None else f"({values.size} draws)")
        raise ValueError(f"losses: too few samples {what}: {err}") from None
    bound = float(np.sort(used)[k - 1])
    return VaRBound(bound, alpha, delta, k, n, int(values.size), ess)


def conditional_value_at_risk(losses: ArrayLike, alpha: float = 0.95) -> float:
    """Empirical α-CVaR: the mean of the worst ``1 − α`` fraction of the loss distribution.

    ``CVaR_α = (1 / (1 − α)) ∫_α^1 VaR_u du`` (Rockafellar & Uryasev 2000) on the empirical
    distribution of the draws (a fractional weight on the draw that straddles α). A point
    estimate, not a bound; always >= the empirical α-VaR.

    Args:
        losses: (M,) or (C, D) draws.
        alpha: level in (0, 1).

    Returns:
        The CVaR (units of the loss).

    Raises:
        ValueError: α outside (0, 1) or non-finite losses.
    """
    alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    z = np.sort(_as_losses(losses).reshape(-1))
    n = z.size
    lower = np.arange(n) / n
    upper = np.arange(1, n + 1) / n
    weight = np.clip(upper - np.maximum(lower, alpha), 0.0, None)
    return float(np.sum(weight * z) / (1.0 - alpha))


def demonstration_sufficiency(losses: ArrayLike, epsilon: float, alpha: float = 0.95,
                              delta: float = 0.05, *, sample_size: str = "draws",
                              quantity: str = "nEVD") -> SufficiencyVerdict:
    """Are the demonstrations sufficient? (Trinh, Chen & Brown, HRI 2024)

    Sufficient when the (1 − δ)-confidence α-VaR bound on the loss of the evaluation policy
    (normalised EVD by default: 0 = optimal, 1 = no better than uniformly random) is below ε.

    Args:
        losses: (M,) or (C, D) draws of the loss, e.g. ``idata.posterior["nevd"]``.
        epsilon: tolerated loss ε > 0 (same units as the loss).
        alpha, delta, sample_size: as in :func:`value_at_risk_bound`.
        quantity: name of the loss, for messages.

    Returns:
        :class:`SufficiencyVerdict`.

    Raises:
        ValueError: ε <= 0, and as :func:`value_at_risk_bound`.
    """
    epsilon = check_scalar(epsilon, "epsilon", low=0.0, low_open=True)
    var = value_at_risk_bound(losses, alpha, delta, sample_size=sample_size)
    return SufficiencyVerdict(bool(var.bound < epsilon), var.bound, epsilon, var.alpha,
                              var.delta, var.num_samples, quantity)


def feature_count_bound(mdp: MDP, demos: Demonstrations, policy: Array) -> Array:
    """Worst-case feature-count bound ``‖μ̂_E − μ(π)‖_∞`` on the EVD of ``policy``.

    ``μ̂_E`` is the mean over demonstrations of ``Σ_t γ^t φ(s_t, a_t)`` and ``μ(π)`` the expected
    discounted feature counts of ``policy`` from p0 (Abbeel & Ng 2004). For every reward
    ``w·φ`` with ``‖w‖₁ <= 1``, ``|ρ(π_E, w) − ρ(π, w)| <= ‖μ_E − μ(π)‖_∞`` (Hölder), so with
    μ̂_E ≈ μ_E it bounds the EVD — the baseline of Brown & Niekum (2018). It assumes the
    demonstrations start from p0 and are long enough for the discounted sum to converge.

    Args:
        mdp: the MDP.
        demos: the demonstrations.
        policy: (S, A) evaluation policy.

    Returns:
        () the bound (reward units for unit-L1 weights).

    Raises:
        TypeError: ``demos`` is not :class:`~bayesirl.data.demos.Demonstrations`.
        ValueError: ``policy`` of the wrong shape or (when concrete) not action probabilities.
    """
    if not isinstance(demos, Demonstrations):
        raise TypeError(f"demos: expected Demonstrations (from make_demonstrations or "
                        f"load_demonstrations), got {type(demos).__name__}")
    policy = jnp.asarray(policy)
    if policy.shape != (mdp.num_states, mdp.num_actions):
        raise ValueError(f"policy: expected shape (S, A) = ({mdp.num_states}, "
                         f"{mdp.num_actions}), got {policy.shape}")
    check_policy_concrete(policy, "policy")
    mu_expert = jnp.mean(empirical_feature_counts(mdp, demos), axis=0)
    mu_policy = expected_feature_counts(mdp, policy.astype(mdp.features.dtype))
    return jnp.max(jnp.abs(mu_expert - mu_policy))
