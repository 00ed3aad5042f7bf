"""Policy evaluation from rollout feature counts: reference values, the coverage of the α-VaR
lower bound over seeds (exact Gaussian posterior), and invalid inputs."""

import numpy as np
import pytest

from bayesirl.analysis.bounds import value_at_risk_bound
from bayesirl.analysis.performance import (
    evaluate_policies,
    expected_feature_counts_from_rollouts,
    normalized_returns,
    policy_returns,
    rank_policies,
    regret_bound,
)

#: Coverage tolerance: 400 replications, binomial s.e. sqrt(0.9·0.1/400) = 0.015; 0.05 ≈ 3.3 s.e.
COVERAGE_TOL = 0.05


def test_returns_summaries_and_ranking_match_numpy():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 300, 3))
    mu = np.stack([expected_feature_counts_from_rollouts(rng.standard_normal((5, 3)) + k)
                   for k in range(3)])
    g = policy_returns(w, mu)
    for p in range(3):
        np.testing.assert_allclose(g[..., p], np.einsum("cdf,f->cd", w, mu[p]), rtol=1e-12)
    ev = evaluate_policies(g, ["a", "b", "c"], credibility=0.8, alpha=0.9, delta=0.1)
    flat = g.reshape(-1, 3)
    np.testing.assert_allclose(ev.mean, flat.mean(0))
    np.testing.assert_allclose(ev.lower, np.quantile(flat, 0.1, axis=0))
    for p in range(3):
        assert ev.lower_bound[p] == -value_at_risk_bound(-g[..., p], 0.9, 0.1).bound
        assert ev.lower_bound[p] <= np.quantile(flat[:, p], 0.1)  # the bound is conservative
    ranked = rank_policies(ev)
    assert [r[1] for r in ranked] == sorted(ev.lower_bound, reverse=True)
    assert regret_bound(g, 0, 1, alpha=0.9, delta=0.1) == value_at_risk_bound(
        g[..., 1] - g[..., 0], 0.9, 0.1).bound
    z = normalized_returns(g, low=0, high=2)
    np.testing.assert_allclose(z[..., 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(z[..., 2], 1.0)


def test_lower_bound_holds_at_its_nominal_rate():
    """w* ~ prior N(0, I), y = X w* + noise, exact Gaussian posterior: the true return is above
    the (1 − δ)-confidence α-VaR lower bound in about α of the replications (at least
    α − COVERAGE_TOL; the order statistic is conservative, so not far above α either)."""
    rng = np.random.default_rng(11)
    F, n_obs, M, reps, alpha, delta = 3, 5, 400, 400, 0.9, 0.05
    hits = 0
    for _ in range(reps):
        w_true = rng.standard_normal(F)
        X = rng.standard_normal((n_obs, F))
        y = X @ w_true + rng.standard_normal(n_obs)
        cov = np.linalg.inv(np.eye(F) + X.T @ X)
        draws = rng.multivariate_normal(cov @ X.T @ y, cov, size=M)
        mu = rng.standard_normal((1, F))
        ev = evaluate_policies(policy_returns(draws, mu), alpha=alpha, delta=delta)
        hits += float(w_true @ mu[0]) >= ev.lower_bound[0]
    coverage = hits / reps
    assert alpha - COVERAGE_TOL <= coverage <= 0.985


G = np.zeros((10, 2))
INVALID = [
    (lambda: policy_returns(np.zeros(3), np.zeros((1, 3))), "weights: expected a 2-D"),
    (lambda: policy_returns(np.zeros((4, 3)), np.zeros((1, 2))), "F = 3"),
    (lambda: policy_returns(np.zeros((4, 0)), np.zeros((1, 0))), "weights: expected draws"),
    (lambda: expected_feature_counts_from_rollouts(np.zeros((0, 2))), "at least one rollout"),
    (lambda: expected_feature_counts_from_rollouts([[np.nan]]), "expected finite"),
    (lambda: evaluate_policies(G, ["a"]), "names: expected 2"),
    (lambda: evaluate_policies(G, credibility=1.0), "credibility"),
    (lambda: evaluate_policies(G[:2], alpha=0.99), "too few samples"),
    (lambda: evaluate_policies(np.zeros(5)), "returns: expected a 2-D or 3-D"),
    (lambda: regret_bound(G, 0, 2), "reference: expected a policy index"),
    (lambda: regret_bound(G, True, 1), "policy: expected a policy index"),
    (lambda: normalized_returns(G, 0, 0), "two different"),
    (lambda: normalized_returns(G, 0, 5), "high: expected"),
]


@pytest.mark.parametrize("call, match", INVALID)
def test_invalid_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
