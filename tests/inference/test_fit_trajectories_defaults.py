"""The random walk's kernel defaults live with the sampler: the polar MH kernel for the
L2-sphere prior above 32 features without an MDP, nothing otherwise; an explicit
``kernel_kwargs`` wins. No sampling, no compilation."""

import jax.numpy as jnp
import pytest

from bayesirl.data.preferences import make_preferences
from bayesirl.inference.samplers import (SAMPLERS, SPHERE_MH_DEFAULTS, Problem,
                                         resolve_settings)
from bayesirl.likelihoods.registry import Evidence


def _problem(F, prior):
    evidence = Evidence(preference_features=jnp.ones((3, F)),
                        preferences=make_preferences(3, [(0, 1, 0), (1, 2, 1)]))
    return Problem(evidence, None, prior, 1.0, {}, {"q": "soft"}, list(range(F)))


def test_polar_kernel_above_32_features():
    got = resolve_settings(SAMPLERS["mh"], _problem(64, "l2-sphere")).kernel_kwargs
    assert got == SPHERE_MH_DEFAULTS
    got = resolve_settings(SAMPLERS["mh"], _problem(64, "l2-sphere"),
                           kernel_kwargs={"shared_random_numbers": False, "step_size": 0.2})
    assert got.kernel_kwargs == {"sphere_sites": ("reward_weights_raw",),
                                 "shared_random_numbers": False, "step_size": 0.2}


@pytest.mark.parametrize("F, method, prior", [(32, "mh", "l2-sphere"), (64, "nuts", "l2-sphere"),
                                              (64, "mh", "gaussian"), (64, "mh", "l1-sphere")])
def test_other_settings_keep_the_kernel(F, method, prior):
    assert resolve_settings(SAMPLERS[method], _problem(F, prior)).kernel_kwargs == {}
