"""Learned features for the trajectory path: the Q-network's hidden layer against a numpy
reference, feature counts against a loop over episodes, and Bayesian REX over them."""

import numpy as np
import pytest

pytest.importorskip("equinox")
pytest.importorskip("optax")

from bayesirl.continuous import fit_cloning  # noqa: E402
from bayesirl.continuous.features import (  # noqa: E402
    feature_names,
    learned_features,
    trajectory_features,
)
from bayesirl.data.continuous import make_transitions  # noqa: E402
from bayesirl.data.preferences import make_preferences  # noqa: E402
from bayesirl.inference.fit import fit_trajectories  # noqa: E402

#: float32 networks against float64 numpy references.
RTOL_F32 = 1e-5


@pytest.fixture(scope="module")
def transitions():
    rng = np.random.default_rng(3)
    lengths = [5, 3, 7, 4]
    N = sum(lengths)
    obs = rng.standard_normal((N, 2))
    nxt = obs + 0.1 * rng.standard_normal((N, 2))
    actions = (obs[:, 0] > 0).astype(int)
    ids = np.repeat([10, 3, 7, 1], lengths)  # ids in any order: episodes by first appearance
    dones = np.zeros(N, bool)
    rewards = rng.standard_normal(N)
    return make_transitions(obs, actions, nxt, dones, ids, 2, rewards=rewards)


@pytest.fixture(scope="module")
def posterior(transitions):
    return fit_cloning(transitions, width=4, num_steps=50)


def _numpy_hidden(posterior, obs):
    layer = posterior.network.layers[0]
    w = np.asarray(posterior.draws.layers[0].weight[0], np.float64)
    b = np.asarray(posterior.draws.layers[0].bias[0], np.float64)
    assert w.shape == np.asarray(layer.weight).shape
    std = posterior.standardizer
    x = (obs - np.asarray(std.loc, np.float64)) / np.asarray(std.scale, np.float64)
    return np.tanh(x @ w.T + b)


def test_learned_features_are_the_hidden_layer(transitions, posterior):
    phi = learned_features(posterior, transitions.observations)
    assert phi.shape == (transitions.num_transitions, 4)
    np.testing.assert_allclose(phi, _numpy_hidden(posterior, transitions.observations),
                               rtol=RTOL_F32, atol=RTOL_F32)


def test_trajectory_feature_counts_match_a_loop(transitions, posterior):
    gamma = 0.9
    trajs = trajectory_features(posterior, transitions, discount=gamma)
    phi = _numpy_hidden(posterior, transitions.observations)
    assert list(trajs.feature_names) == feature_names(posterior) == ["step", "h0", "h1", "h2",
                                                                     "h3"]
    for i, e in enumerate([10, 3, 7, 1]):
        rows = np.nonzero(transitions.episode_ids == e)[0]
        disc = gamma ** np.arange(len(rows))
        expected = np.concatenate([[disc.sum()], disc @ phi[rows]])
        np.testing.assert_allclose(trajs.feature_counts[i], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(trajs.returns[i], transitions.rewards[rows].sum(), rtol=1e-12)


def test_without_step_feature(transitions, posterior):
    trajs = trajectory_features(posterior, transitions, include_step=False)
    assert trajs.num_features == 4
    assert list(trajs.feature_names) == ["h0", "h1", "h2", "h3"]


def test_bayesian_rex_over_learned_features(transitions, posterior):
    """Preferences over the episodes by their true return give a posterior under which the
    preferred episode of every pair has the higher posterior-mean return."""
    trajs = trajectory_features(posterior, transitions)
    ret = trajs.returns
    ranking = [int(i) for i in np.argsort(-ret)]  # best first
    prefs = make_preferences(4, rankings=[ranking])
    first, second = np.asarray(prefs.first), np.asarray(prefs.second)
    idata = fit_trajectories(trajs, preferences=prefs, method="map", prior_scale=10.0)
    w = np.asarray(idata.posterior["reward_weights"]).reshape(-1, trajs.num_features).mean(0)
    est = trajs.feature_counts @ w
    assert all(est[a] > est[b] for a, b in zip(first, second))


@pytest.mark.parametrize("kwargs, match", [
    (dict(draw=1), "draw"),
    (dict(discount=0.0), "discount"),
])
def test_invalid_arguments(transitions, posterior, kwargs, match):
    with pytest.raises(ValueError, match=match):
        trajectory_features(posterior, transitions, **kwargs)


def test_wrong_observation_size(posterior):
    with pytest.raises(ValueError, match="observations"):
        learned_features(posterior, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="transitions"):
        trajectory_features(posterior, np.zeros((3, 2)))
