"""The world of a run: where the evidence comes from, behind one protocol.

A :class:`World` is what a run folder holds besides its posterior. Three kinds implement it:

* :class:`MDPWorld` — an MDP with demonstrations and/or compared trajectories: a built-in
  environment with simulated evidence (its true reward known), or files (``--mdp``,
  ``--demos``, ``--preferences``);
* :class:`TrajectoryWorld` — trajectory features without an MDP (``--trajectories``, with
  preferences over its rows and/or demonstration rows);
* :class:`~bayesirl.app.choice_world.ChoiceWorld` — choices among options with features
  (``--choices``, per person with ``--group-by``);
* :class:`~bayesirl.app.continuous_world.ContinuousWorld` — expert transitions of a
  continuous-state task (``--env CartPole-v1``, ``--demos-npz``), fitted with learned
  Q-functions instead of reward weights.

Everything the fit, report and query jobs do that depends on the kind goes through the
protocol: the raw evidence (:meth:`World.evidence_inputs`), the input copies written to and
read back from a run folder (:meth:`World.save`, :func:`load_world`), the ``summary.json``
blocks (:meth:`World.describe`). Synthetic worlds use ``config.data_seed`` only, so changing
``config.seed`` re-runs the sampler on the same problem.
"""

from __future__ import annotations

import os
import warnings
from typing import NamedTuple, Protocol

import numpy as np

from bayesirl.app.checks import check_world_memory
from bayesirl.app.config import RunConfig, parse_expert
from bayesirl.app.errors import UsageError

__all__ = ["World", "MDPWorld", "TrajectoryWorld", "build_world", "load_world", "run_inputs_file",
           "rebuild_environment", "resolve_margin", "beta_values", "is_trajectory_run",
           "TRAJECTORIES_FILE", "PREFERENCES_FILE", "REDO_HINT"]

#: Offsets of the data seed for the demonstrations and the preferences (distinct streams).
DEMOS_STREAM, PREFERENCES_STREAM = 1, 2
#: Names of the input copies in a run folder.
MDP_FILE, DEMOS_FILE, PREFERENCES_FILE, TRAJECTORIES_FILE = (
    "mdp.npz", "demos.json", "preferences.json", "trajectories.npz")
#: How to redo a run folder that is too old or incomplete (ends the error messages).
REDO_HINT = "fit it again with 'bayesirl fit ... --out DIR'"


class World(Protocol):
    """What every kind of world provides (see the module docstring)."""

    kind: str

    @property
    def mdp(self):
        """The MDP, or None."""

    @property
    def num_features(self) -> int:
        """F."""

    @property
    def feature_names(self) -> list:
        """F labels of the reward weights."""

    def evidence_inputs(self):
        """The raw evidence (:class:`~bayesirl.likelihoods.source.EvidenceInputs`)."""

    def comparisons(self):
        """The preferences (comparisons), or None."""

    def save(self, folder: str) -> list[str]:
        """Write the input copies into ``folder``; return their file names."""

    def describe(self, config: RunConfig) -> dict:
        """The world's blocks of ``summary.json``."""


class MDPWorld(NamedTuple):
    """An MDP with demonstrations and/or compared trajectories.

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

    kind = "mdp"

    @property
    def num_features(self) -> int:
        """F."""
        return int(self.mdp.num_features)

    @property
    def feature_names(self) -> list:
        """0 … F−1 (one-hot features of a gymnasium environment are its states)."""
        return list(range(self.num_features))

    def evidence_inputs(self):
        """The MDP, the demonstrations and the compared trajectories."""
        from bayesirl.likelihoods.source import EvidenceInputs

        trajs, prefs = self.preferences if self.preferences is not None else (None, None)
        return EvidenceInputs(mdp=self.mdp, demonstrations=self.demos,
                              preference_trajectories=trajs, preferences=prefs)

    def comparisons(self):
        """The comparisons, or None."""
        return None if self.preferences is None else self.preferences[1]

    def save(self, folder: str) -> list[str]:
        """``mdp.npz``, ``demos.json`` and/or ``preferences.json``."""
        from bayesirl.data.demos import save_demonstrations
        from bayesirl.data.mdp import save_mdp
        from bayesirl.data.preferences import save_preferences

        save_mdp(os.path.join(folder, MDP_FILE), self.mdp)
        names = [MDP_FILE]
        if self.demos is not None:
            save_demonstrations(os.path.join(folder, DEMOS_FILE), self.demos, self.mdp)
            names.append(DEMOS_FILE)
        if self.preferences is not None:
            save_preferences(os.path.join(folder, PREFERENCES_FILE), *self.preferences)
            names.append(PREFERENCES_FILE)
        return names

    def describe(self, config: RunConfig) -> dict:
        """``{"mdp": sizes, "evidence": counts}``."""
        mdp, demos, prefs = self.mdp, self.demos, self.preferences
        return {
            "mdp": {"num_states": mdp.num_states, "num_actions": mdp.num_actions,
                    "num_features": mdp.num_features, "discount": float(mdp.discount),
                    "num_terminal_states": int(np.asarray(mdp.terminal).sum()),
                    "max_episode_steps": int(self.max_episode_steps)},
            "evidence": {
                "likelihoods": list(config.likelihood),
                "num_demonstrations": 0 if demos is None else demos.num_trajectories,
                "num_demonstration_steps": 0 if demos is None else int(np.asarray(demos.mask).sum()),
                "num_comparisons": 0 if prefs is None else prefs[1].num_comparisons,
            }}


class TrajectoryWorld(NamedTuple):
    """Trajectory features without an MDP.

    Attributes:
        trajectories: :class:`~bayesirl.data.trajectories.Trajectories` (N, F).
        preference_data: P comparisons over its rows, or None.
        demos_ids: rows that are demonstrations (sample-based MaxEnt), or None.
        background_ids: rows of its background, or None (every other row).
    """

    trajectories: object
    preference_data: object
    demos_ids: tuple | None
    background_ids: tuple | None

    kind = "trajectories"
    mdp = None

    @property
    def num_features(self) -> int:
        """F."""
        return int(self.trajectories.num_features)

    @property
    def feature_names(self) -> list:
        """The npz's feature names, else 0 … F−1."""
        return list(self.trajectories.feature_names or range(self.num_features))

    @property
    def preferences(self):
        """The comparisons (the same as :meth:`comparisons`)."""
        return self.preference_data

    def evidence_inputs(self):
        """The trajectory set, the comparisons and the demonstration/background rows."""
        from bayesirl.likelihoods.source import EvidenceInputs

        return EvidenceInputs(trajectories=self.trajectories, preferences=self.preference_data,
                              demonstration_ids=self.demos_ids,
                              background_ids=self.background_ids)

    def comparisons(self):
        """The comparisons, or None."""
        return self.preference_data

    def save(self, folder: str) -> list[str]:
        """``trajectories.npz`` and ``preferences.json`` (ids indexing the npz)."""
        from bayesirl.data.trajectories import save_trajectories, save_trajectory_preferences

        save_trajectories(os.path.join(folder, TRAJECTORIES_FILE), self.trajectories)
        names = [TRAJECTORIES_FILE]
        if self.preference_data is not None:
            save_trajectory_preferences(os.path.join(folder, PREFERENCES_FILE),
                                        self.preference_data, self.trajectories.num_trajectories,
                                        TRAJECTORIES_FILE)
            names.append(PREFERENCES_FILE)
        return names

    def describe(self, config: RunConfig) -> dict:
        """``{"trajectories": sizes, "evidence": counts}``."""
        trajs, prefs = self.trajectories, self.preference_data
        return {
            "trajectories": {"num_trajectories": trajs.num_trajectories,
                             "num_features": trajs.num_features,
                             "feature_names": list(trajs.feature_names or ()),
                             "discount": trajs.discount,
                             "has_log_probs": trajs.log_probs is not None,
                             "has_returns": trajs.returns is not None},
            "evidence": {"likelihoods": list(config.likelihood),
                         "num_comparisons": 0 if prefs is None else prefs.num_comparisons,
                         "num_demonstrations": len(self.demos_ids or ())}}


# ---------------------------------------------------------------------------------------------
# Building a world from a configuration
# ---------------------------------------------------------------------------------------------


def build_world(config: RunConfig) -> World:
    """Build or load the world of ``config``.

    Raises:
        UsageError: an unknown environment, or an input file that cannot be read or does not
            fit (the message names the flag: ``--env``, ``--mdp``, ``--demos``,
            ``--preferences``, ``--trajectories``, ``--demos-ids``, ``--horizon``).
    """
    if config.world.kind == "choices":
        from bayesirl.app.choice_world import choice_world

        return choice_world(config)
    if config.world.kind == "continuous":
        from bayesirl.app.continuous_world import continuous_world

        return continuous_world(config)
    if config.world.kind == "trajectories":
        return _trajectory_world(config)
    world = _synthetic_world(config) if config.env else _world_from_files(config)
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


def _expert_and_demos(rng_key, mdp, true_reward, num_demos: int, horizon: int,
                      expert: tuple[str, float | None] = ("optimal", None)):
    """The optimal policy (S, A) of the true reward and N untrimmed rollouts (N, T) of the
    simulated expert (:func:`bayesirl.app.config.parse_expert`): one compiled program. The
    optimal expert uses the same keys and draws as ``sample_demonstrations``."""
    import jax

    from bayesirl.data.demos import rollout
    from bayesirl.likelihoods.boltzmann import boltzmann_q_values
    from bayesirl.solvers import value_iteration

    optimal = value_iteration(mdp, true_reward).policy
    if num_demos == 0:
        return optimal, None
    kind, value = expert
    if kind == "boltzmann":
        policy = jax.nn.softmax(boltzmann_q_values(mdp, true_reward, value, "soft"), axis=-1)
    elif kind == "noisy":
        policy = (1.0 - value) * optimal + value / optimal.shape[-1]
    else:
        policy = optimal
    keys = jax.random.split(rng_key, num_demos)
    return optimal, jax.vmap(lambda k: rollout(k, mdp, policy, horizon))(keys)


def _synthetic_world(config: RunConfig) -> MDPWorld:
    import jax

    from bayesirl.data.demos import trim
    from bayesirl.data.preferences import synthetic_preferences

    if config.env == "gridworld":  # before its arrays are allocated
        (H, W), F = config.grid_size, config.num_features
        check_world_memory("--grid-size/--num-features", f"a {H}x{W} gridworld with {F} "
                           "features", num_states=H * W, num_features=F)
    env = make_env(config)
    mdp = env.mdp
    N, P, T = config.num_demos, config.num_preferences, int(env.max_episode_steps)
    given = [(f, f"{n} {what}") for f, n, what in (("--num-demos", N, "demonstrations"),
                                                     ("--num-preferences", P, "comparisons"))
             if n]
    if given:
        check_world_memory("/".join(f for f, _ in given), " and ".join(w for _, w in given)
                           + f" of up to {T} steps", num_demos=N, num_preferences=P,
                           num_steps=T)
    simulate = jax.jit(_expert_and_demos, static_argnums=(3, 4, 5))
    expert = parse_expert(config.expert) if config.expert else ("optimal", None)
    policy, demos = simulate(jax.random.PRNGKey(config.data_seed + DEMOS_STREAM), mdp,
                             env.true_reward, config.num_demos, int(env.max_episode_steps),
                             expert)
    demos = None if demos is None else trim(demos)
    prefs = None
    if config.num_preferences > 0:
        prefs = synthetic_preferences(jax.random.PRNGKey(config.data_seed + PREFERENCES_STREAM),
                                      mdp, env.true_reward, policy,
                                      config.num_preferences, env.max_episode_steps)
    return MDPWorld(mdp, env, demos, prefs, int(env.max_episode_steps))


def _load(flag: str, loader, *args):
    try:
        return loader(*args)
    except FileNotFoundError as err:
        raise UsageError(f"{flag}: no such file: {err.filename or args[0]}") from None
    except IsADirectoryError:
        raise UsageError(f"{flag}: {args[0]} is a folder, expected a file") from None
    except (ValueError, TypeError, OSError, KeyError) as err:
        text = str(err)  # the loader names its argument ("demos: ..."): the flag replaces it
        raise UsageError(f"{flag}: {text.removeprefix(flag.lstrip('-') + ': ')}") from None


def _world_from_files(config: RunConfig) -> MDPWorld:
    from bayesirl.data.demos import load_demonstrations
    from bayesirl.data.mdp import load_mdp
    from bayesirl.data.preferences import load_preferences

    mdp = _load("--mdp", load_mdp, config.mdp)
    demos = _load("--demos", load_demonstrations, config.demos, mdp) if config.demos else None
    prefs = (_load("--preferences", load_preferences, config.preferences, mdp)
             if config.preferences else None)
    steps = max(int(d.states.shape[1]) for d in (demos, prefs and prefs[0]) if d is not None)
    return MDPWorld(mdp, None, demos, prefs, steps)


def _trajectory_world(config: RunConfig) -> TrajectoryWorld:
    from bayesirl.data.trajectories import load_trajectories, load_trajectory_preferences

    trajs = _load("--trajectories", load_trajectories, config.trajectories)
    N = trajs.num_trajectories
    prefs = None
    if config.preferences is not None:
        prefs = _load("--preferences", load_trajectory_preferences, config.preferences, N)
    for flag, ids in (("--demos-ids", config.demos_ids), ("--background-ids",
                                                          config.background_ids)):
        bad = [i for i in ids or () if not 0 <= i < N]
        if bad:
            raise UsageError(f"{flag}: id {bad[0]} is out of range; {config.trajectories} has "
                             f"{N} trajectories (ids 0..{N - 1})")
    if config.demos_ids is not None and trajs.log_probs is None:
        raise UsageError(f"--demos-ids: the sample-based MaxEnt likelihood needs the sampling "
                         f"log-probabilities of the background ('log_probs' in "
                         f"{config.trajectories})")
    return TrajectoryWorld(trajs, prefs, config.demos_ids, config.background_ids)


# ---------------------------------------------------------------------------------------------
# One rule each, for both kinds
# ---------------------------------------------------------------------------------------------


def resolve_margin(config: RunConfig, world: World) -> float:
    """The weak-preference margin δ: ``config.margin``, else 1 when the preferences include
    'equal' answers and 0 otherwise."""
    if config.margin is not None:
        return config.margin
    from bayesirl.likelihoods.bradley_terry import default_margin

    return default_margin(world.comparisons())


def beta_values(idata, config: RunConfig, sources, pick=None):
    """β of the first of ``sources`` in a run: its posterior draws (at the draw indices
    ``pick``, or all) when learned, else the configured number (1 when unknown).

    Returns:
        A float, or (M,) draws.
    """
    from bayesirl.models import beta_site

    for src in sources:
        site = beta_site(src, tuple(config.likelihood)) if config is not None else "beta"
        for name in (site, "beta", "beta_" + src.replace("-", "_")):
            if name in idata.posterior:
                draws = np.asarray(idata.posterior[name]).reshape(-1)
                return draws if pick is None else draws[pick]
        spec = config.betas.get(src) if config is not None else None
        if spec is not None and not spec.learned:
            return spec.value
    return 1.0


def is_trajectory_run(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding a trajectory run (``trajectories.npz``, no
    ``mdp.npz``)."""
    path = os.fspath(path)
    return (os.path.isfile(os.path.join(path, TRAJECTORIES_FILE))
            and not os.path.isfile(os.path.join(path, MDP_FILE)))


def run_inputs_file(path: str | os.PathLike) -> str:
    """The input copy that says what kind of run the folder ``path`` holds: ``choices.json``
    (a choice run), ``transitions.npz`` (a continuous-state run), ``trajectories.npz`` (a
    trajectory run) or ``mdp.npz``."""
    from bayesirl.app.choice_world import CHOICES_FILE
    from bayesirl.app.continuous_world import TRANSITIONS_FILE

    path = os.fspath(path)
    if not os.path.isfile(os.path.join(path, MDP_FILE)) and os.path.isfile(
            os.path.join(path, TRANSITIONS_FILE)):
        return TRANSITIONS_FILE
    if not os.path.isfile(os.path.join(path, MDP_FILE)) and os.path.isfile(
            os.path.join(path, CHOICES_FILE)):
        return CHOICES_FILE
    return TRAJECTORIES_FILE if is_trajectory_run(path) else MDP_FILE


def load_world(path: str, config: RunConfig | None) -> World:
    """The world saved in the run folder ``path`` (its input copies).

    Raises:
        UsageError: a missing or unreadable input copy (``DIR: ...``).
    """
    from bayesirl.app.continuous_world import TRANSITIONS_FILE, load_continuous_world

    if run_inputs_file(path) == TRANSITIONS_FILE:
        return load_continuous_world(path, config)
    if run_inputs_file(path) != MDP_FILE and not is_trajectory_run(path):
        from bayesirl.app.choice_world import load_choice_world

        return load_choice_world(path, config)
    if is_trajectory_run(path):
        from bayesirl.data.trajectories import load_trajectories, load_trajectory_preferences

        try:
            trajs = load_trajectories(os.path.join(path, TRAJECTORIES_FILE))
            pref_path = os.path.join(path, PREFERENCES_FILE)
            prefs = (load_trajectory_preferences(pref_path, trajs.num_trajectories)
                     if os.path.isfile(pref_path) else None)
        except (OSError, ValueError, TypeError) as err:
            raise UsageError(f"DIR: cannot read {path} ({err}); {REDO_HINT}") from None
        demos_ids = config.demos_ids if config is not None else None
        background = config.background_ids if config is not None else None
        return TrajectoryWorld(trajs, prefs, demos_ids, background)
    from bayesirl.data.demos import load_demonstrations
    from bayesirl.data.mdp import load_mdp
    from bayesirl.data.preferences import load_preferences

    try:
        mdp = load_mdp(os.path.join(path, MDP_FILE))
    except (ValueError, OSError) as err:
        raise UsageError(f"DIR: {err}") from None
    demos = prefs = None
    try:
        if os.path.isfile(os.path.join(path, DEMOS_FILE)):
            demos = load_demonstrations(os.path.join(path, DEMOS_FILE), mdp)
        if os.path.isfile(os.path.join(path, PREFERENCES_FILE)):
            prefs = load_preferences(os.path.join(path, PREFERENCES_FILE), mdp)
    except (ValueError, TypeError, OSError) as err:
        raise UsageError(f"DIR: {err}") from None
    env, _ = rebuild_environment(config, mdp)
    steps = int(env.max_episode_steps) if env is not None else max(
        [int(d.states.shape[1]) for d in (demos, prefs and prefs[0]) if d is not None] or [1])
    return MDPWorld(mdp, env, demos, prefs, steps)


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
