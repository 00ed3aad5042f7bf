"""The implicit identity feature map (per-state rewards without an (S, S) matrix)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.data import mdp as mdp_module
from bayesirl.data.mdp import IdentityFeatures, load_mdp, make_mdp, make_sparse_mdp, \
    reward_from_weights, save_mdp
from bayesirl.solvers import expected_feature_counts, soft_value_iteration
from tests.conftest import random_mdp_arrays

S, A = 6, 3


@pytest.fixture(scope="module")
def pair():
    P = random_mdp_arrays(5, S=S, A=A, K=2)
    dense = make_mdp(P, discount=0.9, terminal_states=(2,))
    implicit = dense._replace(features=IdentityFeatures(S, dense.next_probs.dtype))
    return dense, implicit


def test_behaves_like_the_identity(pair):
    dense, implicit = pair
    phi = implicit.features
    assert phi.shape == (S, S) and phi.ndim == 2 and implicit.num_features == S
    np.testing.assert_array_equal(np.asarray(phi), np.eye(S))
    w = jnp.arange(S, dtype=phi.dtype)
    np.testing.assert_array_equal(reward_from_weights(implicit, w), w)
    np.testing.assert_array_equal(w @ phi, w)
    np.testing.assert_array_equal(phi[2], np.eye(S)[2])


def test_solver_gradient_and_feature_counts_match_dense(pair):
    dense, implicit = pair
    w = jnp.asarray(np.random.default_rng(0).normal(size=S))

    def loss(m, w):
        return jnp.sum(soft_value_iteration(m, reward_from_weights(m, w)).values)

    np.testing.assert_allclose(jax.jit(loss)(implicit, w), loss(dense, w), rtol=1e-12)
    np.testing.assert_allclose(jax.grad(loss, 1)(implicit, w), jax.grad(loss, 1)(dense, w),
                               rtol=1e-10)
    pi = soft_value_iteration(dense, dense.features @ w).policy
    np.testing.assert_allclose(expected_feature_counts(implicit, pi),
                               expected_feature_counts(dense, pi), rtol=1e-12)


def test_make_sparse_mdp_is_implicit_for_large_s(monkeypatch):
    monkeypatch.setattr(mdp_module, "IMPLICIT_IDENTITY_MIN_STATES", 4)
    ns = np.zeros((S, A, 1), int)
    m = make_sparse_mdp(ns, np.ones((S, A, 1)))
    assert isinstance(m.features, IdentityFeatures) and m.num_features == S
    small = make_sparse_mdp(ns[:3], np.ones((3, A, 1)))
    assert isinstance(small.features, jax.Array) and small.features.shape == (3, 3)


def test_save_load_keeps_it_implicit(pair, tmp_path):
    _, implicit = pair
    path = tmp_path / "mdp.npz"
    save_mdp(path, implicit)
    loaded = load_mdp(path)
    assert isinstance(loaded.features, IdentityFeatures) and loaded.features.shape == (S, S)
    np.testing.assert_array_equal(np.asarray(loaded.features), np.eye(S))


def test_wrong_size_rejected():
    with pytest.raises(ValueError, match="features"):
        make_sparse_mdp(np.zeros((S, A, 1), int), np.ones((S, A, 1)),
                        features=IdentityFeatures(S + 1, np.float64))
