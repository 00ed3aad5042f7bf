"""The Plackett–Luce evidence source: exact sequential-choice references, K = 2 is
Bradley–Terry, one observation per ranking, a 1-D posterior by quadrature, SBC with NUTS and
the random walk, and invalid inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density
from scipy.special import logsumexp

from bayesirl.analysis.calibration import rank_uniformity_test, sbc_ranks
from bayesirl.data.demos import make_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.data.preferences import make_preferences
from bayesirl.data.rankings import (
    load_rankings,
    make_trajectory_rankings,
    save_rankings,
)
from bayesirl.data.trajectories import make_trajectories
from bayesirl.inference import fit_evidence, fit_trajectories
from bayesirl.inference.predictive import log_likelihood
from bayesirl.inference.sbc import fit_replications, simulate_replications
from bayesirl.likelihoods.plackett_luce import (
    SOURCE,
    pointwise_ranking_log_likelihood,
    ranking_data,
    ranking_log_likelihood,
)
from bayesirl.likelihoods.source import EvidenceInputs
from bayesirl.models import Evidence, build_evidence, reward_model
from bayesirl.solvers.occupancy import empirical_feature_counts
from tests.reference import rollouts

#: float64 sums of a few log-probabilities against a numpy loop.
RTOL_EXACT = 1e-10
#: 1-D posterior by NUTS (2 × 500 draws, ESS ≈ 800+) against quadrature: ~4 Monte Carlo
#: standard errors of the mean (in posterior sds) and of the sd (relative).
MEAN_TOL_SD, SD_RTOL = 0.15, 0.10


def sequential_choices(u, ranked, offered, beta):
    """log p(ranking) as L choices of the best remaining offered trajectory (numpy)."""
    remaining, total = list(offered), 0.0
    for k in ranked:
        total += beta * u[k] - logsumexp(beta * u[remaining])
        remaining.remove(k)
    return total


@pytest.fixture(scope="module")
def ranked_set():
    """12 trajectories with 3 features; 4 rankings of different lengths, two of them top-L."""
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(12, 3))
    offered = [[3, 0, 7, 1, 11], [5, 2], [4, 9, 10, 8, 6, 0], [1, 2, 3]]
    ranked = [[3, 0, 7, 1, 11], [2, 5], [9, 4], [3]]
    return phi, ranked, offered


def test_log_likelihood_equals_sequential_choices(ranked_set):
    phi, ranked, offered = ranked_set
    data = ranking_data(phi, make_trajectory_rankings(ranked, 12, offered=offered))
    w, beta = np.array([0.7, -1.3, 0.4]), 1.7
    expected = [sequential_choices(phi @ w, r, o, beta) for r, o in zip(ranked, offered)]
    got = pointwise_ranking_log_likelihood(jnp.asarray(w), data, beta)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=RTOL_EXACT)
    np.testing.assert_allclose(float(ranking_log_likelihood(jnp.asarray(w), data, beta)),
                               sum(expected), rtol=RTOL_EXACT)
    # the model's site scores the same, and batches over weights with vmap
    ws = jnp.asarray(np.random.default_rng(1).normal(size=(5, 3)))
    batched = jax.vmap(lambda x: ranking_log_likelihood(x, data, beta))(ws)
    loop = [sum(sequential_choices(phi @ np.asarray(x), r, o, beta)
                for r, o in zip(ranked, offered)) for x in ws]
    np.testing.assert_allclose(np.asarray(batched), loop, rtol=RTOL_EXACT)


def test_two_trajectories_are_bradley_terry(ranked_set):
    phi = ranked_set[0]
    pairs = [(0, 5), (7, 2), (3, 11), (4, 1)]
    pl = Evidence(plackett_luce=ranking_data(phi, [list(p) for p in pairs]))
    bt = Evidence(preference_features=phi,
                  preferences=make_preferences(12, [(a, b, 0) for a, b in pairs]))
    params = {"reward_weights": jnp.asarray([0.3, 1.1, -0.8])}
    for beta in (0.5, 2.0):
        lp_pl, _ = log_density(reward_model, (pl,), {"betas": {"plackett-luce": beta}}, params)
        lp_bt, _ = log_density(reward_model, (bt,), {"betas": {"bradley-terry": beta}}, params)
        np.testing.assert_allclose(float(lp_pl), float(lp_bt), rtol=RTOL_EXACT)


def test_a_ranking_is_one_observation(ranked_set):
    phi, ranked, offered = ranked_set
    data = ranking_data(phi, make_trajectory_rankings(ranked, 12, offered=offered))
    evidence = Evidence(plackett_luce=data)
    assert SOURCE.num_observations(data) == 4
    w = jnp.asarray(np.random.default_rng(2).normal(size=(2, 3, 3)))  # (C, D, F)
    ll = log_likelihood({"reward_weights": w}, None, evidence)
    assert set(ll) == {"ranking_orders"} and ll["ranking_orders"].shape == (2, 3, 4)
    np.testing.assert_allclose(
        np.asarray(ll["ranking_orders"][1, 2]),
        np.asarray(pointwise_ranking_log_likelihood(w[1, 2], data)), rtol=RTOL_EXACT)
    # the same full ranking of 5 as Bradley–Terry pairs: 10 observations
    bt = Evidence(preference_features=phi, preferences=make_preferences(12, rankings=[ranked[0]]))
    assert log_likelihood({"reward_weights": w}, None, bt)["preference_labels"].shape == (2, 3, 10)


def test_both_worlds_build_the_same_data():
    mdp = gridworld(3, 3, num_features=2, seed=0, discount=0.8).mdp
    S, A = mdp.num_states, mdp.num_actions
    demos = make_demonstrations(rollouts(np.random.default_rng(3), mdp,
                                         np.full((S, A), 1.0 / A), 6, 5), S, A)
    orders = [[4, 1, 0], [2, 5]]
    in_mdp = build_evidence("plackett-luce", EvidenceInputs(
        mdp=mdp, ranking_trajectories=demos, rankings=orders))["plackett-luce"]
    counts = np.asarray(empirical_feature_counts(mdp, demos))
    in_trajs = build_evidence("plackett-luce", EvidenceInputs(
        trajectories=make_trajectories(feature_counts=counts), rankings=orders))["plackett-luce"]
    for a, b in zip(in_mdp, in_trajs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL_EXACT)
    np.testing.assert_array_equal(in_mdp.options, [[4, 1, 0], [2, 5, 0]])
    np.testing.assert_array_equal(in_mdp.available, [[1, 1, 1], [1, 1, 0]])
    idata = fit_evidence(mdp, likelihoods=("plackett-luce",), rankings=(demos, orders),
                         method="map", num_chains=2)
    assert idata.posterior.attrs["sources"] == ["plackett-luce"]
    assert idata.posterior["reward_weights"].shape == (1, 1, 2)


def test_posterior_of_one_weight_matches_quadrature():
    u = np.linspace(-1.0, 1.0, 8)  # F = 1: returns w·u
    ranked = [[7, 5, 6, 2], [4, 3, 1, 0], [6, 0, 3], [1, 7]]
    trajs = make_trajectories(feature_counts=u[:, None])
    grid = np.linspace(-8, 8, 4001)
    log_post = -0.5 * grid ** 2 + np.array(
        [sum(sequential_choices(u * g, r, r, 1.0) for r in ranked) for g in grid])
    p = np.exp(log_post - log_post.max())
    p /= p.sum()
    mean = float(np.sum(p * grid))
    sd = float(np.sqrt(np.sum(p * (grid - mean) ** 2)))
    idata = fit_trajectories(trajs, rankings=ranked, method="nuts", prior="gaussian",
                             num_samples=500, num_warmup=200, num_chains=2, seed=0,
                             predictive_groups=False, warn=False)
    draws = idata.posterior["reward_weights"].values.ravel()
    assert idata.posterior.attrs["sources"] == ["plackett-luce"]
    assert abs(draws.mean() - mean) < MEAN_TOL_SD * sd, (draws.mean(), mean, sd)
    np.testing.assert_allclose(draws.std(), sd, rtol=SD_RTOL)


#: SBC of the source: R replications, L draws, B bins (χ² test at α = 0.01 as
#: tests/analysis/test_calibration.py; measured p-values in the report of this change).
SBC_REPLICATIONS, SBC_DRAWS, SBC_BINS = 60, 39, 5


@pytest.fixture(scope="module")
def simulated_rankings():
    rng = np.random.default_rng(4)
    phi = rng.normal(size=(10, 2))
    offered = [rng.choice(10, size=int(rng.integers(2, 6)), replace=False).tolist()
               for _ in range(12)]
    ranked = [o[:2] if r % 3 == 0 else o for r, o in enumerate(offered)]
    evidence = Evidence(plackett_luce=ranking_data(
        phi, make_trajectory_rankings(ranked, 10, offered=offered)))
    return simulate_replications(jax.random.PRNGKey(5), None, evidence, SBC_REPLICATIONS,
                                 prior_scale=2.0)


@pytest.mark.parametrize("sampler, warmup, thinning", [("nuts", 100, 1), ("mh", 300, 8)])
def test_simulation_based_calibration(simulated_rankings, sampler, warmup, thinning):
    truth, evidences = simulated_rankings
    orders = np.asarray(evidences["plackett-luce"].order)
    assert orders.shape == (SBC_REPLICATIONS, 12, 5)
    assert np.all(np.sort(orders, axis=-1) == np.arange(5))  # simulated permutations
    draws = fit_replications(jax.random.PRNGKey(6), None, evidences, sampler=sampler,
                             num_warmup=warmup, num_samples=SBC_DRAWS, thinning=thinning,
                             prior_scale=2.0)
    ranks = sbc_ranks(np.asarray(truth["reward_weights"]), np.asarray(draws["reward_weights"]))
    test = rank_uniformity_test(ranks, SBC_DRAWS, num_bins=SBC_BINS)
    assert test.passed, test.p_value


def test_rankings_file_round_trip(tmp_path):
    r = make_trajectory_rankings([[3, 0], [5, 2, 1]], 6, offered=[[0, 3, 4], [1, 2, 5]])
    save_rankings(tmp_path / "r.json", r)
    back = load_rankings(tmp_path / "r.json", 6)
    np.testing.assert_array_equal(back.order, r.order)
    np.testing.assert_array_equal(back.length, r.length)
    np.testing.assert_array_equal(r.order, [[3, 0, 4], [5, 2, 1]])
    (tmp_path / "bad.json").write_text('{"rankings": [[0, 9]]}')
    with pytest.raises(ValueError, match=r"rankings: .*bad.json: rankings\[0\]"):
        load_rankings(tmp_path / "bad.json", 6)


INVALID = [
    (dict(rankings=[[0, 12]]), ValueError, r"rankings\[0\]"),
    (dict(rankings=[[0, 1], [2, 2]]), ValueError, r"rankings\[1\]: a trajectory appears"),
    (dict(rankings=[[0, 1], []]), ValueError, r"rankings\[1\]: expected a non-empty"),
    (dict(rankings=[]), ValueError, "rankings: expected at least one ranking"),
    (dict(rankings=[[4]]), ValueError, r"rankings\[0\]: a ranking needs at least two"),
    (dict(rankings=[[0, 1.5]]), TypeError, r"rankings\[0\]"),
    (dict(rankings=3), TypeError, "rankings: expected a list"),
    (dict(rankings=[[0, 1]], offered=[[0, 2]]), ValueError, r"rankings\[0\]: trajectory 1 is"),
    (dict(rankings=[[0, 1]], offered=[[0, 1], [2, 3]]), ValueError, "offered: expected 1"),
    (dict(features=np.zeros(12)), ValueError, "features: expected an"),
    (dict(features=np.full((12, 2), np.nan)), ValueError, "features: the feature counts"),
]


@pytest.mark.parametrize("change, error, match", INVALID)
def test_invalid_inputs_name_the_argument(change, error, match):
    args = dict(features=np.zeros((12, 2)), rankings=[[0, 1]], offered=None)
    args.update(change)
    with pytest.raises(error, match=match):
        ranking_data(args["features"],
                     make_trajectory_rankings(args["rankings"], 12, offered=args["offered"])
                     if args["offered"] is not None else args["rankings"])


def test_missing_evidence_names_the_input():
    trajs = make_trajectories(feature_counts=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="rankings: the plackett-luce likelihood needs"):
        build_evidence("plackett-luce", EvidenceInputs(trajectories=trajs))
    with pytest.raises(ValueError, match="rankings: the ranked trajectories are missing"):
        build_evidence("plackett-luce", EvidenceInputs(rankings=[[0, 1]]))
    with pytest.raises(ValueError, match=r"rankings\[0\]"):
        fit_trajectories(trajs, rankings=[[0, 7]])
    with pytest.raises(ValueError, match="preferences, demonstrations, rankings"):
        fit_trajectories(trajs)
