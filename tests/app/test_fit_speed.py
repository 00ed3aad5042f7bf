"""Issue 10, ``bayesirl fit`` speed: the jitted world and evaluation against the op-by-op
references, the sampler defaults, one CPU device per chain, and the InferenceData built
without ArviZ rerunning the model."""

import os

import jax
import numpy as np
import pytest

from bayesirl.app import RunConfig
from bayesirl.app import config as config_module
from bayesirl.app.summary import evaluation_summary
from bayesirl.app.world import DEMOS_STREAM, build_world
from bayesirl.cli import fit as cli_fit
from bayesirl.data.demos import sample_demonstrations
from bayesirl.inference import fit_evidence
from bayesirl.inference.predictive import observed_data
from bayesirl.likelihoods import demonstration_pairs
from bayesirl.models import Evidence
from bayesirl.solvers import value_iteration
from bayesirl.solvers.evaluation import (expected_return, expected_value_difference,
                                         success_probability)

#: The jitted evaluation and the op-by-op one run the same float64 operations.
RTOL_SAME_OPS = 1e-9
TINY = dict(env="gridworld", grid_size=(3, 3), num_features=2, num_demos=6, expert="optimal")


@pytest.fixture(scope="module")
def world():
    return build_world(RunConfig(**TINY))


def test_world_demonstrations_match_sample_demonstrations(world):
    """The one-program world draws exactly what ``sample_demonstrations`` draws."""
    env = world.env
    expert = value_iteration(env.mdp, env.true_reward)
    ref = sample_demonstrations(jax.random.PRNGKey(0 + DEMOS_STREAM), env.mdp, expert.policy,
                                6, env.max_episode_steps)
    for got, want in zip(world.demos, ref):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_world_without_demonstrations():
    world = build_world(RunConfig(**{**TINY, "num_demos": 0, "num_preferences": 4}))
    assert world.demos is None and world.preferences[1].num_comparisons == 4


def test_evaluation_summary_matches_op_by_op(world):
    mdp, env = world.mdp, world.env
    learned = jax.nn.softmax(jax.random.normal(jax.random.PRNGKey(3), (mdp.num_states,
                                                                     mdp.num_actions)), -1)
    got = evaluation_summary(world, learned)
    expert = value_iteration(mdp, env.true_reward).policy
    want = {"expected_value_difference": expected_value_difference(mdp, env.true_reward, learned),
            "expert_return": expected_return(mdp, env.true_reward, expert),
            "learned_return": expected_return(mdp, env.true_reward, learned)}
    if np.asarray(env.success_states).any():
        h = env.max_episode_steps
        want["expert_success_rate"] = success_probability(mdp, expert, env.success_states, h)
        want["learned_success_rate"] = success_probability(mdp, learned, env.success_states, h)
        assert got["success_horizon"] == h
    for k, v in want.items():
        np.testing.assert_allclose(got[k], float(v), rtol=RTOL_SAME_OPS, err_msg=k)


@pytest.mark.parametrize("sampler, samples, warmup, thinning", [
    ("nuts", config_module.NUTS_DEFAULT_SAMPLES, config_module.NUTS_DEFAULT_WARMUP, 1),
    ("mh", config_module.DEFAULT_SAMPLES, config_module.MH_DEFAULT_WARMUP,
     config_module.MH_DEFAULT_THINNING),
    ("map", 1, 0, 1),
])
def test_sampler_defaults(sampler, samples, warmup, thinning):
    config = RunConfig(**TINY, sampler=sampler)
    assert (config.num_samples, config.num_warmup, config.thinning) == (samples, warmup, thinning)
    explicit = RunConfig(**TINY, sampler=sampler, num_samples=7, num_warmup=3, thinning=2)
    assert (explicit.num_samples, explicit.num_warmup, explicit.thinning) == (7, 3, 2)
    assert RunConfig.from_json(config.to_json()) == config


def test_chain_devices(monkeypatch):
    calls = []
    monkeypatch.setattr("numpyro.set_host_device_count", calls.append)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    assert cli_fit.set_chain_devices(4) == 4 and calls == [4]
    assert cli_fit.set_chain_devices(1000) == cli_fit.MAX_CHAIN_DEVICES
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=3")
    assert cli_fit.set_chain_devices(8) == -1 and len(calls) == 2  # the user's count is kept


def test_mcmc_inference_data_groups(world):
    """Names as ArviZ's ``from_numpyro`` writes them; observations from the evidence."""
    idata = fit_evidence(world.mdp, demos=world.demos, method="nuts", num_warmup=20,
                         num_samples=10, num_chains=1, progress_bar=False,
                         predictive_groups=False)
    stats = idata.sample_stats
    assert set(stats.data_vars) == {"lp", "n_steps", "tree_depth", "acceptance_rate", "diverging"}
    np.testing.assert_array_equal(stats.tree_depth.values,
                                  np.log2(stats.n_steps.values).astype(int) + 1)
    assert np.all(np.isfinite(stats.lp.values))  # lp = −potential energy
    evidence = Evidence(boltzmann=demonstration_pairs(world.mdp, world.demos))
    want = observed_data(evidence)
    assert set(idata.observed_data.data_vars) == set(want) == {"boltzmann_actions"}
    np.testing.assert_array_equal(idata.observed_data.boltzmann_actions.values,
                                  want["boltzmann_actions"])
    assert idata.posterior.reward_weights.dims == ("chain", "draw", "feature")
