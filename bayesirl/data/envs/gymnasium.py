"""Import gymnasium toy-text environments that expose their transition model ``env.unwrapped.P``.

``P[s][a]`` is a list of ``(probability, next_state, reward, terminated)`` tuples (FrozenLake-v1,
FrozenLake8x8-v1, Taxi-v4, CliffWalking-v1, and any environment with the same interface).
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from bayesirl.data.envs.base import Environment
from bayesirl.data.mdp import make_sparse_mdp

__all__ = ["from_gymnasium"]

#: Rollout length used when the environment registers no time limit.
DEFAULT_MAX_EPISODE_STEPS = 200


def from_gymnasium(env, *, discount: float = 0.95, features=None, dtype=None, **make_kwargs) -> Environment:
    """Build an :class:`~bayesirl.data.envs.Environment` from a gymnasium toy-text environment.

    * Transition probabilities from ``env.unwrapped.P`` (repeated successors merged).
    * The true reward is the expected immediate reward ``R(s, a) = Σ p·r`` (shape (S, A)).
    * A state is *terminal* (absorbing) when some transition into it ends the episode
      (``terminated``); e.g. FrozenLake's holes and goal. The environment's own transitions out
      of terminal states are never used.
    * *Success* states: the terminal states entered with the largest terminating reward (the
      goal of FrozenLake and CliffWalking, a successful drop-off in Taxi).
    * Initial distribution from ``env.unwrapped.initial_state_distrib``.
    * Default features: one-hot states (S, S), i.e. a tabular state reward.

    Args:
        env: a gymnasium environment, or an environment id for ``gymnasium.make``.
        discount: γ in [0, 1).
        features: optional (S, F) or (S, A, F) features; default the identity.
        dtype: float dtype of the MDP arrays.
        **make_kwargs: passed to ``gymnasium.make`` when ``env`` is an id (e.g.
            ``is_slippery=False``).

    Returns:
        The environment record.

    Raises:
        ImportError: gymnasium is not installed (``pip install "bayesirl[gym]"``).
        ValueError: unknown id, or an environment without ``unwrapped.P`` over discrete
            observation and action spaces.
    """
    env = _make(env, make_kwargs)
    unwrapped = getattr(env, "unwrapped", env)
    name = env.spec.id if getattr(env, "spec", None) is not None else type(unwrapped).__name__
    next_states, next_probs, reward, done_reward = _read_transitions(env, unwrapped, name)
    isd = getattr(unwrapped, "initial_state_distrib", None)
    if isd is None:
        raise ValueError(f"env: {name} has no initial_state_distrib to take p0 from")
    terminal = np.isfinite(done_reward)
    success = np.zeros(terminal.shape, bool)
    if terminal.any():
        success = terminal & (done_reward == done_reward[terminal].max())
    mdp = make_sparse_mdp(next_states, next_probs, features, discount,
                          np.asarray(isd, float) / np.sum(isd), terminal, dtype=dtype)
    limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
    return Environment(
        mdp=mdp,
        true_reward=jnp.asarray(reward, mdp.next_probs.dtype),
        success_states=jnp.asarray(success),
        max_episode_steps=int(limit or DEFAULT_MAX_EPISODE_STEPS),
        name=name,
        grid_shape=_grid_shape(unwrapped, mdp.num_states),
        true_weights=None,
    )


def _make(env, make_kwargs: dict):
    """``env`` itself, or ``gymnasium.make(env, **make_kwargs)`` for an id."""
    if not isinstance(env, str):
        return env
    try:
        import gymnasium
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            'env: gymnasium is needed for gymnasium environments: pip install "bayesirl[gym]"'
        ) from err
    try:
        return gymnasium.make(env, **make_kwargs)
    except gymnasium.error.Error as err:
        raise ValueError(f"env: {env!r} is not a gymnasium environment id ({err})") from err


def _read_transitions(env, unwrapped, name: str):
    """Sparse transitions of ``unwrapped.P`` (repeated successors merged).

    Returns ``(next_states (S, A, K), next_probs (S, A, K), reward (S, A), done_reward (S,))``:
    the expected immediate reward, and for each state the largest reward of a terminating
    transition into it (−inf when none enters it: not terminal).
    """
    P = getattr(unwrapped, "P", None)
    if not isinstance(P, dict) or not P:
        raise ValueError(
            f"env: {name} does not expose a tabular transition model env.unwrapped.P "
            "(dict state -> action -> [(prob, next_state, reward, terminated)])"
        )
    S = int(env.observation_space.n) if hasattr(env.observation_space, "n") else len(P)
    A = int(env.action_space.n) if hasattr(env.action_space, "n") else len(P[next(iter(P))])
    succ: list[list[dict[int, float]]] = [[{} for _ in range(A)] for _ in range(S)]
    reward = np.zeros((S, A))
    done_reward = np.full(S, -np.inf)
    for s in range(S):
        for a in range(A):
            for prob, s2, r, terminated in P[s][a]:
                s2 = int(s2)
                succ[s][a][s2] = succ[s][a].get(s2, 0.0) + float(prob)
                reward[s, a] += float(prob) * float(r)
                if terminated and prob > 0:
                    done_reward[s2] = max(done_reward[s2], float(r))
    K = max(len(d) for row in succ for d in row)
    next_states = np.zeros((S, A, K), np.int64)
    next_probs = np.zeros((S, A, K))
    for s in range(S):
        for a in range(A):
            for k, (s2, p) in enumerate(sorted(succ[s][a].items())):
                next_states[s, a, k], next_probs[s, a, k] = s2, p
    next_probs /= next_probs.sum(-1, keepdims=True)  # remove float round-off in the env's P
    return next_states, next_probs, reward, done_reward


def _grid_shape(unwrapped, num_states: int):
    """(rows, columns) of a grid environment (from ``desc`` or ``shape``), or None."""
    desc = getattr(unwrapped, "desc", None)
    shape = getattr(unwrapped, "shape", None)
    for candidate in (np.asarray(desc).shape if desc is not None else None, shape):
        if candidate is not None and len(candidate) == 2 and int(np.prod(candidate)) == num_states:
            return (int(candidate[0]), int(candidate[1]))
    return None
