"""The :class:`Environment` record and helpers shared by all environments."""

from __future__ import annotations

from typing import NamedTuple

from bayesirl._typing import Array
from bayesirl.data.mdp import MDP

__all__ = ["Environment"]


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
