"""The simulated expert of a built-in world: its demonstrated actions follow the policy it
names (optimal, Boltzmann at β, ε-noisy), checked against the exact policy with named
tolerances."""

import jax
import numpy as np
import pytest

from bayesirl.app.config import RunConfig
from bayesirl.app.world import build_world
from bayesirl.likelihoods.boltzmann import boltzmann_q_values
from bayesirl.solvers import value_iteration

#: Demonstrations per world: enough pairs that a 5σ band is narrow.
NUM_DEMOS = 200
#: Allowed departure of a chi-square-like statistic, in standard deviations.
Z_MAX = 5.0


def _pairs(world):
    demos = world.demos
    states, actions, mask = (np.asarray(x) for x in demos)
    keep = mask & ~np.asarray(world.mdp.terminal)[states]
    return states[keep], actions[keep]


def _policy(world, kind, value):
    mdp, reward = world.mdp, world.env.true_reward
    optimal = np.asarray(value_iteration(mdp, reward).policy)
    if kind == "optimal":
        return optimal
    if kind == "noisy":
        return (1 - value) * optimal + value / optimal.shape[1]
    return np.asarray(jax.nn.softmax(boltzmann_q_values(mdp, reward, value, "soft"), axis=-1))


@pytest.mark.parametrize("expert, kind, value", [
    ("optimal", "optimal", None),
    ("boltzmann:2", "boltzmann", 2.0),
    ("noisy:0.5", "noisy", 0.5),
    (None, "boltzmann", 1.0),                # the gridworld's default: the model's β = 1
])
def test_demonstrated_actions_follow_the_named_expert(expert, kind, value):
    world = build_world(RunConfig(env="gridworld", num_demos=NUM_DEMOS, expert=expert,
                                  data_seed=3))
    policy = _policy(world, kind, value)
    states, actions = _pairs(world)
    probs = policy[states, actions]
    assert probs.min() > 0, "an action the expert never takes was demonstrated"
    # Per state, observed action counts against the policy: a Pearson statistic whose mean
    # is the number of free cells and whose sd is about sqrt(2 × that).
    stat, dof = 0.0, 0
    for s in np.unique(states):
        counts = np.bincount(actions[states == s], minlength=policy.shape[1])
        n, p = counts.sum(), policy[s]
        live = p > 0
        if n < 20 or live.sum() < 2:
            continue
        expected = n * p[live]
        stat += float(((counts[live] - expected) ** 2 / expected).sum())
        dof += int(live.sum()) - 1
    if kind == "optimal":  # deterministic where no two actions tie: nothing to compare
        return
    assert dof > 0
    assert abs(stat - dof) < Z_MAX * np.sqrt(2 * dof), (stat, dof)


def test_the_default_expert_differs_from_the_optimal_one():
    """The gridworld's default (Boltzmann at β = 1) demonstrates non-optimal actions; the
    optimal expert never does."""
    noisy = build_world(RunConfig(env="gridworld", num_demos=NUM_DEMOS, data_seed=3))
    states, actions = _pairs(noisy)
    optimal = np.asarray(value_iteration(noisy.mdp, noisy.env.true_reward).policy)
    assert (optimal[states, actions] == 0).mean() > 0.05
