"""Solvers against numpy reference loops; gradients against central finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.solvers import _linear as solvers
from bayesirl.data.mdp import make_mdp
from bayesirl.solvers import (
    finite_horizon_soft_value_iteration,
    greedy_policy,
    policy_evaluation,
    soft_value_iteration,
    value_iteration,
)
from tests import reference
from tests.conftest import random_mdp_arrays

#: float64 solver tolerance is 1e-10 relative; the fixed point error is ≤ tol / (1 − γ).
ATOL_SOLVE = 1e-8
#: Central differences with h = 1e-5 in float64: truncation O(h²) plus solver noise / h.
ATOL_GRAD = 1e-5
FD_STEP = 1e-5

TERMINAL = (4,)


@pytest.fixture(scope="module")
def small():
    P = random_mdp_arrays(1, S=6, A=3, K=3)
    return P, make_mdp(P, discount=0.9, terminal_states=TERMINAL)


def central_difference(f, x, h=FD_STEP):
    x = np.asarray(x, float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("reward_shape", ["state", "state_action"])
def test_discounted_matches_reference(small, soft, reward_shape):
    P, mdp = small
    rng = np.random.default_rng(2)
    R = rng.normal(size=(6,) if reward_shape == "state" else (6, 3))
    solve = soft_value_iteration if soft else value_iteration
    res = solve(mdp, jnp.asarray(R))
    V_ref, Q_ref = reference.value_iteration(P, R, 0.9, TERMINAL, soft=soft)
    assert bool(res.converged)
    np.testing.assert_allclose(res.values, V_ref, atol=ATOL_SOLVE)
    np.testing.assert_allclose(res.q_values, Q_ref, atol=ATOL_SOLVE)
    np.testing.assert_allclose(res.policy.sum(-1), 1.0, atol=1e-12)


def test_soft_temperature_tends_to_hard(small):
    _, mdp = small
    R = jnp.asarray(np.random.default_rng(3).normal(size=6))
    hard = value_iteration(mdp, R).values
    soft = soft_value_iteration(mdp, R, temperature=1e-3).values
    # soft ≥ hard, and the gap is at most τ log A / (1 − γ)
    assert np.all(np.asarray(soft) >= np.asarray(hard) - 1e-9)
    assert np.max(np.asarray(soft - hard)) <= 1e-3 * np.log(3) / 0.1 + 1e-9


def test_temperature_scaling_identity(small):
    """β Q_soft(R; τ=1/β) = Q_soft(βR; τ=1): the likelihood depends on β·R only."""
    _, mdp = small
    R = jnp.asarray(np.random.default_rng(4).normal(size=6))
    beta = 3.7
    lhs = beta * soft_value_iteration(mdp, R, temperature=1 / beta).q_values
    rhs = soft_value_iteration(mdp, beta * R).q_values
    np.testing.assert_allclose(lhs, rhs, atol=1e-7)


def test_finite_horizon_matches_reference(small):
    P, mdp = small
    R = np.random.default_rng(5).normal(size=(6, 3))
    res = finite_horizon_soft_value_iteration(mdp, jnp.asarray(R), horizon=4, temperature=0.7)
    V_ref, Q_ref = reference.finite_horizon_soft(P, R, 0.9, TERMINAL, 4, temperature=0.7)
    np.testing.assert_allclose(res.values, V_ref, atol=1e-12)
    np.testing.assert_allclose(res.q_values, Q_ref, atol=1e-12)
    np.testing.assert_allclose(res.policy.sum(-1), 1.0, atol=1e-12)


def test_policy_evaluation_matches_reference(small):
    P, mdp = small
    rng = np.random.default_rng(6)
    R, pi = rng.normal(size=6), rng.dirichlet(np.ones(3), size=6)
    res = policy_evaluation(mdp, jnp.asarray(R), jnp.asarray(pi))
    np.testing.assert_allclose(res.values, reference.policy_evaluation(P, R, pi, 0.9, TERMINAL),
                               atol=1e-10)
    assert bool(res.converged)


def test_optimal_policy_evaluates_to_optimal_values(small):
    _, mdp = small
    R = jnp.asarray(np.random.default_rng(7).normal(size=6))
    opt = value_iteration(mdp, R)
    np.testing.assert_allclose(policy_evaluation(mdp, R, opt.policy).values, opt.values, atol=1e-8)


@pytest.mark.parametrize("soft", [False, True])
def test_gradient_matches_finite_differences(small, soft):
    _, mdp = small
    solve = soft_value_iteration if soft else value_iteration
    weights = jnp.asarray(np.random.default_rng(8).normal(size=(6, 3)))
    R = np.random.default_rng(9).normal(size=(6, 3))

    def f(r):
        res = solve(mdp, jnp.asarray(r))
        return jnp.sum(weights * res.q_values) + jnp.sum(res.values ** 2)

    g = jax.grad(f)(jnp.asarray(R))
    np.testing.assert_allclose(g, central_difference(lambda r: float(f(r)), R), atol=ATOL_GRAD)
    # forward mode (custom_jvp) agrees with reverse mode
    np.testing.assert_allclose(jax.jacfwd(f)(jnp.asarray(R)), g, atol=1e-10)


def test_hessian_is_symmetric_and_matches_fd(small):
    _, mdp = small
    R = np.random.default_rng(10).normal(size=6)

    def f(r):
        return jnp.sum(jax.nn.log_softmax(soft_value_iteration(mdp, r).q_values)[:, 0])

    H = np.asarray(jax.hessian(f)(jnp.asarray(R)))
    g = jax.grad(f)
    H_fd = central_difference(lambda r: np.asarray(g(jnp.asarray(r)))[0], R)
    np.testing.assert_allclose(H[0], H_fd, atol=1e-5)
    np.testing.assert_allclose(H, H.T, atol=1e-7)


def test_finite_horizon_gradient(small):
    _, mdp = small
    R = np.random.default_rng(11).normal(size=6)

    def f(r):
        return finite_horizon_soft_value_iteration(mdp, jnp.asarray(r), 3).values[0] @ np.arange(6.0)

    np.testing.assert_allclose(jax.grad(f)(jnp.asarray(R)),
                               central_difference(lambda r: float(f(r)), R), atol=ATOL_GRAD)


def test_policy_evaluation_gradient_in_reward_and_policy(small):
    _, mdp = small
    rng = np.random.default_rng(12)
    R, logits = rng.normal(size=6), rng.normal(size=(6, 3))

    def f(r, lg):
        return jnp.sum(policy_evaluation(mdp, r, jax.nn.softmax(lg)).values)

    gr, gl = jax.grad(f, argnums=(0, 1))(jnp.asarray(R), jnp.asarray(logits))
    np.testing.assert_allclose(gr, central_difference(lambda r: float(f(r, logits)), R), atol=ATOL_GRAD)
    np.testing.assert_allclose(gl, central_difference(lambda lg: float(f(R, lg)), logits), atol=ATOL_GRAD)


def test_sparse_iterative_path_matches_dense(small, monkeypatch):
    """With the dense LU switched off, the Neumann solves give the same values and gradients."""
    _, mdp = small
    R = jnp.asarray(np.random.default_rng(13).normal(size=6))

    def f(r):
        return jnp.sum(soft_value_iteration(mdp, r).values * np.arange(6.0))

    g_dense = jax.grad(f)(R)
    pi = jax.nn.softmax(jnp.asarray(np.random.default_rng(14).normal(size=(6, 3))))
    pe_dense = policy_evaluation(mdp, R, pi).values
    monkeypatch.setattr(solvers, "DENSE_SOLVE_MAX_STATES", 0)
    jax.clear_caches()  # the solvers are jitted: retrace with the patched threshold
    try:
        g_sparse = jax.grad(f)(R)
        pe_sparse = policy_evaluation(mdp, R, pi)
    finally:
        monkeypatch.undo()
        jax.clear_caches()
    np.testing.assert_allclose(g_sparse, g_dense, atol=1e-8)
    np.testing.assert_allclose(pe_sparse.values, pe_dense, atol=1e-8)
    assert int(pe_sparse.iterations) > 1


def test_vmap_and_jit_over_rewards(small):
    _, mdp = small
    Rs = jnp.asarray(np.random.default_rng(15).normal(size=(5, 6)))
    batched = jax.jit(jax.vmap(lambda r: soft_value_iteration(mdp, r).values))(Rs)
    for i in range(5):
        np.testing.assert_allclose(batched[i], soft_value_iteration(mdp, Rs[i]).values, atol=1e-9)
    grads = jax.vmap(jax.grad(lambda r: soft_value_iteration(mdp, r).values.sum()))(Rs)
    assert grads.shape == (5, 6)


def test_warm_start_same_answer_fewer_iterations(small):
    _, mdp = small
    R = jnp.asarray(np.random.default_rng(16).normal(size=6))
    cold = soft_value_iteration(mdp, R)
    warm = soft_value_iteration(mdp, R + 1e-3, init_values=cold.values)
    ref = soft_value_iteration(mdp, R + 1e-3)
    np.testing.assert_allclose(warm.values, ref.values, atol=1e-8)
    assert int(warm.iterations) < int(cold.iterations)


def test_reports_non_convergence(small):
    _, mdp = small
    res = value_iteration(mdp, jnp.ones(6), max_iterations=3)
    assert int(res.iterations) == 3 and not bool(res.converged)


def test_greedy_policy_splits_ties():
    pi = greedy_policy(jnp.asarray([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]]))
    np.testing.assert_allclose(pi, [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: value_iteration(m, jnp.zeros(5)), "reward: expected shape"),
        (lambda m: soft_value_iteration(m, jnp.zeros(6), temperature=0.0), "temperature"),
        (lambda m: value_iteration(m, jnp.zeros(6), init_values=jnp.zeros(2)), "init_values"),
        (lambda m: finite_horizon_soft_value_iteration(m, jnp.zeros(6), 0), "horizon"),
        (lambda m: policy_evaluation(m, jnp.zeros(6), jnp.ones((6, 2))), "policy"),
    ],
)
def test_invalid_solver_arguments(small, call, match):
    with pytest.raises(ValueError, match=match):
        call(small[1])


# --- Bad inputs: refused eagerly (naming the argument), flagged under jit -------------------

R6 = np.linspace(-1.0, 1.0, 6)
PI_UNIFORM = np.full((6, 3), 1 / 3)


def with_value(array, index, value, dtype=float):
    out = np.array(array, dtype=dtype)
    out[index] = value
    return out


def policy_rows_sum_to_two():
    return np.full((6, 3), 2 / 3)


#: (id, call on (mdp, args), args, exception, argument named first in the message).
BAD_SOLVER_INPUTS = [
    ("vi-nan-reward", lambda m, r: value_iteration(m, r), (with_value(R6, 1, np.nan),),
     ValueError, "reward"),
    ("vi-inf-reward", lambda m, r: value_iteration(m, r), (with_value(R6, 2, np.inf),),
     ValueError, "reward"),
    ("vi-complex-reward", lambda m, r: value_iteration(m, r), (R6 + 1j,), TypeError, "reward"),
    ("vi-nan-state-action-reward", lambda m, r: value_iteration(m, r),
     (with_value(np.zeros((6, 3)), (0, 2), np.nan),), ValueError, "reward"),
    ("vi-nan-init-values", lambda m, v: value_iteration(m, R6, init_values=v),
     (with_value(np.zeros(6), 0, np.nan),), ValueError, "init_values"),
    ("vi-negative-atol", lambda m: value_iteration(m, R6, atol=-1.0), (), ValueError, "atol"),
    ("vi-negative-max-iterations", lambda m: value_iteration(m, R6, max_iterations=-1), (),
     ValueError, "max_iterations"),
    ("soft-nan-reward", lambda m, r: soft_value_iteration(m, r), (with_value(R6, 1, np.nan),),
     ValueError, "reward"),
    ("soft-minus-inf-reward", lambda m, r: soft_value_iteration(m, r, method="newton"),
     (with_value(R6, 0, -np.inf),), ValueError, "reward"),
    ("soft-inf-temperature", lambda m: soft_value_iteration(m, R6, temperature=np.inf), (),
     ValueError, "temperature"),
    ("soft-nan-temperature", lambda m: soft_value_iteration(m, R6, temperature=np.nan), (),
     ValueError, "temperature"),
    ("finite-horizon-nan-reward", lambda m, r: finite_horizon_soft_value_iteration(m, r, 3),
     (with_value(R6, 1, np.nan),), ValueError, "reward"),
    ("finite-horizon-non-integer-horizon",
     lambda m: finite_horizon_soft_value_iteration(m, R6, 2.5), (), TypeError, "horizon"),
    ("finite-horizon-discount-above-1",
     lambda m: finite_horizon_soft_value_iteration(m, R6, 3, discount=1.5), (), ValueError,
     "discount"),
    ("evaluation-rows-sum-to-2", lambda m, p: policy_evaluation(m, R6, p),
     (policy_rows_sum_to_two(),), ValueError, "policy"),
    ("evaluation-negative-probability", lambda m, p: policy_evaluation(m, R6, p),
     (with_value(PI_UNIFORM, (2, 0), -0.1),), ValueError, "policy"),
    ("evaluation-nan-policy", lambda m, p: policy_evaluation(m, R6, p),
     (with_value(PI_UNIFORM, (3, 1), np.nan),), ValueError, "policy"),
    ("evaluation-nan-reward", lambda m, r: policy_evaluation(m, r, PI_UNIFORM),
     (with_value(R6, 5, np.nan),), ValueError, "reward"),
    ("evaluation-policy-shape", lambda m, p: policy_evaluation(m, R6, p), (np.ones(6),),
     ValueError, "policy"),
    ("greedy-nan-q", lambda m, q: greedy_policy(q), (with_value(np.zeros((6, 3)), (1, 1), np.nan),),
     ValueError, "q_values"),
    ("greedy-inf-q", lambda m, q: greedy_policy(q), (with_value(np.zeros((6, 3)), (1, 1), np.inf),),
     ValueError, "q_values"),
    ("greedy-negative-rtol", lambda m: greedy_policy(np.zeros((6, 3)), rtol=-1e-3), (),
     ValueError, "rtol"),
]


@pytest.mark.parametrize("call, args, error, name",
                         [case[1:] for case in BAD_SOLVER_INPUTS],
                         ids=[case[0] for case in BAD_SOLVER_INPUTS])
def test_solvers_refuse_bad_inputs_naming_the_argument(small, call, args, error, name):
    before = [np.array(a, copy=True) for a in args]
    with pytest.raises(error, match=f"^{name}: "):
        call(small[1], *args)
    for a, b in zip(args, before):  # the caller's arrays are left as they were
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("solver", ["vi", "soft", "evaluation"])
def test_non_finite_reward_under_jit_is_not_converged(small, solver, bad):
    """Traced inputs cannot be refused: the result says it did not converge instead."""
    _, mdp = small
    solve = {"vi": lambda r: value_iteration(mdp, r),
             "soft": lambda r: soft_value_iteration(mdp, r),
             "evaluation": lambda r: policy_evaluation(mdp, r, PI_UNIFORM)}[solver]
    result = jax.jit(solve)(jnp.asarray(with_value(R6, 1, bad)))
    assert not bool(result.converged)
    assert bool(jax.jit(solve)(jnp.asarray(R6)).converged)  # the same program, finite input


def test_checks_skip_traced_values_under_vmap_and_grad(small):
    _, mdp = small
    rewards = jnp.asarray(np.stack([R6, with_value(R6, 0, np.nan)]))
    converged = jax.vmap(lambda r: value_iteration(mdp, r).converged)(rewards)
    np.testing.assert_array_equal(converged, [True, False])
    grad = jax.grad(lambda r: soft_value_iteration(mdp, r).values.sum())(jnp.asarray(R6))
    assert np.all(np.isfinite(grad))
