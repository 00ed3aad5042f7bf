"""A value-space parameterisation of per-state rewards (ValueWalk; Bajgar et al., UAI 2024).

Sampling the soft state values V instead of the reward makes every likelihood evaluation a
single backup — no MDP solve: with θ = β·R a state reward and soft Q at temperature 1,

    θ(s) = V(s) − logsumexp_a γ E[V(s') | s, a]     (θ(s) = V(s) in terminal states),
    Q(s, a) = θ(s) + γ E[V(s') | s, a],

and the Boltzmann logits are Q. The map V ↦ θ is a bijection with Jacobian ``I − γ P_π``
(π = softmax Q, terminal rows zero), so a prior density on R becomes
``p_V(V) = p_R(R(V)) |det(I − γ P_π)| β^{−S}``: the log-determinant is the Jacobian term
(the authors' code leaves it off by default, which changes the posterior).

:func:`value_space_terms` is the whole per-evaluation computation — backup, Gaussian prior on
R, Jacobian term and the logits at the demonstrated states — as ONE jitted function: inside
NUTS it is inlined (XLA fuses it); outside (NumPyro runs the model and its gradient eagerly
while initialising) it compiles once instead of once per primitive.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from bayesirl._typing import Array
from bayesirl.data.mdp import MDP
from bayesirl.solvers._linear import dense_system, expected_next_values

__all__ = [
    "ValueSpaceReward",
    "ValueSpaceTerms",
    "ValueSpaceWhitening",
    "reward_from_values",
    "value_space_log_posterior",
    "value_space_terms",
]


class ValueSpaceReward(NamedTuple):
    """The reward, logits and Jacobian term recovered from soft values.

    Attributes:
        reward: (S,) θ = β·R, the scaled state reward.
        logits: (S, A) Boltzmann logits (soft Q of θ at temperature 1).
        log_abs_det_jacobian: () ``log |det ∂θ/∂V| = log |det(I − γ P_π)|``.
    """

    reward: Array
    logits: Array
    log_abs_det_jacobian: Array


def reward_from_values(mdp: MDP, values: Array) -> ValueSpaceReward:
    """Recover θ = β·R, the logits and the log-Jacobian from soft values V (one backup).

    Args:
        mdp: the MDP (state rewards; S small enough for a dense (S, S) log-determinant).
        values: (S,) soft values of θ at temperature 1.

    Returns:
        :class:`ValueSpaceReward`. Differentiable in ``values``.

    Source: Bajgar et al. 2024 (ValueWalk), with the change-of-variables term.
    """
    gamma = mdp.discount.astype(values.dtype)
    cont = gamma * expected_next_values(mdp, values)  # (S, A), zero in terminal states
    lse = jax.nn.logsumexp(cont, axis=-1)
    theta = values - jnp.where(mdp.terminal, 0.0, lse)
    logits = theta[:, None] + cont
    policy = jax.nn.softmax(logits, axis=-1)
    _, logdet = jnp.linalg.slogdet(dense_system(mdp, policy))
    return ValueSpaceReward(theta, logits, logdet)


class ValueSpaceTerms(NamedTuple):
    """The pieces of the value-space log posterior at one V.

    Attributes:
        reward: (S,) the state reward R = θ/β.
        log_prior: () ``Σ_s log N(R(s); 0, prior_scale²) + log|det(I − γ P_π)| − S log β``,
            the prior density of R carried to V (change of variables).
        logits: (P, A) Boltzmann logits (soft Q of θ) at the demonstrated states.
    """

    reward: Array
    log_prior: Array
    logits: Array


class ValueSpaceWhitening(NamedTuple):
    """An affine reparameterisation ``V = loc + scale_tril @ z`` of the soft values.

    With ``loc`` the posterior mode and ``scale_tril`` a Cholesky factor of the Laplace
    covariance, z is roughly standard normal a posteriori, so NUTS needs short trajectories
    (the constant Jacobian ``|det scale_tril|`` leaves the posterior of V unchanged).

    Attributes:
        loc: (S,) shift (soft-value units).
        scale_tril: (S, S) lower-triangular, non-singular.
    """

    loc: Array
    scale_tril: Array


@jax.jit
def value_space_terms(mdp: MDP, values: Array, states: Array, prior_scale, beta) -> ValueSpaceTerms:
    """Reward, prior-with-Jacobian term and demonstrated-state logits from soft values V.

    Args:
        mdp: the MDP (state rewards).
        values: (S,) soft values of θ = β·R at temperature 1.
        states: (P,) int demonstrated states.
        prior_scale: () standard deviation of the Gaussian prior on each state reward.
        beta: () rationality β > 0 (fixed).

    Returns:
        :class:`ValueSpaceTerms`. Jitted; differentiable in ``values``.

    Source: Bajgar et al. 2024 (ValueWalk), with the change-of-variables term.
    """
    rec = reward_from_values(mdp, values)
    dtype = values.dtype
    beta = jnp.asarray(beta, dtype)
    scale = jnp.asarray(prior_scale, dtype)
    reward = rec.reward / beta
    z = reward / scale
    S = values.shape[-1]
    log_normal = -0.5 * jnp.sum(z * z) - S * (jnp.log(scale) + 0.5 * jnp.log(2 * jnp.pi))
    log_prior = log_normal + rec.log_abs_det_jacobian - S * jnp.log(beta)
    return ValueSpaceTerms(reward, log_prior, rec.logits[states])


def value_space_log_posterior(mdp: MDP, values: Array, states: Array, actions: Array,
                              prior_scale, beta) -> Array:
    """Unnormalised log posterior density of V: prior (with Jacobian) plus Boltzmann log likelihood.

    Args:
        mdp: the MDP.
        values: (S,) soft values.
        states, actions: (P,) int demonstrated state-action pairs.
        prior_scale, beta: as in :func:`value_space_terms`.

    Returns:
        () ``log p(V) + Σ_i log softmax(Q(s_i, ·))[a_i]`` — the log joint of
        ``value_space_irl_model`` (NumPyro's potential is its negative).
    """
    terms = value_space_terms(mdp, values, states, prior_scale, beta)
    log_pi = jax.nn.log_softmax(terms.logits, axis=-1)
    return terms.log_prior + jnp.sum(jnp.take_along_axis(log_pi, actions[:, None], axis=-1))
