"""Quantities derived from posterior draws of the reward weights, per draw, batched with vmap.

For each draw ``w_m`` (m = 1 … M, M = C chains × D draws): the reward ``R_m = φ w_m``, its
optimal values ``V*_m`` and optimal (greedy, ties split) action probabilities, and the policy
loss of an evaluation policy π_eval under ``R_m``:

* EVD, the expected value difference ``ρ(π*_R, R) − ρ(π_eval, R) >= 0`` (Abbeel & Ng 2004;
  Brown & Niekum 2018);
* nEVD, ``EVD / (ρ(π*_R, R) − ρ(π_uniform, R))`` (Trinh, Chen & Brown, HRI 2024): 0 for an
  optimal policy, 1 for one no better than acting uniformly at random;
* percent improvement over a baseline policy, ``100 (ρ(π_eval, R) − ρ(π_base, R)) / |ρ(π_base, R)|``.

ρ of a fixed policy is linear in the weights, ``ρ(π, φ w) = μ(π)·w`` with μ the expected
discounted feature counts, so only ``ρ(π*_R, R)`` needs one value iteration per draw; all
draws are solved at once with ``jax.vmap``. :func:`add_posterior_quantities` stores the
results as ArviZ posterior variables (dims ``(chain, draw, …)``) so ``az.summary`` and the HDI
functions see them.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl import _arviz
from bayesirl._typing import Array, ArrayLike
from bayesirl._validate import (
    check_concrete,
    check_inference_data,
    check_policy_concrete,
    check_scalar,
)
from bayesirl.data.mdp import MDP, reward_from_weights, uniform_policy
from bayesirl.solvers.evaluation import value_differences
from bayesirl.solvers.occupancy import expected_feature_counts
from bayesirl.solvers.value_iteration import policy_evaluation, value_iteration

__all__ = [
    "EVALUATION_POLICIES",
    "PosteriorSolutions",
    "PolicyLosses",
    "weight_draws",
    "posterior_solutions",
    "policy_losses",
    "evaluation_policy",
    "uniform_policy",
    "add_posterior_quantities",
    "credible_intervals",
]

#: Reward estimates whose optimal policy :func:`evaluation_policy` can return.
EVALUATION_POLICIES = ("map", "mean")


class PosteriorSolutions(NamedTuple):
    """Per-draw solutions of the MDP (leading axis M).

    Attributes:
        state_reward: (M, S) or (M, S, A) reward ``φ w`` (reward units).
        optimal_value: (M, S) optimal values V* (discounted reward units): the exact values
            of the greedy policy of value iteration's Q.
        optimal_action_prob: (M, S, A) greedy policy of Q*, ties split evenly: its mean over
            draws is the posterior probability that each action is optimal.
        optimal_return: (M,) ``ρ(π*_R, R) = p0 · V*``.
        converged: (M,) bool, value iteration met its tolerance.
    """

    state_reward: Array
    optimal_value: Array
    optimal_action_prob: Array
    optimal_return: Array
    converged: Array


class PolicyLosses(NamedTuple):
    """Loss of one evaluation policy under every draw (arrays of shape (M,)).

    Attributes:
        evd: expected value difference (reward units), >= 0 up to solver tolerance.
        nevd: normalised EVD (unitless; 0 optimal, 1 as bad as uniformly random).
        expected_return: ``ρ(π_eval, R)``.
        optimal_return: ``ρ(π*_R, R)``.
        uniform_return: ``ρ(π_uniform, R)``.
        percent_improvement: ``100 (ρ(π_eval) − ρ(π_base)) / |ρ(π_base)|``, or None without a
            baseline.
    """

    evd: Array
    nevd: Array
    expected_return: Array
    optimal_return: Array
    uniform_return: Array
    percent_improvement: Array | None


def weight_draws(idata, var_name: str = "reward_weights") -> np.ndarray:
    """(C, D, F) array of the weight draws in ``idata.posterior[var_name]``.

    Raises:
        TypeError: ``idata`` is not an ArviZ InferenceData.
        ValueError: no posterior group, no such variable, or dims other than
            (chain, draw, one more).
    """
    check_inference_data(idata)
    if var_name not in idata.posterior:
        raise ValueError(f"idata: the posterior has no variable {var_name!r} "
                         f"(has {sorted(idata.posterior.data_vars)})")
    da = idata.posterior[var_name]
    if da.dims[:2] != ("chain", "draw") or da.ndim != 3:
        raise ValueError(f"idata: expected {var_name} with dims (chain, draw, feature), "
                         f"got {da.dims}")
    return np.asarray(da.values)


def _check_weights(mdp: MDP, weights) -> jax.Array:
    check_concrete(weights, "weights")
    w = jnp.asarray(weights, mdp.features.dtype)
    if w.ndim != 2 or w.shape[1] != mdp.num_features:
        raise ValueError(f"weights: expected shape (M, F) with F = {mdp.num_features}, "
                         f"got {w.shape}")
    return w


def _check_policy(mdp: MDP, policy, name: str) -> jax.Array:
    pi = jnp.asarray(policy, mdp.features.dtype)
    if pi.shape != (mdp.num_states, mdp.num_actions):
        raise ValueError(f"{name}: expected shape (S, A) = ({mdp.num_states}, {mdp.num_actions}), "
                         f"got {pi.shape}")
    check_policy_concrete(pi, name, atol=1e-6)
    return pi


def _solve_one(mdp: MDP, w: Array):
    reward = reward_from_weights(mdp, w)
    result = value_iteration(mdp, reward)
    # The greedy policy's exact values (a linear solve) are more accurate than value
    # iteration's iterate, which stops at its tolerance (~1e-5 relative in float32).
    values = policy_evaluation(mdp, reward, result.policy).values
    return (reward, values, result.policy, mdp.initial_distribution @ values, result.converged)


def posterior_solutions(mdp: MDP, weights: ArrayLike, *, batch_size: int | None = None
                        ) -> PosteriorSolutions:
    """Solve the MDP for every weight draw (``jax.vmap`` over draws of
    :func:`~bayesirl.solvers.value_iteration`).

    Args:
        mdp: the MDP.
        weights: (M, F) weight draws.
        batch_size: solve this many draws at a time (``lax.map``; memory O(batch · S · A));
            default all at once.

    Returns:
        :class:`PosteriorSolutions`.

    Raises:
        ValueError: weights of the wrong shape.
    """
    w = _check_weights(mdp, weights)
    return PosteriorSolutions(*_solve_all(mdp, w, batch_size=batch_size))


@partial(jax.jit, static_argnames="batch_size")
def _solve_all(mdp: MDP, weights: Array, batch_size: int | None = None):
    if batch_size:
        return jax.lax.map(lambda x: _solve_one(mdp, x), weights, batch_size=batch_size)
    return jax.vmap(lambda x: _solve_one(mdp, x))(weights)


def policy_losses(mdp: MDP, weights: ArrayLike, policy: ArrayLike, *,
                  baseline_policy: ArrayLike | None = None,
                  solutions: PosteriorSolutions | None = None) -> PolicyLosses:
    """EVD, nEVD and percent improvement of ``policy`` under every weight draw.

    Args:
        mdp: the MDP.
        weights: (M, F) weight draws.
        policy: (S, A) evaluation policy.
        baseline_policy: (S, A) baseline for the percent improvement (optional).
        solutions: :func:`posterior_solutions` of the same draws, to avoid solving twice.

    Returns:
        :class:`PolicyLosses` (arrays of shape (M,)).

    Raises:
        ValueError: shapes, or policies that are not action probabilities.

    Sources: EVD — Abbeel & Ng 2004, Brown & Niekum 2018; nEVD — Trinh, Chen & Brown 2024.
    """
    w = _check_weights(mdp, weights)
    pi = _check_policy(mdp, policy, "policy")
    if solutions is None:
        solutions = posterior_solutions(mdp, w)
    # ρ of a fixed policy is linear in w: one feature-count pass serves every draw.
    ret = w @ expected_feature_counts(mdp, pi)
    uniform = w @ expected_feature_counts(mdp, uniform_policy(mdp))
    evd, nevd = value_differences(solutions.optimal_return, ret, uniform)
    # ρ* >= ρ of every policy (value_differences raises ρ* where VI left it a hair below).
    optimal = jnp.maximum(solutions.optimal_return, ret)
    improvement = None
    if baseline_policy is not None:
        base = w @ expected_feature_counts(mdp, _check_policy(mdp, baseline_policy,
                                                              "baseline_policy"))
        improvement = 100.0 * (ret - base) / jnp.abs(base)
    return PolicyLosses(evd, nevd, ret, optimal, uniform, improvement)


def evaluation_policy(mdp: MDP, idata, kind: str = "map") -> Array:
    """The optimal (greedy, ties split) policy of a point estimate of the reward.

    * ``"map"``: the draw with the largest log density ``sample_stats.lp`` (as the sampler
      saw it: NumPyro's unconstrained space, Jacobians included); a MAP fit's single draw.
      Brown & Niekum (2018) evaluate the MAP sample's policy.
    * ``"mean"``: the posterior-mean weights.

    Args:
        mdp: the MDP.
        idata: InferenceData with ``reward_weights`` (chain, draw, feature).
        kind: one of :data:`EVALUATION_POLICIES`.

    Returns:
        (S, A) action probabilities.

    Raises:
        ValueError: unknown ``kind``; ``"map"`` without ``sample_stats.lp`` (and more than
            one draw).
    """
    if kind not in EVALUATION_POLICIES:
        raise ValueError(f"kind: expected one of {EVALUATION_POLICIES}, got {kind!r}")
    draws = weight_draws(idata)
    C, D, F = draws.shape
    if kind == "mean":
        w = draws.reshape(-1, F).mean(axis=0)
    elif C * D == 1:
        w = draws[0, 0]
    else:
        stats = idata.sample_stats if "sample_stats" in idata.groups() else None
        if stats is None or "lp" not in stats:
            raise ValueError("kind: 'map' needs the log density of each draw (sample_stats.lp); "
                             "this InferenceData has none — use kind='mean'")
        lp = np.asarray(stats["lp"].values).reshape(-1)
        w = draws.reshape(-1, F)[int(np.nanargmax(lp))]
    reward = reward_from_weights(mdp, jnp.asarray(w, mdp.features.dtype))
    return value_iteration(mdp, reward).policy


def add_posterior_quantities(idata, mdp: MDP, policy: ArrayLike | None = None, *,
                             baseline_policy: ArrayLike | None = None,
                             batch_size: int | None = None):
    """Attach per-draw derived quantities to the posterior (a new InferenceData).

    Variables added (dims after ``chain, draw``): ``state_reward`` (state) or
    (state, action); ``optimal_value`` (state); ``optimal_action_prob`` (state, action);
    ``optimal_return``; and, for the evaluation policy, ``evd``, ``nevd`` and (with a
    baseline) ``percent_improvement``. ``az.summary`` and :func:`credible_intervals` then
    report them like the weights.

    Args:
        idata: InferenceData with ``reward_weights`` (chain, draw, feature).
        mdp: the MDP the posterior was fitted on.
        policy: (S, A) evaluation policy; default :func:`evaluation_policy` ``"map"`` when the
            draws have a log density, else ``"mean"``.
        baseline_policy: (S, A) baseline for ``percent_improvement`` (optional).
        batch_size: see :func:`posterior_solutions`.

    Returns:
        A new InferenceData (other groups shared with ``idata``); its posterior attrs record
        ``evaluation_policy`` ("map", "mean" or "given").

    Raises:
        ValueError: as :func:`weight_draws`, :func:`policy_losses`; an MDP whose F differs
            from the posterior's.
    """
    draws = weight_draws(idata)
    C, D, F = draws.shape
    if F != mdp.num_features:
        raise ValueError(f"mdp: has F = {mdp.num_features} features but the posterior has {F} "
                         "weights; pass the MDP the posterior was fitted on")
    kind = "given"
    if policy is None:
        has_lp = "sample_stats" in idata.groups() and "lp" in idata.sample_stats
        kind = "map" if (has_lp or C * D == 1) else "mean"
        policy = evaluation_policy(mdp, idata, kind)
    flat = draws.reshape(C * D, F)
    sol = posterior_solutions(mdp, flat, batch_size=batch_size)
    loss = policy_losses(mdp, flat, policy, baseline_policy=baseline_policy, solutions=sol)

    def shaped(x):
        x = np.asarray(x)
        return x.reshape((C, D) + x.shape[1:])

    reward_dims = ("state",) if mdp.features.ndim == 2 else ("state", "action")
    variables = {
        "state_reward": (("chain", "draw") + reward_dims, shaped(sol.state_reward)),
        "optimal_value": (("chain", "draw", "state"), shaped(sol.optimal_value)),
        "optimal_action_prob": (("chain", "draw", "state", "action"),
                                shaped(sol.optimal_action_prob)),
        "optimal_return": (("chain", "draw"), shaped(sol.optimal_return)),
        "evd": (("chain", "draw"), shaped(loss.evd)),
        "nevd": (("chain", "draw"), shaped(loss.nevd)),
    }
    if loss.percent_improvement is not None:
        variables["percent_improvement"] = (("chain", "draw"), shaped(loss.percent_improvement))
    coords = {"state": np.arange(mdp.num_states), "action": np.arange(mdp.num_actions)}
    out = _arviz.with_posterior_variables(idata, variables, coords)
    out.posterior.attrs["evaluation_policy"] = kind
    return out


def credible_intervals(idata, var_names=None, hdi_prob: float = 0.94):
    """Highest-density credible intervals (ArviZ ``hdi``) of posterior variables.

    Args:
        idata: InferenceData (e.g. from :func:`add_posterior_quantities`).
        var_names: variables (default all), e.g. ``["reward_weights", "state_reward",
            "optimal_value", "optimal_action_prob"]``.
        hdi_prob: probability mass of the interval, in (0, 1).

    Returns:
        xarray Dataset: each variable with its own dims plus ``hdi`` (``lower``, ``higher``).

    Raises:
        TypeError: ``idata`` is not an ArviZ InferenceData.
        ValueError: ``hdi_prob`` outside (0, 1), no posterior group, or a variable that is not
            in the posterior.
    """
    check_inference_data(idata)
    hdi_prob = check_scalar(hdi_prob, "hdi_prob", low=0.0, high=1.0, low_open=True,
                            high_open=True)
    if isinstance(var_names, str):
        var_names = [var_names]
    missing = [v for v in (var_names or []) if v.lstrip("~") not in idata.posterior]
    if missing:
        raise ValueError(f"var_names: not in the posterior: {missing} (it has "
                         f"{sorted(idata.posterior.data_vars)})")
    return _arviz.hdi(idata, var_names=var_names, hdi_prob=hdi_prob)
