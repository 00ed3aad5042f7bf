"""Simulation-based calibration runs of the ``choice`` source (no MDP), with and without
per-person weights: the simulated data are valid choices and rankings, the model option
``hierarchy`` reaches the simulation and the fits, and a small SBC of rankings passes (and
fails for a planted bug)."""

import jax
import numpy as np
import pytest

from bayesirl.analysis.calibration import rank_uniformity_test, sbc_ranks
from bayesirl.data.choices import make_choice_sets, make_rankings
from bayesirl.inference.sbc import fit_replications, simulate_replications
from bayesirl.likelihoods.luce import HIERARCHY_SITES, Hierarchy, choice_evidence
from bayesirl.models import Evidence

K, F = 4, 2
#: SBC of rankings: R replications, L draws, B bins (χ² at α = 0.01, as the SBC tests of the
#: other sources); measured with these seeds: p = 1.0 with the model's β, 7e-7 with β doubled.
SBC_REPLICATIONS, SBC_DRAWS, SBC_BINS = 60, 39, 5


def option_sets(rng, n):
    """(n, K, F) standard-normal features of 2–K available options per set, 0 elsewhere."""
    available = np.zeros((n, K), bool)
    for row in available:
        row[rng.choice(K, size=int(rng.integers(2, K + 1)), replace=False)] = True
    return np.where(available[..., None], rng.normal(size=(n, K, F)), 0.0), available


@pytest.fixture(scope="module")
def covariates():
    """{name: ChoiceEvidence}: 12 choices of one person; 12 rankings (every third a top-2);
    3 people × 4 choices."""
    rng = np.random.default_rng(0)
    feats, avail = option_sets(rng, 12)
    offered = [np.flatnonzero(a).tolist() for a in avail]
    ranked = [o[:2] if n % 3 == 0 and len(o) > 2 else o for n, o in enumerate(offered)]
    h_feats, h_avail = option_sets(rng, 12)
    return {
        "choice": choice_evidence(make_choice_sets(feats, np.argmax(avail, 1), avail)),
        "ranking": choice_evidence(make_rankings(feats, ranked, avail)),
        "hierarchical": choice_evidence(make_choice_sets(
            h_feats, np.argmax(h_avail, 1), h_avail, np.repeat(np.arange(3), 4))),
    }


def model_options(name):
    return dict(hierarchy=Hierarchy((0, 1))) if name == "hierarchical" else {}


@pytest.mark.parametrize("name", ["choice", "ranking", "hierarchical"])
def test_simulated_orders_are_valid(covariates, name):
    data = covariates[name]
    R = 20
    truth, evidences = simulate_replications(jax.random.PRNGKey(1), None,
                                             Evidence(choice=data), R, **model_options(name))
    sim = evidences["choice"]
    order = np.asarray(sim.order)
    assert order.shape == (R,) + data.order.shape
    assert np.all(np.sort(order, axis=-1) == np.arange(K))  # permutations
    available = np.asarray(data.available)
    num_available = available.sum(-1)
    in_order = np.take_along_axis(np.broadcast_to(available, order.shape), order, axis=-1)
    # every available option comes before every unavailable one, so the ranked (chosen) are
    assert np.all(in_order == (np.arange(K) < num_available[:, None]))
    for field in ("features", "available", "length", "person", "person_counts"):  # covariates
        np.testing.assert_array_equal(getattr(sim, field),
                                      np.broadcast_to(getattr(data, field),
                                                      getattr(sim, field).shape))
    assert len({tuple(o) for o in order[:, :, 0].tolist()}) > 1  # the choices vary
    assert truth["reward_weights"].shape == (R, F)
    if name == "hierarchical":
        assert set(HIERARCHY_SITES) <= set(truth)
        assert truth["person_scales"].shape == (R, 2)
        assert truth["person_z"].shape == (R, 3, 2)
    else:
        assert not set(HIERARCHY_SITES) & set(truth)


def test_fit_replications_passes_the_hierarchy(covariates):
    """The model option reaches the fitted model: the hierarchy's sites come back (R, L, ...)
    (one varying weight, R = 1: no correlation site, the cheapest model to compile)."""
    options = dict(hierarchy=Hierarchy((1,)))
    _, evidences = simulate_replications(jax.random.PRNGKey(2), None,
                                         Evidence(choice=covariates["hierarchical"]), 2,
                                         **options)
    sites = fit_replications(jax.random.PRNGKey(3), None, evidences, sampler="mh",
                             num_warmup=10, num_samples=3, **options)
    assert sites["reward_weights"].shape == (2, 3, F)
    assert sites["person_scales"].shape == (2, 3, 1)
    assert sites["person_z"].shape == (2, 3, 3, 1)
    assert "person_correlation_cholesky" not in sites
    assert np.all(np.asarray(sites["person_scales"]) > 0)


@pytest.fixture(scope="module")
def simulated_rankings(covariates):
    return simulate_replications(jax.random.PRNGKey(4), None,
                                 Evidence(choice=covariates["ranking"]), SBC_REPLICATIONS,
                                 prior_scale=2.0)


@pytest.mark.parametrize("fit_beta, should_pass", [(1.0, True), (2.0, False)])
def test_simulation_based_calibration_of_rankings(simulated_rankings, fit_beta, should_pass):
    """Ranks of the truth are uniform for the model that simulated the rankings, and not when
    the fit's β is off by a factor of two (a planted bug the check must catch)."""
    truth, evidences = simulated_rankings
    draws = fit_replications(jax.random.PRNGKey(5), None, evidences, sampler="mh",
                             num_warmup=300, num_samples=SBC_DRAWS, thinning=8, prior_scale=2.0,
                             betas={"choice": fit_beta})
    ranks = sbc_ranks(np.asarray(truth["reward_weights"]), np.asarray(draws["reward_weights"]))
    test = rank_uniformity_test(ranks, SBC_DRAWS, num_bins=SBC_BINS)
    assert test.passed == should_pass, test.p_value
