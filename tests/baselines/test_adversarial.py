"""Tabular GAIL and AIRL: occupancy matching on a tiny MDP, and AIRL's reward transfer."""

import jax.numpy as jnp
import numpy as np
import pytest

import bayesirl as birl
from bayesirl import baselines
from bayesirl.solvers.evaluation import normalized_evd

#: Stopping tolerance on JS(p_π, p_E) (nats). Pinsker on both halves of JS gives
#: ‖p_π − p_E‖₁ <= 2 √(2 JS): the occupancy error we can then assert.
JS_TOLERANCE = 1e-6
L1_BOUND = 2 * np.sqrt(2 * JS_TOLERANCE)


def tiny(slip):
    """3×3 gridworld, 2 colours, γ = 0.8; a soft-optimal expert (temperature 1 on 10·R, full
    support) and its exact occupancy measure."""
    env = birl.gridworld(3, 3, num_features=2, slip_probability=slip, seed=1, discount=0.8)
    reward = 10 * env.true_reward[:, 0]
    expert = birl.soft_value_iteration(env.mdp, reward).policy
    return env.mdp, reward, expert, birl.state_action_occupancy(env.mdp, expert)


def l1_to_expert(mdp, policy, occupancy):
    occ = birl.state_action_occupancy(mdp, policy)
    return float(jnp.abs(occ / occ.sum() - occupancy / occupancy.sum()).sum())


def test_gail_occupancy_approaches_the_experts():
    mdp, _, _, occ = tiny(slip=0.2)
    res = baselines.gail(mdp, expert_occupancy=occ, tolerance=JS_TOLERANCE)
    assert bool(res.converged) and float(res.js_divergence) <= JS_TOLERANCE
    assert l1_to_expert(mdp, res.policy, occ) <= L1_BOUND


def test_airl_occupancy_approaches_the_expert_and_its_reward_transfers():
    # deterministic dynamics: the setting of Fu et al.'s disentanglement result
    mdp, reward, expert, occ = tiny(slip=0.0)
    res = baselines.airl(mdp, expert_occupancy=occ, tolerance=JS_TOLERANCE)
    assert bool(res.converged)
    assert l1_to_expert(mdp, res.policy, occ) <= L1_BOUND
    # changed dynamics: the controls are reversed (up <-> down, left <-> right)
    changed = mdp._replace(next_states=mdp.next_states[:, jnp.array([1, 0, 3, 2])],
                           next_probs=mdp.next_probs[:, jnp.array([1, 0, 3, 2])])
    airl_policy = birl.value_iteration(changed, res.reward).policy
    # even a perfect clone (the expert's own policy, which BC recovers from its occupancy)
    # keeps pressing the same buttons and does badly; re-planning with AIRL's reward does not
    clone = baselines.occupancy_policy(occ)
    np.testing.assert_allclose(clone, expert, atol=1e-10)
    airl_loss = float(normalized_evd(changed, reward, airl_policy))
    bc_loss = float(normalized_evd(changed, reward, clone))
    assert airl_loss <= 0.01
    assert bc_loss >= 0.5


def test_adversarial_learners_reject_bad_input():
    mdp, _, _, occ = tiny(slip=0.2)
    with pytest.raises(ValueError, match="demos"):
        baselines.gail(mdp)
    with pytest.raises(ValueError, match="expert_occupancy"):
        baselines.airl(mdp, expert_occupancy=-occ)
    with pytest.raises(ValueError, match="step_size"):
        baselines.gail(mdp, expert_occupancy=occ, step_size=0.0)


def test_empirical_occupancy_counts_discounted_visits():
    mdp, _, _, _ = tiny(slip=0.2)
    demos = birl.make_demonstrations([([0, 1, 1], [3, 1, 2]), ([4], [0])], 9, 4)
    occ = np.asarray(baselines.empirical_occupancy(mdp, demos))
    expected = np.zeros((9, 4))
    expected[0, 3] += 1.0
    expected[1, 1] += 0.8
    expected[1, 2] += 0.64
    expected[4, 0] += 1.0
    np.testing.assert_allclose(occ, expected / 2)
