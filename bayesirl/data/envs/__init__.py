"""Environments: a random-colour gridworld and an importer for gymnasium toy-text MDPs.

Both return an :class:`Environment`: the :class:`~bayesirl.data.mdp.MDP` plus the environment's own
("true") reward, so experiments can measure policy loss against the truth.
"""

from bayesirl.data.envs.base import Environment
from bayesirl.data.envs.registry import make_environment
from bayesirl.data.envs.gridworld import gridworld, random_reward_weights
from bayesirl.data.envs.gymnasium import from_gymnasium

__all__ = [
    "Environment",
    "make_environment",
    "gridworld",
    "random_reward_weights",
    "from_gymnasium",
]
