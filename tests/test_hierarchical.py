"""choice_model and hierarchical_choice_model: site shapes, the per-person weights they build
(against a numpy construction), the panel structure, and argument errors."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pytest
from numpyro import handlers

from bayesirl.data.choices import make_choice_sets
from bayesirl.hierarchical import (
    choice_model,
    hierarchical_choice_model,
    random_feature_indices,
)
from bayesirl.likelihoods.choice import choice_log_likelihood, linear_utilities

#: float64 sums of a few logs against the same sums done in numpy.
RTOL_EXACT = 1e-12

RNG = np.random.default_rng(0)
CHOICES = make_choice_sets(RNG.normal(size=(12, 3, 4)), RNG.integers(0, 3, 12),
                           person=np.repeat(np.arange(4), 3))


def _trace(model, seed=0, **kwargs):
    with handlers.trace() as tr, handlers.seed(rng_seed=seed):
        model(CHOICES, **kwargs)
    return tr


def test_site_shapes_and_observed_choices():
    tr = _trace(hierarchical_choice_model, random=[0, 2], person_weights=True)
    assert tr["weights"]["value"].shape == (4,)
    assert tr["scales"]["value"].shape == (2,)
    assert tr["correlation_cholesky"]["value"].shape == (2, 2)
    assert tr["z"]["value"].shape == (4, 2)
    assert tr["person_weights"]["value"].shape == (4, 4)
    assert tr["chosen"]["is_observed"]
    one = _trace(hierarchical_choice_model, random=["b"], feature_names=("a", "b", "c", "d"))
    assert "correlation_cholesky" not in one and one["z"]["value"].shape == (4, 1)


def test_person_weights_and_likelihood_match_a_numpy_construction():
    random = [0, 2, 3]
    values = {"weights": jnp.array([0.5, -1.0, 0.3, 2.0]), "scales": jnp.array([0.4, 1.5, 0.2]),
              "correlation_cholesky": jnp.linalg.cholesky(jnp.array(
                  [[1.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 1.0]])),
              "z": jnp.asarray(RNG.normal(size=(4, 3)))}
    with handlers.trace() as tr, handlers.substitute(data=values), handlers.seed(rng_seed=0):
        hierarchical_choice_model(CHOICES, random=random, person_weights=True)
    L = np.asarray(values["scales"])[:, None] * np.asarray(values["correlation_cholesky"])
    want = np.tile(np.asarray(values["weights"]), (4, 1))
    want[:, random] += np.asarray(values["z"]) @ L.T
    np.testing.assert_allclose(np.asarray(tr["person_weights"]["value"]), want, rtol=RTOL_EXACT)
    site = tr["chosen"]
    got = float(jnp.sum(site["fn"].log_prob(site["value"])))
    u = np.einsum("nkf,nf->nk", np.asarray(CHOICES.features), want[np.asarray(CHOICES.person)])
    np.testing.assert_allclose(got, float(choice_log_likelihood(u, CHOICES.available,
                                                                CHOICES.chosen)), rtol=RTOL_EXACT)


def test_zero_scales_give_the_flat_model():
    w = jnp.array([0.2, -0.7, 1.1, 0.0])
    flat = numpyro.infer.util.log_likelihood(choice_model, {"weights": w[None]}, CHOICES)
    hier = numpyro.infer.util.log_likelihood(
        hierarchical_choice_model, {"weights": w[None], "scales": jnp.zeros((1, 4)),
                                    "correlation_cholesky": jnp.eye(4)[None],
                                    "z": jnp.ones((1, 4, 4))}, CHOICES)
    np.testing.assert_allclose(np.asarray(hier["chosen"]), np.asarray(flat["chosen"]),
                               rtol=RTOL_EXACT)
    want = choice_log_likelihood(linear_utilities(w, CHOICES.features), CHOICES.available,
                                 CHOICES.chosen)
    np.testing.assert_allclose(float(flat["chosen"].sum()), float(want), rtol=RTOL_EXACT)


def test_prior_predictive_simulates_choices_among_available_options():
    predictive = numpyro.infer.Predictive(hierarchical_choice_model, num_samples=50)
    draws = predictive(jax.random.PRNGKey(1), CHOICES, random=[1, 3])
    chosen = np.asarray(draws["chosen"])
    assert chosen.shape == (50, 12)
    assert np.all(np.asarray(CHOICES.available)[np.arange(12), chosen])


@pytest.mark.parametrize("random,words", [([4], "[0, 4)"), ([1, 1], "distinct"), ([], "distinct"),
                                          (["price"], "unknown feature"), ([True], "indices")])
def test_bad_random_features(random, words):
    with pytest.raises(ValueError, match=r"random: .*" + re.escape(words)):
        random_feature_indices(random, 4, ("a", "b", "c", "d"))


def test_random_features_by_name():
    assert random_feature_indices(["d", 0], 4, ("a", "b", "c", "d")) == (0, 3)
    assert random_feature_indices(None, 3) == (0, 1, 2)


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(prior_scale=0.0), ValueError, "prior_scale"),
    (dict(scale_prior=-1.0), ValueError, "scale_prior"),
    (dict(concentration=0.0), ValueError, "concentration"),
    (dict(num_persons=0), ValueError, "num_persons"),
])
def test_bad_model_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        _trace(hierarchical_choice_model, **kwargs)


def test_models_need_choice_sets():
    with pytest.raises(TypeError, match="choices: expected ChoiceSets"):
        choice_model(np.zeros((3, 2, 1)))
