"""Newton solvers (policy iteration, soft policy iteration) against numpy references at
γ ∈ {0.9, 0.99, 0.999}, against value iteration, and their implicit gradients against central
finite differences (float64, see tests/conftest.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

from bayesirl.data.mdp import make_mdp
from bayesirl.solvers import _linear
from bayesirl.solvers import (
    policy_iteration,
    soft_policy_iteration,
    soft_value_iteration,
    value_iteration,
)
from bayesirl.solvers.value_iteration import resolve_method
from tests.conftest import random_mdp_arrays

#: float64 solver tolerance is 1e-10 relative to max|V| (≤ ~1e3 here): Newton's final sweep
#: bounds the error by tol / (1 − γ); the numpy reference is iterated to machine precision.
RTOL_VALUES = 1e-8
ATOL_GRAD = 1e-5
FD_STEP = 1e-5
GAMMAS = (0.9, 0.99, 0.999)
TERMINAL = (4,)
S, A = 6, 3


def numpy_fixed_point(P, R, gamma, soft, terminal=TERMINAL):
    """Plain numpy (soft) value iteration run until the iterate stops changing (float64)."""
    R = np.broadcast_to(R[:, None], (S, A)) if R.ndim == 1 else R
    term = np.zeros(S, bool)
    term[list(terminal)] = True
    V = np.zeros(S)
    for _ in range(200_000):
        Q = R + gamma * np.where(term[:, None], 0.0, P @ V)
        new = logsumexp(Q, axis=1) - term * np.log(A) if soft else Q.max(axis=1)
        if np.max(np.abs(new - V)) <= 1e-14 * (1 + np.max(np.abs(new))):
            return new, Q
        V = new
    raise AssertionError("numpy reference did not converge")


@pytest.fixture(scope="module")
def transitions():
    return random_mdp_arrays(7, S=S, A=A, K=3)


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("soft", [False, True])
def test_newton_matches_numpy_reference(transitions, gamma, soft):
    mdp = make_mdp(transitions, discount=gamma, terminal_states=TERMINAL)
    R = np.random.default_rng(int(gamma * 1000)).normal(size=(S, A))
    solve = soft_policy_iteration if soft else policy_iteration
    res = solve(mdp, jnp.asarray(R))
    V_ref, Q_ref = numpy_fixed_point(transitions, R, gamma, soft)
    assert bool(res.converged)
    scale = np.max(np.abs(V_ref))
    np.testing.assert_allclose(res.values, V_ref, atol=RTOL_VALUES * scale)
    np.testing.assert_allclose(res.q_values, Q_ref, atol=RTOL_VALUES * scale)
    # a handful of Newton steps (+ the final sweep), whatever γ is
    assert int(res.iterations) <= 12


@pytest.mark.parametrize("soft", [False, True])
def test_auto_agrees_with_value_iteration(transitions, soft):
    mdp = make_mdp(transitions, discount=0.99, terminal_states=TERMINAL)
    R = jnp.asarray(np.random.default_rng(3).normal(size=S))
    solve = soft_value_iteration if soft else value_iteration
    vi, auto = solve(mdp, R, method="vi"), solve(mdp, R)
    assert int(auto.iterations) < int(vi.iterations) // 10  # auto took Newton steps at γ = 0.99
    np.testing.assert_allclose(auto.values, vi.values, atol=1e-7)
    np.testing.assert_allclose(auto.policy, vi.policy, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gamma, expected", [(0.9, "vi"), (0.95, "vi"), (0.99, "newton")])
def test_auto_choice_is_the_same_concrete_and_traced(transitions, dtype, gamma, expected):
    """float32 0.95 is 0.9499999…: the concrete (Python) and traced (lax.cond) choices must
    agree in every dtype, so a jitted solve with γ as data runs the solver the docs name."""
    P = np.asarray(transitions, dtype)
    mdp = make_mdp(P, discount=dtype(gamma), terminal_states=TERMINAL)
    mdp = mdp._replace(discount=jnp.asarray(gamma, dtype))
    assert resolve_method(mdp, "auto") == expected
    R = jnp.asarray(np.random.default_rng(5).normal(size=S), dtype)
    concrete = value_iteration(mdp, R)
    traced = jax.jit(lambda m: value_iteration(m, R))(mdp)
    assert int(traced.iterations) == int(concrete.iterations)


@pytest.mark.parametrize("gamma", [0.99, 0.999])
@pytest.mark.parametrize("soft", [False, True])
def test_newton_gradient_matches_finite_differences(transitions, gamma, soft):
    mdp = make_mdp(transitions, discount=gamma, terminal_states=TERMINAL)
    R = np.random.default_rng(11).normal(size=S)
    weights = np.arange(1.0, S + 1)
    solve = soft_policy_iteration if soft else policy_iteration

    def f(r):
        return jnp.sum(solve(mdp, r).values * weights) * (1 - gamma)

    g = jax.grad(f)(jnp.asarray(R))
    fd = np.array([(float(f(jnp.asarray(R + FD_STEP * e))) - float(f(jnp.asarray(R - FD_STEP * e))))
                   / (2 * FD_STEP) for e in np.eye(S)])
    np.testing.assert_allclose(g, fd, atol=ATOL_GRAD)


def test_gmres_path_matches_dense(transitions, monkeypatch):
    """With the dense LU switched off, Newton steps and tangents run on GMRES: same answers."""
    mdp = make_mdp(transitions, discount=0.999, terminal_states=TERMINAL)
    R = jnp.asarray(np.random.default_rng(13).normal(size=S))

    def f(r):
        return jnp.sum(soft_policy_iteration(mdp, r).values * np.arange(S))

    dense = soft_policy_iteration(mdp, R)
    g_dense = jax.grad(f)(R)
    monkeypatch.setattr(_linear, "DENSE_SOLVE_MAX_STATES", 0)
    jax.clear_caches()
    try:
        sparse = soft_policy_iteration(mdp, R)
        g_sparse = jax.grad(f)(R)
    finally:
        monkeypatch.undo()
        jax.clear_caches()
    assert bool(sparse.converged) and int(sparse.iterations) <= 12
    np.testing.assert_allclose(sparse.values, dense.values, rtol=1e-8)
    np.testing.assert_allclose(g_sparse, g_dense, rtol=1e-6)


def test_warm_start_and_vmap(transitions):
    mdp = make_mdp(transitions, discount=0.999, terminal_states=TERMINAL)
    R = jnp.asarray(np.random.default_rng(16).normal(size=(4, S)))
    cold = jax.vmap(lambda r: soft_policy_iteration(mdp, r))(R)
    warm = soft_policy_iteration(mdp, R[0] + 1e-4, init_values=cold.values[0])
    ref = soft_policy_iteration(mdp, R[0] + 1e-4)
    np.testing.assert_allclose(warm.values, ref.values, rtol=1e-8)
    assert int(warm.iterations) <= int(ref.iterations)
    for i in range(4):
        np.testing.assert_allclose(cold.values[i], soft_policy_iteration(mdp, R[i]).values,
                                   rtol=1e-10)


def test_unknown_method_raises(transitions):
    mdp = make_mdp(transitions, discount=0.9)
    with pytest.raises(ValueError, match="method"):
        value_iteration(mdp, jnp.zeros(S), method="howard")
