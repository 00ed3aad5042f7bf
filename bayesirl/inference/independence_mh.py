"""Independence Metropolis–Hastings with a Laplace (Student-t) proposal, for posteriors whose
log density costs an MDP solve at 10^5 states.

A random walk or NUTS needs hundreds of *sequential* evaluations per effective draw. For a
posterior over a few dozen reward weights that is close to Gaussian (many demonstrations) the
independence sampler (Tierney 1994) does far better: propose ``x' ~ q`` independently of the
current state, from a multivariate Student-t centred at the MAP with the Laplace covariance
H⁻¹ (heavier tails than the target, so the weights p/q stay bounded and the chain is
uniformly ergodic; Mengersen & Tweedie 1996), and accept with probability
``min(1, [p(x') q(x)] / [p(x) q(x')])``. The chain is exact MH whatever q is; q only sets the
efficiency (on a 16-D Gaussian target, df = 10: acceptance ~0.7, ESS ~0.5 per draw).

Each proposal is solved warm-started from the MAP's values plus their first-order change
``J (x' − ŵ)`` (J = ∂V/∂w at the MAP, from one forward-mode pass): 4× fewer sweeps at 10^5
states than from the MAP's values alone. Draws are added in rounds until every weight's bulk
ESS reaches ``target_ess`` and its rank-normalised split R-hat is at most ``max_rhat``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bayesirl import _arviz
from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.inference.accept import log_uniform, metropolis_accept
from bayesirl.inference.chain import run_chain
from bayesirl.inference.laplace import laplace_covariance
from bayesirl.inference.proposals import student_t_draw, student_t_log_density
from bayesirl.inference.map import boltzmann_log_density, warm_start_map

__all__ = [
    "IMH_DF",
    "IMHResult",
    "RHAT_GOOD",
    "TARGET_ESS",
    "LaplaceState",
    "fit_laplace_imh",
    "independence_chains",
    "laplace_at_map",
    "sample_laplace_imh",
]

#: Degrees of freedom of the Student-t proposal.
IMH_DF = 10
#: Stop when every weight's rank-normalised split R-hat is at most this (Vehtari et al. 2021).
RHAT_GOOD = 1.01
#: ... and every weight's bulk ESS is at least this.
TARGET_ESS = 100


class LaplaceState(NamedTuple):
    """The Laplace approximation at the MAP, with what warm-starts solves near it.

    Attributes:
        mode: (F,) MAP weights ŵ.
        covariance: (F, F) inverse of minus the Hessian of the log posterior at ŵ.
        values: (S,) solved values at ŵ.
        value_jacobian: (S, F) ∂V/∂w at ŵ.
        hessian_positive: whether minus the Hessian was positive definite (else floored).
    """

    mode: Array
    covariance: np.ndarray
    values: Array
    value_jacobian: Array
    hessian_positive: bool


def laplace_at_map(log_density: Callable, mode, values) -> LaplaceState:
    """Hessian of the log posterior and Jacobian of the values at the MAP, in one forward-mode
    pass (``jax.jacfwd`` of the gradient and of the values: F tangent solves, implicit).

    Args:
        log_density: as returned by :func:`~bayesirl.inference.map.boltzmann_log_density`.
        mode: (F,) MAP weights.
        values: (S,) solved values at ``mode`` (warm start).

    Returns:
        :class:`LaplaceState`.
    """
    mode = jnp.asarray(mode, jnp.asarray(values).dtype)

    def gradient_and_values(w):
        grad = jax.grad(lambda x: log_density(x, values)[0])(w)
        return grad, log_density(w, values)[1][0]

    hessian, jacobian = jax.jit(jax.jacfwd(gradient_and_values))(mode)
    covariance, positive = laplace_covariance(-np.asarray(hessian, np.float64))
    return LaplaceState(mode, covariance, values, jacobian, positive)


def independence_chains(rng_key: PRNGKey, log_weights: Array, initial_log_weight: Array):
    """The accept/reject pass of C independence-MH chains over precomputed proposals.

    An independence proposal x' ~ q is accepted with probability ``min(1, w(x') / w(x))``,
    ``w = p / q`` (Tierney 1994), by the package's one accept step
    (:func:`~bayesirl.inference.accept.metropolis_accept`) in the package's chain driver.

    Args:
        rng_key: PRNG key.
        log_weights: (C, K) ``log p(x) − log q(x)`` of each chain's K proposals, in order.
        initial_log_weight: (C,) log weight of each chain's current state.

    Returns:
        (indices, accepted): (C, K) int32 index into the chain's proposals of the state after
        each step (−1: still the state it started from) and (C, K) bool acceptances.
    """
    def chain(key, lw, lw0):
        K = lw.shape[0]
        log_u = log_uniform(key, lw.shape, lw.dtype)

        def step(carry, inputs):
            index, current, _ = carry
            k, lw_k, lu = inputs
            _, accept = metropolis_accept(lw_k - current, lu)  # NaN or −∞ proposals: rejected
            return jnp.where(accept, k, index), jnp.where(accept, lw_k, current), accept

        inputs = (jnp.arange(K, dtype=jnp.int32), lw, log_u)
        _, (indices, accepted) = run_chain(
            step, (jnp.int32(-1), lw0, jnp.bool_(False)), inputs, num_warmup=0, num_kept=K,
            thinning=1, record=lambda c: (c[0], c[2]))
        return indices, accepted

    keys = jax.random.split(rng_key, log_weights.shape[0])
    return jax.vmap(chain)(keys, log_weights, initial_log_weight)


class _StudentT(NamedTuple):
    """The independence proposal t_ν(ŵ, scale²·H⁻¹): location, Cholesky factor and inverse."""

    mean: Array
    chol: Array
    inv_chol: Array
    df: int

    def sample(self, key, num):
        F = self.mean.shape[0]
        normals = jax.random.normal(key, (num, F + self.df), self.mean.dtype)
        return student_t_draw(self.mean, self.chol, normals[:, :F], normals[:, F:])

    def log_prob(self, x):
        return student_t_log_density(x, self.mean, self.inv_chol, self.df, normalised=True)


def _proposal(laplace: LaplaceState, df: int, scale: float) -> _StudentT:
    F = len(laplace.mode)
    chol = np.linalg.cholesky(scale**2 * laplace.covariance + 1e-12 * np.eye(F))
    dtype = laplace.mode.dtype
    return _StudentT(laplace.mode, jnp.asarray(chol, dtype),
                     jnp.asarray(np.linalg.inv(chol), dtype), int(df))


def _predicted_log_density(log_density: Callable, laplace: LaplaceState) -> Callable:
    """(K, F) weights -> (K,) log densities, each solve warm-started at V̂ + J (w − ŵ)."""
    def one(w):
        init = laplace.values + laplace.value_jacobian @ (w - laplace.mode)
        return log_density(w, lax.stop_gradient(init))[0]

    return jax.jit(lambda ws: lax.map(one, ws))


def _diagnostics(draws: np.ndarray) -> tuple[float, float]:
    """(min bulk ESS, max R-hat) over the last axis of (C, M, F) draws."""
    idata = _arviz.from_draws({"w": draws})
    ess = np.asarray(_arviz.ess(idata)["w"])
    rhat = np.asarray(_arviz.rhat(idata)["w"])
    return float(np.min(ess)), float(np.max(rhat))


class _Chains(NamedTuple):
    draws: list
    log_density: list
    accepted: list
    current: np.ndarray  # (C, F)
    current_lp: np.ndarray  # (C,)
    current_lw: np.ndarray  # (C,)


class IMHResult(NamedTuple):
    """Result of :func:`sample_laplace_imh`.

    Attributes:
        draws: (C, M, F) kept draws (after ``num_warmup`` steps per chain).
        log_density: (C, M) log posterior of the kept draws.
        accepted: (C, M) whether each kept step accepted its proposal.
        min_ess: smallest bulk ESS over the F weights.
        max_rhat: largest rank-normalised split R-hat over the F weights.
        converged: ``min_ess >= target_ess`` and ``max_rhat <= max_rhat``.
        evaluations: log-density evaluations (MDP solves), warm-up included.
        rounds: rounds of ``draws_per_round`` proposals per chain.
    """

    draws: np.ndarray
    log_density: np.ndarray
    accepted: np.ndarray
    min_ess: float
    max_rhat: float
    converged: bool
    evaluations: int
    rounds: int


def _run_round(key, evaluate, proposal, state, num_chains, draws_per_round):
    """Propose, evaluate and accept/reject ``draws_per_round`` steps of every chain."""
    k_prop, k_acc = jax.random.split(key)
    x = proposal.sample(k_prop, num_chains * draws_per_round)
    lp = np.asarray(evaluate(x), np.float64)
    lw = lp - np.asarray(proposal.log_prob(x), np.float64)
    x, lp, lw = (np.asarray(a).reshape((num_chains, draws_per_round) + a.shape[1:])
                 for a in (x, lp, lw))
    lw = np.where(np.isnan(lw), -np.inf, lw)
    indices, accepted = map(np.asarray, independence_chains(
        k_acc, jnp.asarray(lw), jnp.asarray(state.current_lw)))
    rows = np.arange(num_chains)[:, None]
    keep = indices >= 0
    safe = np.maximum(indices, 0)
    draws = np.where(keep[..., None], x[rows, safe], state.current[:, None, :])
    lps = np.where(keep, lp[rows, safe], state.current_lp[:, None])
    lws = np.where(keep, lw[rows, safe], state.current_lw[:, None])
    state.draws.append(draws)
    state.log_density.append(lps)
    state.accepted.append(accepted)
    return state._replace(current=draws[:, -1], current_lp=lps[:, -1], current_lw=lws[:, -1])


def sample_laplace_imh(rng_key: PRNGKey, log_density: Callable, laplace: LaplaceState, *,
                       num_chains: int = 4, num_warmup: int = 10, draws_per_round: int = 25,
                       max_draws: int = 2000, target_ess: float = TARGET_ESS,
                       max_rhat: float = RHAT_GOOD, df: float = IMH_DF,
                       scale: float = 1.0) -> IMHResult:
    """Independence MH chains with a Student-t proposal ``t_df(ŵ, scale²·H⁻¹)``, run in rounds
    until the diagnostics pass (Tierney 1994; Robert & Casella 2004, §7.4).

    Every chain starts at its first proposal (a draw from q, accepted). Each round draws
    ``draws_per_round`` proposals per chain, evaluates their log posterior in one compiled
    ``lax.map`` (each solve warm-started at V̂ + J (x − ŵ)) and runs the accept/reject pass
    (:func:`independence_chains`).

    Args:
        rng_key: PRNG key.
        log_density: as returned by :func:`~bayesirl.inference.map.boltzmann_log_density`.
        laplace: the Laplace approximation (:func:`laplace_at_map`).
        num_chains: C >= 2 chains (R-hat needs several).
        num_warmup: steps discarded at the start of each chain (>= 1: the start is a draw from
            q, not from the posterior).
        draws_per_round: proposals per chain per round (>= 1).
        max_draws: stop after this many steps per chain whatever the diagnostics say.
        target_ess: stop once every weight's bulk ESS is at least this ...
        max_rhat: ... and every weight's R-hat at most this.
        df: degrees of freedom ν >= 1 (an integer) of the Student-t proposal.
        scale: factor on the Laplace standard deviations (> 0).

    Returns:
        :class:`IMHResult`; check ``converged``.

    Raises:
        ValueError / TypeError: a count or scale out of range.
        RuntimeError: a chain's first proposal has a non-finite log density.
    """
    num_chains = check_scalar(num_chains, "num_chains", low=2, integer=True)
    num_warmup = check_scalar(num_warmup, "num_warmup", low=1, integer=True)
    draws_per_round = check_scalar(draws_per_round, "draws_per_round", low=1, integer=True)
    max_draws = check_scalar(max_draws, "max_draws", low=num_warmup + 4, integer=True)
    df = check_scalar(df, "df", low=1, integer=True)
    scale = check_scalar(scale, "scale", low=0, low_open=True)
    proposal = _proposal(laplace, df, scale)
    evaluate = _predicted_log_density(log_density, laplace)
    F = len(laplace.mode)
    state = _Chains([], [], [], np.zeros((num_chains, F)), np.full(num_chains, -np.inf),
                    np.full(num_chains, -np.inf))
    rounds, min_ess, worst_rhat = 0, 0.0, np.inf
    while rounds * draws_per_round < max_draws:
        state = _run_round(jax.random.fold_in(rng_key, rounds), evaluate, proposal, state,
                           num_chains, draws_per_round)
        rounds += 1
        if rounds == 1 and not np.all(np.isfinite(state.current_lw)):
            raise RuntimeError("IMH: a chain's first proposal has a non-finite log density")
        kept = np.concatenate(state.draws, axis=1)[:, num_warmup:]
        if kept.shape[1] >= 4:
            min_ess, worst_rhat = _diagnostics(kept)
            if min_ess >= target_ess and worst_rhat <= max_rhat:
                break
    return IMHResult(draws=np.concatenate(state.draws, axis=1)[:, num_warmup:],
                     log_density=np.concatenate(state.log_density, axis=1)[:, num_warmup:],
                     accepted=np.concatenate(state.accepted, axis=1)[:, num_warmup:],
                     min_ess=min_ess, max_rhat=worst_rhat,
                     converged=bool(min_ess >= target_ess and worst_rhat <= max_rhat),
                     evaluations=rounds * draws_per_round * num_chains, rounds=rounds)


def fit_laplace_imh(mdp, pairs, *, prior_scale: float = 1.0, beta: float = 1.0,
                    q: str = "soft", solver_kwargs: dict | None = None, seed: int = 0,
                    init_weights=None, **sampler_kwargs) -> _arviz.InferenceData:
    """Posterior of :func:`~bayesirl.models.boltzmann_irl_model` (Gaussian prior, fixed β) at
    large S: warm-started MAP (:func:`~bayesirl.inference.map.warm_start_map`), Laplace
    approximation and value Jacobian there (:func:`laplace_at_map`), then independence MH
    (:func:`sample_laplace_imh`) until the diagnostics pass.

    Args:
        mdp: the MDP (S states, F features).
        pairs: the P demonstration pairs (:func:`~bayesirl.likelihoods.demonstration_pairs`).
        prior_scale, beta, q, solver_kwargs: the model (:func:`boltzmann_log_density`).
        seed: integer seed (MAP start and sampler).
        init_weights: (F,) MAP start; default uniform in [−1, 1] (as ``fit(method="map")``).
        **sampler_kwargs: passed to :func:`sample_laplace_imh` (``num_chains``,
            ``target_ess``, ``max_draws``, ...).

    Returns:
        ``InferenceData``: posterior ``reward_weights`` (C, M, F); sample_stats ``lp`` and
        ``accepted`` (C, M); ``posterior.attrs``: ``map_s``, ``laplace_s``, ``sampling_s``,
        ``sampling_time_s`` (total wall seconds), ``map_converged``, ``map_evaluations``,
        ``evaluations`` (MDP solves while sampling), ``min_ess``, ``max_rhat``, ``converged``,
        ``laplace_hessian_positive``.

    Raises:
        ValueError / TypeError: bad model arguments or sampler settings.
    """
    seed = check_scalar(seed, "seed", low=0, integer=True)
    start = time.perf_counter()
    log_density = boltzmann_log_density(mdp, pairs, prior_scale=prior_scale, beta=beta, q=q,
                                        solver_kwargs=solver_kwargs)
    if init_weights is None:
        init_weights = np.random.default_rng(seed).uniform(-1.0, 1.0, mdp.num_features)
    dtype = jnp.result_type(float)
    result = warm_start_map(log_density, init_weights, jnp.zeros(mdp.num_states, dtype))
    t_map = time.perf_counter()
    laplace = laplace_at_map(log_density, result.weights, result.values)
    t_laplace = time.perf_counter()
    imh = sample_laplace_imh(jax.random.PRNGKey(seed), log_density, laplace, **sampler_kwargs)
    end = time.perf_counter()
    attrs = dict(map_s=t_map - start, laplace_s=t_laplace - t_map, sampling_s=end - t_laplace,
                 sampling_time_s=end - start, map_converged=int(result.converged),
                 map_evaluations=result.evaluations, evaluations=imh.evaluations,
                 min_ess=imh.min_ess, max_rhat=imh.max_rhat, converged=int(imh.converged),
                 laplace_hessian_positive=int(laplace.hessian_positive))
    return _arviz.from_draws({"reward_weights": imh.draws},
                             sample_stats={"lp": imh.log_density, "accepted": imh.accepted},
                             attrs=attrs)
