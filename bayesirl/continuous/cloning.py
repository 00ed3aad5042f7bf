"""Behavioural cloning: the control that every reward posterior should beat or match.

A softmax policy network ``π(a | s) = softmax(f_θ(s))_a`` of the same architecture as the
Q-networks is fit by maximum likelihood on the expert's actions (full-batch Adam, optax) with
an L2 penalty ``λ/2 ‖θ‖²`` (the MAP under a Normal(0, 1/λ) weight prior). The result is a
:class:`~bayesirl.continuous.posterior.QPosterior` with one draw and β = 1, whose "Q-values" are
the policy's logits: it has a policy but no reward (the implied reward of logits means
nothing).
"""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp

from bayesirl._validate import check_scalar
from bayesirl.continuous.networks import fit_standardizer, make_network
from bayesirl.continuous.optimize import train_full_batch
from bayesirl.continuous.posterior import QPosterior
from bayesirl.data.continuous import Transitions

__all__ = ["fit_cloning"]


def fit_cloning(transitions: Transitions, *, width: int = 8, depth: int = 1,
                weight_decay: float = 1e-3, num_steps: int = 2000, learning_rate: float = 0.01,
                seed: int = 0) -> QPosterior:
    """Behavioural cloning by penalised maximum likelihood (module docstring).

    Args:
        transitions: N expert transitions (only observations and actions are used).
        width, depth: hidden layers of the policy network.
        weight_decay: λ >= 0 of the L2 penalty, per transition (the loss is the mean negative
            log-likelihood plus ``λ/2 ‖θ‖² / N``).
        num_steps: full-batch Adam steps.
        learning_rate: Adam step size.
        seed: initial weights.

    Returns:
        :class:`~bayesirl.continuous.posterior.QPosterior` with M = 1, β = 1, the logits as
        Q-values, and diagnostics ``final_loss`` and ``wall_s``.

    Raises:
        ValueError: a negative ``weight_decay``; non-positive steps.
    """
    check_scalar(weight_decay, "weight_decay", low=0.0)
    num_steps = int(check_scalar(num_steps, "num_steps", low=1, integer=True))
    start = time.perf_counter()
    network = make_network(transitions.observation_size, transitions.num_actions, width=width,
                           depth=depth, seed=seed)
    standardizer = fit_standardizer(transitions.observations)
    obs = standardizer(jnp.asarray(transitions.observations, jnp.float32))
    actions = jnp.asarray(transitions.actions)
    params, static = eqx.partition(network, eqx.is_array)
    N = obs.shape[0]

    def loss(p):
        logits = jax.vmap(eqx.combine(p, static))(obs)
        nll = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), actions[:, None], 1))
        l2 = sum(jnp.sum(x ** 2) for x in jax.tree_util.tree_leaves(p))
        return nll + 0.5 * weight_decay * l2 / N

    params, losses = train_full_batch(loss, params, num_steps, learning_rate)
    draws = jax.tree_util.tree_map(lambda x: x[None], params)
    diagnostics = {"final_loss": float(losses[-1]), "wall_s": time.perf_counter() - start}
    return QPosterior(network, draws, jnp.ones((1,)), standardizer, 0.0, True, "cloning",
                      diagnostics)
