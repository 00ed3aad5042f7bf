"""Bradley–Terry preferences: hand-computed likelihoods, weak preferences, rankings, file
validation, synthetic labels, and weight recovery."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.data.demos import make_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.inference import fit_evidence
from bayesirl.solvers.occupancy import empirical_feature_counts
from bayesirl.data.preferences import (
    load_preferences,
    make_preferences,
    ranking_to_comparisons,
    save_preferences,
    synthetic_preferences,
    trajectory_returns,
)
from bayesirl.likelihoods.bradley_terry import PreferenceChoice, bradley_terry_log_likelihood
from bayesirl.solvers import value_iteration


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_hand_computed_strict_likelihood():
    Phi = jnp.asarray([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    w = jnp.asarray([2.0, -1.0])  # returns 2, -1, 0.5
    prefs = make_preferences(3, [(0, 1, "first"), (2, 0, "first"), (1, 2, 1)])
    expected = (np.log(sigmoid(1.5 * 3.0)) + np.log(sigmoid(1.5 * -1.5))
                + np.log(sigmoid(1.5 * 1.5)))
    np.testing.assert_allclose(bradley_terry_log_likelihood(w, Phi, prefs, beta=1.5), expected,
                               rtol=1e-12)


def test_weak_preference_probabilities():
    x, delta = 0.7, 0.4
    d = PreferenceChoice(jnp.asarray(x), delta)
    p = np.exp(np.asarray(d.logits))
    p1 = 1 / (1 + np.exp(delta - x))
    p2 = 1 / (1 + np.exp(delta + x))
    np.testing.assert_allclose(p, [p1, p2, (np.exp(2 * delta) - 1) * p1 * p2], rtol=1e-12)
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-12)
    strict = np.exp(np.asarray(PreferenceChoice(jnp.asarray(x), 0.0).logits))
    np.testing.assert_allclose(strict, [sigmoid(x), sigmoid(-x), 0.0], atol=1e-12)


def test_rankings_expand_to_strict_pairs():
    assert ranking_to_comparisons([2, 0, 1]) == [(2, 0), (2, 1), (0, 1)]
    assert ranking_to_comparisons([0, [1, 2], 3]) == [(0, 1), (0, 2), (0, 3), (1, 3), (2, 3)]
    prefs = make_preferences(12, rankings=[list(range(12))])
    assert prefs.num_comparisons == 66  # Bayesian REX: 12 ranked trajectories -> 66 pairs
    assert np.all(np.asarray(prefs.label) == 0)


INVALID = [
    (dict(comparisons=[(0, 5, "first")]), "unknown trajectory 5"),
    (dict(comparisons=[(1, 1, "first")]), "compared with itself"),
    (dict(comparisons=[(0, 1, "better")]), "expected a label"),
    (dict(comparisons=[(0, 1, 7)]), "expected a label"),
    (dict(comparisons=[{"first": 0, "label": "first"}]), "missing keys"),
    (dict(comparisons=[(0, "b", "first")]), "expected a trajectory index"),
    (dict(rankings=[[0, 1, 0]]), "more than once"),
    (dict(rankings=[[0, 9]]), "unknown trajectory 9"),
    (dict(), "at least one comparison"),
]


@pytest.mark.parametrize("kwargs, match", INVALID, ids=[m for _, m in INVALID])
def test_invalid_preferences(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_preferences(3, **kwargs)


def test_file_round_trip_and_validation(tmp_path):
    env = gridworld(3, 3, num_features=2, seed=0)
    trajs = make_demonstrations([([0, 1], [3, 3]), ([4, 5], [3, 3]), ([8], [0])])
    prefs = make_preferences(3, [(0, 1, "second"), (2, 0, "equal")])
    save_preferences(tmp_path / "p.json", trajs, prefs)
    t2, p2 = load_preferences(tmp_path / "p.json", env.mdp)
    for a, b in zip(prefs, p2):
        np.testing.assert_array_equal(a, b)
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["comparisons"].append({"first": 0, "second": 3, "label": "first"})
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="unknown trajectory 3"):
        load_preferences(tmp_path / "bad.json", env.mdp)
    (tmp_path / "none.json").write_text(json.dumps({"trajectories": doc["trajectories"]}))
    with pytest.raises(ValueError, match="neither 'comparisons' nor 'rankings'"):
        load_preferences(tmp_path / "none.json")
    (tmp_path / "rank.json").write_text(json.dumps({"trajectories": doc["trajectories"],
                                                    "rankings": [[2, 1, 0]]}))
    assert load_preferences(tmp_path / "rank.json")[1].num_comparisons == 3


def test_synthetic_labels_follow_true_returns():
    env = gridworld(4, 4, num_features=3, seed=2)
    opt = value_iteration(env.mdp, env.true_reward).policy
    trajs, prefs = synthetic_preferences(jax.random.PRNGKey(0), env.mdp, env.true_reward, opt, 40, 12)
    returns = np.asarray(trajectory_returns(env.mdp, env.true_reward, trajs))
    a, b, lab = (np.asarray(x) for x in prefs)
    assert np.all(a != b)
    np.testing.assert_array_equal(lab[returns[a] > returns[b]], 0)
    np.testing.assert_array_equal(lab[returns[a] < returns[b]], 1)
    # returns are linear in the discounted feature counts
    Phi = np.asarray(empirical_feature_counts(env.mdp, trajs))
    np.testing.assert_allclose(Phi @ np.asarray(env.true_weights), returns, atol=1e-10)


def test_recovers_weights_from_preferences():
    """300 synthetic comparisons on a 5x5 gridworld: the MAP direction matches the truth.

    One-hot colour features sum to 1 in every state, and every trajectory here has the same
    length, so adding a constant to all weights changes no preference: compare centred weights.
    """
    env = gridworld(5, 5, num_features=4, seed=5)
    opt = value_iteration(env.mdp, env.true_reward).policy
    data = synthetic_preferences(jax.random.PRNGKey(1), env.mdp, env.true_reward, opt, 300, 20)
    idata = fit_evidence(env.mdp, likelihoods=["bradley-terry"], preferences=data, method="map",
                         betas={"bradley-terry": 20.0}, num_chains=2, progress_bar=False)
    w = idata.posterior["reward_weights"].values.reshape(4)
    w, true = w - w.mean(), np.asarray(env.true_weights) - np.mean(env.true_weights)
    assert w @ true / (np.linalg.norm(w) * np.linalg.norm(true)) > 0.9


def test_equal_labels_need_delta():
    """An explicit margin of 0 (strict Bradley-Terry) cannot explain an 'equal' answer."""
    env = gridworld(3, 3, num_features=2, seed=0)
    trajs = make_demonstrations([([0, 1], [3, 3]), ([4, 5], [3, 3])])
    prefs = make_preferences(2, [(0, 1, "equal")])
    with pytest.raises(ValueError, match="margin > 0"):
        fit_evidence(env.mdp, likelihoods="bradley-terry", preferences=(trajs, prefs), method="map",
                     margin=0.0)
