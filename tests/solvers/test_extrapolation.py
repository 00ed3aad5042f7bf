"""MacQueen-extrapolated value-iteration sweeps (the first phase and the polish of the Newton
solvers on MDPs without terminal states): same fixed point as a numpy reference at γ up to
0.999, far fewer sweeps than value iteration where the chain mixes fast, a quick hand-over to
Newton steps where it does not, and plain value iteration (bit-identical) with terminal states.
float64 throughout (tests/conftest.py)."""

import importlib

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

from bayesirl.data.mdp import make_mdp
from bayesirl.solvers import soft_value_iteration, value_iteration
from tests.conftest import random_mdp_arrays

vi_module = importlib.import_module("bayesirl.solvers.value_iteration")

S, A = 40, 3
#: The solver's float64 tolerance is 1e-10 relative to max|V|; its error is at most
#: tol / (1 − γ) = 1e-7 relative at γ = 0.999.
RTOL_VALUES = 1e-6


def ring_arrays(S, A, stay=0.1):
    """A slow-mixing ring: action a moves a − 1 steps (left, stay, right), else stays."""
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            P[s, a, (s + a - 1) % S] += 1 - stay
            P[s, a, s] += stay
    return P


def numpy_fixed_point(P, R, gamma, soft, terminal=()):
    """Plain numpy (soft) value iteration to machine precision (float64)."""
    S_, A_ = R.shape
    term = np.zeros(S_, bool)
    term[list(terminal)] = True
    V = np.zeros(S_)
    for _ in range(500_000):
        Q = R + gamma * np.where(term[:, None], 0.0, P @ V)
        new = logsumexp(Q, axis=1) if soft else Q.max(axis=1)
        if np.max(np.abs(new - V)) <= 1e-13 * (1 + np.max(np.abs(new))):
            return new
        V = new
    raise AssertionError("numpy reference did not converge")


def _config(soft, max_iterations=100_000):
    return vi_module._Config(soft=soft, temperature=1.0, atol=1e-10, rtol=1e-10,
                             max_iterations=max_iterations, method="newton")


@pytest.fixture(scope="module")
def fast():
    return random_mdp_arrays(21, S=S, A=A, K=3)


@pytest.mark.parametrize("gamma", [0.99, 0.999])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("kind", ["fast", "ring"])
def test_newton_without_terminals_matches_reference(fast, kind, soft, gamma):
    P = fast if kind == "fast" else ring_arrays(S, A)
    R = np.random.default_rng(2).normal(size=(S, A))
    solve = soft_value_iteration if soft else value_iteration
    res = solve(make_mdp(P, discount=gamma), jnp.asarray(R), method="newton")
    ref = numpy_fixed_point(P, R, gamma, soft)
    assert bool(res.converged)
    np.testing.assert_allclose(res.values, ref, atol=RTOL_VALUES * np.max(np.abs(ref)))


@pytest.mark.parametrize("soft", [False, True])
def test_fast_mixing_converges_in_few_extrapolated_sweeps(fast, soft):
    gamma = 0.999
    mdp = make_mdp(fast, discount=gamma)
    R = jnp.asarray(np.random.default_rng(3).normal(size=(S, A)))
    cfg = _config(soft)
    v0 = jnp.zeros(S)
    values, sweeps, _ = vi_module._extrapolated_sweeps(cfg, mdp, R, v0, 10_000, None)
    _, plain_sweeps, _ = vi_module._iterate(cfg, mdp, R, v0)
    ref = numpy_fixed_point(fast, np.asarray(R), gamma, soft)
    np.testing.assert_allclose(values, ref, atol=RTOL_VALUES * np.max(np.abs(ref)))
    # plain value iteration needs ~log(1e-10)/log(0.999) ≈ 23 000 sweeps; the span of the
    # residual of a random 3-successor chain contracts by ~0.5 per sweep
    assert int(plain_sweeps) > 10_000
    assert int(sweeps) <= 100


def test_slow_mixing_hands_over_to_newton():
    gamma = 0.999
    mdp = make_mdp(ring_arrays(S, A), discount=gamma)
    R = jnp.asarray(np.random.default_rng(4).normal(size=(S, A)))
    cfg = _config(True)
    _, sweeps, residual = vi_module._extrapolated_sweeps(
        cfg, mdp, R, jnp.zeros(S), 10_000, vi_module.EXTRAPOLATION_HANDOVER_RATIO)
    assert float(residual) > 1e-3  # stopped long before convergence
    assert int(sweeps) <= 50


@pytest.mark.parametrize("soft", [False, True])
def test_terminal_states_give_plain_value_iteration(fast, soft):
    mdp = make_mdp(fast, discount=0.99, terminal_states=(4,))
    R = jnp.asarray(np.random.default_rng(5).normal(size=(S, A)))
    cfg = _config(soft, max_iterations=5_000)
    v0 = jnp.zeros(S)
    ext = vi_module._extrapolated_sweeps(cfg, mdp, R, v0, 5_000, None)
    plain = vi_module._iterate(cfg, mdp, R, v0)
    np.testing.assert_array_equal(ext[0], plain[0])
    assert int(ext[1]) == int(plain[1])
