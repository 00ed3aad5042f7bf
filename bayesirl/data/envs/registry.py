"""Environments by name: the random gridworld and gymnasium toy-text environments."""

from __future__ import annotations

from bayesirl.data.envs.base import Environment
from bayesirl.data.envs.gridworld import gridworld
from bayesirl.data.envs.gymnasium import from_gymnasium

__all__ = ["make_environment"]


def make_environment(name: str, *, seed: int = 0, discount: float | None = None, **kwargs) -> Environment:
    """Build an environment by name: ``"gridworld"`` or a gymnasium toy-text id.

    Args:
        name: ``"gridworld"`` (keyword arguments go to :func:`~bayesirl.data.envs.gridworld`) or a
            gymnasium id such as ``"FrozenLake8x8-v1"``, ``"Taxi-v4"``, ``"CliffWalking-v1"``.
        seed: seed of the random gridworld (ignored for gymnasium environments).
        discount: γ; default 0.9 for gridworlds and 0.95 for gymnasium environments.

    Raises:
        ValueError: unknown name, or an environment without a transition model.
        ImportError: gymnasium is not installed (``pip install bayesirl[gym]``).
    """
    if name == "gridworld":
        return gridworld(seed=seed, discount=0.9 if discount is None else discount, **kwargs)
    return from_gymnasium(name, discount=0.95 if discount is None else discount, **kwargs)


