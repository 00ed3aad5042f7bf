"""Each person's weights, a new person's and the population summary, from posterior draws:
against a numpy construction and numpy quantiles."""

import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.analysis.population import (hierarchy_of, new_person_weight_draws,
                                          person_weight_draws, population_summary)
from bayesirl.likelihoods.luce import Hierarchy

C, M, F, I = 2, 50, 3, 4


def _idata(random=(0, 2), seed=0):
    rng = np.random.default_rng(seed)
    R = len(random)
    post = {"reward_weights": rng.normal(size=(C, M, F)),
            "person_scales": np.abs(rng.normal(size=(C, M, R))),
            "person_z": rng.normal(size=(C, M, I, R))}
    if R > 1:
        rho = rng.uniform(-0.9, 0.9, size=(C, M))
        chol = np.zeros((C, M, 2, 2))
        chol[..., 0, 0], chol[..., 1, 0], chol[..., 1, 1] = 1.0, rho, np.sqrt(1 - rho ** 2)
        post["person_correlation_cholesky"] = chol
    return _arviz.from_draws(post, attrs={"hierarchy_features": list(random),
                                          "hierarchy_scale": 1.0,
                                          "hierarchy_concentration": 2.0}), post


@pytest.mark.parametrize("random", [(0, 2), (1,)])
def test_person_weights_match_numpy(random):
    idata, post = _idata(random)
    assert hierarchy_of(idata) == Hierarchy(tuple(random), 1.0, 2.0)
    got = person_weight_draws(idata)
    assert got.shape == (C, M, I, F)
    for c, m in ((0, 0), (1, 17)):
        L = post["person_correlation_cholesky"][c, m] if len(random) > 1 else np.eye(1)
        dev = post["person_z"][c, m] @ (np.diag(post["person_scales"][c, m]) @ L).T
        want = np.tile(post["reward_weights"][c, m], (I, 1))
        want[:, list(random)] += dev
        np.testing.assert_allclose(got[c, m], want, atol=1e-12)


def test_new_person_draws_keep_shared_weights_and_vary_random_ones():
    idata, post = _idata((0, 2))
    new = new_person_weight_draws(idata, seed=3)
    assert new.shape == (C, M, F)
    np.testing.assert_allclose(new[..., 1], post["reward_weights"][..., 1], atol=1e-12)
    assert np.all(new[..., 0] != post["reward_weights"][..., 0])
    np.testing.assert_array_equal(new, new_person_weight_draws(idata, seed=3))


def test_population_summary_intervals_are_quantiles_of_the_draws():
    idata, post = _idata((0, 2))
    doc = population_summary(idata, ["a", "b", "c"], ["p", "q", "r", "s"], prob=0.8,
                             person_counts=[3, 1, 2, 5])
    assert doc["random_features"] == ["a", "c"]
    people = person_weight_draws(idata).reshape(C * M, I, F)
    row = doc["persons"][2]
    assert row["person"] == "r" and row["num_choice_sets"] == 2
    lo, hi = np.quantile(people[:, 2, 1], [0.1, 0.9])
    assert row["weights"][1]["feature"] == "b"
    assert row["weights"][1]["lower"] == pytest.approx(lo)
    assert row["weights"][1]["upper"] == pytest.approx(hi)
    tau = post["person_scales"].reshape(-1, 2)
    assert doc["scales"][1]["mean"] == pytest.approx(tau[:, 1].mean())
    chol = post["person_correlation_cholesky"].reshape(-1, 2, 2)
    rho = (chol @ np.swapaxes(chol, -1, -2))[:, 0, 1].mean()
    assert doc["correlation"][0][1] == pytest.approx(rho)
    assert len(doc["persons"]) == I and len(doc["new_person"]) == F


def test_flat_posteriors_are_refused():
    idata = _arviz.from_draws({"reward_weights": np.zeros((1, 2, 3))})
    assert hierarchy_of(idata) is None
    with pytest.raises(ValueError, match="per-person weights"):
        person_weight_draws(idata)
    idata, _ = _idata()
    with pytest.raises(ValueError, match="prob"):
        population_summary(idata, prob=1.0)
