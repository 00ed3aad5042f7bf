"""Hand-written experts: each one's return over a few seeded episodes, and the softened policies."""

import numpy as np
import pytest

from bayesirl.data.experts import EXPERTS, expert, expert_policy, random_policy

pytest.importorskip("gymnasium")

from bayesirl.data.continuous import episode_returns, rollout_transitions  # noqa: E402

#: Minimum mean return over 3 episodes (seed 0); the 100-episode means (experts.py) are 500,
#: −86, −119 and 228, so each threshold leaves room for a few bad episodes.
THRESHOLDS = {"CartPole-v1": 475.0, "Acrobot-v1": -150.0, "MountainCar-v0": -150.0,
              "LunarLander-v3": 100.0}


@pytest.mark.parametrize("env_id", sorted(THRESHOLDS))
def test_expert_return_above_threshold(env_id):
    if env_id == "LunarLander-v3":
        pytest.importorskip("Box2D")
    returns = episode_returns(rollout_transitions(env_id, expert_policy(env_id), 3, seed=0))
    assert returns.mean() >= THRESHOLDS[env_id], returns


def test_random_policy_is_much_worse_on_cartpole():
    returns = episode_returns(rollout_transitions("CartPole-v1", random_policy(2), 3, seed=0))
    assert returns.mean() < 100


def test_softened_policies_are_distributions_with_the_expert_on_top():
    obs = np.random.default_rng(0).standard_normal((6, 4))
    greedy = expert_policy("CartPole-v1")(obs)
    scores = EXPERTS["CartPole-v1"].scores(obs)
    np.testing.assert_array_equal(greedy, np.eye(2)[np.argmax(scores, axis=1)])
    soft = expert_policy("CartPole-v1", kappa=2.0)(obs)
    ref = np.exp(2.0 * scores) / np.exp(2.0 * scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(soft, ref, rtol=1e-12)
    noisy = expert_policy("CartPole-v1", kappa=2.0, epsilon=0.3)(obs)
    np.testing.assert_allclose(noisy, 0.7 * ref + 0.15, rtol=1e-12)
    np.testing.assert_allclose(noisy.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(env_id="Pong-v5"), "^env_id:"),
    (dict(env_id="CartPole-v1", kappa=0.0), "^kappa:"),
    (dict(env_id="CartPole-v1", epsilon=1.5), "^epsilon:"),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        expert_policy(**kwargs)


def test_expert_lookup():
    assert expert("Acrobot-v1").num_actions == 3
    assert random_policy(3)(np.zeros((2, 6))).shape == (2, 3)
