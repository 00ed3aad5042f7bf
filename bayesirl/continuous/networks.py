"""Small Q-networks (equinox MLPs) over standardised observations, and their weight draws.

A Q-network maps one observation (D,) to A Q-values (A,): ``tanh`` hidden layers (smooth, so
NUTS sees no kinks), a linear output. Observations are standardised first with the
demonstrations' per-coordinate mean and standard deviation (:class:`Standardizer`), so one
weight prior suits every task. Posterior draws of the weights are kept as the network's array
leaves with a leading draw axis (M, ...): :func:`stack_draws` builds them from NumPyro samples
of :func:`numpyro.contrib.module.random_eqx_module` sites, :func:`network_outputs` evaluates
all draws at once.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._typing import Array, ArrayLike
from bayesirl._validate import as_float_array, check_scalar

__all__ = [
    "Standardizer",
    "fit_standardizer",
    "make_network",
    "site_names",
    "stack_draws",
    "network_outputs",
]

#: A coordinate whose standard deviation is below this is constant: it is centred, not scaled.
MIN_SCALE = 1e-6


class Standardizer(NamedTuple):
    """Affine map ``(o − loc) / scale`` applied to observations before a network.

    Attributes:
        loc: (D,) per-coordinate mean.
        scale: (D,) per-coordinate standard deviation (1 for a constant coordinate).
    """

    loc: Array
    scale: Array

    def __call__(self, observations: Array) -> Array:
        """(..., D) observations -> (..., D) standardised observations."""
        return (observations - self.loc) / self.scale


def fit_standardizer(observations: ArrayLike) -> Standardizer:
    """The :class:`Standardizer` of (N, D) observations (mean and sd of each coordinate).

    Raises:
        ValueError: not a 2-D finite array with N >= 1.
    """
    obs = as_float_array(observations, "observations", ndim=2)
    if obs.shape[0] == 0:
        raise ValueError("observations: expected at least one observation, got none")
    sd = obs.std(axis=0)
    scale = np.where(sd < MIN_SCALE, 1.0, sd)
    return Standardizer(jnp.asarray(obs.mean(axis=0), jnp.float32), jnp.asarray(scale, jnp.float32))


def make_network(observation_size: int, num_actions: int, *, width: int = 8, depth: int = 1,
                 seed: int = 0) -> eqx.nn.MLP:
    """An MLP ``(D,) -> (A,)`` with ``depth`` tanh hidden layers of ``width`` units.

    Bajgar et al. (UAI 2024) use one hidden layer of 8 units for CartPole and 16 for Acrobot.

    Args:
        observation_size: D >= 1.
        num_actions: A >= 1.
        width: hidden units per layer (>= 1).
        depth: hidden layers (>= 0; 0 is a linear Q-function).
        seed: initial weights (equinox's default initialisation).

    Raises:
        ValueError / TypeError: sizes that are not positive integers.
    """
    D = check_scalar(observation_size, "observation_size", low=1, integer=True)
    A = check_scalar(num_actions, "num_actions", low=1, integer=True)
    W = check_scalar(width, "width", low=1, integer=True)
    depth = check_scalar(depth, "depth", low=0, integer=True)
    return eqx.nn.MLP(D, A, W, depth, activation=jnp.tanh, key=jax.random.key(seed))


def _leaf_paths(network) -> list[str]:
    leaves = jax.tree_util.tree_leaves_with_path(eqx.filter(network, eqx.is_array))
    return [jax.tree_util.keystr(path)[1:] for path, _ in leaves]


def site_names(name: str, network) -> list[str]:
    """The NumPyro sample-site names that ``random_eqx_module(name, network, ...)`` creates,
    one per array leaf, in leaf order (e.g. ``"q/layers[0].weight"``)."""
    return [f"{name}/{p}" for p in _leaf_paths(network)]


def stack_draws(name: str, network, samples: dict) -> object:
    """The network's array leaves replaced by posterior draws with a leading axis (M, ...).

    Args:
        name: the module name given to ``random_eqx_module``.
        network: the template network.
        samples: NumPyro samples by site name, each of shape (M, ...) with the leaf's own shape after M (``group_by_chain=False``).

    Returns:
        The parameter pytree of ``eqx.partition(network, eqx.is_array)`` with (M, ...) leaves.

    Raises:
        ValueError: a site is missing or its draws do not match the leaf shape.
    """
    params, _ = eqx.partition(network, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten(params)
    out = []
    for site, leaf in zip(site_names(name, network), leaves):
        if site not in samples:
            raise ValueError(f"samples: no draws for the network site {site!r}")
        draws = jnp.asarray(samples[site])
        if draws.shape[1:] != leaf.shape:
            raise ValueError(f"samples: {site!r} has draws of shape {draws.shape}, expected "
                             f"(M, *{leaf.shape})")
        out.append(draws)
    return jax.tree_util.tree_unflatten(treedef, out)


@eqx.filter_jit
def network_outputs(network, draws, observations: Array) -> Array:
    """All draws of a network on a batch: (M, N, A) outputs.

    Args:
        network: the template network (its static structure is used).
        draws: the array leaves with a leading draw axis (M, ...) (:func:`stack_draws`).
        observations: (N, D) inputs (already standardised).
    """
    _, static = eqx.partition(network, eqx.is_array)

    def one(params):
        return jax.vmap(eqx.combine(params, static))(observations)

    return jax.vmap(one)(draws)
