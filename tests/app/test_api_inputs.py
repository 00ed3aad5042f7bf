"""Issue 14 point 8: Python-API misuse gives a clear error naming the argument."""

import jax
import jax.numpy as jnp
import pytest

from bayesirl.data.demos import make_demonstrations, sample_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.inference import fit_demonstrations


@pytest.fixture(scope="module")
def mdp():
    return gridworld(3, 3, num_features=2, seed=1).mdp


def test_plain_list_of_demonstrations_is_a_type_error(mdp):
    with pytest.raises(TypeError, match="demos: expected Demonstrations"):
        fit_demonstrations(mdp, [([0, 1], [3, 3])], method="map")


def test_string_seed_is_a_type_error(mdp):
    with pytest.raises(TypeError, match="seed"):
        fit_demonstrations(mdp, make_demonstrations([([0, 1], [3, 3])]), method="map", seed="x")


@pytest.mark.parametrize("value", [float("nan"), -0.25, 0.5])
def test_policy_that_is_not_a_distribution_is_refused(mdp, value):
    policy = jnp.full((mdp.num_states, mdp.num_actions), value)
    with pytest.raises(ValueError, match="policy: expected action probabilities"):
        sample_demonstrations(jax.random.PRNGKey(0), mdp, policy, 2, 5)
