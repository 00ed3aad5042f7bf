"""Acquisition functions: agreement scores ~0 and is never chosen, disagreement wins;
certain preference answers carry no information; volume removal prefers even splits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.active.acquisitions import (
    action_mutual_information,
    binned_action_entropy,
    choose_pairs,
    choose_states,
    mean_policy_entropy,
    preference_answer_probabilities,
    preference_mutual_information,
    preference_scores,
    preference_volume_removal,
    state_scores,
    value_loss_var,
)
from bayesirl.data.mdp import make_mdp

#: Scores of states/queries where every sample agrees must vanish to round-off.
ATOL_ZERO = 1e-9
#: Value iteration stops at a 1e-10 relative residual: values are off by up to tol / (1 − γ).
ATOL_SOLVER = 1e-7


def agreement_probs():
    """(M=50, S=3, A=2): state 0 every sample prefers action 0 strongly; state 1 samples split
    50/50 between two confident opinions; state 2 samples agree on a uniform 50/50 policy."""
    M = 50
    p = np.zeros((M, 3, 2))
    p[:, 0] = [0.99, 0.01]
    p[: M // 2, 1] = [0.95, 0.05]
    p[M // 2:, 1] = [0.05, 0.95]
    p[:, 2] = [0.5, 0.5]
    return jnp.asarray(p)


def test_state_scores_on_constructed_posterior():
    p = agreement_probs()
    mi = np.asarray(action_mutual_information(p))
    ent = np.asarray(binned_action_entropy(p))
    assert abs(mi[0]) < 0.06 and abs(mi[2]) < ATOL_ZERO  # agreement: (near) no information
    assert ent[0] < ATOL_ZERO and ent[2] < ATOL_ZERO
    assert np.argmax(mi) == 1 and np.argmax(ent) == 1
    # the mean policy is uncertain in state 2 too: this score cannot tell the two apart
    h = np.asarray(mean_policy_entropy(p))
    assert h[1] == pytest.approx(np.log(2), abs=1e-9) and h[2] == pytest.approx(np.log(2))


def chain_mdp():
    """States 0..3 in a line; actions 0 left, 1 right; state 3 terminal. Feature 0 marks
    state 0, feature 1 marks state 2 (both one-hot), state 1 has no feature."""
    P = np.zeros((4, 2, 4))
    for s in range(4):
        P[s, 0, max(s - 1, 0)] = 1.0
        P[s, 1, min(s + 1, 3)] = 1.0
    phi = np.zeros((4, 2))
    phi[0, 0] = phi[2, 1] = 1.0
    return make_mdp(P, features=phi, discount=0.9, terminal_states=[3])


def test_active_var_zero_where_eval_policy_is_optimal_for_all_samples():
    mdp = chain_mdp()
    rng = np.random.default_rng(0)
    # every sample: state 0 rewarding (> 0), state 2 neutral-to-bad: go left everywhere
    w = jnp.asarray(np.stack([rng.uniform(0.5, 1.0, 40), rng.uniform(-1.0, -0.1, 40)], 1))
    left = jnp.asarray(np.tile([1.0, 0.0], (4, 1)))
    v = np.asarray(value_loss_var(mdp, w, left, 0.95))
    np.testing.assert_allclose(v, 0.0, atol=ATOL_SOLVER)
    right = jnp.asarray(np.tile([0.0, 1.0], (4, 1)))
    assert np.all(np.asarray(value_loss_var(mdp, w, right, 0.95))[:3] > 0.1)


def test_choose_states_skips_terminal_and_asked_and_agreed():
    mdp = chain_mdp()
    rng = np.random.default_rng(1)
    # samples disagree on the sign of state 2's reward only: in states 0 and 1 that decides
    # left vs right; in state 2 itself "left" is optimal either way (right ends the episode)
    w = jnp.asarray(np.stack([np.full(60, 1.0), rng.choice([-3.0, 3.0], 60)], 1))
    for acq in ("entropy", "bald", "active-var"):
        scores = np.asarray(state_scores(acq, mdp, w, beta=5.0))
        choice = choose_states(scores, mdp, k=3)
        assert 3 not in choice.indices  # terminal
        assert choice.indices[0] in (0, 1), (acq, scores)
        if acq != "active-var":  # ActiveVaR scores the evaluation policy's loss, not disagreement
            assert scores[2] < 0.05 * scores[choice.indices[0]], (acq, scores)
        again = choose_states(scores, mdp, asked=[choice.indices[0]], k=3)
        assert choice.indices[0] not in again.indices


def test_certain_preference_answer_has_zero_information():
    w = jnp.asarray(np.random.default_rng(2).normal(size=(30, 3)))
    A = jnp.asarray([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    B = jnp.asarray([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])  # pair 0: identical trajectories
    probs = preference_answer_probabilities(w, A, B, beta=1e3)
    mi = np.asarray(preference_mutual_information(probs))
    assert abs(mi[0]) < ATOL_ZERO
    # pair 1 returns differ by w_0, whose sign the samples disagree on: informative
    assert mi[1] > 0.3
    # a certain answer (every sample prefers A) has zero information too
    w_pos = jnp.abs(w)
    mi_certain = preference_mutual_information(preference_answer_probabilities(w_pos, A, B, 1e3))
    assert abs(float(mi_certain[1])) < 1e-6


def test_volume_removal_prefers_even_split():
    M = 100
    w = jnp.asarray(np.stack([np.linspace(-1, 1, M), np.ones(M)], 1))
    # pair 0 splits the samples 50/50 (sign of w_0); pair 1 splits 90/10 (w_0 > 0.8)
    A = jnp.asarray([[1.0, 0.0], [1.0, 0.0]])
    B = jnp.asarray([[0.0, 0.0], [0.0, 0.8]])
    probs = preference_answer_probabilities(w, A, B, beta=200.0)
    vr = np.asarray(preference_volume_removal(probs))
    assert vr[0] > vr[1]
    assert vr[0] == pytest.approx(0.5, abs=0.02)  # 1 − (0.5² + 0.5²)
    choice = choose_pairs(preference_scores("volume-removal", w, A, B, beta=200.0))
    assert choice.indices[0] == 0
    assert choose_pairs(vr, asked=[0]).indices[0] == 1


def test_invalid_acquisitions():
    mdp = chain_mdp()
    w = jnp.ones((3, 2))
    with pytest.raises(ValueError, match="acquisition"):
        state_scores("curiosity", mdp, w)
    with pytest.raises(ValueError, match="key"):
        state_scores("random", mdp, w)
    with pytest.raises(ValueError, match="acquisition"):
        preference_scores("entropy", w, jnp.ones((1, 2)), jnp.ones((1, 2)))
    with pytest.raises(ValueError, match="every non-terminal state"):
        choose_states(np.zeros(4), mdp, asked=[0, 1, 2])
