"""Trajectories as features: discounted counts, npz round trips, preference files over the npz,
and invalid-input tables."""

import json

import numpy as np
import pytest

from bayesirl.data.preferences import make_preferences
from bayesirl.data.trajectories import (
    load_trajectories,
    load_trajectory_preferences,
    make_trajectories,
    save_trajectories,
    save_trajectory_preferences,
    select_trajectories,
)


@pytest.fixture
def steps():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((3, 4, 2))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
    log_probs = -rng.uniform(0.1, 1.0, (3, 4))
    return features, mask, log_probs


def test_counts_are_discounted_masked_sums(steps):
    features, mask, log_probs = steps
    t = make_trajectories(features=features, mask=mask, log_probs=log_probs,
                          returns=[1.0, 2.0, 3.0], discount=0.9, feature_names=["a", "b"])
    for n in range(3):
        ref = sum(0.9 ** k * features[n, k] for k in range(4) if mask[n, k])
        np.testing.assert_allclose(t.feature_counts[n], ref, rtol=1e-12)
        np.testing.assert_allclose(t.log_probs[n], log_probs[n, mask[n]].sum(), rtol=1e-12)
    assert (t.num_trajectories, t.num_features) == (3, 2)
    assert t.features is not features  # a copy: user data is never aliased


def test_npz_round_trip(tmp_path, steps):
    features, mask, log_probs = steps
    for t in (make_trajectories(features=features, mask=mask, log_probs=log_probs,
                                returns=[1, 2, 3], discount=0.95, feature_names=["x", "y"]),
              make_trajectories(feature_counts=features[:, 0], log_probs=[-1.0, -2.0, 0.0])):
        save_trajectories(tmp_path / "t.npz", t)
        back = load_trajectories(tmp_path / "t.npz")
        for name in t._fields:
            a, b = getattr(t, name), getattr(back, name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b, name


def test_select_trajectories(steps):
    features, mask, log_probs = steps
    t = make_trajectories(features=features, mask=mask, log_probs=log_probs)
    sub = select_trajectories(t, [2, 0])
    np.testing.assert_array_equal(sub.feature_counts, t.feature_counts[[2, 0]])
    np.testing.assert_array_equal(sub.log_probs, t.log_probs[[2, 0]])
    with pytest.raises(ValueError, match="ids: index 3"):
        select_trajectories(t, [3])


GOOD = np.zeros((2, 3, 2))
INVALID = [
    (dict(), ValueError, "exactly one"),
    (dict(features=GOOD, feature_counts=GOOD[:, 0]), ValueError, "exactly one"),
    (dict(features=GOOD[0]), ValueError, "features: expected a 3-D"),
    (dict(features=np.zeros((0, 3, 2))), ValueError, "N >= 1"),
    (dict(feature_counts=np.zeros(3)), ValueError, "feature_counts: expected a 2-D"),
    (dict(feature_counts=[[np.nan, 1.0]]), ValueError, "feature_counts: expected finite"),
    (dict(feature_counts=[["a", "b"]]), TypeError, "feature_counts: expected a numeric"),
    (dict(features=GOOD, mask=np.ones((2, 2), bool)), ValueError, "mask: expected shape"),
    (dict(features=GOOD, mask=[[1, 0, 1], [1, 1, 1]]), ValueError, "prefix"),
    (dict(features=GOOD, mask=[[0, 0, 0], [1, 1, 1]]), ValueError, "no valid step"),
    (dict(features=GOOD, mask=[[2, 1, 1], [1, 1, 1]]), ValueError, "mask: expected booleans"),
    (dict(feature_counts=GOOD[:, 0], mask=np.ones((2, 3))), ValueError, "mask: a mask needs"),
    (dict(features=GOOD, log_probs=[[0.5, 0, 0], [0, 0, 0]]), ValueError, "<= 0"),
    (dict(features=GOOD, log_probs=np.zeros((2, 2))), ValueError, "log_probs: expected shape"),
    (dict(feature_counts=GOOD[:, 0], log_probs=np.zeros((2, 3))), ValueError, "need per-step"),
    (dict(feature_counts=GOOD[:, 0], log_probs=np.zeros(3)), ValueError, "expected 2 traj"),
    (dict(feature_counts=GOOD[:, 0], returns=[1.0]), ValueError, "returns: expected 2"),
    (dict(feature_counts=GOOD[:, 0], discount=0.0), ValueError, "discount"),
    (dict(feature_counts=GOOD[:, 0], discount=1.5), ValueError, "discount"),
    (dict(feature_counts=GOOD[:, 0], feature_names=["a"]), ValueError, "feature_names"),
]


@pytest.mark.parametrize("kwargs, error, match", INVALID)
def test_invalid_trajectories(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_trajectories(**kwargs)


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


INVALID_FILES = [
    (dict(feature_counts=np.zeros((2, 2))), "must have format"),
    (dict(format=np.array("other/1"), feature_counts=np.zeros((2, 2))), "must have format"),
    (dict(format=np.array("bayesirl.trajectories/1"), feature_counts=np.zeros((2, 2)),
          extra=np.zeros(2)), "unknown keys"),
    (dict(format=np.array("bayesirl.trajectories/1")), "no 'feature_counts'"),
    (dict(format=np.array("bayesirl.trajectories/1"), feature_counts=np.ones((2, 2)),
          features=np.zeros((2, 3, 2))), "do not match"),
    (dict(format=np.array("bayesirl.trajectories/1"), feature_counts=np.ones((2, 2)),
          returns=np.array([np.inf, 0.0])), "returns: expected finite"),
]


@pytest.mark.parametrize("arrays, match", INVALID_FILES)
def test_invalid_trajectory_files(tmp_path, arrays, match):
    with pytest.raises(ValueError, match=match):
        load_trajectories(_write(tmp_path / "t.npz", **arrays))


def test_unreadable_and_missing_files(tmp_path):
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        load_trajectories(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        load_trajectories(tmp_path / "missing.npz")


def test_preferences_over_npz_round_trip(tmp_path):
    prefs = make_preferences(4, [(0, 1, "first"), (3, 2, "equal")])
    save_trajectory_preferences(tmp_path / "p.json", prefs, 4, "trajs.npz")
    back = load_trajectory_preferences(tmp_path / "p.json", 4)
    for a, b in zip(prefs, back):
        np.testing.assert_array_equal(a, b)
    (tmp_path / "r.json").write_text(json.dumps({"rankings": [[2, [0, 1], 3]]}))
    assert load_trajectory_preferences(tmp_path / "r.json", 4).num_comparisons == 5


INVALID_PREFS = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"trajectories": [{"states": [0], "actions": [0]}], "comparisons": []}),
     "tabular"),
    (json.dumps({"trajectories": {"num_trajectories": 9}, "comparisons": [[0, 1, 0]]}),
     "refers to 9"),
    (json.dumps({"trajectories": {"num_trajectories": 4}}), "neither"),
    (json.dumps({"comparisons": {"a": 1}}), "must be a list"),
    (json.dumps({"comparisons": [[0, 4, 0]]}), "unknown trajectory 4"),
    (json.dumps({"comparisons": [[1, 1, 0]]}), "compared with itself"),
]


@pytest.mark.parametrize("text, match", INVALID_PREFS)
def test_invalid_preferences_over_npz(tmp_path, text, match):
    (tmp_path / "p.json").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_trajectory_preferences(tmp_path / "p.json", 4)


@pytest.mark.parametrize("make, error, match", [
    (lambda p: p.write_text(json.dumps({"feature_counts": [[1.0]]})), ValueError,
     "it holds JSON"),
    (lambda p: np.save(p.with_suffix(".npy"), np.ones(3)) or p.with_suffix(".npy").rename(p),
     ValueError, "it holds a .npy array"),
    (lambda p: p.mkdir(), IsADirectoryError, "is a folder, expected an .npz file"),
], ids=["json", "npy", "folder"])
def test_load_trajectories_says_what_the_file_holds(tmp_path, make, error, match):
    path = tmp_path / "t.npz"
    make(path)
    with pytest.raises(error, match=f"^trajectories: .*t.npz.*{match}"):
        load_trajectories(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]
