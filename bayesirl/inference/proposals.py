"""Proposal distributions of the Metropolis–Hastings samplers, each a pure function.

* :func:`gaussian_step` — the random walk ``x' = x + h · L ε`` (symmetric);
* :func:`polar_proposal` — a sphere-native move of blocks of the position: the direction as
  PolicyWalk moves it, the length on the log scale, with its Hastings correction;
* :func:`sphere_step` — PolicyWalk's ``w' = normalise(w + h ε)`` on the unit L1 or L2 sphere
  (Ramachandran & Amir 2007; Brown & Niekum 2018);
* :func:`student_t_draw` and :func:`student_t_log_density` — the multivariate Student-t
  independence proposal (Tierney 1994) from pre-drawn normals;
* :func:`mixture_choice` — which component of a state-independent mixture of kernels moves
  (Tierney 1994: each component leaves the target invariant, so does the mixture).

Randomness comes in as arguments (keys or pre-drawn normals), so a batch of chains can draw
its random numbers in one call. The accept step is :mod:`bayesirl.inference.accept`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax, random

from bayesirl._typing import Array
from bayesirl.models import project_to_sphere

__all__ = [
    "check_sphere_blocks",
    "gaussian_step",
    "mixture_choice",
    "num_polar_normals",
    "polar_proposal",
    "sphere_step",
    "student_t_draw",
    "student_t_log_density",
]


def gaussian_step(x: Array, eps: Array, scale: Array, step_size) -> Array:
    """The Gaussian random-walk proposal ``x + step_size · L ε``.

    Args:
        x: (d,) current position.
        eps: (d,) standard normals.
        scale: (d,) per-coordinate standard deviations (``L = diag(scale)``) or a (d, d)
            lower-triangular factor ``L``.
        step_size: scalar > 0.

    Returns:
        (d,) proposal in the dtype of ``x``; the proposal is symmetric (no Hastings term).
    """
    noise = scale @ eps if scale.ndim == 2 else scale * eps
    return x + (step_size * noise).astype(x.dtype)


def sphere_step(weights: Array, eps: Array, step_size, norm: int = 1) -> Array:
    """PolicyWalk's move on the unit sphere: ``normalise(w + step_size · ε)``.

    Symmetric on the L2 sphere (its density depends on ``w · w'`` only); on the L1 sphere only
    approximately so — like Brown & Niekum (2018) we accept with the likelihood ratio alone.

    Args:
        weights: (F,) current weights on the unit sphere.
        eps: (F,) standard normals.
        step_size: scalar > 0 (weight units).
        norm: 1 or 2.

    Returns:
        (F,) proposal on the unit sphere.
    """
    return project_to_sphere(weights + step_size * eps, norm)


def num_polar_normals(num_dims: int, sphere_blocks: tuple[tuple[int, int], ...] = ()) -> int:
    """Standard normals one random-walk transition draws: ``d`` for the Gaussian step unless
    the sphere blocks cover all ``d`` coordinates, plus ``Σ (F_b + 1)`` for the blocks."""
    covered = sum(size for _, size in sphere_blocks)
    return (num_dims if covered < num_dims else 0) + covered + len(sphere_blocks)


def check_sphere_blocks(sphere_blocks, num_dims: int) -> tuple[tuple[int, int], ...]:
    """Return ``sphere_blocks`` as a tuple of int pairs; ``ValueError`` unless each
    ``(start, F)`` is a slice of ``range(num_dims)`` with ``F >= 1``, without overlaps."""
    blocks = tuple((int(a), int(b)) for a, b in sphere_blocks)
    covered = set()
    for start, size in blocks:
        span = set(range(start, start + size))
        if start < 0 or size < 1 or start + size > num_dims or span & covered:
            raise ValueError(f"sphere_blocks: expected disjoint (start, size) slices of "
                             f"{num_dims} parameters, got {blocks}")
        covered |= span
    return blocks


def polar_proposal(
    rng_key: jax.Array,
    z_flat: jax.Array,
    z_prop_flat: jax.Array,
    blocks: tuple[tuple[int, int], ...],
    step_size: jax.Array,
    sphere_scale: jax.Array,
    noise: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Sphere-native proposal for blocks of the flat position (PolicyWalk-style).

    Each block ``x = z_flat[start:start + F]`` is written ``x = ρ u`` (``ρ = ‖x‖₂``). The
    direction moves as in PolicyWalk (Ramachandran & Amir 2007; Brown & Niekum 2018):
    ``u' = normalise(u + step_size · a · ε)``, ``ε ~ N(0, I_F)`` — symmetric with respect to the
    surface measure, since its density depends on ``u · u'`` only. The radius moves on the log
    scale, ``log ρ' = log ρ + step_size · b · η``, ``η ~ N(0, 1)``. In Lebesgue measure on
    ``x`` the proposal density is ``K(u, u') φ(·) / ρ'^F``, so the Hastings log-correction is
    ``F (log ρ' − log ρ)`` per block. The angular step no longer shrinks as ``ρ`` grows: a
    target that depends on the direction only (the sphere priors) is explored at a rate that
    does not depend on the length the chain wanders to.

    Args:
        rng_key: a PRNG key (unused when ``noise`` is given).
        z_flat: ``(d,)`` current flat position (the blocks are read from it).
        z_prop_flat: ``(d,)`` proposal for the other coordinates (the blocks are written
            into it).
        blocks: static ``((start, F), ...)`` slices of ``z_flat``.
        step_size: scalar > 0, the kernel's step size.
        sphere_scale: ``(len(blocks), 2)`` angular ``a`` and log-radius ``b`` multipliers.
        noise: optional ``(Σ (F_b + 1),)`` standard normals (each block's ε then η); drawn
            from ``rng_key`` when None.

    Returns:
        ``(z_prop (d,), log_hastings ())``: the position with the blocks replaced, and the log
        Hastings correction ``log q(z | z') − log q(z' | z)``.
    """
    dtype = z_flat.dtype
    if noise is None:
        noise = random.normal(rng_key, (sum(size + 1 for _, size in blocks),), dtype=dtype)
    log_hastings = jnp.zeros((), dtype=dtype)
    offset = 0
    for k, (start, size) in enumerate(blocks):
        x = lax.dynamic_slice_in_dim(z_flat, start, size)
        rho = jnp.linalg.norm(x)
        u_new = sphere_step(x / rho, noise[offset:offset + size],
                            step_size * sphere_scale[k, 0], norm=2)
        d_log_rho = step_size * sphere_scale[k, 1] * noise[offset + size]
        offset += size + 1
        x_new = (rho * jnp.exp(d_log_rho) * u_new).astype(z_prop_flat.dtype)
        z_prop_flat = lax.dynamic_update_slice_in_dim(z_prop_flat, x_new, start, 0)
        log_hastings = log_hastings + size * d_log_rho
    return z_prop_flat, log_hastings


def student_t_draw(mean: Array, chol: Array, normals: Array, chi_normals: Array) -> Array:
    """Draws of the multivariate Student t ``t_ν(mean, L Lᵀ)`` from pre-drawn normals.

    ``x = mean + L ε · sqrt(ν / χ²_ν)`` with ``χ²_ν = Σ_{j<ν} η_j²`` (ν an integer: the sum of
    squares avoids ``jax.random.gamma``, which costs seconds of compilation).

    Args:
        mean: (F,) location.
        chol: (F, F) lower-triangular scale factor L.
        normals: (..., F) standard normals ε.
        chi_normals: (..., ν) standard normals η.

    Returns:
        (..., F) draws.
    """
    df = chi_normals.shape[-1]
    chi2 = jnp.sum(chi_normals ** 2, axis=-1)
    return mean + (normals @ chol.T) * jnp.sqrt(df / chi2)[..., None]


def student_t_log_density(x: Array, mean: Array, inv_chol: Array, df, normalised: bool = False
                          ) -> Array:
    """log density of the multivariate Student t ``t_ν(mean, L Lᵀ)`` at ``x`` (..., F).

    Args:
        x: (..., F) points.
        mean: (F,) location.
        inv_chol: (F, F) inverse of the lower-triangular scale factor L.
        df: degrees of freedom ν > 0.
        normalised: include the normalising constant (needed only when comparing with other
            densities; MH ratios of one proposal do not need it).

    Returns:
        (...) log densities.
    """
    F = x.shape[-1]
    y = (x - mean) @ inv_chol.T
    log_kernel = -0.5 * (df + F) * jnp.log1p(jnp.sum(y * y, axis=-1) / df)
    if not normalised:
        return log_kernel
    gammaln = jax.scipy.special.gammaln
    const = (gammaln(0.5 * (df + F)) - gammaln(0.5 * df) - 0.5 * F * jnp.log(df * jnp.pi)
             + jnp.sum(jnp.log(jnp.abs(jnp.diag(inv_chol)))))
    return log_kernel + const


def mixture_choice(u: Array, probability) -> Array:
    """Which kernel of a two-component mixture moves: ``u < probability`` (the second).

    The choice is made independently of the chain's state, so each component leaves the
    target invariant and so does the mixture (Tierney 1994, §2.4).

    Args:
        u: (...) Uniform(0, 1) draws.
        probability: probability of the second component, in [0, 1].

    Returns:
        (...) bool.
    """
    return u < probability
