"""α-VaR policy-loss bounds from robust posteriors, and a bound calibrated on split evidence.

* :func:`posterior_loss_bound` — the order-statistic α-VaR bound (Brown & Niekum 2018;
  :func:`~bayesirl.analysis.bounds.value_at_risk_bound`) of an evaluation policy's loss under
  the draws of any posterior of the package: plain, tempered, or bagged
  (:func:`~bayesirl.inference.robust.fit_bagged`, whose chains come from different resamples:
  with ``sample_size="ess"`` each resample's chains are thinned to their own effective sample
  size before pooling, instead of one ESS across chains that sample different posteriors).
* :func:`split_calibrated_bound` — the bound of a full-data posterior inflated by how much the
  posteriors of two disjoint halves of the evidence disagree: the factor ``κ >= 1`` by which
  the bound of each half must grow to reach the α-quantile of the loss under the other
  half's posterior.

What each guarantees is written in the how-to "Bounds when the model may be wrong".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bayesirl._validate import check_inference_data
from bayesirl.analysis.bounds import (
    SAMPLE_SIZES,
    VaRBound,
    thin_to_ess,
    check_alpha_delta,
    value_at_risk_bound,
)
from bayesirl.analysis.posterior import policy_losses, posterior_solutions
from bayesirl.data.demos import Demonstrations
from bayesirl.data.mdp import MDP

__all__ = ["LOSSES", "SplitBound", "posterior_losses", "posterior_loss_bound",
           "split_calibrated_bound", "split_demonstrations"]

#: Losses a bound can be computed for: the EVD (reward units) or the normalised EVD.
LOSSES = ("evd", "nevd")


def posterior_losses(mdp: MDP, idata, policy, loss: str = "nevd") -> np.ndarray:
    """The loss of ``policy`` under every posterior draw, shaped (C, D) like the chains.

    Args:
        mdp: the MDP.
        idata: a fit with ``reward_weights`` (chain, draw, feature).
        policy: (S, A) evaluation policy.
        loss: ``"evd"`` or ``"nevd"`` (:func:`~bayesirl.analysis.posterior.policy_losses`).

    Returns:
        (C, D) losses.

    Raises:
        ValueError: unknown ``loss``, no ``reward_weights``, bad policy.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss: expected one of {LOSSES}, got {loss!r}")
    check_inference_data(idata)
    if "reward_weights" not in idata.posterior:
        raise ValueError("idata: expected a posterior with 'reward_weights'")
    w = np.asarray(idata.posterior["reward_weights"])
    C, D, F = w.shape
    flat = w.reshape(-1, F)
    values = policy_losses(mdp, flat, policy, solutions=posterior_solutions(mdp, flat))
    return np.asarray(getattr(values, loss)).reshape(C, D)


def posterior_loss_bound(mdp: MDP, idata, policy, alpha: float = 0.95, delta: float = 0.05, *,
                         loss: str = "nevd", sample_size: str = "draws") -> VaRBound:
    """(1 − δ)-confidence upper bound on the α-VaR of ``policy``'s loss under a posterior.

    For a bagged posterior (``posterior.attrs["robust"] == "bayesbag"``) with
    ``sample_size="ess"``, the chains of each resample are thinned to their own quantile ESS,
    and the thinned draws of all resamples pooled; otherwise as
    :func:`~bayesirl.analysis.bounds.value_at_risk_bound`.

    Args:
        mdp: the MDP.
        idata: a fit (plain, tempered or bagged) with ``reward_weights``.
        policy: (S, A) evaluation policy.
        alpha, delta: quantile level α and failure probability δ, both in (0, 1).
        loss: ``"evd"`` or ``"nevd"``.
        sample_size: ``"draws"`` or ``"ess"``.

    Returns:
        :class:`~bayesirl.analysis.bounds.VaRBound`.

    Raises:
        ValueError: as :func:`posterior_losses` and
            :func:`~bayesirl.analysis.bounds.value_at_risk_bound` (too few draws for α, δ).
    """
    if sample_size not in SAMPLE_SIZES:
        raise ValueError(f"sample_size: expected one of {SAMPLE_SIZES}, got {sample_size!r}")
    alpha, delta = check_alpha_delta(alpha, delta)
    losses = posterior_losses(mdp, idata, policy, loss)
    attrs = idata.posterior.attrs
    if sample_size == "ess" and attrs.get("robust") == "bayesbag":
        per = int(attrs.get("chains_per_bootstrap", losses.shape[0]))
        thinned = [thin_to_ess(losses[i:i + per], alpha)[0]
                   for i in range(0, losses.shape[0], per)]
        pooled = np.concatenate(thinned)
        out = value_at_risk_bound(pooled, alpha, delta)
        return out._replace(num_draws=int(losses.size),
                            effective_sample_size=float(pooled.size))
    return value_at_risk_bound(losses, alpha, delta, sample_size=sample_size)


class SplitBound(NamedTuple):
    """A bound inflated by the disagreement of two halves of the evidence.

    Attributes:
        bound: ``inflation × base.bound`` (units of the loss).
        inflation: κ >= 1.
        base: the :class:`~bayesirl.analysis.bounds.VaRBound` of the full-data posterior.
        half_bounds: (2,) the α-VaR bound of each half's posterior.
        half_quantiles: (2,) the α-quantile of the loss under each half's posterior.
    """

    bound: float
    inflation: float
    base: VaRBound
    half_bounds: tuple
    half_quantiles: tuple


def split_calibrated_bound(losses_first, losses_second, losses_full, alpha: float = 0.95,
                           delta: float = 0.05) -> SplitBound:
    """The full-data α-VaR bound, inflated until each half's bound covers the other half.

    Fit the posterior on each of two disjoint halves of the evidence (e.g.
    :func:`split_demonstrations`) and on all of it, and compute the evaluation policy's loss
    under each. With ``B_h`` the α-VaR bound of half h and ``Q_h`` the α-quantile of the loss
    under half h's posterior,

        κ = max(1, Q_2 / B_1, Q_1 / B_2),   bound = max(κ · B_full, Q_1, Q_2)

    (a ratio with ``B_h = 0`` is left out).

    When the model is right, each half's posterior is a calibrated belief about the true reward
    and the other half's is another draw of the same belief: κ stays near 1. When it is wrong,
    posteriors of different data concentrate on different rewards, and κ measures by how much
    a bound from one dataset misses what the other dataset believes. It is a cross-fitting
    correction (as in split conformal calibration, Vovk et al. 2005, but with the other
    half's posterior standing in for the unobserved true loss), not a finite-sample guarantee.

    Args:
        losses_first, losses_second: (M,) or (C, D) losses under the two halves' posteriors.
        losses_full: (M,) or (C, D) losses under the full-data posterior.
        alpha, delta: as :func:`~bayesirl.analysis.bounds.value_at_risk_bound`.

    Returns:
        :class:`SplitBound`.

    Raises:
        ValueError: bad α/δ, non-finite losses, too few draws.
    """
    alpha, delta = check_alpha_delta(alpha, delta)
    halves = [np.asarray(losses_first, dtype=float), np.asarray(losses_second, dtype=float)]
    bounds = [value_at_risk_bound(h, alpha, delta).bound for h in halves]
    quantiles = [float(np.quantile(h.reshape(-1), alpha)) for h in halves]
    base = value_at_risk_bound(losses_full, alpha, delta)
    ratios = [1.0] + [q / b for b, q in ((bounds[0], quantiles[1]), (bounds[1], quantiles[0]))
                      if b > 0]
    kappa = float(max(ratios))
    # Never below what either half believes (this also covers a half bound of 0).
    bound = max(kappa * base.bound, *quantiles)
    return SplitBound(float(bound), kappa, base, tuple(bounds), tuple(quantiles))


def split_demonstrations(demos: Demonstrations, seed: int = 0
                         ) -> tuple[Demonstrations, Demonstrations]:
    """Two disjoint halves of N >= 2 demonstrations, at random; the first has ⌈N/2⌉.

    Returns:
        ``(first, second)`` Demonstrations of shapes (⌈N/2⌉, T) and (⌊N/2⌋, T).

    Raises:
        ValueError: fewer than 2 demonstrations.
    """
    N = int(np.asarray(demos.states).shape[0])
    if N < 2:
        raise ValueError(f"demos: splitting needs at least 2 demonstrations, got {N}")
    order = np.random.default_rng(seed).permutation(N)
    first, second = np.sort(order[: (N + 1) // 2]), np.sort(order[(N + 1) // 2:])
    return (Demonstrations(*(x[first] for x in demos)),
            Demonstrations(*(x[second] for x in demos)))
