"""What a posterior over Q-functions gives: policies, action log-probabilities and rewards.

A :class:`QPosterior` holds M draws of a Q-network's weights (M = 1 for a point estimate) with
the rationality β of each draw, the observation standardiser, the discount and, for the
variational (AVRIL-style) fit, the reward encoder's variational posterior q(r | s, a).

Policies, for observations (N, D):

* ``"mean_q"``: ``softmax(β̄ · Q̄(s, ·))`` with the posterior-mean Q-values Q̄ (ValueWalk's and
  AVRIL's evaluation act greedily on it);
* ``"predictive"``: the posterior-predictive policy ``(1/M) Σ_m softmax(β_m Q_m(s, ·))``.

Rewards: the implied reward ``r = Q(s, a) − γ V(s')`` of each draw on given transitions
(:mod:`bayesirl.continuous.bellman`), summarised by its posterior mean and sd; with a reward
encoder, its q(r | s, a) instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._typing import Array, ArrayLike
from bayesirl._validate import as_float_array
from bayesirl.continuous.bellman import implied_rewards
from bayesirl.continuous.networks import Standardizer, network_outputs
from bayesirl.data.continuous import Transitions

__all__ = [
    "QPosterior",
    "POLICY_MODES",
    "q_values",
    "action_probabilities",
    "policy_function",
    "action_log_prob",
    "reward_draws",
    "reward_summary",
]

#: The policies a :class:`QPosterior` gives (see the module docstring).
POLICY_MODES = ("mean_q", "predictive")


class QPosterior(NamedTuple):
    """M draws of a Q-function over observations, A discrete actions.

    Attributes:
        network: the template equinox network ``(D,) -> (A,)``.
        draws: its array leaves with a leading draw axis (M, ...).
        beta: (M,) rationality β of each draw.
        standardizer: applied to observations before the network.
        discount: γ of the Bellman equation.
        soft: soft (logsumexp) or hard (max) state value V.
        method: the fit that made it (e.g. ``"value-nuts"``).
        diagnostics: fit diagnostics (e.g. ``{"r_hat": ..., "divergences": ...}``).
        encoder: a reward network ``(D,) -> (2A,)`` (means, then log-sds of q(r | s, ·)), or
            None; ``encoder_draws`` its weights with a leading axis of size 1.
        encoder_draws: see ``encoder``.
    """

    network: eqx.Module
    draws: object
    beta: Array
    standardizer: Standardizer
    discount: float
    soft: bool = True
    method: str = ""
    diagnostics: dict | None = None
    encoder: eqx.Module | None = None
    encoder_draws: object = None

    @property
    def num_draws(self) -> int:
        """M."""
        return int(self.beta.shape[0])


def _observations(observations, posterior) -> Array:
    obs = as_float_array(observations, "observations", ndim=2)
    D = int(posterior.standardizer.loc.shape[0])
    if obs.shape[1] != D:
        raise ValueError(f"observations: expected (N, D) with D = {D}, got shape {obs.shape}")
    return posterior.standardizer(jnp.asarray(obs, jnp.float32))


def q_values(posterior: QPosterior, observations: ArrayLike) -> Array:
    """(M, N, A) Q-values of every draw at observations (N, D).

    Raises:
        ValueError: observations that are not (N, D) finite floats with the posterior's D.
    """
    obs = _observations(observations, posterior)
    return network_outputs(posterior.network, posterior.draws, obs)


@jax.jit
def _mean_q_probs(q, beta):
    return jax.nn.softmax(jnp.mean(beta) * jnp.mean(q, axis=0), axis=-1)


@jax.jit
def _predictive_probs(q, beta):
    return jnp.mean(jax.nn.softmax(beta[:, None, None] * q, axis=-1), axis=0)


def action_probabilities(posterior: QPosterior, observations: ArrayLike,
                         mode: str = "mean_q") -> Array:
    """(N, A) action probabilities at observations (N, D) under the policy ``mode``
    (``"mean_q"`` or ``"predictive"``, see the module docstring).

    Raises:
        ValueError: an unknown ``mode``; observations as :func:`q_values`.
    """
    if mode not in POLICY_MODES:
        raise ValueError(f"mode: expected one of {POLICY_MODES}, got {mode!r}")
    q = q_values(posterior, observations)
    fn = _mean_q_probs if mode == "mean_q" else _predictive_probs
    return fn(q, posterior.beta)


def policy_function(posterior: QPosterior, mode: str = "mean_q",
                    greedy: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """A policy ``(N, D) observations -> (N, A)`` action probabilities for
    :func:`bayesirl.data.continuous.rollout_transitions`: one-hot at the most probable action
    (``greedy``, ties to the first) or the probabilities themselves.

    Raises:
        ValueError: an unknown ``mode``.
    """
    if mode not in POLICY_MODES:
        raise ValueError(f"mode: expected one of {POLICY_MODES}, got {mode!r}")

    def policy(observations):
        probs = np.asarray(action_probabilities(posterior, observations, mode), np.float64)
        if greedy:
            return np.eye(probs.shape[-1])[np.argmax(probs, axis=-1)]
        return probs / probs.sum(axis=-1, keepdims=True)

    return policy


def action_log_prob(posterior: QPosterior, transitions: Transitions, mode: str = "mean_q") -> float:
    """Mean log-probability (nats per action) of the transitions' actions under the policy
    ``mode``: ``(1/N) Σ_n log π(a_n | s_n)`` — e.g. on held-out expert trajectories.

    Raises:
        ValueError: an unknown ``mode``; observations of the wrong size.
    """
    probs = action_probabilities(posterior, transitions.observations, mode)
    picked = jnp.take_along_axis(probs, jnp.asarray(transitions.actions)[:, None], axis=1)
    return float(jnp.mean(jnp.log(jnp.clip(picked, 1e-30, None))))


def reward_draws(posterior: QPosterior, transitions: Transitions) -> Array:
    """(M, N) implied reward ``Q_m(s, a) − γ V_m(s')`` of every draw on N transitions
    (``V = 0`` after a terminal step; soft or hard V as the posterior's ``soft``)."""
    q = q_values(posterior, transitions.observations)
    next_q = q_values(posterior, transitions.next_observations)
    return _reward_draws(q, jnp.asarray(transitions.actions), next_q,
                         jnp.asarray(transitions.dones), posterior.beta,
                         float(posterior.discount), bool(posterior.soft))


@partial(jax.jit, static_argnums=(5, 6))
def _reward_draws(q, actions, next_q, dones, beta, discount, soft):
    def one(qm, nqm, b):
        return implied_rewards(qm, actions, nqm, dones, discount, b, soft)

    return jax.vmap(one)(q, next_q, beta)


def reward_summary(posterior: QPosterior, transitions: Transitions) -> tuple[Array, Array]:
    """Posterior mean and sd of the reward of N transitions, (N,) each.

    With a reward encoder (variational fit) these are the mean and sd of its q(r | s, a);
    otherwise the mean and sd over draws of :func:`reward_draws` (sd 0 for a point estimate).
    """
    if posterior.encoder is None:
        r = reward_draws(posterior, transitions)
        return jnp.mean(r, axis=0), jnp.std(r, axis=0)
    obs = _observations(transitions.observations, posterior)
    out = network_outputs(posterior.encoder, posterior.encoder_draws, obs)[0]
    A = out.shape[-1] // 2
    a = jnp.asarray(transitions.actions)[:, None]
    mean = jnp.take_along_axis(out[:, :A], a, axis=1)[:, 0]
    sd = jnp.exp(jnp.take_along_axis(out[:, A:], a, axis=1)[:, 0])
    return mean, sd
