"""The continuous-state world: expert transitions of a task with continuous observations and
discrete actions, and reward posteriors over learned Q-functions (no MDP, no features).

``bayesirl fit --env CartPole-v1 --num-demos 3`` simulates the shipped expert
(:mod:`bayesirl.data.experts`; also Acrobot-v1, MountainCar-v0, LunarLander-v3), ``bayesirl
fit --demos-npz FILE`` reads your own logs (schema ``bayesirl.transitions/1``,
:mod:`bayesirl.data.continuous`); ``--method`` picks the fit of :mod:`bayesirl.continuous`.
The run folder holds the transitions fitted (``transitions.npz``), the held-out expert episodes
(``test_transitions.npz``, when there are any), the posterior over Q-networks
(``posterior.npz``, :func:`save_q_posterior`), ``config.json`` and ``summary.json``:

* the learned policy (greedy on the posterior-mean Q-values) and, when the environment is
  known, its return over ``--eval-episodes`` rollouts next to the expert's and a uniformly
  random policy's on the same seeds;
* the learned policy's return under the posterior reward (discounted by γ, summed over those
  rollouts' implied rewards ``Q(s, a) − γ V(s')``, or the variational encoder's q(r | s, a)),
  with a credible interval over posterior draws;
* the action log-probability (nats per action) of the training and held-out expert episodes;
* the reward's posterior mean and width (sd) on the demonstrated transitions.
"""

from __future__ import annotations

import json
import os
import time
from typing import NamedTuple

import numpy as np

from bayesirl._io import atomic_path
from bayesirl.app.config import RunConfig, parse_expert
from bayesirl.app.errors import UsageError

__all__ = ["ContinuousWorld", "ContinuousDiagnostics", "TRANSITIONS_FILE",
           "TEST_TRANSITIONS_FILE", "Q_POSTERIOR_FILE", "Q_POSTERIOR_FORMAT", "METHOD_NOTES",
           "STATE_DIMENSIONS", "INTERVAL_PROB", "R_HAT_MAX", "continuous_world",
           "load_continuous_world", "fit_options", "fit_q_posterior", "save_q_posterior",
           "load_q_posterior", "REMEDY",
           "summarise_continuous", "state_dimension_names"]

#: Names of the input copies and of the posterior in a run folder.
TRANSITIONS_FILE, TEST_TRANSITIONS_FILE, Q_POSTERIOR_FILE = (
    "transitions.npz", "test_transitions.npz", "posterior.npz")
#: Schema of ``posterior.npz``.
Q_POSTERIOR_FORMAT = "bayesirl.q-posterior/1"
#: Mass of the credible interval of the return under the posterior reward.
INTERVAL_PROB = 0.94
#: A value-nuts fit whose split R-hat (of the action log-likelihood, and of the worst
#: demonstration state's expert-action log-probability) exceeds this is flagged.
R_HAT_MAX = 1.01
#: Reward draws of the variational posterior q(r | s, a) (and at most this many posterior
#: draws of the others) for the credible interval of the return.
RETURN_DRAWS = 400
#: Settings of value-space fits not on the command line (those of
#: docs/results/classic_control.txt: weight prior sd 3, NUTS tree depth <= 6).
VALUE_SPACE_OPTIONS = {"weight_scale": 3.0}
NUTS_OPTIONS = {"max_tree_depth": 6}
#: Seeds of the held-out and the evaluation episodes: ``data_seed`` plus these (distinct
#: streams from the demonstrations', which use ``data_seed`` itself).
TEST_STREAM, EVAL_STREAM = 2**32, 2**33
#: What each method is, for the summary and the report.
METHOD_NOTES = {
    "variational": "variational Bayesian IRL (AVRIL-style): a Gaussian reward posterior "
                   "q(r | s, a) and a TD-consistent Q-network, by SVI",
    "value-nuts": "value-space Bayesian IRL (ValueWalk-style): a posterior over Q-network "
                  "weights, by NUTS",
    "value-svi": "value-space Bayesian IRL (ValueWalk-style), mean-field SVI",
    "value-svi-lowrank": "value-space Bayesian IRL (ValueWalk-style), low-rank Gaussian SVI",
    "cloning": "behavioural cloning (a policy, no reward): the control",
}
#: Observation coordinates of the shipped tasks (gymnasium's documentation).
STATE_DIMENSIONS = {
    "CartPole-v1": ("cart position", "cart velocity", "pole angle", "pole angular velocity"),
    "Acrobot-v1": ("cos θ1", "sin θ1", "cos θ2", "sin θ2", "θ̇1", "θ̇2"),
    "MountainCar-v0": ("position", "velocity"),
    "LunarLander-v3": ("x", "y", "x velocity", "y velocity", "angle", "angular velocity",
                       "left leg contact", "right leg contact"),
}
_GYM_HINT = 'pip install "bayesirl[gym]"'
_BOX2D_HINT = 'pip install "gymnasium[box2d]"'
_CONTINUOUS_HINT = 'pip install "bayesirl[continuous]"'


class ContinuousDiagnostics(NamedTuple):
    """What ``bayesirl fit --strict`` reads: the problems found (empty: none)."""

    problems: tuple


class ContinuousWorld(NamedTuple):
    """Expert transitions of a continuous-state task with discrete actions; no MDP.

    Attributes:
        transitions: the N fitted transitions (:class:`~bayesirl.data.continuous.Transitions`).
        test: held-out expert transitions, or None.
        env_id: the gymnasium id that evaluation rollouts use, or None (unknown).
        origin: where the transitions come from, in words.
    """

    transitions: object
    test: object
    env_id: str | None
    origin: str

    kind = "continuous"
    mdp = None

    @property
    def num_features(self) -> int:
        """D, the observation size (there are no hand-made features)."""
        return int(self.transitions.observation_size)

    @property
    def feature_names(self) -> list:
        """The D observation coordinates' names (:func:`state_dimension_names`)."""
        return state_dimension_names(self.env_id, self.num_features)

    def evidence_inputs(self):
        """None: a continuous-state fit takes the transitions themselves."""
        return None

    def comparisons(self):
        """None: no preferences."""
        return None

    def save(self, folder: str) -> list[str]:
        """``transitions.npz`` and, with held-out episodes, ``test_transitions.npz``."""
        from bayesirl.data.continuous import save_transitions

        save_transitions(os.path.join(folder, TRANSITIONS_FILE), self.transitions)
        if self.test is None:
            return [TRANSITIONS_FILE]
        save_transitions(os.path.join(folder, TEST_TRANSITIONS_FILE), self.test)
        return [TRANSITIONS_FILE, TEST_TRANSITIONS_FILE]

    def describe(self, config: RunConfig) -> dict:
        """``{"transitions": sizes and source, "evidence": counts}``."""
        t = self.transitions
        doc = {"source": self.origin, "env_id": self.env_id,
               "num_episodes": int(t.episodes.size), "num_transitions": t.num_transitions,
               "observation_size": t.observation_size, "num_actions": int(t.num_actions),
               "num_terminal": int(np.sum(t.dones)), "state_dimensions": self.feature_names}
        if t.rewards is not None:
            from bayesirl.data.continuous import episode_returns

            returns = episode_returns(t)
            doc["episode_return"] = {"mean": float(returns.mean()),
                                     "sd": float(returns.std(ddof=1)) if returns.size > 1
                                     else 0.0}
        return {"transitions": doc,
                "evidence": {"likelihoods": [] if config.method == "cloning" else ["boltzmann"],
                             "num_demonstrations": int(t.episodes.size),
                             "num_transitions": t.num_transitions,
                             "num_test_episodes": 0 if self.test is None
                             else int(self.test.episodes.size)}}


def state_dimension_names(env_id: str | None, size: int) -> list[str]:
    """Names of the D observation coordinates: :data:`STATE_DIMENSIONS` for a shipped task of
    that size, else ``"dimension d"``."""
    names = STATE_DIMENSIONS.get(env_id or "")
    if names is not None and len(names) == size:
        return list(names)
    return [f"dimension {d}" for d in range(size)]


# ---------------------------------------------------------------------------------------------
# Building the world
# ---------------------------------------------------------------------------------------------


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _simulate(env_id: str, policy, episodes: int, seed: int, flag: str = "--env"):
    """Rollouts of ``policy``; UsageError naming ``flag`` when gymnasium (or Box2D) is missing
    or the environment cannot be made."""
    from bayesirl.data.continuous import rollout_transitions

    try:
        return rollout_transitions(env_id, policy, episodes, seed=seed, progress_bar=False)
    except ImportError:
        raise UsageError(f"{flag}: gymnasium is needed to simulate {env_id}: "
                         f"{_GYM_HINT}") from None
    except ValueError as err:
        text = _one_line(err)
        if "box2d" in text.lower():
            raise UsageError(f"{flag}: {env_id} needs Box2D: {_BOX2D_HINT}") from None
        raise UsageError(f"{flag}: {text.removeprefix('env_id: ')}") from None


def _expert(config: RunConfig):
    from bayesirl.data.experts import expert_policy

    kind, value = parse_expert(config.expert or "optimal")
    if kind == "boltzmann":
        return expert_policy(config.env, kappa=value)
    return expert_policy(config.env, epsilon=value or 0.0)


def _hold_out(transitions, count: int, path: str):
    """``(fitted, held-out)``: the file's last ``count`` episodes held out (None: none)."""
    from bayesirl.data.continuous import select_episodes

    episodes = transitions.episodes
    if count == 0:
        return transitions, None
    if count >= episodes.size:
        raise UsageError(f"--test-episodes: {path} has {episodes.size} episode(s); holding out "
                         f"{count} leaves none to fit")
    return (select_episodes(transitions, episodes[:-count]),
            select_episodes(transitions, episodes[-count:]))


def continuous_world(config: RunConfig) -> ContinuousWorld:
    """The world of a continuous-state ``config``: the shipped expert's rollouts (``--env``,
    ``config.num_demos`` episodes from ``config.data_seed``, and ``config.test_episodes``
    held-out ones from another stream) or a transitions file (``--demos-npz``, its last
    ``config.test_episodes`` episodes held out).

    Raises:
        UsageError: gymnasium or Box2D missing (``--env``, saying what to install), an invalid
            file (``--demos-npz: <field>: ...``, one line), too many held-out episodes.
    """
    from bayesirl.app.checks import check_world_memory
    from bayesirl.data.continuous import load_transitions

    if config.env:
        check_world_memory("--num-demos/--test-episodes", f"{config.num_demos} expert "
                           f"episodes of {config.env}", num_demos=config.num_demos
                           + config.test_episodes, num_steps=1000)
        demos = _simulate(config.env, _expert(config), config.num_demos, config.data_seed)
        test = None
        if config.test_episodes:
            test = _simulate(config.env, _expert(config), config.test_episodes,
                             config.data_seed + TEST_STREAM)
        source = f"{config.num_demos} episode(s) of the shipped {config.env} expert " \
                 f"({config.expert}), data seed {config.data_seed}"
        return ContinuousWorld(demos, test, config.env, source)
    path = config.demos_npz
    try:
        transitions = load_transitions(path)
    except FileNotFoundError:
        raise UsageError(f"--demos-npz: no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"--demos-npz: {path} is a folder, expected a .npz file") from None
    except (ValueError, TypeError, OSError, KeyError) as err:
        raise UsageError(f"--demos-npz: {_one_line(err)}") from None
    fitted, test = _hold_out(transitions, config.test_episodes, path)
    return ContinuousWorld(fitted, test, transitions.env_id, path)


def load_continuous_world(path: str, config: RunConfig | None) -> ContinuousWorld:
    """The world saved in the run folder ``path`` (its transition copies).

    Raises:
        UsageError: a missing or unreadable copy (``DIR: ...``).
    """
    from bayesirl.data.continuous import load_transitions

    try:
        transitions = load_transitions(os.path.join(path, TRANSITIONS_FILE))
        test_path = os.path.join(path, TEST_TRANSITIONS_FILE)
        test = load_transitions(test_path) if os.path.isfile(test_path) else None
    except (OSError, ValueError, TypeError) as err:
        raise UsageError(f"DIR: cannot read {path} ({_one_line(err)}); fit it again with "
                         "'bayesirl fit ... --out DIR'") from None
    env_id = (config.env if config is not None and config.env else transitions.env_id)
    source = (config.demos_npz if config is not None and config.demos_npz
              else f"the expert episodes in {TRANSITIONS_FILE}")
    return ContinuousWorld(transitions, test, env_id, source)


# ---------------------------------------------------------------------------------------------
# Fitting, saving and loading the posterior
# ---------------------------------------------------------------------------------------------


def _fit_module():
    try:
        import bayesirl.continuous as continuous
    except ImportError as err:
        raise UsageError(f"--method: continuous-state fits need equinox and optax "
                         f"({_one_line(err)}): {_CONTINUOUS_HINT}") from None
    return continuous


def fit_options(config: RunConfig) -> dict:
    """The keyword options of ``config.method`` (:data:`bayesirl.continuous.FIT_METHODS`)."""
    options = {"width": config.hidden_units, "seed": config.seed}
    method = config.method
    if method != "cloning":
        options.update(discount=config.discount, beta=config.betas["boltzmann"].value,
                       reward_scale=config.prior_scale, soft=config.q != "hard")
    if method == "value-nuts":
        options.update(num_warmup=config.num_warmup, num_samples=config.num_samples,
                       num_chains=config.num_chains, **NUTS_OPTIONS, **VALUE_SPACE_OPTIONS)
    elif method.startswith("value-svi"):
        options.update(svi_steps=config.num_steps, num_samples=config.num_samples,
                       **VALUE_SPACE_OPTIONS)
    else:
        options.update(num_steps=config.num_steps)
    return options


def fit_q_posterior(config: RunConfig, world: ContinuousWorld):
    """Fit ``config.method`` to the world's transitions.

    Returns:
        :class:`~bayesirl.continuous.QPosterior`.

    Raises:
        UsageError: equinox or optax missing (saying what to install).
    """
    continuous = _fit_module()
    return continuous.fit(world.transitions, config.method, **fit_options(config))


def _leaves(tree) -> list:
    import jax

    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def save_q_posterior(path: str | os.PathLike, posterior) -> None:
    """Write a :class:`~bayesirl.continuous.QPosterior` (of :func:`bayesirl.continuous.fit`) as
    ``.npz``: its format, method, sizes (D, A, width, depth of the MLP), γ, soft, β (M,), the
    standardiser, the weight draws ``q_<k>`` (M, ...) in leaf order and, for the variational
    fit, the encoder's ``encoder_<k>``; diagnostics as JSON. Written atomically."""
    net = posterior.network
    arrays = {"format": np.array(Q_POSTERIOR_FORMAT), "method": np.array(posterior.method),
              "sizes": np.array([net.in_size, net.out_size, net.width_size, net.depth]),
              "discount": np.array(float(posterior.discount)),
              "soft": np.array(bool(posterior.soft)), "beta": np.asarray(posterior.beta),
              "loc": np.asarray(posterior.standardizer.loc),
              "scale": np.asarray(posterior.standardizer.scale),
              "diagnostics": np.array(json.dumps(_jsonable(posterior.diagnostics or {})))}
    arrays.update({f"q_{k}": x for k, x in enumerate(_leaves(posterior.draws))})
    if posterior.encoder is not None:
        arrays.update({f"encoder_{k}": x for k, x in enumerate(_leaves(posterior.encoder_draws))})
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def _draws_like(template, doc: dict, prefix: str):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    params, _ = eqx.partition(template, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten(params)
    keys = sorted((k for k in doc if k.startswith(prefix + "_")),
                  key=lambda k: int(k.rsplit("_", 1)[1]))
    if len(keys) != len(leaves) or any(doc[k].shape[1:] != leaf.shape
                                       for k, leaf in zip(keys, leaves)):
        raise ValueError(f"{prefix}: the stored weights do not fit the network of the stored "
                         "sizes")
    return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(doc[k]) for k in keys])


def load_q_posterior(path: str | os.PathLike):
    """Read a posterior written by :func:`save_q_posterior`.

    Returns:
        :class:`~bayesirl.continuous.QPosterior`.

    Raises:
        ValueError: not such a file (wrong format, missing keys, weights of the wrong shape).
        ImportError: equinox or optax missing.
    """
    import jax.numpy as jnp

    from bayesirl.continuous import QPosterior, Standardizer, make_network

    try:
        with np.load(os.fspath(path), allow_pickle=False) as npz:
            doc = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as err:
        raise ValueError(f"posterior: {path} is not a readable .npz file ({err})") from None
    if str(doc.get("format", "")) != Q_POSTERIOR_FORMAT:
        raise ValueError(f"posterior: {path} must have format {Q_POSTERIOR_FORMAT!r}")
    try:
        D, A, width, depth = (int(v) for v in doc["sizes"])
        network = make_network(D, A, width=width, depth=depth)
        encoder = encoder_draws = None
        if any(k.startswith("encoder_") for k in doc):
            encoder = make_network(D, 2 * A, width=width, depth=depth)
            encoder_draws = _draws_like(encoder, doc, "encoder")
        return QPosterior(network, _draws_like(network, doc, "q"), jnp.asarray(doc["beta"]),
                          Standardizer(jnp.asarray(doc["loc"]), jnp.asarray(doc["scale"])),
                          float(doc["discount"]), bool(doc["soft"]), str(doc["method"]),
                          json.loads(str(doc["diagnostics"])), encoder, encoder_draws)
    except KeyError as err:
        raise ValueError(f"posterior: {path} has no {err.args[0]!r}") from None


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        v = np.asarray(v).item() if np.ndim(v) == 0 else np.asarray(v).tolist()
        out[k] = None if isinstance(v, float) and not np.isfinite(v) else v
    return out


# ---------------------------------------------------------------------------------------------
# What the posterior gives
# ---------------------------------------------------------------------------------------------


def _discounted_returns(transitions, rewards: np.ndarray, discount: float) -> np.ndarray:
    """(M, E) discounted return of each episode under each of M reward draws (M, N)."""
    ids = transitions.episode_ids
    starts = np.r_[0, np.nonzero(ids[1:] != ids[:-1])[0] + 1]
    step = np.arange(ids.size) - np.repeat(starts, np.diff(np.r_[starts, ids.size]))
    weighted = rewards * discount ** step
    return np.add.reduceat(weighted, starts, axis=1)


def _reward_draws(posterior, transitions, seed: int) -> np.ndarray | None:
    """(M, N) reward draws on transitions: the implied rewards of every draw, or draws of the
    variational q(r | s, a); None for behavioural cloning (no reward)."""
    continuous = _fit_module()
    if posterior.method == "cloning":
        return None
    if posterior.encoder is not None:
        mean, sd = (np.asarray(x, np.float64)
                    for x in continuous.reward_summary(posterior, transitions))
        noise = np.random.default_rng(seed).standard_normal((RETURN_DRAWS, mean.size))
        return mean + sd * noise
    return np.asarray(continuous.reward_draws(posterior, transitions), np.float64)


def _interval(values: np.ndarray) -> dict:
    lo, hi = np.quantile(values, [(1 - INTERVAL_PROB) / 2, (1 + INTERVAL_PROB) / 2])
    return {"mean": float(values.mean()), "sd": float(values.std()), "lower": float(lo),
            "upper": float(hi), "prob": INTERVAL_PROB, "num_draws": int(values.size)}


def _evaluation(config: RunConfig, world: ContinuousWorld, posterior) -> tuple[dict, list]:
    """Returns of the learned policy (and of the expert and random policies, same seeds) in
    the environment, and its return under the posterior reward; notes when not possible."""
    from bayesirl.data.continuous import episode_returns
    from bayesirl.data.experts import EXPERTS, expert_policy, random_policy

    E = config.eval_episodes
    if not world.env_id or E == 0:
        why = ("--eval-episodes 0" if E == 0 else
               "the environment is unknown (the transitions file has no env_id)")
        return {"episodes": 0, "note": f"no rollouts: {why}"}, []
    continuous = _fit_module()
    seed = config.data_seed + EVAL_STREAM
    try:
        learned = _simulate(world.env_id, continuous.policy_function(posterior), E, seed)
    except UsageError as err:
        note = f"no rollouts in {world.env_id}: {str(err).split(': ', 1)[-1]}"
        return {"episodes": 0, "note": note}, [note]
    returns = episode_returns(learned)
    doc = {"episodes": E, "env_id": world.env_id, "seed": seed,
           "policy": "greedy on the posterior-mean Q-values",
           "learned_return": {"mean": float(returns.mean()),
                              "sd": float(returns.std(ddof=1)) if E > 1 else 0.0}}
    if world.env_id in EXPERTS:
        ex = episode_returns(_simulate(world.env_id, expert_policy(world.env_id), E, seed))
        rnd = episode_returns(_simulate(world.env_id,
                                        random_policy(EXPERTS[world.env_id].num_actions), E,
                                        seed))
        doc.update(expert_return=float(ex.mean()), random_return=float(rnd.mean()))
        if ex.mean() != rnd.mean():
            doc["normalized_score"] = float((returns.mean() - rnd.mean())
                                            / (ex.mean() - rnd.mean()))
    rewards = _reward_draws(posterior, learned, config.seed)
    if rewards is not None:
        per_draw = _discounted_returns(learned, rewards, float(posterior.discount)).mean(axis=1)
        doc["return_under_posterior_reward"] = {
            **_interval(per_draw), "discount": float(posterior.discount),
            "note": "discounted return of the learned policy's rollouts under posterior reward "
                    "draws (mean over the rollouts), in the posterior's reward units"}
    return doc, []


def _reward_block(posterior, transitions) -> dict | None:
    if posterior.method == "cloning":
        return None
    continuous = _fit_module()
    mean, sd = (np.asarray(x, np.float64) for x in continuous.reward_summary(posterior,
                                                                           transitions))
    return {"mean": float(mean.mean()), "sd_across_transitions": float(mean.std()),
            "min": float(mean.min()), "max": float(mean.max()), "width": float(sd.mean()),
            "width_max": float(sd.max()),
            "note": "posterior mean and sd (width) of the reward r(s, a, s') on each "
                    "demonstrated transition, summarised over the transitions"}


def _problems(method: str, diagnostics: dict) -> list[str]:
    problems = []
    if method != "value-nuts":
        return problems
    for key, what in (("r_hat", "of the action log-likelihood"),
                      ("r_hat_policy", "of the worst demonstration state's action "
                                       "log-probability")):
        value = diagnostics.get(key)
        if value is not None and np.isfinite(value) and value > R_HAT_MAX:
            problems.append(f"R-hat {what} is {value:.3f} > {R_HAT_MAX} (the chains disagree)")
    if diagnostics.get("divergences"):
        problems.append(f"{diagnostics['divergences']} divergent NUTS transitions")
    return problems


#: What to try for a value-nuts fit whose chains disagree.
REMEDY = ("run longer (--num-warmup, --num-samples), or use --method variational (fast; its "
          "posterior is a variational approximation)")


def summarise_continuous(config: RunConfig, world: ContinuousWorld, posterior,
                         start: float) -> tuple[dict, ContinuousDiagnostics, list[str]]:
    """The content of ``summary.json`` of a continuous-state run (module docstring; printed by
    :func:`bayesirl.app.report_continuous.format_continuous_text`), its diagnostics and notes
    for the user.

    Returns:
        ``(summary, ContinuousDiagnostics, notes)``.
    """
    continuous = _fit_module()
    diagnostics = _jsonable(posterior.diagnostics or {})
    problems = _problems(config.method, diagnostics)
    evaluation, notes = _evaluation(config, world, posterior)
    lp = {"train": continuous.action_log_prob(posterior, world.transitions),
          "num_train_transitions": world.transitions.num_transitions,
          "note": "mean log-probability (nats per action) of the expert's actions under "
                  "softmax(β̄ Q̄), the posterior-mean Q-values; predictive: the posterior-"
                  "predictive policy (1/M) Σ softmax(β_m Q_m)"}
    if world.test is not None:
        lp.update(test=continuous.action_log_prob(posterior, world.test),
                  test_predictive=continuous.action_log_prob(posterior, world.test,
                                                             "predictive"),
                  test_episodes=int(world.test.episodes.size),
                  num_test_transitions=world.test.num_transitions)
    summary = {
        "kind": "continuous", "settings": config.flat_json(),
        "method": {"name": config.method, "what": METHOD_NOTES[config.method],
                   "num_draws": posterior.num_draws, "options": _jsonable(fit_options(config))},
        **world.describe(config),
        "diagnostics": {**diagnostics, "problems": problems,
                        "remedies": [REMEDY] * bool(problems), "r_hat_max": R_HAT_MAX},
        "warnings": list(problems) + notes,
        "policy_note": "greedy (most probable action) on the posterior-mean Q-values",
        "evaluation": evaluation, "action_log_prob": lp,
        "reward": _reward_block(posterior, world.transitions),
        "timings": {"sampling_s": float(diagnostics.get("wall_s") or 0.0),
                    "total_s": time.perf_counter() - start}}
    return summary, ContinuousDiagnostics(tuple(problems)), notes
