"""Robust posteriors: bootstrap weights, the weighted / tempered model against exact references
(a numpy soft value iteration and quadrature over one weight), BayesBag and the tempered fit.

Every fit uses one MDP, one set of demonstrations and one sampler configuration, so the
weighted model compiles once for the module.
"""

import numpy as np
import pytest
from numpyro.infer.util import log_density
from scipy.special import logsumexp

from bayesirl import _arviz
from bayesirl.analysis.robust_bounds import (
    posterior_loss_bound,
    split_calibrated_bound,
    split_demonstrations,
)
from bayesirl.data.demos import make_demonstrations
from bayesirl.data.mdp import make_mdp
from bayesirl.inference.fit import fit_evidence
from bayesirl.inference.robust import (
    bootstrap_weights,
    fit_bagged,
    fit_tempered,
    fit_weighted,
    select_learning_rate,
    weighted_reward_model,
)
from bayesirl.likelihoods.source import EvidenceInputs
from bayesirl.models import build_evidence

#: Soft value iteration (library, float64, tolerance 1e-10 relative) against the numpy loop.
RTOL_LOG_DENSITY = 1e-6
#: Posterior mean and sd of NUTS against quadrature: this many Monte Carlo standard errors
#: (sd / sqrt(ESS)); a correct sampler is outside it far less than once in 10^4 runs.
MC_STANDARD_ERRORS = 5.0
#: Quadrature grid over the one weight (the posterior's mass is within |w| < 6).
GRID = np.linspace(-10.0, 10.0, 8001)
DISCOUNT = 0.8
SETTINGS = dict(method="nuts", num_samples=600, num_warmup=300, num_chains=2,
                chain_method="vectorized")

_P = np.array([[[0.8, 0.1, 0.1], [0.1, 0.2, 0.7]],
               [[0.1, 0.8, 0.1], [0.7, 0.2, 0.1]],
               [[0.4, 0.2, 0.4], [0.1, 0.3, 0.6]]])
_PHI = np.array([[1.0], [-0.5], [0.2]])
#: Four demonstrations of three steps: ((states), (actions)).
_DEMOS = [((0, 0, 1), (0, 0, 1)), ((1, 0, 2), (1, 0, 1)), ((2, 2, 0), (1, 0, 0)),
          ((0, 1, 0), (1, 1, 0))]


@pytest.fixture(scope="module")
def world():
    mdp = make_mdp(_P, _PHI, discount=DISCOUNT)
    demos = make_demonstrations([(list(s), list(a)) for s, a in _DEMOS], num_states=3,
                                num_actions=2)
    return mdp, demos


def _log_likelihood_per_pair(w):
    """(..., P) log π_w(a|s) of the pairs of _DEMOS by a numpy soft value iteration (β = 1),
    for a scalar weight or an array of them (vectorised over the weights)."""
    r = np.asarray(w, float)[..., None] * _PHI[:, 0]                    # (..., S)
    V = np.zeros(r.shape)
    for _ in range(400):  # γ^400 = 0.8^400 < 1e-38: converged to machine precision
        Q = r[..., :, None] + DISCOUNT * np.einsum("sat,...t->...sa", _P, V)
        V = logsumexp(Q, axis=-1)
    log_pi = Q - V[..., None]
    states = [s for states, _ in _DEMOS for s in states]
    actions = [a for _, actions in _DEMOS for a in actions]
    return log_pi[..., states, actions]


def _quadrature(eta, weights):
    log_post = -0.5 * GRID ** 2 + eta * _log_likelihood_per_pair(GRID) @ weights
    p = np.exp(log_post - log_post.max())
    p /= p.sum()
    mean = p @ GRID
    return mean, np.sqrt(p @ (GRID - mean) ** 2)


def test_bootstrap_weights_sum_to_size_and_resample_whole_groups():
    groups = np.repeat(np.arange(5), [3, 1, 4, 2, 2])          # 5 demonstrations, 12 pairs
    bw = bootstrap_weights(groups, 5, 200, seed=1)
    assert bw.group_counts.shape == (200, 5) and bw.weights.shape == (200, 12)
    np.testing.assert_array_equal(bw.group_counts.sum(1), 5)   # M = N by default
    # each pair weighs what its demonstration weighs: constant within a demonstration
    for g in range(5):
        cols = bw.weights[:, groups == g]
        np.testing.assert_array_equal(cols, np.repeat(bw.group_counts[:, [g]], cols.shape[1], 1))
    # the pairs' weights sum to the pairs of the demonstrations drawn
    sizes = np.bincount(groups)
    np.testing.assert_array_equal(bw.weights.sum(1), bw.group_counts @ sizes)
    assert bootstrap_weights(groups, 5, 3, bootstrap_size=9, seed=0).group_counts.sum(1).tolist() \
        == [9, 9, 9]


@pytest.mark.parametrize("kwargs, name", [
    (dict(num_groups=0), "num_groups"), (dict(num_bootstraps=0), "num_bootstraps"),
    (dict(bootstrap_size=0), "bootstrap_size"), (dict(groups=np.array([0, 5])), "groups"),
])
def test_bootstrap_weights_refuse_bad_input(kwargs, name):
    args = dict(groups=np.array([0, 1]), num_groups=2, num_bootstraps=2) | kwargs
    with pytest.raises(ValueError, match=name):
        bootstrap_weights(**args)


@pytest.mark.parametrize("call, name", [
    (lambda m, d: fit_weighted(m, demos=d, learning_rate=0.0), "learning_rate"),
    (lambda m, d: fit_weighted(m, demos=d, learning_rate=1.5), "learning_rate"),
    (lambda m, d: fit_tempered(m, demos=d, learning_rate=-0.1), "learning_rate"),
    (lambda m, d: fit_tempered(m, demos=d, learning_rate="safe"), "learning_rate"),
    (lambda m, d: fit_tempered(m, demos=d, learning_rates=(1.0, 2.0)), "learning_rates"),
    (lambda m, d: fit_bagged(m, demos=d, num_bootstraps=0), "num_bootstraps"),
    (lambda m, d: fit_bagged(m, demos=d, bootstrap_fraction=0.0), "bootstrap_fraction"),
    (lambda m, d: fit_weighted(m, demos=d, observation_weights={"boltzmann": np.ones(3)}),
     "observation_weights"),
    (lambda m, d: fit_weighted(m, demos=d, observation_weights={"boltzmann": -np.ones(12)}),
     "observation_weights"),
    (lambda m, d: fit_tempered(m, demos=d, heldout_fraction=1.0), "heldout_fraction"),
])
def test_bad_input_names_the_argument(world, call, name):
    with pytest.raises(ValueError, match=name):
        call(*world)


def test_weighted_log_density_is_prior_plus_tempered_weighted_likelihood(world):
    mdp, demos = world
    evidence = build_evidence(("boltzmann",), EvidenceInputs(mdp=mdp, demonstrations=demos))
    kwargs = dict(prior="gaussian", prior_scale=1.0, betas={"boltzmann": 1.0}, q="soft",
                  maxent_horizon=None, margin=0.0, solver_kwargs=None)
    c = np.arange(12) % 3.0
    for w in (-1.3, 0.4, 2.0):
        for eta in (1.0, 0.3):
            got, _ = log_density(weighted_reward_model, (evidence, mdp, {"boltzmann": c}, eta),
                                 kwargs, {"reward_weights": np.array([w])})
            want = (-0.5 * w * w - 0.5 * np.log(2 * np.pi)
                    + eta * c @ _log_likelihood_per_pair(w))
            np.testing.assert_allclose(float(got), want, rtol=RTOL_LOG_DENSITY)


def test_unit_weights_and_eta_one_reproduce_the_plain_posterior(world):
    mdp, demos = world
    plain = fit_evidence(mdp, demos=demos, seed=5, predictive_groups=False, warn=False,
                         **SETTINGS)
    ones = fit_weighted(mdp, demos=demos, seed=5, learning_rate=1.0,
                        observation_weights={"boltzmann": np.ones(12)}, **SETTINGS)
    np.testing.assert_array_equal(np.asarray(ones.posterior["reward_weights"]),
                                  np.asarray(plain.posterior["reward_weights"]))


@pytest.mark.parametrize("eta, weights", [(0.5, np.ones(12)), (0.25, np.arange(12) % 3.0)])
def test_tempered_weighted_posterior_matches_quadrature(world, eta, weights):
    mdp, demos = world
    idata = fit_weighted(mdp, demos=demos, seed=2, learning_rate=eta,
                         observation_weights={"boltzmann": weights}, **SETTINGS)
    draws = np.asarray(idata.posterior["reward_weights"])[..., 0]
    mean, sd = _quadrature(eta, weights)
    ess = float(np.min(_arviz.ess(idata)["reward_weights"].values))
    assert abs(draws.mean() - mean) < MC_STANDARD_ERRORS * sd / np.sqrt(ess)
    # the sd of a sample sd is about sd / sqrt(2 ESS)
    assert abs(draws.std() - sd) < MC_STANDARD_ERRORS * sd / np.sqrt(2 * ess)
    assert idata.posterior.attrs["learning_rate"] == eta


def test_bagged_posterior_pools_resamples_and_its_bound_uses_every_draw(world):
    mdp, demos = world
    idata = fit_bagged(mdp, demos=demos, num_bootstraps=3, seed=1, **SETTINGS)
    attrs = idata.posterior.attrs
    assert idata.posterior["reward_weights"].shape == (6, 600, 1)
    assert (attrs["robust"], attrs["num_bootstraps"], attrs["chains_per_bootstrap"]) == \
        ("bayesbag", 3, 2)
    assert attrs["bootstrap_sizes"] == [4]            # M = N demonstrations
    policy = np.full((3, 2), 0.5)
    bound = posterior_loss_bound(mdp, idata, policy)
    assert bound.num_samples == 6 * 600
    thinned = posterior_loss_bound(mdp, idata, policy, sample_size="ess")
    assert thinned.num_samples <= 6 * 600 and thinned.num_draws == 6 * 600


def test_calibrated_learning_rate_is_from_the_grid_and_recorded(world):
    mdp, demos = world
    choice = select_learning_rate(mdp, demos, learning_rates=(0.5, 1.0), seed=3, **SETTINGS)
    assert choice.learning_rate in (0.5, 1.0) and choice.learning_rates == (1.0, 0.5)
    assert choice.num_heldout == 2 and len(choice.misses) == 2
    idata = fit_tempered(mdp, demos=demos, learning_rates=(0.5, 1.0), seed=3, **SETTINGS)
    assert idata.posterior.attrs["learning_rate"] == choice.learning_rate
    assert idata.posterior.attrs["robust"] == "tempered"


def test_split_bound_inflates_by_the_halves_disagreement():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.0, 1.0, 2000), rng.uniform(0.0, 3.0, 2000)
    full = rng.uniform(0.0, 1.0, 2000)
    out = split_calibrated_bound(a, b, full)
    # half b's 0.95-quantile (~2.85) over half a's bound (~0.96)
    np.testing.assert_allclose(out.inflation, np.quantile(b, 0.95) / out.half_bounds[0])
    np.testing.assert_allclose(out.bound, max(out.inflation * out.base.bound,
                                              *out.half_quantiles))
    assert out.bound >= out.inflation * out.base.bound
    same = split_calibrated_bound(a, a, full)
    assert same.inflation == 1.0 and same.bound == same.base.bound


def test_split_demonstrations_are_disjoint_halves(world):
    _, demos = world
    first, second = split_demonstrations(demos, seed=0)
    assert first.states.shape[0] == 2 and second.states.shape[0] == 2
    rows = {tuple(np.asarray(x).tolist()) for x in (*first.states, *second.states)}
    assert rows == {tuple(np.asarray(x).tolist()) for x in demos.states}
