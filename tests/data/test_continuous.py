"""Transitions: validation, episode selection, npz round trips and a table of invalid files."""

import numpy as np
import pytest

from bayesirl.data.continuous import (
    episode_returns,
    load_transitions,
    make_transitions,
    rollout_transitions,
    save_transitions,
    select_episodes,
)


def _arrays():
    rng = np.random.default_rng(0)
    N, D = 5, 3
    return dict(observations=rng.standard_normal((N, D)), actions=np.array([0, 1, 1, 0, 1]),
                next_observations=rng.standard_normal((N, D)),
                dones=np.array([False, False, True, False, False]),
                episode_ids=np.array([0, 0, 0, 1, 1]), num_actions=2)


@pytest.fixture
def transitions():
    a = _arrays()
    return make_transitions(**a, rewards=np.arange(5.0), env_id="Toy-v0")


def test_make_copies_and_reports_sizes(transitions):
    a = _arrays()
    t = make_transitions(**a)
    assert (t.num_transitions, t.observation_size, t.num_actions) == (5, 3, 2)
    assert t.observations is not a["observations"]
    np.testing.assert_array_equal(t.episodes, [0, 1])


def test_select_episodes_and_returns(transitions):
    sub = select_episodes(transitions, [1, 0])
    np.testing.assert_array_equal(sub.episode_ids, [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(sub.rewards, [3.0, 4.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(episode_returns(transitions), [3.0, 7.0])
    with pytest.raises(ValueError, match="episodes: 7"):
        select_episodes(transitions, [7])


def test_npz_round_trip(tmp_path, transitions):
    for t in (transitions, make_transitions(**_arrays())):
        save_transitions(tmp_path / "t.npz", t)
        back = load_transitions(tmp_path / "t.npz")
        for name in t._fields:
            a, b = getattr(t, name), getattr(back, name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
                assert a.dtype == b.dtype, name
            else:
                assert a == b, name


def _with(**changes):
    doc = {"format": np.array("bayesirl.transitions/1"), **_arrays()}
    doc["num_actions"] = np.array(doc["num_actions"])
    for key, value in changes.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    return doc


def _nan_obs():
    obs = _arrays()["observations"].copy()
    obs[1, 2] = np.nan
    return obs


INVALID_FILES = [
    ("wrong format tag", _with(format=np.array("bayesirl.trajectories/1")), "format"),
    ("no format tag", _with(format=None), "format"),
    ("unknown key", _with(extra=np.zeros(5)), "extra"),
    ("missing actions", _with(actions=None), "actions"),
    ("observations 1-D", _with(observations=np.zeros(5)), "observations"),
    ("NaN observation", _with(observations=_nan_obs()), "observations"),
    ("inf next observation", _with(next_observations=np.full((5, 3), np.inf)), "next_observations"),
    ("next observations of another shape", _with(next_observations=np.zeros((5, 2))),
     "next_observations"),
    ("action out of range", _with(actions=np.array([0, 1, 2, 0, 1])), "actions"),
    ("negative action", _with(actions=np.array([0, -1, 1, 0, 1])), "actions"),
    ("non-integer actions", _with(actions=np.array([0, 0.5, 1, 0, 1])), "actions"),
    ("too few actions", _with(actions=np.array([0, 1, 1])), "actions"),
    ("dones not bool", _with(dones=np.array([0, 0, 1, 0, 0])), "dones"),
    ("dones of another length", _with(dones=np.zeros(4, bool)), "dones"),
    ("done inside an episode", _with(dones=np.array([True, False, False, False, False])), "dones"),
    ("episode split", _with(episode_ids=np.array([0, 1, 0, 1, 1])), "episode_ids"),
    ("episode ids of another length", _with(episode_ids=np.zeros(6, int)), "episode_ids"),
    ("rewards of another length", _with(rewards=np.zeros(3)), "rewards"),
    ("num_actions not an integer", _with(num_actions=np.array(2.5)), "num_actions"),
]


@pytest.mark.parametrize("doc, field", [pytest.param(d, f, id=i) for i, d, f in INVALID_FILES])
def test_invalid_files_give_one_line_errors_naming_the_field(tmp_path, doc, field):
    path = tmp_path / "bad.npz"
    np.savez(path, **doc)
    with pytest.raises((ValueError, TypeError)) as info:
        load_transitions(path)
    message = str(info.value)
    assert message.startswith(f"{field}:"), message
    assert "\n" not in message


def test_not_an_npz(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_text("hello")
    with pytest.raises(ValueError, match="^transitions: .* not a readable .npz"):
        load_transitions(path)


def test_rollout_records_steps_in_order_and_is_seeded():
    pytest.importorskip("gymnasium")
    push_right = lambda obs: np.tile([0.0, 1.0], (len(obs), 1))  # noqa: E731
    t = rollout_transitions("CartPole-v1", push_right, 2, seed=3)
    again = rollout_transitions("CartPole-v1", push_right, 2, seed=3)
    np.testing.assert_array_equal(t.observations, again.observations)
    assert (t.actions == 1).all() and t.num_actions == 2 and t.env_id == "CartPole-v1"
    # consecutive steps chain: o_{t+1} of a step is o_t of the next step of its episode
    same = t.episode_ids[1:] == t.episode_ids[:-1]
    np.testing.assert_array_equal(t.next_observations[:-1][same], t.observations[1:][same])
    # always pushing right makes the pole fall: each episode ends terminated, before the limit
    ends = np.r_[~same, True]
    assert t.dones[ends].all() and not t.dones[~ends].any()


def test_rollout_rejects_bad_policies():
    pytest.importorskip("gymnasium")
    with pytest.raises(ValueError, match="^policy:"):
        rollout_transitions("CartPole-v1", lambda obs: np.ones((1, 3)) / 3, 1)
    with pytest.raises(ValueError, match="^env_id:"):
        rollout_transitions("Pendulum-v1", lambda obs: np.ones((1, 2)) / 2, 1)
