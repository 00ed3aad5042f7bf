"""fit_demonstrations(method="map") dispatch to the warm-started MAP: same optimum, same random
starts and the same InferenceData layout as the generic NumPyro-potential MAP (float64), and the
generic path wherever the warm one does not apply."""

import importlib
from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest

from bayesirl.data.demos import sample_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.inference import fit_demonstrations
from bayesirl.solvers import soft_value_iteration

map_module = importlib.import_module("bayesirl.inference.map")  # where the sampler finds them

#: Both paths stop where L-BFGS-B's projected gradient is ~1e-5 on a curvature-O(1) posterior.
RTOL_WEIGHTS = 1e-4
#: Log densities at two such points differ by O(|g|²/curvature).
ATOL_LOG_DENSITY = 1e-6


@pytest.fixture(scope="module")
def world():
    """4x4 gridworld, 3 features, 6 demonstrations of 6 steps from β = 2 soft Q."""
    env = gridworld(4, 4, num_features=3, seed=2, slip_probability=0.1)
    reward = 2.0 * env.mdp.features @ jnp.asarray([1.0, -0.5, 0.3])
    policy = soft_value_iteration(env.mdp, reward).policy
    demos = sample_demonstrations(jax.random.PRNGKey(1), env.mdp, policy, 6, 6)
    return env, demos


def _fit(world, warm, **kwargs):
    env, demos = world
    options = {} if warm else {"warm_start": False}
    settings = dict(method="map", prior="gaussian", prior_scale=1.5, beta=2.0, q="soft",
                    num_chains=1, seed=3, kernel_kwargs=options)
    return fit_demonstrations(env.mdp, demos, **{**settings, **kwargs})


def _layout(idata):
    groups = {}
    for group in idata.groups():
        ds = idata[group]
        groups[group] = ({name: (var.dims, var.shape) for name, var in ds.data_vars.items()},
                         {name: list(np.asarray(c)) for name, c in ds.coords.items()},
                         sorted(ds.attrs))
    return groups


@pytest.mark.parametrize("num_chains,q", [(1, "soft"), (3, "soft"), (3, "hard")])
def test_warm_map_matches_generic_map(world, num_chains, q):
    with mock.patch.object(map_module, "fit_boltzmann_map",
                           wraps=map_module.fit_boltzmann_map) as spy:
        warm = _fit(world, True, num_chains=num_chains, q=q)
    assert spy.call_count == 1
    generic = _fit(world, False, num_chains=num_chains, q=q)
    assert _layout(warm) == _layout(generic)
    np.testing.assert_allclose(warm.posterior.reward_weights, generic.posterior.reward_weights,
                               rtol=RTOL_WEIGHTS, atol=RTOL_WEIGHTS)
    wa, ga = warm.posterior.attrs, generic.posterior.attrs
    np.testing.assert_allclose(wa["map_log_density"], ga["map_log_density"],
                               atol=ATOL_LOG_DENSITY)
    np.testing.assert_allclose(warm.sample_stats.lp, generic.sample_stats.lp,
                               atol=ATOL_LOG_DENSITY)
    # Same random starts: every restart reaches the same (here unique) optimum.
    np.testing.assert_allclose(wa["map_restart_log_densities"], ga["map_restart_log_densities"],
                               atol=ATOL_LOG_DENSITY)
    assert len(wa["map_restart_log_densities"]) == num_chains
    for key in ("method", "num_chains", "num_warmup", "num_samples", "thinning", "seed",
                "map_converged"):
        assert wa[key] == ga[key], key
    assert wa["map_converged"] == 1


@pytest.mark.parametrize("kwargs", [
    dict(beta=dist.LogNormal(0.0, 1.0), prior="l2-sphere"),  # learned β
    dict(prior="l2-sphere", beta=2.0),                       # sphere prior
    dict(prior="laplace"),                                   # non-Gaussian prior
    dict(kernel_kwargs={"warm_start": False}),               # opt-out
])
def test_other_cases_keep_the_generic_map(world, kwargs):
    class Stop(Exception):
        pass

    with mock.patch.object(map_module, "fit_boltzmann_map") as warm, \
            mock.patch.object(map_module, "fit_map", side_effect=Stop) as generic:
        with pytest.raises(Stop):
            _fit(world, True, **{"kernel_kwargs": {}, **kwargs})
    warm.assert_not_called()
    assert generic.call_count == 1
    assert "warm_start" not in (generic.call_args.kwargs["options"] or {})


def test_warm_map_uses_the_same_random_starts(world):
    """One L-BFGS-B iteration from each of 3 starts: the same points only from the same starts."""
    warm, generic = (_fit(world, w, num_chains=3, kernel_kwargs={"maxiter": 1,
                                                                  "warm_start": w})
                     for w in (True, False))
    starts_warm = warm.posterior.attrs["map_restart_log_densities"]
    starts_generic = generic.posterior.attrs["map_restart_log_densities"]
    assert len(set(np.round(starts_generic, 3))) == 3  # three distinct points
    np.testing.assert_allclose(starts_warm, starts_generic, rtol=1e-8)
