"""Hand-written expert controllers for gymnasium's classic-control and Box2D tasks (no RL, no
neural network).

Each expert gives *action scores* (N, A) for a batch of observations (N, D); its deterministic
policy takes the best-scoring action, and :func:`expert_policy` softens it into a Boltzmann
policy ``softmax(κ · scores)`` or mixes in ε-uniform noise, for stochastic demonstrations.
Policies are ``(N, D) observations -> (N, A) action probabilities``, as
:func:`bayesirl.data.continuous.rollout_transitions` expects.

Measured returns (undiscounted, 100 episodes, ``rollout_transitions(..., seed=0)``, mean ± sd;
``python -m bayesirl.data.experts``):

================  ====================  =================  ===============================
task              deterministic expert  uniformly random   expert
================  ====================  =================  ===============================
CartPole-v1       500.0 ± 0.0           22.6 ± 10.1        linear state feedback
Acrobot-v1        −86.2 ± 28.5          −499.0 ± 6.9       energy pumping, u = θ̇₂ − 0.4 θ̇₁
MountainCar-v0    −119.0 ± 3.8          −200.0 ± 0.0       energy pumping, push along v
LunarLander-v3    227.7 ± 115.0         −182.4 ± 106.0     gymnasium's own heuristic
================  ====================  =================  ===============================

The published expert returns these tasks are usually compared with (trained RL agents) are
about 500, −87 and 269 for CartPole, Acrobot and LunarLander: the LunarLander heuristic is
weaker (it crashes in some episodes), the other two match.

LunarLander needs Box2D (``pip install "gymnasium[box2d]"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from bayesirl._validate import as_float_array, check_scalar

__all__ = ["Expert", "EXPERTS", "expert", "expert_policy", "random_policy"]


class Expert(NamedTuple):
    """A deterministic controller given by action scores.

    Attributes:
        env_id: gymnasium id.
        num_actions: A.
        scores: ``(N, D) observations -> (N, A)`` action scores; the expert takes the argmax
            (the first on ties). Scores are dimensionless, O(1) on typical states.
        description: one line, what the controller does.
    """

    env_id: str
    num_actions: int
    scores: Callable[[np.ndarray], np.ndarray]
    description: str


def _cartpole(obs: np.ndarray) -> np.ndarray:
    # state feedback u = k · (x, ẋ, θ, θ̇); push right (action 1) when u > 0
    u = obs @ np.array([0.1, 0.5, 3.0, 1.0])
    return np.stack([-u, u], axis=-1)


def _acrobot(obs: np.ndarray) -> np.ndarray:
    # torque τ ∈ {−1, 0, +1} adds energy at rate τ·θ̇₂: push along the joint's velocity,
    # relative to the first link's (u = θ̇₂ − 0.4 θ̇₁: fewer stalls than θ̇₂ alone)
    u = obs[:, 5] - 0.4 * obs[:, 4]
    return np.stack([-u, np.zeros_like(u), u], axis=-1)


def _mountain_car(obs: np.ndarray) -> np.ndarray:
    # push along the velocity (in units of the maximum speed 0.07); at rest, push right
    u = obs[:, 1] / 0.07 + 1e-9
    return np.stack([-u, np.zeros_like(u), u], axis=-1)


class _Discrete:
    """What gymnasium's heuristic reads from the environment: a discrete lander."""

    continuous = False

    @property
    def unwrapped(self):
        return self


def _lunar_lander(obs: np.ndarray) -> np.ndarray:
    from gymnasium.envs.box2d.lunar_lander import heuristic

    actions = [heuristic(_Discrete(), o) for o in obs]
    return np.eye(4)[actions]


#: The built-in experts by gymnasium id.
EXPERTS: dict[str, Expert] = {
    "CartPole-v1": Expert("CartPole-v1", 2, _cartpole,
                          "linear state feedback u = 0.1x + 0.5ẋ + 3θ + θ̇; push right if u > 0"),
    "Acrobot-v1": Expert("Acrobot-v1", 3, _acrobot,
                         "energy pumping: torque along u = θ̇₂ − 0.4 θ̇₁"),
    "MountainCar-v0": Expert("MountainCar-v0", 3, _mountain_car,
                             "energy pumping: push along the velocity"),
    "LunarLander-v3": Expert("LunarLander-v3", 4, _lunar_lander,
                             "gymnasium's heuristic lander (Box2D)"),
}


def expert(env_id: str) -> Expert:
    """The built-in :class:`Expert` for a gymnasium id (see :data:`EXPERTS`).

    Raises:
        ValueError: no expert for ``env_id``.
    """
    if env_id not in EXPERTS:
        raise ValueError(f"env_id: no expert for {env_id!r}; expected one of {sorted(EXPERTS)}")
    return EXPERTS[env_id]


def expert_policy(env_id: str, *, kappa: float | None = None,
                  epsilon: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """The expert's policy, ``(N, D) observations -> (N, A) action probabilities``.

    ``kappa=None``: deterministic (one-hot at the best score). ``kappa = κ > 0``: the Boltzmann
    policy ``softmax(κ · scores)``. Then ``epsilon = ε`` mixes in uniform noise:
    ``(1 − ε) π + ε / A``.

    Args:
        env_id: a gymnasium id of :data:`EXPERTS`.
        kappa: inverse temperature on the scores, or None for the deterministic expert.
        epsilon: ε in [0, 1].

    Returns:
        The policy callable.

    Raises:
        ValueError: unknown ``env_id``, κ <= 0, ε outside [0, 1].
    """
    ex = expert(env_id)
    if kappa is not None:
        kappa = float(check_scalar(kappa, "kappa", low=0.0, low_open=True))
    epsilon = float(check_scalar(epsilon, "epsilon", low=0.0, high=1.0))

    def policy(observations: np.ndarray) -> np.ndarray:
        obs = as_float_array(observations, "observations", ndim=2)
        scores = np.asarray(ex.scores(obs), np.float64)
        if kappa is None:
            probs = np.eye(ex.num_actions)[np.argmax(scores, axis=-1)]
        else:
            z = kappa * (scores - scores.max(axis=-1, keepdims=True))
            probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
        return (1.0 - epsilon) * probs + epsilon / ex.num_actions

    return policy


def random_policy(num_actions: int) -> Callable[[np.ndarray], np.ndarray]:
    """The uniformly random policy over A actions, ``(N, D) -> (N, A)`` probabilities ``1/A``.

    Raises:
        ValueError: A < 1.
    """
    A = int(check_scalar(num_actions, "num_actions", low=1, integer=True))
    return lambda observations: np.full((np.shape(observations)[0], A), 1.0 / A)


def _measure(num_episodes: int = 100) -> None:
    from bayesirl.data.continuous import episode_returns, rollout_transitions

    for env_id, ex in EXPERTS.items():
        for name, pol in (("expert", expert_policy(env_id)),
                          ("random", random_policy(ex.num_actions))):
            try:
                r = episode_returns(rollout_transitions(env_id, pol, num_episodes, seed=0))
            except ImportError as err:  # Box2D missing
                print(f"{env_id:16s} {name:7s} skipped ({err})")
                continue
            print(f"{env_id:16s} {name:7s} {r.mean():8.1f} ± {r.std(ddof=1):5.1f}")


if __name__ == "__main__":
    _measure()
