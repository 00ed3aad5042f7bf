"""Gymnasium rollouts as features: seeding, vectorisation, ε-greedy log-probabilities, D-REX
rankings, invalid inputs."""

import math

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from bayesirl.data.rollouts import (  # noqa: E402
    noise_ladder_preferences,
    noise_ladder_rankings,
    rank_by_noise,
    rollout_features,
)


def push_with_velocity(obs):
    """MountainCar energy pumping: push in the direction of the velocity (0 left, 2 right)."""
    return np.where(obs[:, 1] >= 0, 2, 0)


def phi(obs, action):
    return np.array([obs[0], obs[1], float(action == 1), 1.0])


def test_rollouts_record_features_returns_and_are_seeded():
    kw = dict(seed=3, max_steps=60, epsilon=0.3, progress_bar=False)
    one = rollout_features("MountainCar-v0", push_with_velocity, phi, 4, num_envs=1, **kw)
    many = rollout_features("MountainCar-v0", push_with_velocity, phi, 4, num_envs=3, **kw)
    for a, b in zip(one, many):  # same episodes whatever the number of environments
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
    assert one.features.shape == (4, 60, 4)
    lengths = one.mask.sum(axis=1)
    np.testing.assert_allclose(one.returns, -lengths)  # MountainCar: −1 per step
    np.testing.assert_allclose(one.feature_counts[:, 3], lengths)
    # each step's log-probability is log((1 − ε)[a = π(o)] + ε/3): log 0.8 or log 0.1
    assert one.log_probs.max() <= 0
    n_greedy = (one.log_probs - lengths * math.log(0.1)) / (math.log(0.8) - math.log(0.1))
    np.testing.assert_allclose(n_greedy, np.round(n_greedy), atol=1e-9)
    other = rollout_features("MountainCar-v0", push_with_velocity, phi, 4, **dict(kw, seed=4))
    assert not np.array_equal(other.features, one.features)


def test_stochastic_policy_log_probs_and_discount():
    def policy(obs):
        return np.ones(len(obs), int), np.full(len(obs), math.log(0.5))

    t = rollout_features("CartPole-v1", policy, lambda o, a: o, 2, seed=0, max_steps=5,
                         discount=0.5, progress_bar=False)
    np.testing.assert_allclose(t.log_probs, 5 * math.log(0.5))
    np.testing.assert_allclose(t.returns, sum(0.5 ** k for k in range(5)))


def test_noise_ladder_ranks_by_noise():
    ladder = noise_ladder_preferences("MountainCar-v0", push_with_velocity, phi, (1.0, 0.0, 0.5),
                                      episodes_per_level=2, max_steps=40, progress_bar=False)
    np.testing.assert_array_equal(ladder.noise, [0, 0, 0.5, 0.5, 1, 1])
    prefs = ladder.preferences
    assert prefs.num_comparisons == 3 * 4
    assert np.all(ladder.noise[np.asarray(prefs.first)] < ladder.noise[np.asarray(prefs.second)])
    assert np.all(np.asarray(prefs.label) == 0)
    assert np.all(ladder.trajectories.log_probs[:2] == 0)  # ε = 0: the deterministic policy


def test_noise_ladder_rankings_one_ranking_per_episode_index():
    kw = dict(episodes_per_level=2, max_steps=40, progress_bar=False)
    ranked = noise_ladder_rankings("MountainCar-v0", push_with_velocity, phi, (1.0, 0.0, 0.5),
                                   **kw)
    pairs = noise_ladder_preferences("MountainCar-v0", push_with_velocity, phi, (1.0, 0.0, 0.5),
                                     **kw)
    np.testing.assert_array_equal(ranked.trajectories.features, pairs.trajectories.features)
    np.testing.assert_array_equal(ranked.noise, pairs.noise)
    # M = 2 rankings of the L = 3 levels, less noise first, each trajectory in one ranking
    np.testing.assert_array_equal(ranked.rankings.order, [[0, 2, 4], [1, 3, 5]])
    np.testing.assert_array_equal(ranked.rankings.length, [3, 3])


def test_rank_by_noise_with_unequal_levels():
    # levels 0.3 (ids 1, 4, 5), 0.0 (id 2), 0.9 (ids 0, 3): rankings by episode index
    r = rank_by_noise([0.9, 0.3, 0.0, 0.9, 0.3, 0.3])
    np.testing.assert_array_equal(r.order, [[2, 1, 0], [4, 3, -1]])
    np.testing.assert_array_equal(r.length, [3, 2])  # the third 0.3 rollout is alone: left out
    with pytest.raises(ValueError, match="noise: expected at least two distinct"):
        rank_by_noise([0.1, 0.1])
    with pytest.raises(ValueError, match="noise"):
        rank_by_noise([[0.1, 0.2]])


def bad_count(obs):
    return np.zeros(len(obs) + 1, int)


INVALID = [
    (dict(num_episodes=0), ValueError, "num_episodes"),
    (dict(epsilon=1.5), ValueError, "epsilon"),
    (dict(env="NoSuchEnv-v0"), ValueError, "env: gymnasium cannot make"),
    (dict(env=3), TypeError, "env: expected"),
    (dict(policy=bad_count), ValueError, "policy: expected one action per observation"),
    (dict(phi=lambda o, a: np.array([np.nan])), ValueError, "phi"),
    (dict(phi=lambda o, a: np.zeros(1 + int(o[1] > 0))), ValueError, "phi: expected the same"),
    (dict(env="MountainCarContinuous-v0", epsilon=0.2, policy=lambda o: np.zeros((len(o), 1))),
     ValueError, "discrete action space"),
    (dict(policy=lambda o: (np.zeros(len(o), int), np.zeros(len(o))), epsilon=0.1),
     ValueError, "stochastic policy"),
    (dict(max_steps=0), ValueError, "max_steps"),
]


@pytest.mark.parametrize("kwargs, error, match", INVALID)
def test_invalid_rollouts(kwargs, error, match):
    args = dict(env="MountainCar-v0", policy=push_with_velocity, phi=phi, num_episodes=1,
                max_steps=5, progress_bar=False)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        rollout_features(args.pop("env"), args.pop("policy"), args.pop("phi"),
                         args.pop("num_episodes"), **args)


@pytest.mark.parametrize("levels, match", [((0.5,), "two distinct"), ((0.1, 0.1), "two distinct"),
                                           ((0.0, 2.0), r"in \[0, 1\]")])
def test_invalid_noise_levels(levels, match):
    with pytest.raises(ValueError, match=match):
        noise_ladder_preferences("MountainCar-v0", push_with_velocity, phi, levels,
                                 max_steps=5, progress_bar=False)
