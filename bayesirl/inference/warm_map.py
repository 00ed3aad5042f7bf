"""Warm-started MAP and Laplace approximation of the Boltzmann demonstration model at large S.

At 10^5 states one evaluation of the log posterior solves the MDP (~0.5–2 s), and
``fit(method="map")`` re-solves it from V = 0 at every L-BFGS evaluation: NumPyro's potential
has no place to carry the solved values. Here the log posterior of
:func:`~bayesirl.models.boltzmann_irl_model` (Gaussian prior on the reward weights, fixed β,
soft or hard Q) is written as a function of ``(weights, init_values)`` that also returns the
solved values, and the L-BFGS loop hands each evaluation the values of the previous one
(NOTES: a warm start cut value-iteration sweeps from 148 to 50–94).

The warm start changes the number of sweeps, not the answer: every evaluation still solves to
the solver's tolerance, and its gradient is the exact implicit gradient at the solved fixed
point (``jax.custom_jvp`` of the solvers; the derivative with respect to ``init_values`` is
zero). ``fit_demonstrations(method="map")`` runs it (through
:func:`~bayesirl.inference.map.fit_boltzmann_map`) whenever the model fits: Gaussian prior,
fixed β, soft or hard Q. The same target, batched with ``jax.vmap``, feeds the independence Metropolis–Hastings
sampler of :mod:`bayesirl.inference.independence_mh`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax.scipy.stats import norm

from bayesirl._typing import Array
from bayesirl._validate import check_scalar
from bayesirl.data.mdp import MDP, reward_from_weights
from bayesirl.likelihoods import Q_KINDS, DemonstrationPairs, boltzmann_log_likelihood
from bayesirl.solvers import soft_value_iteration, value_iteration

__all__ = ["MAP_GAIN_TOL", "WarmMAPResult", "boltzmann_log_density", "warm_start_map"]

#: The MAP counts as converged when L-BFGS-B reports success, or when the log-density gain
#: still available by a quasi-Newton step, ``½ gᵀ H̃⁻¹ g`` (H̃⁻¹ L-BFGS's inverse-Hessian
#: estimate), is below this many nats: float32 solves leave ~1e-4 relative noise in the
#: log density, under which L-BFGS-B's line search can stop "abnormally" at the mode.
MAP_GAIN_TOL = 1e-3


class WarmMAPResult(NamedTuple):
    """Result of :func:`warm_start_map`.

    Attributes:
        weights: (F,) MAP reward weights.
        log_density: () log posterior at ``weights`` (nats, up to the normalising constant).
        values: (S,) solved values at ``weights`` (warm start for later solves).
        gradient: (F,) gradient of the log posterior at ``weights``.
        converged: L-BFGS-B success, or a remaining quasi-Newton gain below
            :data:`MAP_GAIN_TOL` nats.
        iterations: L-BFGS-B iterations.
        evaluations: log-posterior + gradient evaluations (one MDP solve each).
        solver_iterations: solver iterations summed over the evaluations (sweeps + Newton
            steps).
        message: L-BFGS-B's message.
    """

    weights: np.ndarray
    log_density: float
    values: Array
    gradient: np.ndarray
    converged: bool
    iterations: int
    evaluations: int
    solver_iterations: int
    message: str


def boltzmann_log_density(mdp: MDP, pairs: DemonstrationPairs, *, prior_scale: float = 1.0,
                          beta: float = 1.0, q: str = "soft",
                          solver_kwargs: dict | None = None) -> Callable:
    """The log posterior of :func:`~bayesirl.models.boltzmann_irl_model` with
    ``prior="gaussian"`` and a fixed β, as a warm-startable function.

    ``log p(w | D) = Σ_f log N(w_f; 0, prior_scale) + Σ_(s,a)∈D log softmax_a Q(s, ·; βφw)``
    (Ramachandran & Amir 2007, Eq. 3), equal to minus NumPyro's potential of that model
    (no transforms: the weights are unconstrained).

    Args:
        mdp: the MDP (S states, features (S, F) or (S, A, F)).
        pairs: the P demonstration pairs (:func:`~bayesirl.likelihoods.demonstration_pairs`).
        prior_scale: standard deviation of the Gaussian prior on each weight (> 0).
        beta: fixed rationality β > 0.
        q: ``"soft"`` (soft value iteration of βR) or ``"hard"`` (β Q* of R).
        solver_kwargs: ``method`` / tolerances / ``max_iterations`` of the solver (not
            ``init_values``: that is the function's second argument).

    Returns:
        ``log_density(weights, init_values) -> (log_posterior, (values, iterations))``:
        weights (F,), init_values (S,) warm start (solved values of a nearby weight vector, or
        zeros); returns the () log posterior (nats, unnormalised), the (S,) solved values of
        βφw (differentiable in ``weights``: ``jax.jacfwd`` of them gives the (S, F) Jacobian
        used to predict warm starts) and the () solver iterations. Pure and jit/vmap/grad-compatible; the gradient in ``weights``
        is the solver's implicit gradient whatever ``init_values`` is.

    Raises:
        ValueError: unknown ``q``, ``solver_kwargs`` with ``init_values``, or ``prior_scale``
            / ``beta`` not > 0.
        TypeError: ``prior_scale`` / ``beta`` not a number.
    """
    if q not in Q_KINDS:
        raise ValueError(f"q: expected one of {Q_KINDS}, got {q!r}")
    prior_scale = check_scalar(prior_scale, "prior_scale", low=0, low_open=True)
    beta = check_scalar(beta, "beta", low=0, low_open=True)
    kwargs = dict(solver_kwargs or {})
    if "init_values" in kwargs:
        raise ValueError("solver_kwargs: 'init_values' is the log density's second argument, "
                         "not a solver keyword")
    solver = soft_value_iteration if q == "soft" else value_iteration

    def log_density(weights: Array, init_values: Array):
        reward = beta * reward_from_weights(mdp, weights)
        result = solver(mdp, reward, init_values=init_values, **kwargs)
        log_prior = jnp.sum(norm.logpdf(weights, 0.0, prior_scale))
        log_lik = boltzmann_log_likelihood(result.q_values, pairs)
        return log_prior + log_lik, (result.values, result.iterations)

    return log_density


def _quasi_newton_gain(res, gradient: np.ndarray) -> float:
    """½ gᵀ H̃⁻¹ g with L-BFGS-B's inverse-Hessian estimate (inf when there is none)."""
    try:
        return 0.5 * float(gradient @ res.hess_inv.matvec(gradient))
    except (AttributeError, ValueError):
        return float("inf")


def warm_start_map(log_density: Callable, init_weights, init_values, *,
                   options: dict | None = None) -> WarmMAPResult:
    """Maximise ``log_density(weights, init_values)`` by L-BFGS-B (Liu & Nocedal 1989; scipy),
    each evaluation warm-started from the values solved at the previous one.

    Args:
        log_density: as returned by :func:`boltzmann_log_density`.
        init_weights: (F,) starting weights.
        init_values: (S,) values to warm-start the first solve (e.g. zeros).
        options: scipy ``L-BFGS-B`` options (default ``maxiter=2000``).

    Returns:
        :class:`WarmMAPResult`.

    Raises:
        ValueError: ``init_weights`` not a finite 1-D array.
        RuntimeError: the optimum is not finite.
    """
    x0 = np.asarray(init_weights, np.float64)
    if x0.ndim != 1 or not np.all(np.isfinite(x0)):
        raise ValueError(f"init_weights: expected a finite (F,) array, got shape {x0.shape}")
    value_and_grad = jax.jit(jax.value_and_grad(log_density, has_aux=True))
    dtype = jnp.asarray(init_values).dtype
    state = {"values": jnp.asarray(init_values), "evaluations": 0, "solver_iterations": 0,
             "best": None}

    def objective(x):
        (value, (values, iterations)), grad = value_and_grad(jnp.asarray(x, dtype),
                                                             state["values"])
        state["values"] = values
        state["evaluations"] += 1
        state["solver_iterations"] += int(iterations)
        f, g = -float(value), -np.asarray(grad, np.float64)
        if np.isfinite(f) and (state["best"] is None or f < state["best"][0]):
            state["best"] = (f, np.array(x, np.float64), g, values)
        return f, g

    res = scipy.optimize.minimize(objective, x0, jac=True, method="L-BFGS-B",
                                  options={"maxiter": 2000, **(options or {})})
    if state["best"] is None:
        raise RuntimeError("MAP: the log posterior was not finite at any evaluated point")
    f, x, g, values = state["best"]
    converged = bool(res.success) or _quasi_newton_gain(res, g) < MAP_GAIN_TOL
    return WarmMAPResult(weights=x, log_density=-f, values=values, gradient=-g,
                         converged=converged, iterations=int(res.nit),
                         evaluations=state["evaluations"],
                         solver_iterations=state["solver_iterations"], message=str(res.message))

