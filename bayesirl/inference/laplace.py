"""The Laplace approximation of a posterior (MAP + inverse Hessian), ``fit(method="laplace")``.

It returns ArviZ ``InferenceData`` shaped like an MCMC fit: C "chains" of M independent
draws from the approximation (independent draws, so R-hat ≈ 1 and the ESS ≈ C·M by
construction: they diagnose nothing about the approximation's error — check it against
``method="nuts"`` on a smaller problem).
"""

from __future__ import annotations

import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro.infer import init_to_uniform
from numpyro.infer.util import initialize_model

from bayesirl import _arviz
from bayesirl._typing import PRNGKey
from bayesirl.inference.map import potential_objective
from bayesirl.inference.optimize import lbfgs_restarts

__all__ = ["fit_laplace", "laplace_covariance"]


def laplace_covariance(hessian: np.ndarray) -> tuple[np.ndarray, bool]:
    """Covariance of the Laplace approximation: the inverse of the symmetrised Hessian of the
    potential (minus log density), eigenvalues floored at 1e-8·max|λ| when not all positive.

    Args:
        hessian: (d, d) Hessian of the potential at the mode.

    Returns:
        ((d, d) covariance, whether every eigenvalue was positive).
    """
    h = 0.5 * (hessian + hessian.T)
    vals, vecs = np.linalg.eigh(h)
    positive = bool(np.all(vals > 0))
    floor = max(1e-8 * float(np.max(np.abs(vals))), 1e-12)
    vals = np.maximum(vals, floor)
    return (vecs / vals) @ vecs.T, positive


def fit_laplace(model, model_args: tuple = (), model_kwargs: dict | None = None, *,
                rng_key: PRNGKey, num_samples: int = 1000, num_chains: int = 4,
                coords: dict | None = None, dims: dict | None = None,
                attrs: dict | None = None, options: dict | None = None) -> _arviz.InferenceData:
    """Laplace approximation: ``N(ẑ, H⁻¹)`` in NumPyro's unconstrained space, with ẑ the MAP
    (L-BFGS-B from ``num_chains`` random starts, the package's restart loop
    :func:`~bayesirl.inference.optimize.lbfgs_restarts`) and H the Hessian of the potential at ẑ
    (``jax.hessian``: forward-over-reverse through the implicitly differentiated solvers).

    Draws are mapped to the constrained space and deterministic sites by the model's
    ``postprocess_fn`` (MacKay 2003, ch. 27; Tierney & Kadane 1986).

    Args:
        model: a NumPyro model with continuous latent sites.
        model_args, model_kwargs: passed to the model.
        rng_key: PRNG key (starts and draws).
        num_samples: M draws per chain.
        num_chains: C chains of independent draws (also the number of L-BFGS starts).
        coords, dims, attrs: ArviZ coordinates / dims and extra ``posterior.attrs``.
        options: scipy ``L-BFGS-B`` options.

    Returns:
        ``InferenceData`` (C, M); ``posterior.attrs`` adds ``map_log_density``,
        ``laplace_hessian_positive`` (0 when H had non-positive eigenvalues, which were floored:
        e.g. a hard-max likelihood, piecewise linear, has only the prior's curvature) and
        ``sampling_time_s``.

    Raises:
        RuntimeError: if every start ends at a non-finite log posterior.
    """
    start = time.perf_counter()
    k_init, k_draw = jax.random.split(rng_key)
    info = initialize_model(jax.random.split(k_init, num_chains), model, model_args=model_args,
                            model_kwargs=model_kwargs or {},
                            init_strategy=init_to_uniform(radius=1.0))
    flat0, unravel = ravel_pytree(jax.tree.map(lambda x: x[0], info.param_info.z))
    starts = [np.asarray(ravel_pytree(jax.tree.map(lambda z: z[i], info.param_info.z))[0],
                         np.float64) for i in range(num_chains)]
    best, _ = lbfgs_restarts(potential_objective(info.potential_fn, unravel, flat0.dtype), starts,
                             options=options)
    mode = jnp.asarray(best.x, flat0.dtype)
    hessian = np.asarray(jax.hessian(lambda x: info.potential_fn(unravel(x)))(mode), np.float64)
    cov, positive = laplace_covariance(hessian)
    if not positive:
        warnings.warn("Laplace: the Hessian at the MAP is not positive definite; its "
                      "non-positive eigenvalues were floored", RuntimeWarning, stacklevel=3)
    chol = np.linalg.cholesky(cov + 1e-12 * np.eye(cov.shape[0]))
    noise = np.asarray(jax.random.normal(k_draw, (num_chains * num_samples, mode.size)))
    draws = jnp.asarray(np.asarray(best.x) + noise @ chol.T, flat0.dtype)
    sites = jax.vmap(lambda x: info.postprocess_fn(unravel(x)))(draws)
    posterior = {k: np.asarray(v).reshape((num_chains, num_samples) + v.shape[1:])
                 for k, v in sites.items()}
    attrs = dict(attrs or {}, sampling_time_s=time.perf_counter() - start,
                 map_log_density=float(best.log_density), map_converged=int(bool(best.converged)),
                 laplace_hessian_positive=int(positive))
    return _arviz.from_draws(posterior, coords=coords, dims=dims, attrs=attrs)
