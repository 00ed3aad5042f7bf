"""Simulation-based calibration of value-space Bayesian IRL: the exact simulator of the model's
joint distribution (against importance sampling of the weight prior, and against the plain
prior when the reward prior is switched off), the test quantities by hand, and a small SBC that
passes with the simulating model and fails for a planted bug."""

import numpy as np
import pytest

pytest.importorskip("equinox")

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from bayesirl.analysis.calibration import rank_uniformity_test, sbc_ranks  # noqa: E402
from bayesirl.continuous import make_network  # noqa: E402
from bayesirl.continuous.networks import network_outputs, site_names, stack_draws  # noqa: E402
from bayesirl.inference.continuous_sbc import (  # noqa: E402
    QUANTITY_NAMES,
    _action_weights,
    fit_value_space_replications,
    simulate_value_space,
    synthetic_task,
    value_space_quantities,
)

#: Monte Carlo tolerance, in standard errors, of the simulator's moments (a correct simulator
#: fails a 5-SE check with probability < 1e-6 per moment; seeds are fixed anyway).
NUM_SE = 5.0
#: SBC: R replications, L draws, B bins (χ² at α = 0.01, as the other SBC tests).
SBC_REPLICATIONS, SBC_DRAWS, SBC_BINS = 60, 39, 5


@pytest.fixture(scope="module")
def small():
    """A 1-D task with 6 states and 2 actions, a Q-network with 2 hidden units."""
    return synthetic_task(6), make_network(1, 2, width=2)


def test_synthetic_task():
    task = synthetic_task(12, 3, step=0.5, terminal_every=6)
    assert task.observations.shape == (12, 1) and task.successors.shape == (12, 3, 1)
    np.testing.assert_allclose(task.successors[:, 1], task.observations)  # the middle action
    moved = np.clip(np.asarray(task.observations) + 0.5, -2, 2)
    np.testing.assert_allclose(task.successors[:, 2], moved)
    np.testing.assert_array_equal(np.flatnonzero(task.dones), [5, 11])
    for kwargs in (dict(num_transitions=0), dict(num_actions=1), dict(step=0.0),
                   dict(terminal_every=0)):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            synthetic_task(**kwargs)


def test_simulation_shapes(small):
    task, network = small
    R = 50
    truth, actions, next_obs = simulate_value_space(jax.random.key(0), task, network, R)
    leaves = jax.tree_util.tree_leaves(eqx.filter(network, eqx.is_array))
    assert list(truth) == site_names("q", network)
    for site, leaf in zip(truth, leaves):
        assert truth[site].shape == (R,) + leaf.shape
    assert actions.shape == (R, 6) and set(np.unique(actions)) == {0, 1}
    np.testing.assert_array_equal(next_obs, np.asarray(task.successors)[np.arange(6), actions])


def _prior_draws(network, key, M, weight_scale):
    params, _ = eqx.partition(network, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree_util.tree_unflatten(treedef, [
        weight_scale * jax.random.normal(k, (M,) + leaf.shape) for k, leaf in zip(keys, leaves)])


def _moments(network, draws, task):
    """(M, 4): Q(0, a) for both actions and their squares at the probe state 0."""
    q = network_outputs(network, draws, task.probes[1:2])[:, 0]
    return jnp.concatenate([q, q**2], axis=-1)


def test_simulated_weights_follow_the_joint_distribution(small):
    """The weights' marginal is ∝ N(θ; 0, σ_w²) Π_n Σ_a g_n(θ, a): moments of Q at a probe
    state match a self-normalised importance-sampling estimate from 200 000 independent prior
    draws, and differ from the plain prior's (so the check would see a missing rejection)."""
    task, network = small
    R = 4000
    truth, _, _ = simulate_value_space(jax.random.key(1), task, network, R)
    sim = np.asarray(_moments(network, stack_draws("q", network, truth), task))
    prior = _prior_draws(network, jax.random.key(2), 200_000, 1.0)
    log_w = jax.nn.logsumexp(_action_weights(network, prior, task, 0.9, 3.0, 1.0, True),
                             axis=-1).sum(-1)
    w = np.asarray(jnp.exp(log_w - log_w.max()))
    f = np.asarray(_moments(network, prior, task))
    reference = (w[:, None] * f).sum(0) / w.sum()
    se = sim.std(0) / np.sqrt(R)
    assert np.all(np.abs(sim.mean(0) - reference) < NUM_SE * se), (sim.mean(0), reference, se)
    assert np.any(np.abs(f.mean(0) - reference) > 2 * NUM_SE * se)  # the reward prior matters


def test_actions_given_weights(small):
    """With a flat reward prior (σ_r huge) every proposal is accepted, the weights are prior
    draws and the actions are Boltzmann-rational: P(a = 1 | θ) = softmax(β Q_θ(s))_1."""
    task, network = small
    R = 3000
    truth, actions, _ = simulate_value_space(jax.random.key(3), task, network, R,
                                             reward_scale=1e6, weight_scale=2.0)
    weights = np.concatenate([np.asarray(v).reshape(R, -1) for v in truth.values()], axis=1)
    np.testing.assert_allclose(weights.std(0), 2.0, rtol=NUM_SE / np.sqrt(2 * R))
    q = network_outputs(network, stack_draws("q", network, truth), task.observations)
    p1 = np.asarray(jax.nn.softmax(3.0 * q, axis=-1)[..., 1])  # (R, N)
    residual = np.asarray(actions) - p1
    se = np.sqrt((p1 * (1 - p1)).sum(0)) / R
    assert np.all(np.abs(residual.mean(0)) < NUM_SE * se)


def test_quantities_by_hand(small):
    task, network = small
    truth, actions, next_obs = simulate_value_space(jax.random.key(4), task, network, 3)
    out = np.asarray(value_space_quantities(network, truth, task, actions))
    assert out.shape == (3, len(QUANTITY_NAMES))
    for r in range(3):
        net = eqx.combine(jax.tree_util.tree_map(lambda x: x[r], stack_draws("q", network, truth)),
                          eqx.partition(network, eqx.is_array)[1])
        probes = np.asarray(jax.vmap(net)(task.probes))
        np.testing.assert_allclose(out[r, :3], probes[:, 1] - probes[:, 0], rtol=1e-5)
        q = np.asarray(jax.vmap(net)(task.observations))
        next_q = np.asarray(jax.vmap(net)(next_obs[r]))
        a = np.asarray(actions[r])
        value = np.log(np.exp(3.0 * next_q).sum(-1)) / 3.0
        reward = q[np.arange(6), a] - 0.9 * np.where(np.asarray(task.dones), 0.0, value)
        np.testing.assert_allclose(out[r, 3:5], reward[:2], rtol=1e-5, atol=1e-6)
        logp = 3.0 * q - np.log(np.exp(3.0 * q).sum(-1, keepdims=True))
        np.testing.assert_allclose(out[r, 5], logp[np.arange(6), a].mean(), rtol=1e-5)
    draws = jax.tree_util.tree_map(lambda x: jnp.stack([x, x], axis=1), truth)  # (R, L = 2)
    np.testing.assert_allclose(value_space_quantities(network, draws, task, actions)[:, 1], out,
                               rtol=1e-6)


def test_fit_rejects_bad_input(small):
    task, network = small
    actions = jnp.zeros((2, 6), int)
    with pytest.raises(ValueError, match="sampler"):
        fit_value_space_replications(jax.random.key(0), task, actions, network, sampler="hmc")
    with pytest.raises(ValueError, match="actions"):
        fit_value_space_replications(jax.random.key(0), task, actions[:, :3], network)


@pytest.fixture(scope="module")
def simulated():
    """R replications of a 1-D task with 40 states (enough actions that a wrong β shows)."""
    task, network = synthetic_task(40), make_network(1, 2, width=3)
    truth, actions, _ = simulate_value_space(jax.random.key(0), task, network, SBC_REPLICATIONS)
    return task, network, truth, actions


@pytest.mark.parametrize("planted, should_pass", [({}, True), (dict(beta=6.0), False)])
def test_simulation_based_calibration(simulated, planted, should_pass):
    """Ranks of symmetry-invariant quantities are uniform for the simulating model (measured
    p = 0.48) and not when the fit's β is twice the simulation's (a planted bug; p = 1e-10)."""
    task, network, truth, actions = simulated
    draws = fit_value_space_replications(jax.random.key(1), task, actions, network, sampler="mh",
                                         num_warmup=600, num_samples=SBC_DRAWS, thinning=8,
                                         **planted)
    ranks = sbc_ranks(np.asarray(value_space_quantities(network, truth, task, actions)),
                      np.asarray(value_space_quantities(network, draws, task, actions)))
    test = rank_uniformity_test(ranks, SBC_DRAWS, num_bins=SBC_BINS)
    assert test.passed == should_pass, test.p_values
