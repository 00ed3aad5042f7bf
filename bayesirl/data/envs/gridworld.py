"""Random-colour gridworlds (Brown & Niekum, AAAI 2018; Abbeel & Ng 2004 style).

Each cell gets one of F colours, drawn uniformly; the features are the one-hot colour, the true
reward is linear in them. Actions: 0 up, 1 down, 2 left, 3 right. With probability
``1 − slip_probability`` the agent moves as intended, otherwise to one of the two perpendicular
directions (half each); a move off the grid stays in place.
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from bayesirl._validate import as_float_array, as_index_array, check_scalar
from bayesirl.data.envs.base import Environment
from bayesirl.data.mdp import make_sparse_mdp

__all__ = ["gridworld", "random_reward_weights", "ACTION_NAMES"]

#: Names of the four gridworld actions, by index.
ACTION_NAMES = ("up", "down", "left", "right")
_MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]])
_PERPENDICULAR = np.array([[2, 3], [2, 3], [0, 1], [0, 1]])


def random_reward_weights(seed: int, num_features: int, norm: str = "l1") -> np.ndarray:
    """Reward weights drawn uniformly on the unit L1 or L2 sphere.

    L1: Laplace(0, 1) draws divided by their L1 norm (Brown & Niekum 2018); L2: Normal draws
    divided by their L2 norm.

    Args:
        seed: numpy seed.
        num_features: F >= 1.
        norm: ``"l1"`` or ``"l2"``.

    Returns:
        (F,) float64 weights.

    Raises:
        ValueError: ``num_features`` < 1 or an unknown ``norm``.
    """
    F = check_scalar(num_features, "num_features", low=1, integer=True)
    rng = np.random.default_rng(seed)
    if norm == "l1":
        z = rng.laplace(size=F)
        return z / np.abs(z).sum()
    if norm == "l2":
        z = rng.normal(size=F)
        return z / np.linalg.norm(z)
    raise ValueError(f"norm: expected 'l1' or 'l2', got {norm!r}")


def gridworld(
    height: int = 5,
    width: int = 5,
    num_features: int = 4,
    slip_probability: float = 0.3,
    terminal_states=None,
    seed: int = 0,
    *,
    discount: float = 0.9,
    initial_states=None,
    weights=None,
    max_episode_steps: int | None = None,
    dtype=None,
) -> Environment:
    """A random-colour gridworld with a linear true reward.

    Args:
        height, width: grid size (states are cells in row-major order, S = height·width).
        num_features: F, the number of colours (one-hot features, shape (S, F)).
        slip_probability: probability of moving perpendicular to the intended direction
            (split evenly between the two), in [0, 1).
        terminal_states: indices of absorbing terminal cells; default none.
        seed: seed for the colours and (when ``weights`` is None) the true weights.
        discount: γ in [0, 1).
        initial_states: indices of the start cells (uniform over them); default all cells.
        weights: (F,) true reward weights; default uniform on the unit L1 sphere.
        max_episode_steps: rollout length for demonstrations; default 2·(height + width).
        dtype: float dtype of the MDP arrays.

    Returns:
        :class:`~bayesirl.data.envs.Environment` with ``true_weights`` set and ``true_reward`` =
        φ w broadcast to (S, A). Every colour appears at least once when S >= F.

    Raises:
        ValueError / TypeError: non-positive sizes, a slip probability outside [0, 1), indices
        out of range, or weights of the wrong length.
    """
    H = check_scalar(height, "height", low=1, integer=True)
    W = check_scalar(width, "width", low=1, integer=True)
    F = check_scalar(num_features, "num_features", low=1, integer=True)
    slip = check_scalar(slip_probability, "slip_probability", low=0.0, high=1.0, high_open=True)
    S = H * W
    rng = np.random.default_rng(seed)
    colours = rng.integers(F, size=S)
    if S >= F:  # make every colour appear so that every weight is identifiable in principle
        colours[rng.permutation(S)[:F]] = np.arange(F)
    features = np.eye(F)[colours]

    rows, cols = np.divmod(np.arange(S), W)
    next_states = np.zeros((S, 4, 3), dtype=np.int64)
    next_probs = np.zeros((S, 4, 3))
    for a in range(4):
        for k, (direction, prob) in enumerate(
            [(a, 1.0 - slip), (_PERPENDICULAR[a, 0], slip / 2), (_PERPENDICULAR[a, 1], slip / 2)]
        ):
            r = np.clip(rows + _MOVES[direction, 0], 0, H - 1)
            c = np.clip(cols + _MOVES[direction, 1], 0, W - 1)
            next_states[:, a, k] = r * W + c
            next_probs[:, a, k] = prob

    if initial_states is None:
        p0 = np.full(S, 1.0 / S)
    else:
        starts = as_index_array(initial_states, "initial_states", S)
        if starts.size == 0:
            raise ValueError("initial_states: expected at least one start state, got none")
        p0 = np.bincount(starts, minlength=S).astype(float)
        p0 /= p0.sum()
    if weights is None:
        w = random_reward_weights(seed + 1, F)
    else:
        w = as_float_array(weights, "weights", ndim=1)
        if w.shape != (F,):
            raise ValueError(f"weights: expected shape (F,) = ({F},), got {w.shape}")
    mdp = make_sparse_mdp(next_states, next_probs, features, discount, p0, terminal_states,
                          dtype=dtype)
    reward = np.broadcast_to((features @ w)[:, None], (S, 4))
    return Environment(
        mdp=mdp,
        true_reward=jnp.asarray(reward, mdp.next_probs.dtype),
        success_states=jnp.zeros(S, bool),
        max_episode_steps=int(max_episode_steps or 2 * (H + W)),
        name=f"gridworld-{H}x{W}",
        grid_shape=(H, W),
        true_weights=jnp.asarray(w, mdp.next_probs.dtype),
    )
