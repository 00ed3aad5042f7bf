"""Maximum a posteriori reward weights: L-BFGS-B on NumPyro's potential, from random starts.

The potential includes the log-Jacobian of NumPyro's transforms, so the optimum is the mode
in the *unconstrained* space (identical to the constrained mode for the Gaussian/Laplace
weight priors with β fixed). See ``/work/shared/NOTES.md``: scipy's L-BFGS-B on a jitted
``value_and_grad`` converged every time where ``jax.scipy.optimize.minimize`` (BFGS) often
stopped at the wrong point.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax.flatten_util import ravel_pytree
from numpyro.infer import init_to_uniform
from numpyro.infer.util import initialize_model

from bayesirl import _arviz
from bayesirl._typing import PRNGKey
from bayesirl.data.mdp import MDP
from bayesirl.inference.warm_map import boltzmann_log_density, warm_start_map
from bayesirl.likelihoods import DemonstrationPairs
from bayesirl.models import sample_reward_weights

__all__ = ["fit_boltzmann_map", "fit_map"]


def _best_of_restarts(objective, starts, options):
    """L-BFGS-B from each row of ``starts`` (R, d); the best finite result and all results."""
    best, results = None, []
    for x0 in starts:
        res = scipy.optimize.minimize(objective, x0, jac=True, method="L-BFGS-B",
                                      options={"maxiter": 2000, **options})
        results.append(res)
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise RuntimeError("MAP: every restart ended at a non-finite log posterior")
    return best, results


def fit_map(
    model,
    model_args: tuple = (),
    model_kwargs: dict | None = None,
    *,
    rng_key: PRNGKey,
    num_restarts: int = 1,
    coords: dict | None = None,
    dims: dict | None = None,
    attrs: dict | None = None,
    options: dict | None = None,
) -> _arviz.InferenceData:
    """Maximise a NumPyro model's log posterior from ``num_restarts`` random starts.

    Each start is drawn by ``init_to_uniform(radius=1)`` in the unconstrained space and
    refined by ``scipy.optimize.minimize(method="L-BFGS-B")`` on the jitted potential and
    its gradient (Liu & Nocedal 1989); the best finite optimum is kept.

    Args:
        model: a NumPyro model with continuous latent sites.
        model_args, model_kwargs: passed to the model.
        rng_key: PRNG key for the random starts.
        num_restarts: number R >= 1 of starts.
        coords, dims: ArviZ coordinates and dims of the posterior variables.
        attrs: extra ``posterior.attrs``.
        options: scipy ``L-BFGS-B`` options (default ``maxiter=2000``).

    Returns:
        ``InferenceData`` with one chain of one draw (every site, shape ``(1, 1, ...)``) and
        ``sample_stats.lp`` (1, 1); ``posterior.attrs`` adds ``map_log_density``,
        ``map_converged``, ``map_restart_log_densities`` (R,), ``map_iterations`` and
        ``sampling_time_s``.

    Raises:
        RuntimeError: if every restart ends at a non-finite log posterior.
    """
    start = time.perf_counter()
    keys = jax.random.split(rng_key, num_restarts)
    info = initialize_model(keys, model, model_args=model_args, model_kwargs=model_kwargs or {},
                            init_strategy=init_to_uniform(radius=1.0))
    z0 = info.param_info.z
    flat0, unravel = ravel_pytree(jax.tree.map(lambda x: x[0], z0))
    dtype = flat0.dtype
    value_and_grad = jax.jit(jax.value_and_grad(lambda x: info.potential_fn(unravel(x))))

    def objective(x):
        value, grad = value_and_grad(jnp.asarray(x, dtype))
        return float(value), np.asarray(grad, dtype=np.float64)

    starts = [np.asarray(ravel_pytree(jax.tree.map(lambda x: x[i], z0))[0], np.float64)
              for i in range(num_restarts)]
    best, results = _best_of_restarts(objective, starts, options or {})
    sites = info.postprocess_fn(unravel(jnp.asarray(best.x, dtype)))
    return _map_idata(sites, -best.fun, best.success, [-r.fun for r in results], best.nit,
                      start, coords=coords, dims=dims, attrs=attrs)


def _map_idata(sites, log_density, converged, restart_log_densities, iterations, start, *,
               coords, dims, attrs):
    """InferenceData of a MAP: one chain of one draw per site, ``sample_stats.lp`` (1, 1)."""
    posterior = {k: np.asarray(v)[None, None] for k, v in sites.items()}
    attrs = dict(attrs or {}, num_samples=1, sampling_time_s=time.perf_counter() - start,
                 map_log_density=float(log_density), map_converged=int(bool(converged)),
                 map_restart_log_densities=[float(v) for v in restart_log_densities],
                 map_iterations=int(iterations))
    stats = {"lp": np.array([[float(log_density)]])}
    return _arviz.from_draws(posterior, coords=coords, dims=dims, sample_stats=stats, attrs=attrs)


def fit_boltzmann_map(
    mdp: MDP,
    pairs: DemonstrationPairs,
    *,
    prior_scale: float = 1.0,
    beta: float = 1.0,
    q: str = "soft",
    solver_kwargs: dict | None = None,
    rng_key: PRNGKey,
    num_restarts: int = 1,
    coords: dict | None = None,
    dims: dict | None = None,
    attrs: dict | None = None,
    options: dict | None = None,
) -> _arviz.InferenceData:
    """:func:`fit_map` of the Boltzmann demonstration model with a Gaussian prior and a fixed
    β, each MDP solve warm-started from the previous evaluation's values.

    Same target, same random starts (``init_to_uniform(radius=1)`` of the ``reward_weights``
    site, drawn exactly as :func:`fit_map` draws them for
    :func:`~bayesirl.models.irl_model`) and the same output layout as :func:`fit_map`; each
    start runs :func:`~bayesirl.inference.warm_map.warm_start_map` (L-BFGS-B, Liu & Nocedal
    1989) on :func:`~bayesirl.inference.warm_map.boltzmann_log_density` (Ramachandran &
    Amir 2007, Eq. 3), whose solves start from the values of the previous evaluation (fewer
    sweeps at large S; the optimum is unchanged). Later starts also begin from the values
    solved at the previous start's optimum.

    Args:
        mdp: the MDP (S states, F features).
        pairs: the P demonstration pairs.
        prior_scale: standard deviation of the Gaussian prior on each weight (> 0).
        beta: fixed rationality β > 0.
        q: ``"soft"`` or ``"hard"``.
        solver_kwargs: solver method / tolerances (not ``init_values``).
        rng_key, num_restarts, coords, dims, attrs, options: as in :func:`fit_map`.

    Returns:
        ``InferenceData`` laid out as :func:`fit_map`'s: ``reward_weights`` (1, 1, F),
        ``sample_stats.lp`` (1, 1) and the same ``posterior.attrs``; ``map_converged`` is
        L-BFGS-B's success or a remaining quasi-Newton gain below
        :data:`~bayesirl.inference.warm_map.MAP_GAIN_TOL` nats.

    Raises:
        ValueError: bad ``q`` / ``prior_scale`` / ``beta`` / ``solver_kwargs``.
        RuntimeError: if every restart ends at a non-finite log posterior.
    """
    start = time.perf_counter()
    log_density = boltzmann_log_density(mdp, pairs, prior_scale=prior_scale, beta=beta, q=q,
                                        solver_kwargs=solver_kwargs)
    keys = jax.random.split(rng_key, num_restarts)
    # The weights are irl_model's first random site, so a prior-only model draws the same starts.
    info = initialize_model(keys, sample_reward_weights,
                            model_args=(mdp.num_features, "gaussian", prior_scale),
                            init_strategy=init_to_uniform(radius=1.0))
    starts = np.asarray(info.param_info.z["reward_weights"], np.float64)
    values = jnp.zeros(mdp.num_states, info.param_info.z["reward_weights"].dtype)
    best, restart_log_densities = None, []
    for x0 in starts:
        try:
            res = warm_start_map(log_density, x0, values, options=options)
        except RuntimeError:  # no finite evaluation from this start
            restart_log_densities.append(float("-inf"))
            continue
        restart_log_densities.append(res.log_density)
        values = res.values
        if np.isfinite(res.log_density) and (best is None or res.log_density > best.log_density):
            best = res
    if best is None:
        raise RuntimeError("MAP: every restart ended at a non-finite log posterior")
    sites = info.postprocess_fn({"reward_weights": jnp.asarray(best.weights, values.dtype)})
    return _map_idata(sites, best.log_density, best.converged, restart_log_densities,
                      best.iterations, start, coords=coords, dims=dims, attrs=attrs)
