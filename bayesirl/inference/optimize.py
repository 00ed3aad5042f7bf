"""The L-BFGS restart loop of the package: MAP, the warm-started MAP and Laplace all run it.

:func:`lbfgs_restarts` maximises a log density from R starting points with scipy's L-BFGS-B
(Liu & Nocedal 1989) on a jitted value-and-gradient and keeps the best finite optimum. The
objective may carry a *warm-start state* from one evaluation to the next and from one restart
to the next (the solved values of an MDP, so the next solve starts near its fixed point); the
state changes the work per evaluation, never the optimum. Measured here (engineering notes):
scipy's L-BFGS-B on a jitted ``value_and_grad`` converged every time where
``jax.scipy.optimize.minimize`` (BFGS) often stopped at the wrong point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import scipy.optimize

__all__ = ["MAP_GAIN_TOL", "Optimum", "lbfgs", "lbfgs_restarts"]

#: An optimum counts as converged when L-BFGS-B reports success, or when the log-density gain
#: still available by a quasi-Newton step, ``½ gᵀ H̃⁻¹ g`` (H̃⁻¹ L-BFGS's inverse-Hessian
#: estimate), is below this many nats: float32 solves leave ~1e-4 relative noise in the log
#: density, under which L-BFGS-B's line search can stop "abnormally" at the mode.
MAP_GAIN_TOL = 1e-3


class Optimum(NamedTuple):
    """The result of one L-BFGS-B run.

    Attributes:
        x: (d,) float64 best point evaluated.
        log_density: () log density there (nats; −∞ when nothing finite was evaluated).
        gradient: (d,) gradient of the log density there.
        warm: the warm-start state returned with that evaluation (None without one).
        converged: L-BFGS-B success, or a remaining quasi-Newton gain below
            :data:`MAP_GAIN_TOL` nats.
        iterations: L-BFGS-B iterations.
        evaluations: objective evaluations.
        message: L-BFGS-B's message.
    """

    x: np.ndarray
    log_density: float
    gradient: np.ndarray
    warm: Any
    converged: bool
    iterations: int
    evaluations: int
    message: str


def _quasi_newton_gain(res, gradient: np.ndarray) -> float:
    """½ gᵀ H̃⁻¹ g with L-BFGS-B's inverse-Hessian estimate (inf when there is none)."""
    try:
        return 0.5 * float(gradient @ res.hess_inv.matvec(gradient))
    except (AttributeError, ValueError):
        return float("inf")


def lbfgs(value_and_grad: Callable, x0, warm=None, *, options: dict | None = None) -> Optimum:
    """Maximise a log density by L-BFGS-B from ``x0``, carrying a warm-start state.

    Args:
        value_and_grad: ``(x (d,) float64, warm) -> (log_density, gradient (d,), warm')``; the
            warm state ``warm'`` is handed to the next evaluation (pass through None when there
            is none).
        x0: (d,) starting point.
        warm: the first evaluation's warm state.
        options: scipy ``L-BFGS-B`` options (default ``maxiter=2000``).

    Returns:
        :class:`Optimum` at the best point evaluated (not only L-BFGS-B's last point: with noisy
        float32 evaluations the two can differ).
    """
    state = {"warm": warm, "evaluations": 0, "best": None}

    def objective(x):
        value, grad, state["warm"] = value_and_grad(np.asarray(x, np.float64), state["warm"])
        state["evaluations"] += 1
        f, g = -float(value), -np.asarray(grad, np.float64)
        if np.isfinite(f) and (state["best"] is None or f < state["best"][0]):
            state["best"] = (f, np.array(x, np.float64), g, state["warm"])
        return f, g

    res = scipy.optimize.minimize(objective, np.asarray(x0, np.float64), jac=True,
                                  method="L-BFGS-B", options={"maxiter": 2000, **(options or {})})
    if state["best"] is None:
        return Optimum(np.asarray(res.x), float("-inf"), np.full_like(res.x, np.nan),
                       state["warm"], False, int(res.nit), state["evaluations"], str(res.message))
    f, x, g, best_warm = state["best"]
    converged = bool(res.success) or _quasi_newton_gain(res, g) < MAP_GAIN_TOL
    return Optimum(x, -f, -g, best_warm, converged, int(res.nit), state["evaluations"],
                   str(res.message))


def lbfgs_restarts(value_and_grad: Callable, starts, warm=None, *,
                   options: dict | None = None) -> tuple[Optimum, list[Optimum]]:
    """L-BFGS-B (:func:`lbfgs`) from each of R starting points; the best finite optimum.

    Each restart begins with the warm state left by the previous one's best point (the first
    with ``warm``).

    Args:
        value_and_grad: as for :func:`lbfgs`.
        starts: (R, d) starting points.
        warm: warm state of the first evaluation.
        options: scipy ``L-BFGS-B`` options.

    Returns:
        ``(best, results)``: the optimum with the largest finite log density and all R results.

    Raises:
        RuntimeError: every restart ended at a non-finite log density.
    """
    best, results = None, []
    for x0 in np.asarray(starts, np.float64):
        res = lbfgs(value_and_grad, x0, warm, options=options)
        results.append(res)
        if np.isfinite(res.log_density):
            warm = res.warm
            if best is None or res.log_density > best.log_density:
                best = res
    if best is None:
        raise RuntimeError("MAP: every restart ended at a non-finite log posterior")
    return best, results
