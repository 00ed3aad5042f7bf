"""Learned features for the trajectory path: a fitted Q-network's last hidden layer as φ(o).

Bayesian REX (Brown et al., ICML 2020) puts a linear reward ``w · φ(o)`` over features that a
network learned from the demonstrations, and samples w cheaply from preferences because the
trajectories' feature counts ``Φ(τ) = Σ_t γ^t φ(o_t)`` are computed once. Here the network is a
Q-network fitted to expert transitions (:func:`~bayesirl.continuous.fit_cloning`,
:func:`~bayesirl.continuous.fit_variational` or one draw of
:func:`~bayesirl.continuous.fit_value_space`): its last hidden layer (H tanh units) is the
feature map, so the Q-values are already linear in it. :func:`trajectory_features` turns the
episodes of any transitions (demonstrations, D-REX noise ladders, a user's logs) into
:class:`~bayesirl.data.trajectories.Trajectories`, which
:func:`~bayesirl.inference.fit.fit_trajectories` fits with preferences, rankings and
demonstrations jointly, and which the trajectory bounds evaluate held-out policies on
(:mod:`bayesirl.analysis.performance`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._validate import as_float_array, check_scalar
from bayesirl.continuous.posterior import QPosterior
from bayesirl.data.continuous import Transitions
from bayesirl.data.trajectories import Trajectories, make_trajectories

__all__ = ["learned_features", "trajectory_features", "feature_names"]


def _one_draw(posterior: QPosterior, draw: int):
    M = posterior.num_draws
    draw = check_scalar(draw, "draw", low=-M, high=M - 1, integer=True)
    params = jax.tree_util.tree_map(lambda leaf: leaf[draw], posterior.draws)
    _, static = eqx.partition(posterior.network, eqx.is_array)
    return eqx.combine(params, static)


def _feature_map(network):
    """The network without its output layer: (D,) -> (H,) (the identity when depth is 0)."""
    if network.depth == 0:
        return lambda x: x
    width = network.width_size
    identity = eqx.nn.Linear(width, width, key=jax.random.key(0))
    identity = eqx.tree_at(lambda lin: (lin.weight, lin.bias), identity,
                           (jnp.eye(width, dtype=jnp.float32), jnp.zeros(width, jnp.float32)))
    return eqx.tree_at(lambda m: m.layers[-1], network, identity)


def learned_features(posterior: QPosterior, observations, *, draw: int = 0) -> np.ndarray:
    """Per-observation features φ(o): the last hidden layer of one draw's Q-network.

    Args:
        posterior: a fitted :class:`QPosterior` (M draws; point fits have M = 1).
        observations: (N, D) raw observations (standardised here as in the fit).
        draw: which draw's network (weights are identified only up to permutations of the
            hidden units, so draws are not averaged).

    Returns:
        (N, H) float64 features in [−1, 1] (tanh units), H the network's hidden width; the
        standardised observations (N, D) for a linear Q-network (depth 0).

    Raises:
        ValueError: observations that are not (N, D) finite floats with the posterior's D, or
            ``draw`` outside [−M, M).
    """
    obs = as_float_array(observations, "observations", ndim=2)
    D = int(posterior.standardizer.loc.shape[0])
    if obs.shape[1] != D:
        raise ValueError(f"observations: expected (N, D) with D = {D}, got shape {obs.shape}")
    obs = posterior.standardizer(jnp.asarray(obs, jnp.float32))
    features = jax.vmap(_feature_map(_one_draw(posterior, draw)))(obs)
    return np.asarray(features, np.float64)


def feature_names(posterior: QPosterior, *, include_step: bool = True) -> list[str]:
    """Names of :func:`trajectory_features`' columns: ``"step"`` first (if included), then
    ``"h0"``, ``"h1"``, … (hidden units) or ``"o0"``, … (standardised observations)."""
    network = posterior.network
    if network.depth == 0:
        names = [f"o{i}" for i in range(int(posterior.standardizer.loc.shape[0]))]
    else:
        names = [f"h{i}" for i in range(network.width_size)]
    return (["step"] if include_step else []) + names


def trajectory_features(posterior: QPosterior, transitions: Transitions, *, draw: int = 0,
                        discount: float = 1.0, include_step: bool = True) -> Trajectories:
    """The episodes of ``transitions`` as trajectories over learned features.

    Each episode (in order of first appearance) becomes one trajectory with per-step features
    ``[1, φ(o_t)]`` (``include_step``: a constant 1 per step, so that rewards per step, e.g.
    −1 until a goal, are in the span) and feature counts ``Φ = Σ_t γ^t φ_t``. Undiscounted
    returns are attached when the transitions record rewards (for evaluation only).

    Args:
        posterior: a fitted :class:`QPosterior` whose network gives the features.
        transitions: E episodes, N steps in all, with the posterior's observation size D.
        draw: which draw's network (see :func:`learned_features`).
        discount: γ in (0, 1] of the feature counts.
        include_step: prepend the constant step feature.

    Returns:
        :class:`~bayesirl.data.trajectories.Trajectories` with E trajectories, T = the longest
        episode's length, F = H (+ 1) features named by :func:`feature_names`.

    Raises:
        ValueError: observations of the wrong size, ``draw`` out of range, or ``discount``
            outside (0, 1].
        TypeError: ``transitions`` that is not a :class:`~bayesirl.data.continuous.Transitions`.
    """
    if not isinstance(transitions, Transitions):
        raise TypeError("transitions: expected bayesirl.data.continuous.Transitions, got "
                        f"{type(transitions).__name__}")
    discount = float(check_scalar(discount, "discount", low=0.0, high=1.0, low_open=True))
    phi = learned_features(posterior, transitions.observations, draw=draw)
    if include_step:
        phi = np.concatenate([np.ones((phi.shape[0], 1)), phi], axis=1)
    episodes = transitions.episodes
    rows = [np.nonzero(transitions.episode_ids == e)[0] for e in episodes]
    T = max(len(r) for r in rows)
    features = np.zeros((len(rows), T, phi.shape[1]))
    mask = np.zeros((len(rows), T), bool)
    for i, r in enumerate(rows):
        features[i, :len(r)] = phi[r]
        mask[i, :len(r)] = True
    returns = None
    if transitions.rewards is not None:
        returns = np.array([transitions.rewards[r].sum() for r in rows])
    return make_trajectories(features=features, mask=mask, returns=returns, discount=discount,
                             feature_names=feature_names(posterior, include_step=include_step))
