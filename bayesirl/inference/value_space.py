"""A Laplace whitening for the value-space (ValueWalk) model, so NUTS takes short trajectories.

In value space the posterior of the soft values V is strongly correlated: the demonstrations
pin *differences* of successor values to O(1) while sums (a common reward shift, rewards of
unvisited states) keep the prior's width, σ·β/(1 − γ) along the shift. A diagonal mass matrix
cannot follow that (S = 144: ~135 leapfrog steps per draw), and NumPyro's dense adaptation from
a random start did not recover in 1000 warm-up steps (tree depth 10 throughout). The mode and
the inverse Hessian there give an affine map ``V = V̂ + L z`` under which z is close to standard
normal; ``value_space_irl_model(..., whitening=...)`` samples z (same posterior of V and R).

Source: Laplace approximation (e.g. Gelman et al., BDA3 §4.1); affine preconditioning of HMC is
equivalent to a dense mass matrix ``M⁻¹ = L Lᵀ`` (Neal 2011, §4.1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from bayesirl._validate import check_scalar
from bayesirl.data.mdp import MDP
from bayesirl.likelihoods import DemonstrationPairs
from bayesirl.likelihoods.value_space import (
    ValueSpaceWhitening,
    value_space_log_posterior,
)

__all__ = ["FD_STEP", "value_space_whitening", "whitening_from_hessian"]


#: Step (soft-value units) of the central differences of the gradient that give the Hessian at
#: the mode: the curvature varies on the scale of the soft-max temperature (1), and float32
#: gradients then carry ~1e-3 relative error — plenty for a preconditioner, which need not be
#: exact. Differences reuse the gradient's compiled program (jax.hessian compiled a second one,
#: 2–3 s on a loaded 2-core CPU).
FD_STEP = 1e-2


def _hessian_by_differences(grad, x: np.ndarray, step: float) -> np.ndarray:
    """(d, d) symmetrised central-difference Jacobian of ``grad`` (numpy in, numpy out) at x."""
    d = x.shape[0]
    cols = []
    for i in range(d):
        e = np.zeros(d)
        e[i] = step
        cols.append((grad(x + e) - grad(x - e)) / (2.0 * step))
    h = np.stack(cols, axis=1)
    return 0.5 * (h + h.T)


def whitening_from_hessian(mode: np.ndarray, hessian: np.ndarray,
                           min_precision: float) -> ValueSpaceWhitening:
    """``ValueSpaceWhitening(mode, chol(H⁻¹))``, eigenvalues of H as ``max(|λ|, min_precision)``.

    Args:
        mode: (S,) the posterior mode (or any centre).
        hessian: (S, S) Hessian of the negative log posterior there.
        min_precision: () floor on the eigenvalues (1 / the widest variance allowed), > 0.

    Returns:
        :class:`~bayesirl.likelihoods.value_space.ValueSpaceWhitening` (float arrays of
        JAX's default float dtype).
    """
    h = 0.5 * (np.asarray(hessian, np.float64) + np.asarray(hessian, np.float64).T)
    vals, vecs = np.linalg.eigh(h)
    vals = np.maximum(np.abs(vals), min_precision)
    cov = (vecs / vals) @ vecs.T
    tril = np.linalg.cholesky(0.5 * (cov + cov.T))
    dtype = jnp.zeros(()).dtype
    return ValueSpaceWhitening(jnp.asarray(mode, dtype), jnp.asarray(tril, dtype))


def value_space_whitening(mdp: MDP, pairs: DemonstrationPairs, *, prior_scale: float = 10.0,
                          beta: float = 1.0, max_iterations: int = 1000) -> ValueSpaceWhitening:
    """The Laplace whitening of ``value_space_irl_model``'s posterior: mode and Cholesky factor.

    The mode of the log posterior of V by scipy's L-BFGS-B from V = 0 on the jitted value and
    gradient (stopping early only costs NUTS a little: any non-singular map keeps the posterior
    exact), then the Hessian there by central differences of that gradient (step
    :data:`FD_STEP`; 2S gradient calls, no second compilation); its eigenvalues are taken in absolute
    value and floored at ``((1 − γ) / (10 · prior_scale · β))²`` (the value-space variance a
    common reward shift of ten prior widths would have), so the map is always non-singular.

    Args:
        mdp: the MDP (S states).
        pairs: the P demonstration pairs.
        prior_scale: standard deviation of the Gaussian prior on each state reward (> 0).
        beta: fixed rationality β (> 0).
        max_iterations: L-BFGS-B iteration cap (>= 1).

    Returns:
        :class:`~bayesirl.likelihoods.value_space.ValueSpaceWhitening` (loc (S,), scale_tril
        (S, S)); pass it as ``whitening=`` to :func:`~bayesirl.models.value_space_irl_model`.

    Raises:
        ValueError: non-positive ``prior_scale``, ``beta`` or ``max_iterations``.
    """
    prior_scale = check_scalar(prior_scale, "prior_scale", low=0.0, low_open=True)
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    max_iterations = check_scalar(max_iterations, "max_iterations", low=1, integer=True)
    dtype = jnp.zeros(()).dtype

    def neg_log_post(v):
        return -value_space_log_posterior(mdp, v, pairs.states, pairs.actions, prior_scale, beta)

    value_and_grad = jax.jit(jax.value_and_grad(neg_log_post))

    def objective(x):
        f, g = value_and_grad(jnp.asarray(x, dtype))
        return float(f), np.asarray(g, np.float64)

    res = scipy.optimize.minimize(objective, np.zeros(mdp.num_states), jac=True,
                                  method="L-BFGS-B", options={"maxiter": max_iterations})
    hessian = _hessian_by_differences(lambda x: objective(x)[1], res.x, FD_STEP)
    gamma = float(mdp.discount)
    min_precision = ((1.0 - gamma) / (10.0 * prior_scale * beta)) ** 2
    return whitening_from_hessian(res.x, np.asarray(hessian), min_precision)
