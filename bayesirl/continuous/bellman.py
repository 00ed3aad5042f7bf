"""The Bellman equation read backwards: the reward a Q-function implies on one transition.

Written for one transition and batched with ``jax.vmap`` (rlax style). With Q-values
``q = Q(s, ·)`` (A,) and ``q' = Q(s', ·)`` (A,) the implied reward of ``(s, a, s')`` is

    r(s, a, s') = Q(s, a) − γ (1 − done) V(s'),

where ``V(s') = logsumexp(β q') / β`` (soft maximum, the value of the Boltzmann policy's
soft Bellman equation, smooth in q') or ``max_a q'`` (hard maximum), and ``V = 0`` after a
terminal step. This is the reward of ValueWalk (Bajgar, Abate, Gkoulalas-Divanis & Sturm,
UAI 2024, Sec. 4: the posterior is sampled over Q and the reward prior is evaluated at the
implied rewards); on a sampled transition it is an unbiased one-sample estimate of
``Q(s, a) − γ E[V(s') | s, a]`` for stochastic dynamics.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from bayesirl._typing import Array

__all__ = ["state_value", "implied_reward", "implied_rewards"]


def state_value(q: Array, beta: Array | float, soft: bool = True) -> Array:
    """V(s) from Q-values q (A,): ``logsumexp(β q)/β`` if ``soft`` else ``max q``; scalar ()."""
    if q.ndim != 1:
        raise ValueError(f"q: expected Q-values (A,) of one state, got shape {q.shape}")
    if soft:
        return jax.nn.logsumexp(beta * q) / beta
    return jnp.max(q)


def implied_reward(q: Array, action: Array, next_q: Array, done: Array, discount: float,
                   beta: Array | float, soft: bool = True) -> Array:
    """r = Q(s, a) − γ (1 − done) V(s') for one transition; scalar ().

    Args:
        q: (A,) Q-values at s.
        action: () int, the action a taken at s.
        next_q: (A,) Q-values at s'.
        done: () bool, s' is terminal (then V(s') = 0).
        discount: γ in [0, 1).
        beta: rationality β > 0 (the soft maximum's inverse temperature).
        soft: soft (logsumexp) or hard (max) state value.
    """
    value = state_value(next_q, beta, soft)
    return q[action] - discount * jnp.where(done, 0.0, value)


def implied_rewards(q: Array, actions: Array, next_q: Array, dones: Array, discount: float,
                    beta: Array | float, soft: bool = True) -> Array:
    """:func:`implied_reward` over N transitions: q (N, A), actions (N,), next_q (N, A),
    dones (N,) -> (N,) rewards."""
    one = lambda a, b, c, d: implied_reward(a, b, c, d, discount, beta, soft)  # noqa: E731
    return jax.vmap(one)(q, actions, next_q, dones)
