"""Demonstrations: construction, validation, JSON round trip, rollout statistics."""

import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.data.demos import (
    Demonstrations,
    check_demonstrations,
    load_demonstrations,
    make_demonstrations,
    rollout,
    sample_demonstrations,
    save_demonstrations,
    state_action_counts,
)
from bayesirl.data.mdp import make_mdp

# Chain 0 -> 1 -> 2 (terminal); action 1 stays put.
P = np.zeros((3, 2, 3))
P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1.0
P[0, 1, 0] = P[1, 1, 1] = P[2, 1, 2] = 1.0
MDP3 = make_mdp(P, discount=0.9, terminal_states=[2], initial_distribution=[1.0, 0, 0])


def test_padding_and_mask():
    demos = make_demonstrations([{"states": [0, 1, 2], "actions": [0, 0]},
                                 ([0], [1])], num_states=3, num_actions=2)
    np.testing.assert_array_equal(demos.mask, [[1, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(demos.lengths, [3, 1])
    counts = state_action_counts(MDP3, demos)
    np.testing.assert_array_equal(counts, [[1, 1], [1, 0], [0, 0]])  # terminal pair skipped


INVALID = [
    ("expected at least one trajectory", []),
    ("trajectories\\[0\\].states: index 5 is out of range", [{"states": [5], "actions": [0]}]),
    ("trajectories\\[0\\].actions: index 2 is out of range", [{"states": [0], "actions": [2]}]),
    ("trajectories\\[0\\].actions: expected 2 or 1 actions", [{"states": [0, 1], "actions": []}]),
    ("expected at least one state", [{"states": [], "actions": []}]),
    ("expected keys 'states' and 'actions'", [{"state": [0]}]),
    ("expected integer indices", [{"states": [0.5], "actions": [0]}]),
    # checked before the cast to int64 (which would wrap them to other indices)
    ("trajectories\\[0\\].states: index 1e\\+30 is out of range",
     [{"states": [1e30], "actions": [0]}]),
    ("trajectories\\[0\\].states: index 126765060022… \\(31 digits\\) is out of range",
     [{"states": [0, 2**100], "actions": [0]}]),
    ("trajectories\\[0\\].actions: index -10000000000000000000 is out of range",
     [{"states": [0], "actions": [-10**19]}]),
    ("expected a dict", [3]),
]


@pytest.mark.parametrize("match, trajs", INVALID, ids=[m for m, _ in INVALID])
def test_make_demonstrations_rejects(match, trajs):
    with pytest.raises((ValueError, TypeError), match=match):
        make_demonstrations(trajs, num_states=3, num_actions=2)


def test_check_against_mdp():
    with pytest.raises(ValueError, match="transition 0 -> 2 under action 0 has probability 0"):
        check_demonstrations(MDP3, make_demonstrations([([0, 2], [0])]))
    with pytest.raises(ValueError, match="continues after terminal state 2"):
        check_demonstrations(MDP3, make_demonstrations([([0, 1, 2, 2], [0, 0, 0])]))


def test_json_round_trip(tmp_path):
    demos = make_demonstrations([([0, 1, 2], [0, 0, 0]), ([0, 0], [1, 0])])
    save_demonstrations(tmp_path / "d.json", demos, MDP3)
    loaded = load_demonstrations(tmp_path / "d.json", MDP3)
    for a, b in zip(demos, loaded):
        np.testing.assert_array_equal(a, b)
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["num_states"] == 3 and len(doc["trajectories"]) == 2


def test_load_rejects_bad_files(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_demonstrations(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({"trajectories": [{"states": [9], "actions": [0]}]}))
    with pytest.raises(ValueError, match="out of range"):
        load_demonstrations(tmp_path / "b.json", MDP3)
    (tmp_path / "c.json").write_text(json.dumps({"other": 1}))
    with pytest.raises(ValueError, match="no 'trajectories'"):
        load_demonstrations(tmp_path / "c.json")


def test_rollouts_stop_at_terminal_and_follow_policy():
    policy = jnp.asarray([[0.3, 0.7], [0.6, 0.4], [0.5, 0.5]])
    demos = sample_demonstrations(jax.random.PRNGKey(0), MDP3, policy, 2000, horizon=30)
    states, actions, mask = (np.asarray(x) for x in demos)
    check_demonstrations(MDP3, demos)
    # every trajectory ends in the terminal state 2 (P(not done in 30 steps) is tiny) exactly once
    last = states[np.arange(len(states)), mask.sum(1) - 1]
    assert np.all(last == 2) and np.all((states * mask == 2).sum(1) == 1)
    # action frequencies in state 0 match π(·|0): 5 standard errors
    in0 = mask & (states == 0)
    freq = actions[in0].mean()
    se = np.sqrt(0.7 * 0.3 / in0.sum())
    assert abs(freq - 0.7) < 5 * se


def test_sample_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_trajectories"):
        sample_demonstrations(jax.random.PRNGKey(0), MDP3, jnp.ones((3, 2)) / 2, 0, 5)
    with pytest.raises(ValueError, match="policy: expected shape"):
        sample_demonstrations(jax.random.PRNGKey(0), MDP3, jnp.ones((2, 2)) / 2, 3, 5)


def _demos(states, actions, mask):
    return Demonstrations(jnp.asarray(states, jnp.int32), jnp.asarray(actions, jnp.int32),
                          jnp.asarray(mask, bool))


#: Demonstrations save_demonstrations must refuse (they could not be loaded back):
#: (id, demos, mdp, exception, start of the message).
UNSAVABLE = [
    ("state-not-in-mdp", _demos([[0, 5]], [[0, 0]], [[True, True]]), MDP3, ValueError,
     "demos.states: trajectory 0 step 1: state 5 is out of range"),
    ("action-not-in-mdp", _demos([[0, 1]], [[3, 0]], [[True, True]]), MDP3, ValueError,
     "demos.actions: trajectory 0 step 0: action 3 is out of range"),
    ("negative-state", _demos([[0, -1]], [[0, 0]], [[True, True]]), MDP3, ValueError,
     "demos.states: trajectory 0 step 1: state -1 is out of range"),
    ("negative-action-without-mdp", _demos([[0, 1]], [[-2, 0]], [[True, True]]), None,
     ValueError, "demos.actions: trajectory 0 step 0: negative index -2"),
    ("impossible-transition", _demos([[0, 2]], [[0, 0]], [[True, True]]), MDP3, ValueError,
     "demos: trajectory 0 step 0: transition 0 -> 2"),
    ("gap-in-mask", _demos([[0, 1, 2]], [[0, 0, 0]], [[True, False, True]]), None, ValueError,
     "demos.mask: trajectory 0 has a step at 2 after a gap"),
    ("empty-trajectory", _demos([[0, 1], [0, 0]], [[0, 0], [0, 0]],
                                [[True, True], [False, False]]), None, ValueError,
     "demos.mask: trajectory 1 has no step"),
    ("plain-list", [([0, 1], [0])], None, TypeError, "demos: expected Demonstrations"),
    ("mdp-not-an-mdp", _demos([[0, 1]], [[0, 0]], [[True, True]]), {"num_states": 3},
     TypeError, "mdp: expected an MDP"),
]


@pytest.mark.parametrize("demos, mdp, error, match", [c[1:] for c in UNSAVABLE],
                         ids=[c[0] for c in UNSAVABLE])
def test_save_refuses_what_it_could_not_load_and_writes_nothing(tmp_path, demos, mdp, error,
                                                                 match):
    target = tmp_path / "d.json"
    target.write_text("previous")
    with pytest.raises(error, match="^" + re.escape(match)):
        save_demonstrations(target, demos, mdp)
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]
    assert target.read_text() == "previous"


@pytest.mark.parametrize("make, error, match", [
    (lambda p: np.savez(p, a=np.ones(2)) or p.with_suffix(".json.npz").rename(p), ValueError,
     "is not a JSON file: it holds an .npz archive"),
    (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256))), ValueError,
     "is not a JSON file: it holds a NetCDF/HDF5 file"),
    (lambda p: p.mkdir(), IsADirectoryError, "is a folder, expected a JSON file"),
    (lambda p: None, FileNotFoundError, "no such file"),
], ids=["npz", "netcdf", "folder", "missing"])
def test_load_says_what_the_file_holds(tmp_path, make, error, match):
    path = tmp_path / "d.json"
    make(path)
    with pytest.raises(error, match=f"^demos: .*{re.escape(match)}"):
        load_demonstrations(path, MDP3)


#: (id, keyword arguments over a valid call, exception, argument named).
BAD_SAMPLING = [
    ("zero-trajectories", dict(num_trajectories=0), ValueError, "num_trajectories"),
    ("negative-trajectories", dict(num_trajectories=-3), ValueError, "num_trajectories"),
    ("fractional-trajectories", dict(num_trajectories=2.5), TypeError, "num_trajectories"),
    ("string-trajectories", dict(num_trajectories="4"), TypeError, "num_trajectories"),
    ("boolean-trajectories", dict(num_trajectories=True), TypeError, "num_trajectories"),
    ("zero-horizon", dict(horizon=0), ValueError, "horizon"),
    ("rows-sum-to-2", dict(policy=np.ones((3, 2))), ValueError, "policy"),
    ("complex-policy", dict(policy=np.full((3, 2), 0.5 + 0j)), TypeError, "policy"),
    ("start-out-of-range", dict(initial_states=[0, 7]), ValueError, "initial_states"),
    ("start-count", dict(initial_states=[0]), ValueError, "initial_states"),
]


@pytest.mark.parametrize("kwargs, error, name", [c[1:] for c in BAD_SAMPLING],
                         ids=[c[0] for c in BAD_SAMPLING])
def test_sample_refuses_bad_counts_and_policies(kwargs, error, name):
    args = dict(rng_key=jax.random.PRNGKey(0), mdp=MDP3, policy=np.full((3, 2), 0.5),
                num_trajectories=2, horizon=4)
    args.update(kwargs)
    with pytest.raises(error, match=f"^{name}: "):
        sample_demonstrations(**args)


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(horizon=0), ValueError, "horizon"),
    (dict(policy=np.full((3, 2), 0.7)), ValueError, "policy"),
    (dict(initial_state=3), ValueError, "initial_state"),
], ids=["zero-horizon", "rows-sum-to-1.4", "start-out-of-range"])
def test_rollout_refuses_bad_arguments(kwargs, error, name):
    args = dict(rng_key=jax.random.PRNGKey(0), mdp=MDP3, policy=np.full((3, 2), 0.5), horizon=4)
    args.update(kwargs)
    with pytest.raises(error, match=f"^{name}: "):
        rollout(**args)
