"""Gridworld constructor: dynamics, features, true reward, validation."""

import numpy as np
import pytest

from bayesirl.data.envs import gridworld, random_reward_weights
from bayesirl.data.mdp import transition_matrix


def test_dynamics_slip_and_walls():
    env = gridworld(3, 4, num_features=2, slip_probability=0.3, seed=0)
    P = np.asarray(transition_matrix(env.mdp))
    np.testing.assert_allclose(P.sum(-1), 1.0, atol=1e-12)
    # from the centre-left cell (row 1, col 1 = state 5), "right" (3): 0.7 to 6, 0.15 up to 1,
    # 0.15 down to 9
    np.testing.assert_allclose(P[5, 3, [6, 1, 9]], [0.7, 0.15, 0.15])
    # corner 0, "up": intended move off-grid stays (0.7), left slip stays (0.15), right -> 1
    np.testing.assert_allclose(P[0, 0, [0, 1]], [0.85, 0.15])


def test_features_true_reward_and_all_colours():
    env = gridworld(4, 4, num_features=5, seed=3)
    phi = np.asarray(env.mdp.features)
    assert phi.shape == (16, 5) and np.all(phi.sum(1) == 1) and np.all(phi.sum(0) >= 1)
    np.testing.assert_allclose(np.abs(np.asarray(env.true_weights)).sum(), 1.0)
    np.testing.assert_allclose(np.asarray(env.true_reward)[:, 0], phi @ np.asarray(env.true_weights))
    assert env.grid_shape == (4, 4)


def test_same_seed_same_world():
    a, b = gridworld(seed=7), gridworld(seed=7)
    np.testing.assert_array_equal(a.mdp.features, b.mdp.features)
    assert not np.array_equal(a.mdp.features, gridworld(seed=8).mdp.features)


def test_terminal_and_initial_states():
    env = gridworld(3, 3, terminal_states=[8], initial_states=[0, 2])
    assert bool(env.mdp.terminal[8])
    np.testing.assert_allclose(np.asarray(env.mdp.initial_distribution)[[0, 2]], 0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(height=0), "height"),
        (dict(width=2.5), "width"),
        (dict(num_features=0), "num_features"),
        (dict(slip_probability=1.0), "slip_probability"),
        (dict(terminal_states=[99]), "terminal_states: index 99"),
        (dict(initial_states=[-1]), "initial_states: index -1"),
        (dict(weights=[1.0, 2.0]), "weights: expected shape"),
        (dict(discount=1.5), "discount"),
    ],
)
def test_invalid_gridworld(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gridworld(**kwargs)


def test_random_weights_on_spheres():
    np.testing.assert_allclose(np.abs(random_reward_weights(0, 6, "l1")).sum(), 1.0)
    np.testing.assert_allclose(np.linalg.norm(random_reward_weights(0, 6, "l2")), 1.0)
    with pytest.raises(ValueError, match="norm"):
        random_reward_weights(0, 3, "linf")
