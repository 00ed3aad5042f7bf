"""The world and evidence of a run: a built-in environment with simulated evidence, or files.

:func:`build_world` turns a :class:`~bayesirl.app.config.RunConfig` into a :class:`World`:
the MDP, the environment (when built in: its true reward is known), the demonstrations and the
preferences. Synthetic worlds and evidence use ``config.data_seed`` only, so changing
``config.seed`` re-runs the sampler on the same problem.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from bayesirl.app.config import RunConfig
from bayesirl.app.errors import UsageError

__all__ = ["World", "build_world", "rebuild_environment", "resolve_margin"]

#: Offsets of the data seed for the demonstrations and the preferences (distinct streams).
DEMOS_STREAM, PREFERENCES_STREAM = 1, 2


class World(NamedTuple):
    """The problem a run solves.

    Attributes:
        mdp: the MDP (S states, A actions, F features).
        env: the built-in :class:`~bayesirl.data.envs.Environment`, or None for ``--mdp``.
        demos: (N trajectories) demonstrations, or None.
        preferences: ``(trajectories, comparisons)`` with P comparisons, or None.
        max_episode_steps: T, the episode length of rollouts.
    """

    mdp: object
    env: object
    demos: object
    preferences: object
    max_episode_steps: int


def build_world(config: RunConfig) -> World:
    """Build or load the MDP and the evidence of ``config``.

    Raises:
        UsageError: an unknown environment, or an input file that cannot be read or does not
            fit the MDP (the message names the flag: ``--env``, ``--mdp``, ``--demos``,
            ``--preferences``, ``--horizon``).
    """
    if config.env:
        world = _synthetic_world(config)
    else:
        world = _world_from_files(config)
    if config.horizon is not None and world.demos is not None and (
            world.demos.states.shape[1] > config.horizon):
        raise UsageError(f"--horizon: demonstrations have up to {world.demos.states.shape[1]} "
                         f"steps, more than {config.horizon}")
    return world


def make_env(config: RunConfig):
    """The built-in environment of ``config`` (seeded by ``data_seed``).

    Raises:
        UsageError: unknown name or missing gymnasium (names ``--env``).
    """
    kwargs = {}
    if config.env == "gridworld":
        kwargs = dict(height=config.grid_size[0], width=config.grid_size[1],
                      num_features=config.num_features)
    from bayesirl.data.envs import make_environment

    try:
        return make_environment(config.env, seed=config.data_seed, discount=config.discount,
                                **kwargs)
    except (ValueError, ImportError, TypeError) as err:
        raise UsageError(f"--env: {err}") from None


def _expert_and_demos(rng_key, mdp, true_reward, num_demos: int, horizon: int):
    """The expert's optimal policy (S, A) and N untrimmed rollouts of it (N, T): one compiled
    program (:func:`~bayesirl.data.demos.sample_demonstrations` run op by op compiled ~25
    small programs). The same keys and draws as ``sample_demonstrations``."""
    import jax

    from bayesirl.data.demos import rollout
    from bayesirl.solvers import value_iteration

    policy = value_iteration(mdp, true_reward).policy
    if num_demos == 0:
        return policy, None
    keys = jax.random.split(rng_key, num_demos)
    return policy, jax.vmap(lambda k: rollout(k, mdp, policy, horizon))(keys)


def _synthetic_world(config: RunConfig) -> World:
    import jax

    from bayesirl.data.demos import trim
    from bayesirl.data.preferences import synthetic_preferences

    env = make_env(config)
    mdp = env.mdp
    simulate = jax.jit(_expert_and_demos, static_argnums=(3, 4))
    policy, demos = simulate(jax.random.PRNGKey(config.data_seed + DEMOS_STREAM), mdp,
                             env.true_reward, config.num_demos, int(env.max_episode_steps))
    demos = None if demos is None else trim(demos)
    prefs = None
    if config.num_preferences > 0:
        prefs = synthetic_preferences(jax.random.PRNGKey(config.data_seed + PREFERENCES_STREAM),
                                      mdp, env.true_reward, policy,
                                      config.num_preferences, env.max_episode_steps)
    return World(mdp, env, demos, prefs, int(env.max_episode_steps))


def _load(flag: str, loader, *args):
    try:
        return loader(*args)
    except FileNotFoundError as err:
        raise UsageError(f"{flag}: no such file: {err.filename or args[0]}") from None
    except IsADirectoryError:
        raise UsageError(f"{flag}: {args[0]} is a folder, expected a file") from None
    except (ValueError, TypeError, OSError, KeyError) as err:
        raise UsageError(f"{flag}: {err}") from None


def _world_from_files(config: RunConfig) -> World:
    from bayesirl.data.demos import load_demonstrations
    from bayesirl.data.mdp import load_mdp
    from bayesirl.data.preferences import load_preferences

    mdp = _load("--mdp", load_mdp, config.mdp)
    demos = _load("--demos", load_demonstrations, config.demos, mdp) if config.demos else None
    prefs = (_load("--preferences", load_preferences, config.preferences, mdp)
             if config.preferences else None)
    steps = max(int(d.states.shape[1]) for d in (demos, prefs and prefs[0]) if d is not None)
    return World(mdp, None, demos, prefs, steps)


def resolve_margin(config: RunConfig, world: World) -> float:
    """The weak-preference margin δ: ``config.margin``, else 1 when the preferences include
    'equal' answers and 0 otherwise."""
    if config.margin is not None:
        return config.margin
    prefs = world.preferences
    has_equal = prefs is not None and bool(np.any(np.asarray(prefs[1].label) == 2))
    return 1.0 if has_equal else 0.0


def rebuild_environment(config: RunConfig | None, mdp):
    """The built-in environment a run used, rebuilt for its true reward and grid shape, checked
    to be the same MDP as the run's ``mdp.npz``.

    Returns:
        ``(env, note)``; ``env`` is None (and ``note`` says why) when the run used files, the
        environment cannot be rebuilt, or it differs from ``mdp``.
    """
    if config is None or not config.env:
        return None, "no built-in environment (the run used --mdp/--demos)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = make_env(config)
    except UsageError as err:
        return None, f"could not rebuild {config.env!r} ({err})"
    a, b = env.mdp, mdp
    same = (a.next_states.shape == b.next_states.shape and a.features.shape == b.features.shape
            and np.allclose(np.asarray(a.next_probs), np.asarray(b.next_probs))
            and np.array_equal(np.asarray(a.next_states), np.asarray(b.next_states))
            and np.allclose(np.asarray(a.features), np.asarray(b.features))
            and np.isclose(float(a.discount), float(b.discount)))
    if not same:
        return None, f"rebuilt {config.env!r} differs from mdp.npz"
    return env, f"{env.name} (true reward known)"
