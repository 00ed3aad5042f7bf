"""gymnasium importer: transition model, terminal and success states, true reward."""

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from bayesirl.data.envs import from_gymnasium, make_environment  # noqa: E402
from bayesirl.solvers.evaluation import success_probability  # noqa: E402
from bayesirl.data.mdp import transition_matrix  # noqa: E402
from bayesirl.solvers import value_iteration  # noqa: E402


def test_frozenlake_matches_env_model():
    import gymnasium

    gym_env = gymnasium.make("FrozenLake-v1")
    env = from_gymnasium(gym_env)
    P = np.asarray(transition_matrix(env.mdp))
    ref = np.zeros_like(P)
    for s, row in gym_env.unwrapped.P.items():
        for a, outcomes in row.items():
            for p, s2, r, done in outcomes:
                ref[s, a, s2] += p
    np.testing.assert_allclose(P, ref, atol=1e-6)
    desc = gym_env.unwrapped.desc.reshape(-1)
    holes_and_goal = np.flatnonzero((desc == b"H") | (desc == b"G"))
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(env.mdp.terminal)), holes_and_goal)
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(env.success_states)), [15])
    # reward 1 only for moves into the goal, e.g. from state 14 moving right
    assert np.asarray(env.true_reward)[14, 2] == pytest.approx(1 / 3)
    assert env.grid_shape == (4, 4) and env.max_episode_steps == 100
    assert env.mdp.features.shape == (16, 16)


def test_deterministic_frozenlake_optimal_policy_always_succeeds():
    env = from_gymnasium("FrozenLake-v1", is_slippery=False)
    pi = value_iteration(env.mdp, env.true_reward).policy
    assert float(success_probability(env.mdp, pi, env.success_states, 100)) == pytest.approx(1.0)


@pytest.mark.parametrize("name, S, A", [("Taxi-v4", 500, 6), ("CliffWalking-v1", 48, 4),
                                         ("FrozenLake8x8-v1", 64, 4)])
def test_other_toy_text_environments(name, S, A):
    env = make_environment(name)
    assert (env.mdp.num_states, env.mdp.num_actions) == (S, A)
    pi = value_iteration(env.mdp, env.true_reward).policy
    p = float(success_probability(env.mdp, pi, env.success_states, env.max_episode_steps))
    assert 0.5 < p <= 1.0 + 1e-6


def test_rejects_unknown_and_modelless_envs():
    with pytest.raises(ValueError, match="not a gymnasium environment id"):
        from_gymnasium("NoSuchEnv-v0")
    import gymnasium

    with pytest.raises(ValueError, match="does not expose a tabular transition model"):
        from_gymnasium(gymnasium.make("CartPole-v1"))
