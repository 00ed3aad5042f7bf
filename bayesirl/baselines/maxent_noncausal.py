"""Non-causal maximum-entropy IRL (Ziebart, Maas, Bagnell & Dey, AAAI 2008, Algorithm 1).

The path distribution of Ziebart et al. (2008, Eq. 4) over trajectories
``ζ = (s_0, a_0, …, s_{T−1}, a_{T−1})`` from a given start state is

    P(ζ | s_0, w) = exp(w · f_ζ) Π_t P(s_{t+1} | s_t, a_t) / Z_{s_0}(w),
    f_ζ = Σ_t γ^t φ(s_t, a_t)   (γ = 1 in the paper),

a trajectory ending early when it enters a terminal state. Its partition function is the
backward pass of Algorithm 1, in log space:

    Q_t(s, a) = γ^t R(s, a) + log Σ_s' P(s' | s, a) exp V_{t+1}(s'),    V_T ≡ 0,
    V_t(s)   = log Σ_a exp Q_t(s, a)       (terminal s: Q_t = γ^t R, V_t = log-mean-exp),

with ``log Z_{s_0} = V_0(s_0)``; the local action probabilities are
``π_t(a|s) = exp(Q_t(s, a) − V_t(s))``.

**Where it differs from the causal version.** Maximum *causal* entropy (Ziebart 2010,
Alg. 9.1; :func:`~bayesirl.solvers.finite_horizon_soft_value_iteration`) uses
``Q_t = R + E_{s'}[V_{t+1}(s')]``; the non-causal one uses ``log E_{s'}[exp V_{t+1}(s')]``,
which is >= the causal term by Jensen's inequality, with equality iff the successor is
certain. So on deterministic dynamics the two coincide, and on stochastic dynamics the
non-causal Q is never below the causal one and its policy is *risk-seeking*: it prefers
actions whose outcomes are uncertain but sometimes good, as if the agent could choose the
outcome of the slip (Ziebart 2010, Sec. 6.2; Levine 2018, Sec. 2.4). Algorithm 1's forward
pass then propagates the untilted dynamics P, so its "expected feature counts" are no longer
the gradient of log Z. We differentiate log Z exactly (``jax.grad``) instead; on deterministic
dynamics this equals Algorithm 1's forward pass (:func:`noncausal_feature_expectations`).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax import lax

from bayesirl._typing import Array
from bayesirl._validate import check_scalar
from bayesirl.baselines.common import validate_demos
from bayesirl.data.demos import Demonstrations
from bayesirl.data.mdp import MDP, reward_from_weights, state_action_reward
from bayesirl.solvers import expected_feature_counts

__all__ = [
    "NonCausalSolution",
    "noncausal_backward_pass",
    "noncausal_log_likelihood",
    "noncausal_feature_expectations",
    "NonCausalMaxEntResult",
    "maxent_noncausal",
]


class NonCausalSolution(NamedTuple):
    """Backward pass of Algorithm 1 (Ziebart et al. 2008).

    Attributes:
        values: (T, S) ``V_t(s)``; ``values[0]`` is log Z of each start state.
        q_values: (T, S, A) ``Q_t(s, a)``.
        policy: (T, S, A) local action probabilities ``π_t(a|s) = exp(Q_t − V_t)``.
    """

    values: Array
    q_values: Array
    policy: Array


@partial(jax.jit, static_argnames=("horizon", "discount"))
def noncausal_backward_pass(mdp: MDP, reward: Array, horizon: int,
                            discount: float = 1.0) -> NonCausalSolution:
    """Log partition functions of the non-causal MaxEnt path distribution (Ziebart et al.
    2008, Algorithm 1, backward pass; see the module docstring for the recursion).

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward R.
        horizon: T >= 1, the number of steps of a path (static).
        discount: γ in (0, 1] weighting step t by γ^t inside the path's return (static).

    Returns:
        :class:`NonCausalSolution`. Differentiable in ``reward`` (a fixed-length ``lax.scan``).
    """
    reward_sa = state_action_reward(mdp, reward)
    log_p = jnp.where(mdp.next_probs > 0, jnp.log(jnp.where(mdp.next_probs > 0,
                                                             mdp.next_probs, 1.0)), -jnp.inf)
    log_a = np.log(mdp.num_actions)

    def step(v_next, t):
        r_t = jnp.asarray(discount, reward_sa.dtype) ** t * reward_sa
        cont = jax.nn.logsumexp(log_p + v_next[mdp.next_states], axis=-1)  # 0 when V ≡ 0
        q = r_t + jnp.where(mdp.terminal[:, None], 0.0, cont)
        v = jax.nn.logsumexp(q, axis=-1) - jnp.where(mdp.terminal, log_a, 0.0)
        return v, (v, q)

    v_end = jnp.zeros(mdp.num_states, reward_sa.dtype)
    _, (values, q) = lax.scan(step, v_end, jnp.arange(horizon, dtype=reward_sa.dtype),
                              reverse=True)
    return NonCausalSolution(values, q, jax.nn.softmax(q, axis=-1))


def noncausal_log_likelihood(mdp: MDP, reward: Array, demos: Demonstrations,
                             horizon: int | None = None, discount: float = 1.0) -> Array:
    """Log-probability of each demonstration under the non-causal path distribution, up to
    the transition-probability terms (which do not depend on the reward).

    A trajectory of L <= T steps is the prefix of a path, so its probability sums over all
    completions: ``Σ_{t<L−1} γ^t R(s_t, a_t) + Q_{L−1}(s_{L−1}, a_{L−1}) − V_0(s_0)``
    (``V_{L−1}`` in place of ``Q_{L−1}`` when the last state is terminal). For full-length
    trajectories this is ``w · f_ζ − log Z_{s_0}`` of Ziebart et al. (2008, Eq. 4).

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        demos: N trajectories of at most T steps.
        horizon: T; default the demonstrations' length.
        discount: γ of the path return (see :func:`noncausal_backward_pass`).

    Returns:
        (N,) log-likelihoods (nats). Differentiable in ``reward``.

    Raises:
        ValueError: trajectories longer than ``horizon``.
    """
    T_demo = demos.states.shape[1]
    T = T_demo if horizon is None else int(horizon)
    if T_demo > T:
        raise ValueError(f"horizon: expected >= the demonstrations' length {T_demo}, got {T}")
    sol = noncausal_backward_pass(mdp, reward, T, float(discount))
    reward_sa = state_action_reward(mdp, reward)
    lengths = jnp.sum(demos.mask, axis=1)
    t = jnp.arange(T_demo)
    weights = jnp.asarray(discount, reward_sa.dtype) ** t
    step_reward = weights * reward_sa[demos.states, demos.actions]  # (N, T_demo)
    before_last = t[None, :] < (lengths[:, None] - 1)
    head = jnp.sum(jnp.where(before_last, step_reward, 0.0), axis=1)
    last = lengths - 1
    s_last = jnp.take_along_axis(demos.states, last[:, None], axis=1)[:, 0]
    a_last = jnp.take_along_axis(demos.actions, last[:, None], axis=1)[:, 0]
    tail = jnp.where(mdp.terminal[s_last], sol.values[last, s_last],
                     sol.q_values[last, s_last, a_last])
    return head + tail - sol.values[0, demos.states[:, 0]]


def noncausal_feature_expectations(mdp: MDP, reward: Array, horizon: int,
                                   discount: float = 1.0) -> Array:
    """Algorithm 1's forward pass: expected feature counts ``Σ_t γ^t Σ_{s,a} D_t(s) π_t(a|s)
    φ(s, a)`` from the MDP's p0, propagating D with the MDP's transition probabilities.

    On deterministic dynamics this is the gradient of ``Σ_s p0(s) log Z_s`` with respect to
    the weights; on stochastic dynamics it is not (the path distribution tilts the
    transitions; see the module docstring).

    Args:
        mdp: the MDP (its p0).
        reward: (S,) or (S, A) reward.
        horizon: T (static).
        discount: γ of the path return.

    Returns:
        (F,) feature expectations.
    """
    policy = noncausal_backward_pass(mdp, reward, int(horizon), float(discount)).policy
    return expected_feature_counts(mdp, policy, discount=discount)


class NonCausalMaxEntResult(NamedTuple):
    """Result of :func:`maxent_noncausal`.

    Attributes:
        weights: (F,) MAP reward weights.
        log_likelihood: () Σ_n log P(ζ_n | s_0^n, w) at the MAP (transition terms left out).
        policy: (T, S, A) the non-causal local action probabilities of the MAP reward.
        gradient_norm: () sup-norm of the log-posterior gradient at the returned weights.
        iterations: L-BFGS-B iterations.
        converged: scipy's success flag.
    """

    weights: Array
    log_likelihood: Array
    policy: Array
    gradient_norm: Array
    iterations: int
    converged: bool


@partial(jax.jit, static_argnames=("horizon", "discount"))
def _neg_log_posterior(weights, mdp, demos, prior_scale, horizon, discount):
    ll = noncausal_log_likelihood(mdp, reward_from_weights(mdp, weights), demos, horizon,
                                  discount)
    return -jnp.sum(ll) + 0.5 * jnp.sum(weights ** 2) / prior_scale ** 2


_value_and_grad = jax.jit(jax.value_and_grad(_neg_log_posterior),
                          static_argnames=("horizon", "discount"))


def maxent_noncausal(mdp: MDP, demos: Demonstrations, *, horizon: int | None = None,
                     discount: float = 1.0, prior_scale: float = 1.0,
                     max_iterations: int = 500,
                     initial_weights: Array | None = None) -> NonCausalMaxEntResult:
    """MAP reward weights of non-causal MaxEnt IRL (Ziebart et al., AAAI 2008).

    Maximises ``Σ_n log P(ζ_n | s_0^n, w) − ‖w‖² / (2σ²)`` (Eq. 4 of the paper with a Gaussian
    prior N(0, σ² I), which the paper's Eq. 6 gradient ascent omits) by scipy's L-BFGS-B on
    the exact gradient (``jax.grad`` of the backward pass: empirical minus expected feature
    counts, the paper's Eq. 6). Meant for deterministic dynamics; on stochastic ones it is the
    risk-seeking model of the module docstring.

    Args:
        mdp: the MDP.
        demos: expert demonstrations.
        horizon: T (default the demonstrations' length).
        discount: γ of the path return; 1.0 as in the paper.
        prior_scale: σ > 0 of the Gaussian prior on the weights.
        max_iterations: L-BFGS-B cap.
        initial_weights: (F,) start; default zeros.

    Returns:
        :class:`NonCausalMaxEntResult`.

    Raises:
        ValueError / TypeError: demonstrations that do not fit the MDP, bad scalars.
    """
    validate_demos(mdp, demos)
    T = demos.states.shape[1] if horizon is None else check_scalar(horizon, "horizon", low=1,
                                                                    integer=True)
    discount = check_scalar(discount, "discount", low=0.0, high=1.0, low_open=True)
    sigma = check_scalar(prior_scale, "prior_scale", low=0.0, low_open=True)
    dtype = mdp.features.dtype
    x0 = (np.zeros(mdp.num_features) if initial_weights is None
          else np.asarray(initial_weights, np.float64))

    def objective(x):
        value, grad = _value_and_grad(jnp.asarray(x, dtype), mdp, demos, sigma, T, discount)
        return float(value), np.asarray(grad, np.float64)

    res = scipy.optimize.minimize(objective, x0, jac=True, method="L-BFGS-B",
                                  options={"maxiter": int(max_iterations)})
    w = jnp.asarray(res.x, dtype)
    reward = reward_from_weights(mdp, w)
    ll = jnp.sum(noncausal_log_likelihood(mdp, reward, demos, T, discount))
    return NonCausalMaxEntResult(
        weights=w, log_likelihood=ll,
        policy=noncausal_backward_pass(mdp, reward, T, discount).policy,
        gradient_norm=jnp.asarray(np.max(np.abs(objective(res.x)[1]))),
        iterations=int(res.nit), converged=bool(res.success))

