"""Bound checks over worlds: exact references (sorting, numpy returns, the solver's nEVD)."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.analysis.bounds import order_statistic_index
from bayesirl.analysis.coverage import (
    BoundCheck,
    candidate_losses,
    check_bound,
    check_policy_bound,
    summarise_bound_checks,
)
from bayesirl.data.envs import gridworld
from bayesirl.data.mdp import reward_from_weights, uniform_policy
from bayesirl.solvers import value_iteration
from bayesirl.solvers.evaluation import normalized_evd

#: float64 sums of a few products: agreement to round-off.
RTOL_EXACT = 1e-9


def test_check_bound_is_the_order_statistic_of_the_draws():
    losses = np.random.default_rng(0).random(200)
    k = order_statistic_index(200, 0.95, 0.05)
    bound = np.sort(losses)[k - 1]
    check = check_bound(losses, 0.5, sample_size="draws")
    assert check == BoundCheck(float(bound), 0.5, True, 200)
    assert not check_bound(losses, float(bound) + 1e-6, sample_size="draws").holds
    assert check_bound(losses, float(bound), sample_size="draws").holds  # ties hold


def test_check_bound_rejects_bad_input():
    with pytest.raises(ValueError, match="sample_size"):
        check_bound(np.zeros(100), 0.0, sample_size="all")
    with pytest.raises(ValueError, match="true_loss"):
        check_bound(np.zeros(100), math.nan)
    with pytest.raises(ValueError, match="too few samples"):
        check_bound(np.zeros(10), 0.0, sample_size="draws")


def test_candidate_losses_match_numpy_returns():
    rng = np.random.default_rng(1)
    mu = rng.random((5, 3))
    w = rng.standard_normal((7, 3))
    returns = w @ mu.T
    best = returns.max(axis=1)
    expected = (best - returns[:, 2]) / (best - returns[:, 0])
    got = np.asarray(candidate_losses(w, mu, policy=2, uniform=0))
    np.testing.assert_allclose(got, np.where(best - returns[:, 0] > 1e-8, expected, 0.0),
                               rtol=RTOL_EXACT)
    assert float(candidate_losses(w[0], mu, policy=int(np.argmax(returns[0])), uniform=0)) == 0


def test_candidate_losses_reject_bad_shapes_and_indices():
    mu = np.ones((4, 3))
    with pytest.raises(ValueError, match="weights"):
        candidate_losses(np.ones(2), mu, 0, 1)
    with pytest.raises(ValueError, match="policy"):
        candidate_losses(np.ones(3), mu, 4, 1)
    with pytest.raises(ValueError, match="uniform"):
        candidate_losses(np.ones(3), mu, 0, -1)


def test_check_policy_bound_uses_the_solver_nevd():
    env = gridworld(3, 3, num_features=2, seed=0, discount=0.9, slip_probability=0.0,
                    weights=[0.7, -0.3])
    mdp = env.mdp
    draws = np.tile(np.array([[0.7, -0.3]]), (2, 80, 1))  # a posterior at the truth
    draws[1, ::2] = [-0.3, 0.7]
    policy = value_iteration(mdp, reward_from_weights(mdp, jnp.asarray([0.7, -0.3]))).policy
    check = check_policy_bound(mdp, env.true_reward, draws, policy, sample_size="draws")
    assert check.true_loss == pytest.approx(0.0, abs=1e-9)
    assert check.holds and check.num_samples == 160
    bad = uniform_policy(mdp)
    check = check_policy_bound(mdp, env.true_reward, draws[0], bad, sample_size="draws")
    truth = float(normalized_evd(mdp, env.true_reward, bad))
    assert check.true_loss == pytest.approx(truth, rel=RTOL_EXACT)
    assert check.bound == pytest.approx(truth, rel=1e-6)  # every draw is the truth


def test_summary_counts_coverage_and_tightness():
    checks = [BoundCheck(0.2, 0.1, True, 60), BoundCheck(0.1, 0.3, False, 60),
              BoundCheck(0.3, 0.2, True, 60)]
    s = summarise_bound_checks(checks)
    assert s.num_worlds == 3 and s.coverage == pytest.approx(2 / 3)
    assert s.tightness == pytest.approx(0.6 / 0.6) and s.mean_loss == pytest.approx(0.2)
    assert math.isinf(summarise_bound_checks([BoundCheck(0.1, 0.0, True, 60)]).tightness)
    assert math.isnan(summarise_bound_checks([BoundCheck(0.0, 0.0, True, 60)]).tightness)
    with pytest.raises(ValueError, match="checks"):
        summarise_bound_checks([])
