"""MDP constructors: validation tables, dense <-> sparse round trip, save/load."""

import re

import numpy as np
import pytest

from bayesirl.data.mdp import (
    load_mdp,
    make_mdp,
    make_sparse_mdp,
    reward_from_weights,
    save_mdp,
    state_action_reward,
    transition_matrix,
)
from tests.conftest import random_mdp_arrays

P_OK = random_mdp_arrays(0, S=4, A=2, K=2)


def with_entry(index, value):
    P = P_OK.copy()
    P[index] = value
    return P


def bad_rows():
    P = P_OK.copy()
    P[1, 1] *= 0.8
    return P


INVALID_MAKE_MDP = [
    ("transitions: expected a 3-D", dict(transitions=np.ones((4, 4)))),
    ("transitions: expected shape \\(S, A, S\\)", dict(transitions=np.ones((4, 2, 3)) / 3)),
    ("transitions: expected finite", dict(transitions=with_entry((0, 0, 0), np.nan))),
    ("transitions: probabilities must be >= 0", dict(transitions=with_entry((0, 0, 0), -0.5))),
    ("transitions: probabilities must sum to 1.*index \\(1, 1\\)", dict(transitions=bad_rows())),
    ("features: expected shape \\(S, F\\)", dict(features=np.ones((3, 2)))),
    ("features: expected shape \\(S, A, F\\)", dict(features=np.ones((4, 3, 2)))),
    ("features: expected finite", dict(features=np.array([[0.0], [np.inf], [1.0], [1.0]]))),
    ("features: expected a 2-D or 3-D", dict(features=np.ones(4))),
    ("discount: expected < 1", dict(discount=1.0)),
    ("discount: expected >= 0", dict(discount=-0.1)),
    ("discount: expected a number", dict(discount="0.9")),
    ("discount: expected a number below 1 in float32 .*, got 0.99999999, which float32 rounds",
     dict(discount=0.99999999, dtype=np.float32)),
    ("terminal_states: index 1180591620717411303424 is out of range",
     dict(terminal_states=[0, 2**70])),
    ("initial_distribution: expected shape", dict(initial_distribution=np.ones(3) / 3)),
    ("initial_distribution: probabilities must sum to 1", dict(initial_distribution=np.ones(4))),
    ("terminal_states: index 7 is out of range", dict(terminal_states=[7])),
    ("terminal_states: expected integer", dict(terminal_states=[1.5])),
    ("terminal_states: every state is terminal", dict(terminal_states=[0, 1, 2, 3])),
]

#: Values that would be silently converted (complex -> real drops the imaginary part) or
#: carried into the solvers (NaN): (id, exception, message start, make_mdp keyword arguments).
REFUSED_VALUES = [
    ("complex-transitions", TypeError, "transitions: expected real numbers, got complex",
     dict(transitions=P_OK + 0j)),
    ("complex-features", TypeError, "features: expected real numbers, got complex",
     dict(features=np.eye(4) * (1 + 1j))),
    ("complex-features-list", TypeError, "features: expected real numbers, got complex",
     dict(features=[[1j], [0], [0], [0]])),
    ("nan-features", ValueError, "features: expected finite", dict(features=np.full((4, 2), np.nan))),
    ("complex-initial", TypeError, "initial_distribution: expected real numbers",
     dict(initial_distribution=np.ones(4) / 4 + 0j)),
    ("complex-discount-numpy", TypeError, "discount: expected a real number",
     dict(discount=np.complex128(0.9))),
    ("complex-discount", TypeError, "discount: expected a number", dict(discount=0.9 + 0j)),
    ("nan-discount", ValueError, "discount: expected a finite number", dict(discount=np.nan)),
]


@pytest.mark.parametrize("error, match, kwargs", [c[1:] for c in REFUSED_VALUES],
                         ids=[c[0] for c in REFUSED_VALUES])
def test_make_mdp_refuses_complex_and_nan_values(error, match, kwargs):
    args = dict(transitions=P_OK, features=None, discount=0.9)
    args.update(kwargs)
    before = {k: np.array(v, copy=True) for k, v in args.items() if v is not None}
    with pytest.raises(error, match="^" + match):
        make_mdp(**args)
    for k, v in before.items():
        np.testing.assert_array_equal(np.asarray(args[k]), v)


def test_make_sparse_mdp_refuses_complex_probabilities():
    with pytest.raises(TypeError, match="^next_probs: expected real numbers, got complex"):
        make_sparse_mdp(np.zeros((2, 1, 1), int), np.ones((2, 1, 1), complex))


@pytest.mark.parametrize("match, kwargs", INVALID_MAKE_MDP, ids=[m for m, _ in INVALID_MAKE_MDP])
def test_make_mdp_rejects(match, kwargs):
    args = dict(transitions=P_OK, features=None, discount=0.9)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        make_mdp(**args)


def test_make_mdp_does_not_modify_input():
    P = P_OK.copy()
    make_mdp(P, discount=0.9)
    np.testing.assert_array_equal(P, P_OK)


def test_dense_sparse_round_trip():
    mdp = make_mdp(P_OK, discount=0.9, terminal_states=[2])
    assert mdp.next_states.shape == (4, 2, 2)
    np.testing.assert_allclose(transition_matrix(mdp), P_OK, atol=1e-12)
    assert mdp.num_states == 4 and mdp.num_actions == 2 and mdp.num_features == 4
    assert bool(mdp.terminal[2]) and int(mdp.terminal.sum()) == 1


INVALID_SPARSE = [
    ("next_states: index 9 is out of range", dict(next_states=np.full((2, 1, 1), 9))),
    ("next_states: expected the shape", dict(next_states=np.zeros((2, 1, 2), int))),
    ("next_probs: probabilities must sum", dict(next_probs=np.full((2, 1, 1), 0.5))),
    ("next_states: expected integer", dict(next_states=np.full((2, 1, 1), 0.5))),
]


@pytest.mark.parametrize("match, kwargs", INVALID_SPARSE, ids=[m for m, _ in INVALID_SPARSE])
def test_make_sparse_mdp_rejects(match, kwargs):
    args = dict(next_states=np.zeros((2, 1, 1), int), next_probs=np.ones((2, 1, 1)))
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        make_sparse_mdp(**args)


def test_reward_from_weights_state_and_state_action():
    mdp = make_mdp(P_OK, features=np.arange(8.0).reshape(4, 2))
    np.testing.assert_allclose(reward_from_weights(mdp, np.array([1.0, -1.0])), [-1, -1, -1, -1])
    phi = np.arange(16.0).reshape(4, 2, 2)
    mdp_sa = make_mdp(P_OK, features=phi)
    assert mdp_sa.state_action_features
    np.testing.assert_allclose(reward_from_weights(mdp_sa, np.array([1.0, 0.0])), phi[..., 0])


def test_state_action_reward_broadcasts_a_state_reward():
    mdp = make_mdp(P_OK)
    r = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(state_action_reward(mdp, r), np.repeat(r[:, None], 2, axis=1))
    r_sa = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(state_action_reward(mdp, r_sa), r_sa)
    with pytest.raises(ValueError, match=r"reward: expected shape \(S,\) = \(4,\)"):
        state_action_reward(mdp, np.ones(3))


def test_save_load_round_trip(tmp_path):
    mdp = make_mdp(P_OK, features=np.eye(4)[:, :3], discount=0.8, terminal_states=[3],
                   initial_distribution=[0.5, 0.5, 0, 0])
    save_mdp(tmp_path / "m.npz", mdp)
    loaded = load_mdp(tmp_path / "m.npz")
    for a, b in zip(mdp, loaded):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float))


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not an MDP file written by bayesirl: no "):
        load_mdp(tmp_path / "x.npz")
    (tmp_path / "y.npz").write_text("garbage")
    with pytest.raises(ValueError, match="not an MDP file written by bayesirl: not a .npz"):
        load_mdp(tmp_path / "y.npz")
    with pytest.raises(FileNotFoundError):
        load_mdp(tmp_path / "missing.npz")


def test_save_mdp_writes_exactly_the_path_given(tmp_path):
    mdp = make_mdp(P_OK, discount=0.9)
    save_mdp(tmp_path / "plain", mdp)  # no .npz appended, no temporary file left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]
    np.testing.assert_allclose(load_mdp(tmp_path / "plain").next_probs, mdp.next_probs)


#: (id, set-up of tmp_path returning the target, exception, text after "cannot write <path>").
UNWRITABLE = [
    ("folder", lambda d: (d / "out.npz").mkdir() or d / "out.npz", IsADirectoryError,
     "it is a folder"),
    ("folder-without-extension", lambda d: (d / "out").mkdir() or d / "out", IsADirectoryError,
     "it is a folder"),
    ("missing-parent", lambda d: d / "nope" / "out.npz", FileNotFoundError,
     "the folder .*nope does not exist"),
    ("parent-is-a-file", lambda d: (d / "f").write_text("x") and d / "f" / "out.npz",
     NotADirectoryError, ".*/f is not a folder"),
]


@pytest.mark.parametrize("target, error, reason", [c[1:] for c in UNWRITABLE],
                         ids=[c[0] for c in UNWRITABLE])
def test_save_mdp_refuses_unwritable_paths_and_leaves_nothing(tmp_path, target, error, reason):
    path = target(tmp_path)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(error, match=f"^cannot write {re.escape(str(path))}: {reason}") as info:
        save_mdp(path, make_mdp(P_OK, discount=0.9))
    assert ".bayesirl-" not in str(info.value)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_save_mdp_refuses_what_is_not_an_mdp(tmp_path):
    with pytest.raises(TypeError, match="^mdp: expected an MDP"):
        save_mdp(tmp_path / "m.npz", {"transitions": P_OK})
    assert not list(tmp_path.iterdir())


def test_load_mdp_says_what_the_file_holds(tmp_path):
    (tmp_path / "demos.json").write_text('{"trajectories": []}')
    with pytest.raises(ValueError, match="demos.json is not an MDP file .*not a .npz archive "
                                         "but JSON"):
        load_mdp(tmp_path / "demos.json")
    with pytest.raises(IsADirectoryError, match="^mdp: .* is a folder, expected an .npz file"):
        load_mdp(tmp_path)
