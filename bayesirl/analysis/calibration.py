"""Simulation-based calibration (SBC): rank statistics and their uniformity test.

SBC (Talts, Betancourt, Simpson, Vehtari & Gelman 2018, Alg. 1) draws R parameters θ̃_r from
the prior, data from the model, L posterior draws from the sampler under test, and records for
each scalar quantity k the rank ``#{l : θ_{r,l,k} < θ̃_{r,k}}`` in {0, …, L}. If the sampler
draws from the model's posterior, each rank is uniform on {0, …, L}. The draws themselves
come from :mod:`bayesirl.inference.sbc`; this module holds the statistics:

* :func:`sbc_ranks` — the ranks (R, K);
* :func:`rank_uniformity_test` — Pearson's χ² test of the rank histogram (B equal bins) per
  quantity, Bonferroni-combined over the K quantities, at a stated threshold α;
* :func:`chi2_power` and :func:`miscalibrated_bin_probabilities` — the power of that test
  against a stated miscalibration, to size R (noncentral χ², Cohen 1988, ch. 7).

The ECDF-difference plot with simultaneous bands (Säilynoja, Bürkner & Vehtari 2022) is
ArviZ's ``plot_ecdf`` of the normalised ranks ``rank / L``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.stats

from bayesirl._typing import ArrayLike

__all__ = [
    "DEFAULT_ALPHA",
    "UniformityTest",
    "sbc_ranks",
    "rank_uniformity_test",
    "miscalibrated_bin_probabilities",
    "chi2_power",
]

#: Significance threshold of the uniformity test: a correct sampler fails it with
#: probability <= 1 % per (likelihood, sampler) row.
DEFAULT_ALPHA = 0.01


class UniformityTest(NamedTuple):
    """Result of :func:`rank_uniformity_test`.

    Attributes:
        statistics: (K,) Pearson χ² statistic per quantity (B − 1 degrees of freedom).
        p_values: (K,) p-value per quantity.
        p_value: the Bonferroni-combined p-value ``min(1, K · min_k p_k)``.
        passed: ``p_value >= alpha``.
        alpha: the threshold.
        counts: (K, B) rank histogram.
    """

    statistics: np.ndarray
    p_values: np.ndarray
    p_value: float
    passed: bool
    alpha: float
    counts: np.ndarray


def sbc_ranks(truth: ArrayLike, draws: ArrayLike) -> np.ndarray:
    """Rank of each true value among the posterior draws of its replication.

    Args:
        truth: (R, K) or (R,) true values θ̃ (drawn from the prior).
        draws: (R, L, K) or (R, L) posterior draws, thinned to be nearly independent (ranks
            of autocorrelated draws are not uniform even for a correct sampler).

    Returns:
        (R, K) int ranks in {0, …, L}: the number of draws strictly below the truth.

    Raises:
        ValueError: shapes that do not match.
    """
    truth = np.asarray(truth, dtype=float)
    draws = np.asarray(draws, dtype=float)
    if truth.ndim == 1:
        truth, draws = truth[:, None], draws[..., None]
    if truth.ndim != 2 or draws.ndim != 3 or draws.shape[0] != truth.shape[0] \
            or draws.shape[2] != truth.shape[1]:
        raise ValueError(f"draws: expected shape (R, L, K) for truth of shape (R, K), got "
                         f"truth {truth.shape} and draws {draws.shape}")
    return np.sum(draws < truth[:, None, :], axis=1)


def _check_bins(num_draws: int, num_bins: int) -> None:
    if not isinstance(num_bins, (int, np.integer)) or num_bins < 2 or (num_draws + 1) % num_bins:
        raise ValueError(f"num_bins: expected an integer >= 2 dividing L + 1 = {num_draws + 1}, "
                         f"got {num_bins!r}")


def rank_uniformity_test(ranks: ArrayLike, num_draws: int, num_bins: int = 10,
                         alpha: float = DEFAULT_ALPHA) -> UniformityTest:
    """Pearson's χ² test that SBC ranks are uniform on {0, …, L}, per quantity.

    The L + 1 possible ranks are grouped into B equal bins (B must divide L + 1, so that each
    bin has probability 1/B under uniformity, Talts et al. 2018, Sec. 4.1); the statistic
    ``Σ_b (n_b − R/B)² / (R/B)`` is χ² with B − 1 degrees of freedom. The K per-quantity
    p-values are combined with the Bonferroni bound, so a correct sampler fails with
    probability <= α.

    Args:
        ranks: (R, K) or (R,) ranks from :func:`sbc_ranks`.
        num_draws: L, the number of posterior draws per replication.
        num_bins: B >= 2 dividing L + 1 (keep R / B >= 5 for the χ² approximation).
        alpha: threshold in (0, 1).

    Returns:
        :class:`UniformityTest`.

    Raises:
        ValueError: B does not divide L + 1, ranks outside {0, …, L}, α outside (0, 1).
    """
    ranks = np.asarray(ranks)
    ranks = ranks[:, None] if ranks.ndim == 1 else ranks
    _check_bins(num_draws, num_bins)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    if ranks.size and (ranks.min() < 0 or ranks.max() > num_draws):
        raise ValueError(f"ranks: expected values in [0, {num_draws}], got "
                         f"[{ranks.min()}, {ranks.max()}]")
    width = (num_draws + 1) // num_bins
    counts = np.stack([np.bincount(r // width, minlength=num_bins) for r in ranks.T])
    stats, p_values = scipy.stats.chisquare(counts, axis=1)
    p_value = float(min(1.0, ranks.shape[1] * np.min(p_values)))
    return UniformityTest(np.asarray(stats), np.asarray(p_values), p_value,
                          bool(p_value >= alpha), float(alpha), counts)


def miscalibrated_bin_probabilities(num_bins: int, coverage_shortfall: float) -> np.ndarray:
    """Rank-bin probabilities of an over-confident posterior.

    The central ``1 − 2/B`` credible interval (e.g. 80 % for B = 10) covers the truth
    ``coverage_shortfall`` less often than it should: the two outer bins each gain half of
    it, the inner bins lose it evenly. ``coverage_shortfall = 0.1`` is "a 10 %
    miscalibration" (an 80 % interval covering 70 %).

    Returns:
        (B,) probabilities summing to 1.

    Raises:
        ValueError: B < 3 or a shortfall outside [0, 1 − 2/B).
    """
    if num_bins < 3 or not 0 <= coverage_shortfall < 1 - 2 / num_bins:
        raise ValueError(f"coverage_shortfall: expected 0 <= value < 1 - 2/B with B >= 3, got "
                         f"{coverage_shortfall!r} (B = {num_bins})")
    p = np.full(num_bins, 1.0 / num_bins)
    p[[0, -1]] += coverage_shortfall / 2
    p[1:-1] -= coverage_shortfall / (num_bins - 2)
    return p


def chi2_power(num_replications: int, bin_probabilities: ArrayLike, alpha: float = DEFAULT_ALPHA,
               num_quantities: int = 1) -> float:
    """Power of :func:`rank_uniformity_test` against rank-bin probabilities ``p``.

    Under the alternative the statistic is approximately noncentral χ² with B − 1 degrees of
    freedom and noncentrality ``R Σ_b (p_b − 1/B)² / (1/B)`` (Cohen 1988, ch. 7); the test of
    one quantity at the Bonferroni level ``α / K`` rejects beyond the central χ² quantile.

    Args:
        num_replications: R.
        bin_probabilities: (B,) alternative probabilities.
        alpha: threshold of the combined test.
        num_quantities: K, the number of quantities in the Bonferroni combination.

    Returns:
        probability in [0, 1] that a sampler miscalibrated as ``p`` (in one quantity) fails.
    """
    p = np.asarray(bin_probabilities, dtype=float)
    B = p.size
    noncentrality = num_replications * B * np.sum((p - 1.0 / B) ** 2)
    critical = scipy.stats.chi2.ppf(1 - alpha / num_quantities, B - 1)
    return float(scipy.stats.ncx2.sf(critical, B - 1, noncentrality))
