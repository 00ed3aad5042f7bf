"""The :class:`Environment` record and helpers shared by all environments."""

from __future__ import annotations

from typing import NamedTuple


from bayesirl._typing import Array
from bayesirl.mdp import MDP

__all__ = ["Environment", "make_environment"]


class Environment(NamedTuple):
    """An MDP with its known ("true") reward, for experiments and synthetic demonstrations.

    Attributes:
        mdp: the MDP (features are what the learner sees).
        true_reward: (S, A) expected immediate reward ``R(s, a) = Σ_s' P[s, a, s'] r(s, a, s')``.
        success_states: (S,) bool, terminal states that count as success (e.g. FrozenLake's
            goal); all False when the environment has no notion of success.
        max_episode_steps: episode length limit used for rollouts and success rates.
        name: the environment's name (e.g. ``"FrozenLake8x8-v1"``).
        grid_shape: (height, width) when states are grid cells in row-major order, else None.
        true_weights: (F,) weights with ``φ w = true_reward`` when the truth is linear in the
            features (gridworlds), else None.
    """

    mdp: MDP
    true_reward: Array
    success_states: Array
    max_episode_steps: int
    name: str
    grid_shape: tuple[int, int] | None = None
    true_weights: Array | None = None


def make_environment(name: str, *, seed: int = 0, discount: float | None = None, **kwargs) -> Environment:
    """Build an environment by name: ``"gridworld"`` or a gymnasium toy-text id.

    Args:
        name: ``"gridworld"`` (keyword arguments go to :func:`~bayesirl.envs.gridworld`) or a
            gymnasium id such as ``"FrozenLake8x8-v1"``, ``"Taxi-v4"``, ``"CliffWalking-v1"``.
        seed: seed of the random gridworld (ignored for gymnasium environments).
        discount: γ; default 0.9 for gridworlds and 0.95 for gymnasium environments.

    Raises:
        ValueError: unknown name, or an environment without a transition model.
        ImportError: gymnasium is not installed (``pip install bayesirl[gym]``).
    """
    from bayesirl.envs.gridworld import gridworld
    from bayesirl.envs.gymnasium import from_gymnasium

    if name == "gridworld":
        return gridworld(seed=seed, discount=0.9 if discount is None else discount, **kwargs)
    return from_gymnasium(name, discount=0.95 if discount is None else discount, **kwargs)


