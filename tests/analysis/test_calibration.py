"""SBC statistics (exact small cases) and a fast SBC subset that catches a planted bug."""

import jax
import numpy as np
import pytest

from bayesirl.analysis.calibration import (
    DEFAULT_ALPHA, chi2_power, miscalibrated_bin_probabilities, rank_uniformity_test, sbc_ranks)
from bayesirl.data.demos import make_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.data.preferences import make_preferences
from bayesirl.inference.sbc import fit_replications, simulate_replications
from bayesirl.models import Evidence
from bayesirl.solvers.occupancy import empirical_feature_counts
from tests.reference import rollouts

#: Replications of the fast subset: enough that β off by 2 fails with p << α (measured
#: p < 1e-4 at R = 60) while a correct fit passes at α = 0.01.
FAST_REPLICATIONS = 60
FAST_DRAWS = 39
NUM_COMPARISONS = 200
PRIOR_SCALE = 2.0  # larger rewards: informative labels, so a wrong β shows clearly


def test_sbc_ranks_counts_draws_below_truth():
    truth = np.array([[0.5, -1.0], [2.0, 0.0]])
    draws = np.array([[[0.1, -2.0], [0.7, 0.0], [0.4, -0.5]],
                      [[3.0, 1.0], [1.0, -1.0], [2.5, 0.5]]])
    np.testing.assert_array_equal(sbc_ranks(truth, draws), [[2, 1], [1, 1]])
    np.testing.assert_array_equal(sbc_ranks(truth[:, 0], draws[..., 0]), [[2], [1]])
    with pytest.raises(ValueError, match="draws"):
        sbc_ranks(truth, draws[:, :, :1])


def test_uniformity_test_exact_statistic_and_errors():
    ranks = np.array([0, 1, 2, 3, 0, 1, 2, 3, 3, 3])  # L = 3, B = 2 bins: 4 low, 6 high
    test = rank_uniformity_test(ranks, num_draws=3, num_bins=2, alpha=0.05)
    assert test.counts.tolist() == [[4, 6]]
    assert test.statistics[0] == pytest.approx((1 ** 2 + 1 ** 2) / 5)
    assert test.passed
    with pytest.raises(ValueError, match="num_bins"):
        rank_uniformity_test(ranks, num_draws=3, num_bins=3)
    with pytest.raises(ValueError, match="ranks"):
        rank_uniformity_test(ranks + 1, num_draws=3, num_bins=2)
    with pytest.raises(ValueError, match="alpha"):
        rank_uniformity_test(ranks, num_draws=3, num_bins=2, alpha=1.5)


def test_uniformity_test_false_alarm_rate_and_power():
    rng = np.random.default_rng(0)
    L, R = 19, 200
    fails = sum(not rank_uniformity_test(rng.integers(0, L + 1, (R, 2)), L, 10).passed
                for _ in range(300))
    assert fails <= 12  # Bonferroni: rate <= α = 1 %; 12 of 300 is > 4 sd above 3
    p = miscalibrated_bin_probabilities(10, 0.1)
    assert p.sum() == pytest.approx(1.0) and p[0] == pytest.approx(0.15)
    assert chi2_power(1000, p, DEFAULT_ALPHA, 2) > 0.99
    assert chi2_power(20, p, DEFAULT_ALPHA, 2) < 0.1


@pytest.fixture(scope="module")
def preference_world():
    mdp = gridworld(3, 3, num_features=2, seed=0, discount=0.8).mdp
    S, A = mdp.num_states, mdp.num_actions
    rng = np.random.default_rng(2)
    demos = make_demonstrations(rollouts(rng, mdp, np.full((S, A), 1.0 / A), 12, 6), S, A)
    first = rng.integers(12, size=NUM_COMPARISONS)
    second = (first + rng.integers(1, 12, size=NUM_COMPARISONS)) % 12
    prefs = make_preferences(12, list(zip(first.tolist(), second.tolist(),
                                          [0] * NUM_COMPARISONS)))
    evidence = Evidence(preference_features=empirical_feature_counts(mdp, demos),
                        preferences=prefs)
    truth, evidences = simulate_replications(jax.random.PRNGKey(3), mdp, evidence,
                                             FAST_REPLICATIONS, prior_scale=PRIOR_SCALE)
    return mdp, truth, evidences


@pytest.mark.parametrize("fit_beta, should_pass", [(1.0, True), (2.0, False)])
def test_fast_sbc_catches_beta_off_by_two(preference_world, fit_beta, should_pass):
    mdp, truth, evidences = preference_world
    draws = fit_replications(jax.random.PRNGKey(4), mdp, evidences, sampler="mh",
                             num_warmup=300, num_samples=FAST_DRAWS, thinning=8,
                             betas={"bradley-terry": fit_beta}, prior_scale=PRIOR_SCALE)
    ranks = sbc_ranks(np.asarray(truth["reward_weights"]), np.asarray(draws["reward_weights"]))
    test = rank_uniformity_test(ranks, FAST_DRAWS, num_bins=5)
    assert test.passed == should_pass, test.p_value
