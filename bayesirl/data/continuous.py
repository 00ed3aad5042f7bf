"""Transitions of continuous-state environments with discrete actions, and their file format.

A :class:`Transitions` holds N observed steps ``(o_t, a_t, o_{t+1}, done_t)`` of any gymnasium
environment whose observations are vectors of D floats and whose actions are A discrete
choices (CartPole, Acrobot, LunarLander, MountainCar). It is what reward models without
hand-made features need (:mod:`bayesirl.continuous`): the expert's actions for the Boltzmann
likelihood and the successor observations for the Bellman equation
``r(s, a) = Q(s, a) − γ V(s')``. ``dones`` marks *termination* (the episode ended in a terminal
state, where ``V(s') = 0``), never truncation by a time limit (the successor then still has a
value). Steps of one episode are consecutive rows, in time order, with one episode id.

Continuous actions are not supported yet: the next step is ``actions`` (N, U) floats with the
action bounds, and a likelihood over a continuous action space (e.g. a sampled or Sobol set of
candidate actions, as Bajgar et al. 2024 do for ValueWalk).

File format (``.npz``, written by :func:`save_transitions`)
-----------------------------------------------------------
======================  ===========  ====================================================
key                     shape/dtype  meaning
======================  ===========  ====================================================
``format``              str          ``"bayesirl.transitions/1"``
``observations``        (N, D) f64   observation before the action
``actions``             (N,) int     action index in [0, A)
``next_observations``   (N, D) f64   observation after the action
``dones``               (N,) bool    the step ended the episode in a terminal state
``episode_ids``         (N,) int     episode of each step (steps of one episode consecutive)
``num_actions``         () int       A, the number of discrete actions
``rewards``             (N,) f64     environment rewards (optional, evaluation only)
``env_id``              str          gymnasium id (optional)
======================  ===========  ====================================================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from bayesirl._io import atomic_path
from bayesirl._validate import as_float_array, check_scalar

__all__ = [
    "Transitions",
    "make_transitions",
    "select_episodes",
    "episode_returns",
    "rollout_transitions",
    "save_transitions",
    "load_transitions",
]

_FORMAT = "bayesirl.transitions/1"
_REQUIRED = ("format", "observations", "actions", "next_observations", "dones", "episode_ids",
             "num_actions")
_KEYS = _REQUIRED + ("rewards", "env_id")
#: Episode cap when neither ``max_steps`` nor the environment's time limit gives one.
DEFAULT_MAX_STEPS = 1000


class Transitions(NamedTuple):
    """N observed steps of a continuous-state environment with A discrete actions (immutable).

    Attributes:
        observations: (N, D) float, the observation ``o_t`` before each action.
        actions: (N,) int, the action index ``a_t`` in [0, A).
        next_observations: (N, D) float, the observation ``o_{t+1}`` after it.
        dones: (N,) bool, True where the step *terminated* the episode (``V(o_{t+1}) = 0``);
            False at a truncation by a time limit.
        episode_ids: (N,) int, the episode of each step; the steps of one episode are
            consecutive rows in time order.
        num_actions: A.
        rewards: (N,) environment rewards (evaluation only), or None.
        env_id: gymnasium id, or None.
    """

    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    dones: np.ndarray
    episode_ids: np.ndarray
    num_actions: int
    rewards: np.ndarray | None = None
    env_id: str | None = None

    @property
    def num_transitions(self) -> int:
        """N."""
        return int(self.actions.shape[0])

    @property
    def observation_size(self) -> int:
        """D."""
        return int(self.observations.shape[1])

    @property
    def episodes(self) -> np.ndarray:
        """The distinct episode ids, in order of first appearance."""
        ids, first = np.unique(self.episode_ids, return_index=True)
        return ids[np.argsort(first)]


def _int_array(value, name: str) -> np.ndarray:
    raw = np.asarray(value)
    if raw.dtype.kind == "b" or raw.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected integers, got dtype {raw.dtype}")
    if raw.dtype.kind == "f" and not (np.isfinite(raw).all() and (raw == np.round(raw)).all()):
        raise TypeError(f"{name}: expected integers, got non-integer values")
    if raw.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array (N,), got shape {raw.shape}")
    return raw.astype(np.int64)


def _check_dones(dones, N: int) -> np.ndarray:
    raw = np.asarray(dones)
    if raw.dtype.kind != "b":
        raise TypeError(f"dones: expected booleans (N,), got dtype {raw.dtype}")
    if raw.shape != (N,):
        raise ValueError(f"dones: expected shape (N,) = ({N},), got {raw.shape}")
    return raw.copy()


def _check_episodes(ids: np.ndarray, dones: np.ndarray) -> None:
    starts = np.r_[True, ids[1:] != ids[:-1]]
    if np.unique(ids).size != int(starts.sum()):
        raise ValueError("episode_ids: the steps of each episode must be consecutive rows")
    ends = np.r_[ids[1:] != ids[:-1], True]
    inner = np.nonzero(dones & ~ends)[0]
    if inner.size:
        raise ValueError(f"dones: row {int(inner[0])} terminates its episode, but the episode "
                         "goes on in the next row")


def make_transitions(observations, actions, next_observations, dones, episode_ids,
                     num_actions: int, *, rewards=None, env_id: str | None = None) -> Transitions:
    """Validated :class:`Transitions` (inputs are copied, never modified).

    Args:
        observations: (N, D) finite floats, N >= 1, D >= 1.
        actions: (N,) integers in [0, A).
        next_observations: (N, D) finite floats.
        dones: (N,) booleans, True where the step terminated its episode (only an episode's
            last step may be done).
        episode_ids: (N,) integers; the steps of one episode consecutive.
        num_actions: A >= 1.
        rewards: (N,) finite floats, optional (evaluation only).
        env_id: optional gymnasium id.

    Returns:
        :class:`Transitions` with float64 observations and int64 actions and ids.

    Raises:
        ValueError: wrong ranks or lengths, NaN/inf, an action out of range, an episode split
            over non-consecutive rows, a terminal step inside an episode. Each message names
            the field.
        TypeError: non-numeric observations, non-integer actions or ids, non-boolean dones.
    """
    A = int(check_scalar(num_actions, "num_actions", low=1, integer=True))
    obs = as_float_array(observations, "observations", ndim=2)
    N, D = obs.shape
    if N == 0 or D == 0:
        raise ValueError("observations: expected N >= 1 steps of D >= 1 floats, got shape "
                         f"{obs.shape}")
    nxt = as_float_array(next_observations, "next_observations", ndim=2)
    if nxt.shape != obs.shape:
        raise ValueError(f"next_observations: expected shape (N, D) = {obs.shape}, got {nxt.shape}")
    act = _int_array(actions, "actions")
    if act.shape[0] != N:
        raise ValueError(f"actions: expected N = {N} actions, got {act.shape[0]}")
    bad = np.nonzero((act < 0) | (act >= A))[0]
    if bad.size:
        raise ValueError(f"actions: action {int(act[bad[0]])} at row {int(bad[0])} is out of "
                         f"range; expected 0 <= action < {A}")
    done = _check_dones(dones, N)
    ids = _int_array(episode_ids, "episode_ids")
    if ids.shape[0] != N:
        raise ValueError(f"episode_ids: expected N = {N} ids, got {ids.shape[0]}")
    _check_episodes(ids, done)
    rew = None
    if rewards is not None:
        rew = as_float_array(rewards, "rewards", ndim=1)
        if rew.shape[0] != N:
            raise ValueError(f"rewards: expected N = {N} rewards, got {rew.shape[0]}")
    if env_id is not None and not isinstance(env_id, str):
        raise TypeError(f"env_id: expected a string, got {type(env_id).__name__}")
    return Transitions(obs, act, nxt, done, ids, A, rew, env_id)


def select_episodes(transitions: Transitions, episodes) -> Transitions:
    """The steps of the given episode ids (K,), episode by episode in that order (a copy).

    Raises:
        ValueError: an id that is not an episode of ``transitions``, or none given.
    """
    wanted = _int_array(np.atleast_1d(episodes), "episodes")
    if wanted.size == 0:
        raise ValueError("episodes: expected at least one episode id, got none")
    known = set(transitions.episode_ids.tolist())
    missing = [int(e) for e in wanted if int(e) not in known]
    if missing:
        raise ValueError(f"episodes: {missing[0]} is not an episode id of these transitions")
    rows = np.concatenate([np.nonzero(transitions.episode_ids == e)[0] for e in wanted])
    t = transitions
    return Transitions(t.observations[rows], t.actions[rows], t.next_observations[rows],
                       t.dones[rows], t.episode_ids[rows], t.num_actions,
                       None if t.rewards is None else t.rewards[rows], t.env_id)


def episode_returns(transitions: Transitions) -> np.ndarray:
    """(E,) undiscounted return of each episode (sum of its rewards), episodes in order.

    Raises:
        ValueError: the transitions have no rewards.
    """
    if transitions.rewards is None:
        raise ValueError("transitions: no rewards recorded; returns need the environment's rewards")
    return np.array([transitions.rewards[transitions.episode_ids == e].sum()
                     for e in transitions.episodes])


def _sample_actions(policy, obs: np.ndarray, rng: np.random.Generator, A: int) -> int:
    probs = np.asarray(policy(obs[None]), np.float64)
    if probs.shape != (1, A):
        raise ValueError(f"policy: expected action probabilities of shape (N, A) = (1, {A}), "
                         f"got {probs.shape}")
    cdf = np.cumsum(probs[0])
    if not np.isfinite(cdf).all() or (probs < 0).any() or abs(cdf[-1] - 1.0) > 1e-6:
        raise ValueError(f"policy: expected action probabilities that sum to 1, got {probs[0]}")
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), A - 1))


def _run_episode(env, policy, rng, A, cap, episode):
    obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
    rows = []
    for _ in range(cap):
        obs = np.asarray(obs, np.float64)
        action = _sample_actions(policy, obs, rng, A)
        nxt, reward, terminated, truncated, _ = env.step(action)
        rows.append((obs, action, np.asarray(nxt, np.float64), bool(terminated), episode,
                     float(reward)))
        obs = nxt
        if terminated or truncated:
            break
    return rows


def rollout_transitions(
    env_id: str,
    policy: Callable[[np.ndarray], np.ndarray],
    num_episodes: int,
    *,
    seed: int = 0,
    max_steps: int | None = None,
    progress_bar: bool | None = None,
    **make_kwargs,
) -> Transitions:
    """Roll out a policy in a gymnasium environment with discrete actions and record each step.

    At every step the policy sees the observation as a batch of one, (1, D), and returns action
    probabilities (1, A); the action is drawn from them with the episode's random stream (a
    deterministic policy returns one-hot rows). An episode ends when the environment terminates
    (recorded as ``done``) or truncates, or after ``max_steps`` (both not done). Episode e is
    reset with, and draws its actions from, ``default_rng(SeedSequence(seed).spawn(E)[e])``,
    so the result depends on ``seed`` only.

    Args:
        env_id: a gymnasium id with a ``Discrete`` action space and ``Box`` observations.
        policy: ``(N, D) observations -> (N, A) action probabilities``.
        num_episodes: E >= 1.
        seed: integer seed.
        max_steps: T cap per episode; default the environment's time limit, else 1000.
        progress_bar: a tqdm bar over episodes; default only on a terminal.
        **make_kwargs: passed to ``gymnasium.make``.

    Returns:
        :class:`Transitions` with rewards and ``env_id``; episode ids 0 … E−1.

    Raises:
        ValueError: an unknown id, a non-discrete action space, bad counts, or a policy that
            returns something other than (1, A) probabilities.
        ImportError: gymnasium is not installed (``pip install "bayesirl[gym]"``).
    """
    import gymnasium

    E = int(check_scalar(num_episodes, "num_episodes", low=1, integer=True))
    try:
        env = gymnasium.make(env_id, **make_kwargs)
    except gymnasium.error.Error as err:
        raise ValueError(f"env_id: gymnasium cannot make {env_id!r} ({err})") from err
    try:
        A = getattr(env.action_space, "n", None)
        if A is None:
            raise ValueError(f"env_id: {env_id} has a continuous action space "
                             f"({env.action_space}); transitions need discrete actions")
        limit = getattr(env.spec, "max_episode_steps", None)
        cap = int(check_scalar(max_steps, "max_steps", low=1, integer=True)) \
            if max_steps is not None else int(limit or DEFAULT_MAX_STEPS)
        rows = []
        streams = np.random.SeedSequence(seed).spawn(E)
        disable = None if progress_bar is None else not progress_bar
        for e in tqdm(range(E), desc="rollouts", disable=disable, leave=False):
            rows += _run_episode(env, policy, np.random.default_rng(streams[e]), int(A), cap, e)
    finally:
        env.close()
    obs, act, nxt, done, ids, rew = zip(*rows)
    return make_transitions(np.stack(obs), np.array(act), np.stack(nxt), np.array(done, bool),
                            np.array(ids), int(A), rewards=np.array(rew), env_id=env_id)


def save_transitions(path: str | os.PathLike, transitions: Transitions) -> None:
    """Write ``transitions`` as ``.npz`` (schema in the module docstring; written under a
    temporary name and renamed, so a reader never sees a partial file)."""
    t = transitions
    arrays = {"format": np.array(_FORMAT), "observations": t.observations, "actions": t.actions,
              "next_observations": t.next_observations, "dones": t.dones,
              "episode_ids": t.episode_ids, "num_actions": np.array(t.num_actions)}
    if t.rewards is not None:
        arrays["rewards"] = t.rewards
    if t.env_id is not None:
        arrays["env_id"] = np.array(t.env_id)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_transitions(path: str | os.PathLike) -> Transitions:
    """Read and validate a transitions ``.npz`` (see the module docstring).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an npz, a wrong or missing ``format``, a missing or unknown key, or
            content that :func:`make_transitions` rejects (the message names the field).
        TypeError: as :func:`make_transitions` (e.g. ``dones`` not boolean).
    """
    try:
        with np.load(os.fspath(path), allow_pickle=False) as npz:
            doc = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError) as err:
        raise ValueError(f"transitions: {path} is not a readable .npz file ({err})") from err
    fmt = str(doc["format"]) if "format" in doc else "none"
    if fmt != _FORMAT:
        raise ValueError(f"format: {path} must have format {_FORMAT!r}, got {fmt!r}")
    unknown = sorted(set(doc) - set(_KEYS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key in {path}; expected keys {list(_KEYS)}")
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise ValueError(f"{missing[0]}: missing from {path}")
    num_actions = doc["num_actions"]
    if num_actions.ndim != 0 or num_actions.dtype.kind not in "iu":
        raise ValueError(f"num_actions: expected an integer scalar, got {num_actions!r}")
    env_id = str(doc["env_id"]) if "env_id" in doc else None
    return make_transitions(doc["observations"], doc["actions"], doc["next_observations"],
                            doc["dones"], doc["episode_ids"], int(num_actions),
                            rewards=doc.get("rewards"), env_id=env_id)
