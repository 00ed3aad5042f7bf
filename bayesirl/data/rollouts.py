"""Roll out any gymnasium environment under a policy and a feature map; D-REX noise ladders.

:func:`rollout_features` runs episodes of a gymnasium environment (continuous observations
included) under a policy callable, records ``φ(o_t, a_t)`` at every step with the policy's
log-probabilities and the environment's return, and returns
:class:`~bayesirl.data.trajectories.Trajectories`. :func:`noise_ladder_preferences` is D-REX
(Brown, Goo & Niekum, CoRL 2019): roll out a policy (e.g. a behavioural-cloning policy) with
ε-greedy noise at a ladder of ε and rank the trajectories by their noise level, less noise
preferred, without any human label; :func:`noise_ladder_rankings` gives the same ladder as
Plackett–Luce rankings (each ranking one observation, :func:`rank_by_noise`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from bayesirl._validate import as_float_array, check_scalar
from bayesirl.data.preferences import Preferences, make_preferences
from bayesirl.data.rankings import TrajectoryRankings, make_trajectory_rankings
from bayesirl.data.trajectories import Trajectories, make_trajectories

__all__ = ["NoiseLadder", "RankedNoiseLadder", "rollout_features", "noise_ladder_preferences",
           "noise_ladder_rankings", "rank_by_noise"]

#: Episode cap when neither ``max_steps`` nor the environment's time limit gives one.
DEFAULT_MAX_STEPS = 1000


class NoiseLadder(NamedTuple):
    """D-REX data: trajectories, their ranking as comparisons, and each one's noise level.

    Attributes:
        trajectories: N trajectories (log-probabilities under their own ε-greedy policy).
        preferences: every pair of trajectories from different noise levels, the less noisy
            one preferred (label 0 = ``first``).
        noise: (N,) the ε each trajectory was rolled out with.
    """

    trajectories: Trajectories
    preferences: Preferences
    noise: np.ndarray


class RankedNoiseLadder(NamedTuple):
    """D-REX data as rankings: trajectories, their rankings by noise, each one's noise level.

    Attributes:
        trajectories: N = L · M trajectories (L levels, M episodes each; log-probabilities
            under their own ε-greedy policy).
        rankings: M rankings of length L (:func:`rank_by_noise`), each one Plackett–Luce
            observation.
        noise: (N,) the ε each trajectory was rolled out with.
    """

    trajectories: Trajectories
    rankings: TrajectoryRankings
    noise: np.ndarray


def _make_envs(env, num_envs: int, make_kwargs: dict) -> list:
    if isinstance(env, str):
        import gymnasium

        try:
            return [gymnasium.make(env, **make_kwargs) for _ in range(num_envs)]
        except gymnasium.error.Error as err:
            raise ValueError(f"env: gymnasium cannot make {env!r} ({err})") from err
    if callable(env) and not hasattr(env, "step"):
        return [env() for _ in range(num_envs)]
    if not (hasattr(env, "reset") and hasattr(env, "step")):
        raise TypeError(f"env: expected a gymnasium id, an environment or a factory, got {env!r}")
    if num_envs != 1:
        raise ValueError("num_envs: one environment instance cannot run several episodes at "
                         "once; pass its id or a factory to vectorise")
    return [env]


def _episode_cap(envs, max_steps) -> int:
    if max_steps is not None:
        return int(check_scalar(max_steps, "max_steps", low=1, integer=True))
    spec = getattr(envs[0], "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    return int(limit) if limit else DEFAULT_MAX_STEPS


def _action_count(envs, epsilon: float) -> int | None:
    space = envs[0].action_space
    n = getattr(space, "n", None)
    if epsilon > 0 and n is None:
        raise ValueError(f"epsilon: ε-greedy noise needs a discrete action space, got {space}")
    return None if n is None else int(n)


def _policy_actions(policy, observations, epsilon):
    out = policy(observations)
    actions, log_probs = (out if isinstance(out, tuple) else (out, None))
    actions = np.asarray(actions)
    if actions.shape[:1] != observations.shape[:1]:
        raise ValueError(f"policy: expected one action per observation ({observations.shape[0]}), "
                         f"got an array of shape {actions.shape}")
    if log_probs is not None:
        if epsilon > 0:
            raise ValueError("policy: a stochastic policy (returning log-probabilities) cannot "
                             "be combined with ε-greedy noise; use epsilon=0")
        log_probs = np.asarray(log_probs, np.float64).reshape(-1)
    return actions, log_probs


class _Episode:
    """Per-episode buffers and its own random stream (results do not depend on ``num_envs``)."""

    def __init__(self, seed_sequence):
        self.rng = np.random.default_rng(seed_sequence)
        self.reset_seed = int(self.rng.integers(2**31 - 1))
        self.features, self.log_probs, self.rewards = [], [], []


def _step(episode, env, obs, action, lp, phi, epsilon, num_actions):
    if epsilon > 0:
        greedy = int(action)
        if episode.rng.random() < epsilon:
            action = int(episode.rng.integers(num_actions))
        lp = math.log((1 - epsilon) * (action == greedy) + epsilon / num_actions)
    feat = np.asarray(phi(obs, action), np.float64).reshape(-1)
    episode.features.append(feat)
    episode.log_probs.append(0.0 if lp is None else float(lp))
    obs, reward, terminated, truncated, _ = env.step(action)
    episode.rewards.append(float(reward))
    return obs, bool(terminated or truncated)


def _run_batch(envs, episodes, policy, phi, epsilon, num_actions, cap):
    obs = [env.reset(seed=ep.reset_seed)[0] for env, ep in zip(envs, episodes)]
    alive = np.ones(len(episodes), bool)
    for _ in range(cap):
        live = np.nonzero(alive)[0]
        if live.size == 0:
            break
        batch = np.stack([np.asarray(obs[j]) for j in live])
        actions, log_probs = _policy_actions(policy, batch, epsilon)
        for k, j in enumerate(live):
            lp = None if log_probs is None else log_probs[k]
            action = actions[k].item() if actions[k].ndim == 0 else actions[k]
            obs[j], done = _step(episodes[j], envs[j], obs[j], action, lp, phi, epsilon,
                                 num_actions)
            alive[j] = not done


def _stack(episodes, discount, feature_names) -> Trajectories:
    dims = {f.shape[0] for ep in episodes for f in ep.features}
    if len(dims) != 1:
        raise ValueError(f"phi: expected the same number of features at every step, got {sorted(dims)}")
    F = dims.pop()
    T = max(len(ep.features) for ep in episodes)
    N = len(episodes)
    features, mask = np.zeros((N, T, F)), np.zeros((N, T), bool)
    log_probs, returns = np.zeros((N, T)), np.zeros(N)
    for n, ep in enumerate(episodes):
        L = len(ep.features)
        features[n, :L], mask[n, :L], log_probs[n, :L] = ep.features, True, ep.log_probs
        returns[n] = float(np.sum(np.asarray(ep.rewards) * discount ** np.arange(L)))
    as_float_array(features, "phi")  # NaN/inf from the feature map: name phi
    return make_trajectories(features=features, mask=mask, log_probs=log_probs, returns=returns,
                             discount=discount, feature_names=feature_names)


def rollout_features(
    env,
    policy: Callable,
    phi: Callable,
    num_episodes: int,
    *,
    seed: int = 0,
    epsilon: float = 0.0,
    max_steps: int | None = None,
    discount: float = 1.0,
    num_envs: int = 1,
    feature_names: Sequence[str] | None = None,
    progress_bar: bool | None = None,
    **make_kwargs,
) -> Trajectories:
    """Roll out a gymnasium environment under a policy and record features per step.

    At each step the policy sees the observations of the ``num_envs`` environments still
    running, stacked (B, O), and returns B actions — or ``(actions, log_probs)`` for a
    stochastic policy (log π(a|o), nats). With ``epsilon > 0`` (discrete actions only) each
    action is replaced by a uniformly random one with probability ε, and the recorded
    log-probability is that of the ε-greedy policy, ``log((1 − ε)[a = π(o)] + ε/|A|)``; a
    deterministic policy without noise has log-probability 0. Features are
    ``phi(o_t, a_t)`` (F,), the observation before the action. An episode ends when the
    environment terminates or truncates, or after ``max_steps``. Returns are the discounted
    sums of the environment's rewards.

    Episode e is reset with a seed drawn from ``SeedSequence(seed).spawn(num_episodes)[e]``,
    which also drives its noise, so results depend on ``seed`` only, not on ``num_envs``.

    Args:
        env: a gymnasium id (made ``num_envs`` times with ``make_kwargs``), a factory
            ``() -> env``, or one environment instance (then ``num_envs`` must be 1).
        policy: ``(B, O) observations -> (B,) actions`` or ``-> (actions, (B,) log_probs)``.
        phi: ``(observation, action) -> (F,)`` feature map.
        num_episodes: N >= 1.
        seed: integer seed.
        epsilon: ε in [0, 1], probability of a uniformly random action.
        max_steps: T cap per episode; default the environment's time limit, else 1000.
        discount: γ in (0, 1] for the feature counts and returns.
        num_envs: B environments stepped in lockstep (one batched policy call per step).
        feature_names: F names.
        progress_bar: a tqdm bar over episodes; default only on a terminal.

    Returns:
        :class:`~bayesirl.data.trajectories.Trajectories` with per-step features (N, T, F),
        mask, log-probabilities and returns.

    Raises:
        ValueError: bad counts, ε outside [0, 1], ε-noise with continuous actions or with a
            stochastic policy, a policy returning the wrong number of actions, a feature map
            whose size changes or that returns NaN/inf (named ``phi``).
        TypeError: ``env`` is none of the accepted forms.
    """
    num_episodes = check_scalar(num_episodes, "num_episodes", low=1, integer=True)
    num_envs = check_scalar(num_envs, "num_envs", low=1, integer=True)
    epsilon = float(check_scalar(epsilon, "epsilon", low=0.0, high=1.0))
    check_scalar(discount, "discount", low=0.0, high=1.0, low_open=True)
    envs = _make_envs(env, min(num_envs, num_episodes), make_kwargs)
    try:
        cap = _episode_cap(envs, max_steps)
        num_actions = _action_count(envs, epsilon)
        episodes = [_Episode(s) for s in np.random.SeedSequence(seed).spawn(num_episodes)]
        disable = None if progress_bar is None else not progress_bar  # None: only on a tty
        with tqdm(total=num_episodes, desc="rollouts", disable=disable, leave=False) as bar:
            for start in range(0, num_episodes, len(envs)):
                batch = episodes[start:start + len(envs)]
                _run_batch(envs[:len(batch)], batch, policy, phi, epsilon, num_actions, cap)
                bar.update(len(batch))
    finally:
        if isinstance(env, str) or (callable(env) and not hasattr(env, "step")):
            for e in envs:
                e.close()
    return _stack(episodes, float(discount), feature_names)


def _check_ladder(noise_levels, episodes_per_level) -> tuple[np.ndarray, int]:
    """The levels sorted (less noise first) and the episode count, checked."""
    levels = as_float_array(noise_levels, "noise_levels", ndim=1)
    if np.unique(levels).size != levels.size or levels.size < 2:
        raise ValueError(f"noise_levels: expected at least two distinct ε, got {levels.tolist()}")
    if ((levels < 0) | (levels > 1)).any():
        raise ValueError(f"noise_levels: expected ε in [0, 1], got {levels.tolist()}")
    K = check_scalar(episodes_per_level, "episodes_per_level", low=1, integer=True)
    return np.sort(levels), K


def _ladder_rollouts(env, policy, phi, levels: np.ndarray, K: int, seed: int,
                     rollout_kwargs: dict) -> Trajectories:
    """K episodes at each ε of ``levels`` (level i seeded ``seed + i``), level by level."""
    parts = [rollout_features(env, policy, phi, K, seed=seed + i, epsilon=float(eps),
                              **rollout_kwargs) for i, eps in enumerate(levels)]
    T = max(p.mask.shape[1] for p in parts)
    pad = lambda x, fill: np.concatenate(  # noqa: E731
        [np.pad(p, [(0, 0), (0, T - p.shape[1])] + [(0, 0)] * (p.ndim - 2),
                constant_values=fill) for p in x])
    return make_trajectories(
        features=pad([p.features for p in parts], 0.0), mask=pad([p.mask for p in parts], False),
        log_probs=np.concatenate([p.log_probs for p in parts]),
        returns=np.concatenate([p.returns for p in parts]), discount=parts[0].discount,
        feature_names=parts[0].feature_names)


def noise_ladder_preferences(
    env,
    policy: Callable,
    phi: Callable,
    noise_levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    episodes_per_level: int = 5,
    *,
    seed: int = 0,
    **rollout_kwargs,
) -> NoiseLadder:
    """D-REX automatic rankings (Brown, Goo & Niekum, CoRL 2019, Sec. 4), as comparisons.

    Rolls out ``policy`` with ε-greedy noise at each level of ``noise_levels``
    (``episodes_per_level`` episodes each, level i seeded ``seed + i``) and ranks the
    trajectories by noise: every trajectory of a lower level is preferred to every trajectory
    of a higher level; trajectories of one level are not compared (the ranking of
    :func:`~bayesirl.data.preferences.ranking_to_comparisons` with ties). D-REX assumes the
    policy is better than random, so that more noise means lower return on average.

    The Bradley–Terry likelihood counts each of these comparisons as an independent
    observation, although they come from one ranking (L levels × M episodes give
    ``L (L − 1) / 2 · M²`` comparisons from ``L · M`` trajectories), which makes its posterior
    over-confident; :func:`noise_ladder_rankings` gives the same ladder as Plackett–Luce
    rankings, each one observation.

    Args:
        env, policy, phi: see :func:`rollout_features` (discrete actions).
        noise_levels: L >= 2 distinct ε in [0, 1], any order.
        episodes_per_level: episodes per level (>= 1).
        seed: integer seed.
        **rollout_kwargs: ``max_steps``, ``discount``, ``num_envs``, ``feature_names``,
            ``progress_bar`` and environment ``make_kwargs`` for :func:`rollout_features`.

    Returns:
        :class:`NoiseLadder`; ``L (L − 1) / 2 · episodes_per_level²`` comparisons.

    Raises:
        ValueError: fewer than two distinct levels, a level outside [0, 1], and as
            :func:`rollout_features`.
    """
    levels, K = _check_ladder(noise_levels, episodes_per_level)
    trajectories = _ladder_rollouts(env, policy, phi, levels, K, seed, rollout_kwargs)
    ranking = [list(range(i * K, (i + 1) * K)) for i in range(levels.size)]
    preferences = make_preferences(trajectories.num_trajectories, rankings=[ranking])
    return NoiseLadder(trajectories, preferences, np.repeat(levels, K))


def rank_by_noise(noise) -> TrajectoryRankings:
    """D-REX rankings of trajectories by their noise level, less noise first, each ranking ONE
    Plackett–Luce observation.

    Trajectories of one level are exchangeable (no order between them is known), so the ladder
    is cut into M rankings: ranking m holds the m-th trajectory (in index order) of every level
    that has one, ordered by level. Every trajectory enters exactly one ranking; with L levels
    and M trajectories per level that is M rankings of length L, i.e. M (L − 1) choice terms
    from L · M trajectories, where the all-pairs comparisons count
    ``L (L − 1) / 2 · M²`` (Brown, Goo & Niekum, CoRL 2019). This is the honest count of
    independent observations: each noisy rollout is one random draw and is used once; the
    likelihood of the full ladder with ties (a partial order) would need a sum over the orders
    within every level, and these M rankings use a subset of its information, so the
    posterior is, if anything, less confident than the exact partial-order likelihood.

    Args:
        noise: (N,) the ε each trajectory was rolled out with (any order; equal values form a
            level).

    Returns:
        :class:`~bayesirl.data.rankings.TrajectoryRankings`, M = the largest number of
        trajectories of a level; a ranking covering only one level (a level with more
        trajectories than every other) is left out.

    Raises:
        ValueError: ``noise`` not a finite 1-D array, fewer than two distinct levels.
    """
    noise = as_float_array(noise, "noise", ndim=1)
    levels = np.unique(noise)
    if levels.size < 2:
        raise ValueError(f"noise: expected at least two distinct noise levels, got "
                         f"{levels.tolist()}")
    members = [np.flatnonzero(noise == e) for e in levels]  # ascending ε: less noise first
    M = max(len(m) for m in members)
    rankings = [[int(m[j]) for m in members if j < len(m)] for j in range(M)]
    return make_trajectory_rankings([r for r in rankings if len(r) >= 2], noise.size)


def noise_ladder_rankings(
    env,
    policy: Callable,
    phi: Callable,
    noise_levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    episodes_per_level: int = 5,
    *,
    seed: int = 0,
    **rollout_kwargs,
) -> RankedNoiseLadder:
    """D-REX automatic rankings (Brown, Goo & Niekum, CoRL 2019, Sec. 4), as Plackett–Luce
    rankings (Plackett 1975): the rollouts of :func:`noise_ladder_preferences` (same seeds,
    same trajectories) ranked by :func:`rank_by_noise`: ``episodes_per_level`` rankings, ranking
    m the m-th episode of every level, less noise first.

    Args:
        env, policy, phi: see :func:`rollout_features` (discrete actions).
        noise_levels: L >= 2 distinct ε in [0, 1], any order.
        episodes_per_level: episodes per level M (>= 1): the number of rankings.
        seed: integer seed.
        **rollout_kwargs: as :func:`noise_ladder_preferences`.

    Returns:
        :class:`RankedNoiseLadder`: M rankings of length L.

    Raises:
        ValueError: as :func:`noise_ladder_preferences`.
    """
    levels, K = _check_ladder(noise_levels, episodes_per_level)
    trajectories = _ladder_rollouts(env, policy, phi, levels, K, seed, rollout_kwargs)
    noise = np.repeat(levels, K)
    return RankedNoiseLadder(trajectories, rank_by_noise(noise), noise)
