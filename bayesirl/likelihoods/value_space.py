"""A value-space parameterisation of per-state rewards (ValueWalk; Bajgar et al., UAI 2024).

Sampling the soft state values V instead of the reward makes every likelihood evaluation a
single backup — no MDP solve: with θ = β·R a state reward and soft Q at temperature 1,

    θ(s) = V(s) − logsumexp_a γ E[V(s') | s, a]     (θ(s) = V(s) in terminal states),
    Q(s, a) = θ(s) + γ E[V(s') | s, a],

and the Boltzmann logits are Q. The map V ↦ θ is a bijection with Jacobian ``I − γ P_π``
(π = softmax Q, terminal rows zero), so a prior density on R becomes
``p_V(V) = p_R(R(V)) |det(I − γ P_π)| β^{−S}``: the log-determinant is the Jacobian term
(the authors' code leaves it off by default, which changes the posterior).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from bayesirl._typing import Array
from bayesirl.data.mdp import MDP
from bayesirl.solvers._linear import dense_system, expected_next_values

__all__ = ["ValueSpaceReward", "reward_from_values"]


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
