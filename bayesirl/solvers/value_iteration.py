"""JAX MDP solvers: value iteration, soft value iteration, finite-horizon soft value iteration,
policy evaluation.

Every solver takes ONE reward and returns a NamedTuple; batch over rewards with ``jax.vmap``.
All are jit-compiled (tolerances, temperature and horizon are static arguments) and
differentiable with respect to the reward:

* the discounted fixed points (:func:`value_iteration`, :func:`soft_value_iteration`) run a
  ``lax.while_loop`` forward and are differentiated *implicitly*: at the fixed point
  ``V = T(V; r)`` the tangent solves ``(I − γ P_π) dV = Σ_a π(a|s) dr(s, a)`` (implicit function
  theorem; Christianson 1994, Blondel et al. 2022), with ``P_π`` the transition matrix of the
  (soft-)greedy policy. It is a ``jax.custom_jvp`` whose linear solve is a
  ``lax.custom_linear_solve`` with a transpose solve, so ``grad``, ``jacfwd``, ``hessian`` and
  ``vmap`` all work and nothing is reverse-differentiated through the loop;
* the finite-horizon recursion is a fixed-length ``lax.scan`` (exact reverse mode);
* policy evaluation is itself a ``custom_linear_solve``.

For the hard max the gradient is the one of the greedy policy's linear system, exact wherever
the greedy policy is unique (Q* is piecewise linear in the reward; Choi & Kim 2011).

Linear systems use a dense LU solve when S <= ``DENSE_SOLVE_MAX_STATES`` and otherwise the
Neumann/fixed-point iteration ``x ← b + γ P_π x`` on the sparse transitions.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bayesirl._typing import Array
from bayesirl._validate import check_concrete, check_policy_concrete, check_scalar
from bayesirl.data.mdp import MDP, state_action_reward
from bayesirl.solvers._linear import (
    DENSE_SOLVE_MAX_STATES,
    expected_next_values,
    linear_solve,
    policy_system_solve,
    tolerances,
)

__all__ = [
    "SolverResult",
    "FiniteHorizonResult",
    "value_iteration",
    "soft_value_iteration",
    "finite_horizon_soft_value_iteration",
    "policy_evaluation",
    "greedy_policy",
    "expected_next_values",
    "DENSE_SOLVE_MAX_STATES",
    "SOLVER_METHODS",
    "AUTO_NEWTON_DISCOUNT",
    "resolve_method",
]

#: Relative tolerance for ties between Q-values in :func:`greedy_policy`.
TIE_RTOL = 1e-6
#: Algorithms of the discounted solvers (argument ``method``); see :func:`value_iteration`.
SOLVER_METHODS = ("auto", "vi", "newton")
#: ``method="auto"`` takes Newton steps (policy iteration) when γ is above this, compared in
#: γ's own dtype (so float32 and float64 γ = 0.95 both run value iteration, concrete or traced).
AUTO_NEWTON_DISCOUNT = 0.95
#: Cap on Newton (policy-iteration) steps before the value-iteration polish.
NEWTON_MAX_STEPS = 50
#: Relative 2-norm tolerance of each inexact Newton step's GMRES solve (large S).
NEWTON_FORCING = 1e-3
#: Newton hands over to value iteration after this many steps in a row that do not shrink
#: the Bellman residual.
NEWTON_PATIENCE = 3
#: Before its Newton steps, ``method="newton"`` runs extrapolated value-iteration sweeps
#: (MacQueen's bounds; see :func:`_extrapolated_sweeps`) for as long as each sweep shrinks the
#: span of the Bellman residual at least this much (span ratio <= this): on fast-mixing MDPs a
#: sweep (one product with the transitions) then beats a Newton step (~10–25 products).
EXTRAPOLATION_HANDOVER_RATIO = 0.7
#: Cap on those sweeps before the Newton steps take over.
EXTRAPOLATION_MAX_SWEEPS = 200


class SolverResult(NamedTuple):
    """Result of a discounted solver.

    Attributes:
        values: (S,) state values V (reward units).
        q_values: (S, A) action values Q.
        policy: (S, A) action probabilities π(a|s): soft-greedy (softmax of Q / temperature)
            for soft value iteration, greedy with ties split evenly for value iteration, the
            given policy for policy evaluation.
        iterations: () int32, sweeps (backups) performed.
        residual: () float, final sup-norm Bellman residual ``max_s |T(V)(s) − V(s)|``.
        converged: () bool, whether the residual met the tolerance before ``max_iterations``;
            always False when the values or the residual are not finite (a NaN/inf reward,
            policy or warm start passed under ``jax.jit``/``vmap``, where it cannot be refused).
    """

    values: Array
    q_values: Array
    policy: Array
    iterations: Array
    residual: Array
    converged: Array


class FiniteHorizonResult(NamedTuple):
    """Result of :func:`finite_horizon_soft_value_iteration`.

    Attributes:
        values: (T + 1, S) soft values V_t; ``values[T]`` is zero (nothing after the horizon).
        q_values: (T, S, A) soft action values Q_t.
        policy: (T, S, A) time-dependent soft-optimal policy π_t(a|s) = exp(Q_t − V_t).
    """

    values: Array
    q_values: Array
    policy: Array


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


def _q_values(mdp: MDP, reward_sa: Array, values: Array, discount=None) -> Array:
    gamma = mdp.discount if discount is None else discount
    return reward_sa + jnp.asarray(gamma, values.dtype) * expected_next_values(mdp, values)


def _soft_max(mdp: MDP, q: Array, temperature) -> Array:
    # V(s) = τ logsumexp_a Q/τ, minus τ log A in terminal states (log-mean-exp: a terminal
    # state's value is its reward, not its reward plus an entropy bonus of the A choices).
    A = q.shape[-1]
    v = temperature * jax.nn.logsumexp(q / temperature, axis=-1)
    return v - jnp.where(mdp.terminal, temperature * np.log(A), 0.0)


def greedy_policy(q_values: Array, rtol: float = TIE_RTOL) -> Array:
    """Greedy policy of Q-values, splitting ties evenly.

    Args:
        q_values: (..., A) action values.
        rtol: two actions tie when their Q differ by at most ``rtol * (1 + |max Q|)``.

    Returns:
        (..., A) action probabilities, uniform over the maximising actions. jit/vmap-compatible;
        under jit a row with NaN or +inf Q gives NaN probabilities.

    Raises:
        ValueError: ``q_values`` (when concrete, not traced) holds NaN or inf, or ``rtol`` < 0.
        TypeError: ``q_values`` is complex or not numeric.
    """
    check_concrete(q_values, "q_values")
    rtol = check_scalar(rtol, "rtol", low=0.0)
    best = jnp.max(q_values, axis=-1, keepdims=True)
    ties = q_values >= best - rtol * (1.0 + jnp.abs(best))
    ties = ties.astype(q_values.dtype)
    return ties / jnp.sum(ties, axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Discounted fixed points with implicit differentiation
# ---------------------------------------------------------------------------------------------


class _Config(NamedTuple):
    soft: bool
    temperature: float
    atol: float
    rtol: float
    max_iterations: int
    method: str = "vi"


def _backup(mdp: MDP, reward_sa: Array, values: Array, cfg: _Config):
    q = _q_values(mdp, reward_sa, values)
    if cfg.soft:
        return _soft_max(mdp, q, cfg.temperature), q
    return jnp.max(q, axis=-1), q


def _policy_of(q: Array, cfg: _Config) -> Array:
    if cfg.soft:
        return jax.nn.softmax(q / cfg.temperature, axis=-1)
    return greedy_policy(q)


def _iterate(cfg: _Config, mdp: MDP, reward_sa: Array, init_values: Array):
    def cond(carry):
        _, it, res, scale = carry
        return (it < cfg.max_iterations) & (res > cfg.atol + cfg.rtol * scale)

    def body(carry):
        v, it, _, _ = carry
        new, _ = _backup(mdp, reward_sa, v, cfg)
        return new, it + 1, jnp.max(jnp.abs(new - v)), jnp.max(jnp.abs(new))

    inf = jnp.asarray(jnp.inf, reward_sa.dtype)
    carry = (init_values, jnp.int32(0), inf, jnp.zeros((), reward_sa.dtype))
    values, iterations, residual, _ = lax.while_loop(cond, body, carry)
    return values, iterations, residual


def _extrapolated_sweeps(cfg: _Config, mdp: MDP, reward_sa: Array, init_values: Array,
                         max_sweeps: int, handover_ratio: float | None):
    """Value iteration with MacQueen's extrapolation (MacQueen 1966; Puterman 1994, §6.6.3).

    The backup T (hard or soft max) is monotone and moves with constants, T(V + c) = T(V) + γc,
    when no state is terminal. Then V* lies between T(V) + γ/(1 − γ)·min(T(V) − V) and
    T(V) + γ/(1 − γ)·max(T(V) − V), and each sweep moves to the middle of that box. The
    iterates are the plain ones shifted by constants, so they converge at the rate the span of
    the residual contracts: never slower than value iteration, and in a few sweeps where the
    chain mixes fast (random successors), where plain value iteration needs ~log(ε)/log(γ).
    With terminal states there is no shift (plain value iteration).

    Stops when the residual meets the tolerance, after ``max_sweeps``, or — with
    ``handover_ratio`` — after a sweep that shrank the span by less than that factor (slow
    mixing: Newton steps are cheaper). Returns (values, sweeps, residual), as ``_iterate``.
    """
    gamma = mdp.discount.astype(reward_sa.dtype)
    can_shift = ~jnp.any(mdp.terminal)
    ratio_cap = jnp.inf if handover_ratio is None else handover_ratio

    def cond(carry):
        _, it, res, scale, span, prev_span = carry
        fast = (it < 2) | (span <= ratio_cap * prev_span)
        return (it < max_sweeps) & fast & (res > cfg.atol + cfg.rtol * scale)

    def body(carry):
        v, it, _, _, span, _ = carry
        tv, _ = _backup(mdp, reward_sa, v, cfg)
        d = tv - v
        low, high = jnp.min(d), jnp.max(d)
        shift = jnp.where(can_shift, gamma / (1 - gamma) * 0.5 * (low + high), 0.0)
        new = tv + shift.astype(tv.dtype)
        return new, it + 1, jnp.max(jnp.abs(d)), jnp.max(jnp.abs(tv)), high - low, span

    inf = jnp.asarray(jnp.inf, reward_sa.dtype)
    carry = (init_values, jnp.int32(0), inf, jnp.zeros((), reward_sa.dtype), inf, inf)
    values, sweeps, residual, _, _, _ = lax.while_loop(cond, body, carry)
    return values, sweeps, residual


def _newton(cfg: _Config, mdp: MDP, reward_sa: Array, init_values: Array):
    """Newton's method on ``V = T(V)``: policy iteration for the hard max (Howard 1960), soft
    policy iteration for the soft max (Haarnoja et al. 2018; Rust 1987's Newton–Kantorovich
    steps). Each step solves ``(I − γ P_π) Δ = T(V) − V`` with π the (soft-)greedy policy of V,
    then a value-iteration polish guarantees the tolerance (a contraction, whatever happened).

    Without terminal states, extrapolated value-iteration sweeps (:func:`_extrapolated_sweeps`)
    run first for as long as they converge fast, and the polish is extrapolated too."""

    def cond(carry):
        _, _, it, res, scale, misses = carry
        return ((it < min(cfg.max_iterations, NEWTON_MAX_STEPS)) & (misses < NEWTON_PATIENCE)
                & (res > cfg.atol + cfg.rtol * scale))

    def body(carry):
        v, tv, it, res, _, misses = carry
        _, q = _backup(mdp, reward_sa, v, cfg)
        delta = policy_system_solve(mdp, _policy_of(q, cfg), tv - v, NEWTON_FORCING,
                                    cfg.max_iterations)
        new = v + delta
        tv_new, _ = _backup(mdp, reward_sa, new, cfg)
        res_new = jnp.max(jnp.abs(tv_new - new))
        # Steps that do not shrink the residual: early policy-iteration steps may not, but
        # several in a row mean the round-off floor (or failed inexact solves): value
        # iteration finishes.
        misses = jnp.where(res_new < res, 0, misses + 1)
        return new, tv_new, it + 1, res_new, jnp.max(jnp.abs(tv_new)), misses

    init_values, pre_sweeps, _ = _extrapolated_sweeps(
        cfg, mdp, reward_sa, init_values, min(cfg.max_iterations, EXTRAPOLATION_MAX_SWEEPS),
        EXTRAPOLATION_HANDOVER_RATIO)
    tv0, _ = _backup(mdp, reward_sa, init_values, cfg)
    carry = (init_values, tv0, jnp.int32(0), jnp.max(jnp.abs(tv0 - init_values)),
             jnp.max(jnp.abs(tv0)), jnp.int32(0))
    values, _, steps, _, _, _ = lax.while_loop(cond, body, carry)
    values, sweeps, residual = _extrapolated_sweeps(cfg, mdp, reward_sa, values,
                                                    max(1, cfg.max_iterations), None)
    return values, pre_sweeps + steps + sweeps, residual


def resolve_method(mdp: MDP, method: str) -> str:
    """The algorithm ``method="auto"`` runs: ``"newton"`` when γ > ``AUTO_NEWTON_DISCOUNT``
    (compared in γ's dtype), else ``"vi"``, decided in Python when γ is concrete (one compiled program); ``"auto"``
    (a run-time ``lax.cond``, both branches compiled) when γ is traced.

    Raises:
        ValueError: ``method`` not in ``SOLVER_METHODS``.
    """
    if method not in SOLVER_METHODS:
        raise ValueError(f"method: expected one of {SOLVER_METHODS}, got {method!r}")
    if method != "auto":
        return method
    try:
        gamma = np.asarray(mdp.discount)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError, TypeError):
        return "auto"
    return "newton" if bool(gamma > np.asarray(AUTO_NEWTON_DISCOUNT, gamma.dtype)) else "vi"


def _solve_fixed_point(cfg: _Config, mdp: MDP, reward_sa: Array, init_values: Array):
    if cfg.method == "vi":
        return _iterate(cfg, mdp, reward_sa, init_values)
    if cfg.method == "newton":
        return _newton(cfg, mdp, reward_sa, init_values)
    # "auto": γ is data (traced), so choose at run time; both branches are compiled.
    use_newton = mdp.discount > jnp.asarray(AUTO_NEWTON_DISCOUNT, mdp.discount.dtype)
    return lax.cond(use_newton, partial(_newton, cfg), partial(_iterate, cfg), mdp, reward_sa,
                    init_values)


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _fixed_point(cfg: _Config, mdp: MDP, reward_sa: Array, init_values: Array):
    return _solve_fixed_point(cfg, mdp, reward_sa, init_values)


@_fixed_point.defjvp
def _fixed_point_jvp(cfg, primals, tangents):
    mdp, reward_sa, init_values = primals
    _, reward_dot, _ = tangents  # derivatives w.r.t. the MDP and the warm start are zero
    # Calling the custom_jvp function itself (not `_iterate`) keeps higher derivatives
    # (Hessians, forward-over-reverse) implicit as well.
    values, iterations, residual = _fixed_point(cfg, mdp, reward_sa, init_values)
    _, q = _backup(mdp, reward_sa, values, cfg)
    policy = _policy_of(q, cfg)
    b = jnp.sum(policy * reward_dot, axis=-1)
    values_dot = linear_solve(mdp, policy, b, cfg.atol, cfg.rtol, cfg.max_iterations)
    zero_int = np.zeros((), dtype=jax.dtypes.float0)
    return (values, iterations, residual), (values_dot, zero_int, jnp.zeros_like(residual))


def _solve_discounted(mdp, reward, init_values, cfg_kwargs) -> SolverResult:
    if cfg_kwargs["method"] not in SOLVER_METHODS:
        raise ValueError(f"method: expected one of {SOLVER_METHODS}, got {cfg_kwargs['method']!r}")
    reward_sa = state_action_reward(mdp, reward)
    if not jnp.issubdtype(reward_sa.dtype, jnp.floating):
        reward_sa = reward_sa.astype(jnp.zeros(()).dtype)
    atol, rtol = tolerances(reward_sa.dtype, cfg_kwargs.pop("atol"), cfg_kwargs.pop("rtol"))
    cfg = _Config(atol=float(atol), rtol=float(rtol), **cfg_kwargs)
    if init_values is None:
        init_values = jnp.zeros(mdp.num_states, reward_sa.dtype)
    init_values = jnp.asarray(init_values, reward_sa.dtype)
    if init_values.shape != (mdp.num_states,):
        raise ValueError(
            f"init_values: expected shape (S,) = ({mdp.num_states},), got {init_values.shape}"
        )
    values, iterations, residual = _fixed_point(cfg, mdp, reward_sa, init_values)
    # One more backup (differentiable through `values`) gives Q and the policy.
    _, q = _backup(mdp, reward_sa, values, cfg)
    return SolverResult(
        values=values,
        q_values=q,
        policy=_policy_of(q, cfg),
        iterations=iterations,
        residual=residual,
        converged=_converged(values, residual, cfg.atol + cfg.rtol * jnp.max(jnp.abs(values))),
    )


def _converged(values: Array, residual: Array, tol: Array) -> Array:
    # A NaN residual already compares False; the finiteness checks also make the flag False
    # for values that overflowed to ±inf (their residual can be NaN or inf).
    return (residual <= tol) & jnp.isfinite(residual) & jnp.all(jnp.isfinite(values))


def _check_solver_arguments(reward, init_values, atol, rtol, max_iterations) -> dict:
    """Eager checks shared by the discounted solvers (array values only when concrete);
    returns the static arguments as Python numbers."""
    check_concrete(reward, "reward")
    if init_values is not None:
        check_concrete(init_values, "init_values")
    return dict(
        atol=None if atol is None else check_scalar(atol, "atol", low=0.0),
        rtol=None if rtol is None else check_scalar(rtol, "rtol", low=0.0),
        max_iterations=check_scalar(max_iterations, "max_iterations", low=0, integer=True),
    )


def value_iteration(
    mdp: MDP,
    reward: Array,
    *,
    init_values: Array | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    max_iterations: int = 10_000,
    method: str = "auto",
) -> SolverResult:
    """Optimal values of a discounted MDP (hard max; Bellman 1957).

    ``V(s) = max_a [R(s, a) + γ Σ_s' P[s, a, s'] V(s')]``, with terminal states' continuation
    zero. Stops when a final value-iteration sweep changes V by at most
    ``atol + rtol·max|V_new|`` (or after ``max_iterations``).

    Algorithms (``method``, static):

    * ``"vi"``: value iteration; sweeps grow like log(tol)/log γ, i.e. 1/(1 − γ).
    * ``"newton"``: policy iteration (Howard 1960; Puterman 1994, §6.4) — Newton's method on
      the Bellman equation — at most ``NEWTON_MAX_STEPS`` steps, each one linear solve
      ``(I − γ P_π) Δ = T(V) − V`` (dense LU when S <= ``DENSE_SOLVE_MAX_STATES``, else GMRES
      to a relative tolerance ``NEWTON_FORCING``), then value-iteration sweeps until the
      tolerance holds (usually one). A handful of steps whatever γ is. Without terminal
      states, value-iteration sweeps with MacQueen's extrapolation (MacQueen 1966; Puterman
      1994, §6.6.3) come first, for as long as each shrinks the span of the residual by at
      least ``EXTRAPOLATION_HANDOVER_RATIO``: on fast-mixing MDPs (e.g. random successors)
      they converge in ~10 sweeps, each one product with the transitions where a Newton step
      costs 10–25; the final sweeps are extrapolated too.
    * ``"auto"`` (default): ``"newton"`` when γ > ``AUTO_NEWTON_DISCOUNT`` (0.95), else
      ``"vi"`` (:func:`resolve_method`: in Python when γ is concrete, else at run time with
      both compiled). Newton is also cheaper at small γ when S is small (dense LU), but VI
      sweeps are cheaper than GMRES solves on large MDPs at moderate γ.

    Args:
        mdp: the MDP.
        reward: (S,) state reward or (S, A) state-action reward.
        init_values: (S,) warm start (e.g. the values of a nearby reward); default zeros.
            It changes the number of iterations, not the answer or its gradient.
        atol, rtol: absolute / relative tolerances; default 1e-5 (float32) or 1e-10 (float64).
        max_iterations: cap on the number of sweeps (and GMRES products); check ``converged``.
        method: one of ``SOLVER_METHODS``.

    Returns:
        :class:`SolverResult`; ``policy`` is greedy with ties split evenly; ``iterations``
        counts sweeps plus Newton steps.

    Differentiable with respect to ``reward`` (implicit function theorem on the greedy
    policy's linear system; exact where the greedy policy is unique). Not with respect to the
    MDP or ``init_values`` (their derivatives are taken as zero).

    Raises:
        ValueError: if ``reward`` or ``init_values`` has the wrong shape or (when concrete, i.e.
            not traced under ``jax.jit``/``vmap``/``grad``) holds NaN or inf, if ``atol`` or
            ``rtol`` is negative, ``max_iterations`` negative, or ``method`` unknown. Traced
            inputs cannot be checked: a NaN/inf there gives NaN values and ``converged`` False.
        TypeError: complex or non-numeric ``reward`` / ``init_values``.
    """
    static = _check_solver_arguments(reward, init_values, atol, rtol, max_iterations)
    return _value_iteration(mdp, reward, init_values=init_values,
                            method=resolve_method(mdp, method), **static)


@partial(jax.jit, static_argnames=("atol", "rtol", "max_iterations", "method"))
def _value_iteration(mdp, reward, *, init_values, atol, rtol, max_iterations, method):
    return _solve_discounted(
        mdp, reward, init_values,
        dict(soft=False, temperature=1.0, atol=atol, rtol=rtol, max_iterations=max_iterations,
             method=method),
    )


def soft_value_iteration(
    mdp: MDP,
    reward: Array,
    *,
    temperature: float = 1.0,
    init_values: Array | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    max_iterations: int = 10_000,
    method: str = "auto",
) -> SolverResult:
    """Soft (maximum-causal-entropy) optimal values of a discounted MDP.

    ``V(s) = τ log Σ_a exp(Q(s, a)/τ)``, ``Q(s, a) = R(s, a) + γ Σ_s' P[s, a, s'] V(s')``
    (Ziebart 2010, Alg. 9.1, discounted; Haarnoja et al. 2017), τ the temperature. In terminal
    states Q = R and V = τ log mean_a exp(R/τ) (= R for a state reward). The soft-optimal
    policy is ``π(a|s) = softmax_a(Q(s, a)/τ)``. For τ → 0 this tends to :func:`value_iteration`.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        temperature: τ > 0 (a Python float; static under jit).
        init_values, atol, rtol, max_iterations: as in :func:`value_iteration`.
        method: ``"vi"`` (soft value iteration), ``"newton"`` (soft policy iteration =
            Newton's method on the soft Bellman equation: evaluate the softmax policy with its
            entropy bonus, improve, repeat; Rust 1987, Haarnoja et al. 2018) or ``"auto"``
            (default; Newton when γ > ``AUTO_NEWTON_DISCOUNT``), as in
            :func:`value_iteration`.

    Returns:
        :class:`SolverResult` with the soft-optimal policy.

    Differentiable with respect to ``reward`` (implicit differentiation of the fixed point;
    exact, whatever the method).

    Raises:
        ValueError: ``temperature`` not a finite number > 0, and as :func:`value_iteration`
            (wrong shapes, a concrete ``reward`` / ``init_values`` with NaN or inf, bad
            tolerances or ``method``). Under ``jax.jit`` a NaN/inf reward gives NaN values and
            ``converged`` False.
        TypeError: complex or non-numeric ``reward`` / ``init_values``.
    """
    temperature = check_scalar(temperature, "temperature", low=0.0, low_open=True)
    static = _check_solver_arguments(reward, init_values, atol, rtol, max_iterations)
    return _soft_value_iteration(mdp, reward, temperature=temperature,
                                 init_values=init_values, method=resolve_method(mdp, method),
                                 **static)


@partial(jax.jit, static_argnames=("temperature", "atol", "rtol", "max_iterations", "method"))
def _soft_value_iteration(mdp, reward, *, temperature, init_values, atol, rtol, max_iterations,
                          method):
    return _solve_discounted(
        mdp, reward, init_values,
        dict(soft=True, temperature=temperature, atol=atol, rtol=rtol,
             max_iterations=max_iterations, method=method),
    )


def finite_horizon_soft_value_iteration(
    mdp: MDP,
    reward: Array,
    horizon: int,
    *,
    temperature: float = 1.0,
    discount: float | None = None,
) -> FiniteHorizonResult:
    """Finite-horizon soft value iteration (Ziebart 2010, Alg. 9.1).

    ``Q_{T−1} = R``; ``V_t = τ logsumexp_a Q_t/τ``; ``Q_t = R + γ P V_{t+1}``; terminal states
    have Q_t = R (no continuation). A fixed-length ``lax.scan``, so reverse-mode
    differentiation is exact.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        horizon: T >= 1 (static).
        temperature: τ > 0.
        discount: γ in [0, 1] applied per step; default the MDP's. ``1.0`` gives the
            undiscounted finite-horizon model of Ziebart et al. (2008).

    Returns:
        :class:`FiniteHorizonResult` with (T + 1, S) values, (T, S, A) Q and policy.

    Raises:
        ValueError: if ``horizon`` < 1, ``temperature`` <= 0 (or not finite), ``discount``
            outside [0, 1], the reward has a wrong shape or (when concrete, not traced) holds
            NaN or inf. Under ``jax.jit`` a NaN/inf reward gives NaN values.
        TypeError: a non-integer ``horizon``, a complex or non-numeric reward.
    """
    horizon = check_scalar(horizon, "horizon", low=1, integer=True)
    temperature = check_scalar(temperature, "temperature", low=0.0, low_open=True)
    if discount is not None:
        discount = check_scalar(discount, "discount", low=0.0, high=1.0)
    check_concrete(reward, "reward")
    return _finite_horizon_soft_value_iteration(mdp, reward, horizon=horizon,
                                                temperature=temperature, discount=discount)


@partial(jax.jit, static_argnames=("horizon", "temperature", "discount"))
def _finite_horizon_soft_value_iteration(mdp, reward, *, horizon, temperature, discount):
    reward_sa = state_action_reward(mdp, reward)

    def step(v_next, _):
        q = _q_values(mdp, reward_sa, v_next, discount)
        v = _soft_max(mdp, q, temperature)
        return v, (v, q)

    v_end = jnp.zeros(mdp.num_states, reward_sa.dtype)
    _, (values, q) = lax.scan(step, v_end, None, length=int(horizon), reverse=True)
    policy = jax.nn.softmax(q / temperature, axis=-1)
    return FiniteHorizonResult(
        values=jnp.concatenate([values, v_end[None]], axis=0), q_values=q, policy=policy
    )


def policy_evaluation(
    mdp: MDP,
    reward: Array,
    policy: Array,
    *,
    init_values: Array | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    max_iterations: int = 10_000,
) -> SolverResult:
    """Values of a fixed stochastic policy: ``V^π = (I − γ P_π)^{-1} r_π`` (Puterman 1994, §6.1).

    Solved densely (LU) when S <= ``DENSE_SOLVE_MAX_STATES``, otherwise by the iteration
    ``V ← r_π + γ P_π V`` on the sparse transitions (warm-started from ``init_values``).

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        policy: (S, A) action probabilities π(a|s): >= 0, each row summing to 1 (within
            ``PROBABILITY_ATOL`` = 1e-5).
        init_values, atol, rtol, max_iterations: as in :func:`value_iteration` (iterative
            solve only).

    Returns:
        :class:`SolverResult` with ``policy`` the given policy; ``iterations`` is 1 for the
        dense solve.

    Differentiable with respect to ``reward`` and ``policy`` (through
    ``lax.custom_linear_solve``).

    Raises:
        ValueError: wrong shapes; when concrete (not traced under ``jax.jit``/``vmap``/
            ``grad``): NaN/inf in ``reward`` or ``init_values``, or a ``policy`` that is not
            action probabilities (NaN/inf, negative, a row not summing to 1); negative
            tolerances. Traced inputs cannot be checked: then NaN/inf gives NaN values and
            ``converged`` False, and a non-stochastic policy is evaluated as given.
        TypeError: complex or non-numeric arrays.
    """
    static = _check_solver_arguments(reward, init_values, atol, rtol, max_iterations)
    S, A = mdp.num_states, mdp.num_actions
    if jnp.shape(policy) != (S, A):
        raise ValueError(f"policy: expected shape (S, A) = ({S}, {A}), got {jnp.shape(policy)}")
    check_policy_concrete(policy, "policy")
    return _policy_evaluation(mdp, reward, policy, init_values=init_values, **static)


@partial(jax.jit, static_argnames=("atol", "rtol", "max_iterations"))
def _policy_evaluation(mdp, reward, policy, *, init_values, atol, rtol, max_iterations):
    reward_sa = state_action_reward(mdp, reward)
    policy = jnp.asarray(policy, reward_sa.dtype)
    if policy.shape != reward_sa.shape:
        raise ValueError(f"policy: expected shape (S, A) = {reward_sa.shape}, got {policy.shape}")
    atol, rtol = tolerances(reward_sa.dtype, atol, rtol)
    r_pi = jnp.sum(policy * reward_sa, axis=-1)
    values, (iterations, _) = linear_solve(
        mdp, policy, r_pi, atol, rtol, max_iterations, x0=init_values, has_aux=True
    )
    q = _q_values(mdp, reward_sa, values)
    residual = jnp.max(jnp.abs(jnp.sum(policy * q, axis=-1) - values))
    tol = 10 * (atol + rtol * jnp.max(jnp.abs(values)))
    return SolverResult(values, q, policy, iterations, residual, _converged(values, residual, tol))
