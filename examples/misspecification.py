"""Does the α-VaR policy-loss bound hold when the model is wrong? The misspecification suite.

Each row is a world × a misspecification: ``--num-worlds`` replicate worlds with a known true
reward, each fitted by every remedy (``--remedies``); for the posterior's evaluation policy (the
optimal policy of the posterior-mean reward) the α = 0.95, δ = 0.05 VaR upper bound on its
normalised EVD (nEVD; 0 optimal, 1 as bad as uniformly random; Brown & Niekum, AAAI 2018; the
draws are thinned to their effective sample size first) is compared with its true nEVD. Columns:
``coverage`` (share of worlds where bound >= true nEVD), ``tightness`` (mean bound / mean true
nEVD), ``nevd`` (mean true nEVD) and ``alarm_rate`` (share of worlds where the remedy's misfit
alarm fired; null while a remedy has no alarm); ``default`` marks the remedy the library uses by
default (:data:`DEFAULT_REMEDY`).

Worlds (``--worlds``):

* ``gridworld`` — a random-colour gridworld: 5×5, 4 one-hot colour features, slip 0.3,
  γ = 0.9, nine start cells; ``--num-demos`` demonstrations of 15 steps (one per start cell in
  turn). Model: Boltzmann likelihood over hard Q* at β = 10, uniform prior on the unit L1
  sphere. Truth: uniform on the unit L1 sphere (the prior).
* ``frozenlake`` — gymnasium's slippery FrozenLake8x8-v1 (γ = 0.95) with five state features:
  the tile kind one-hot (frozen, hole, goal; the start counts as frozen) and the row and column
  divided by 7; ``--num-demos`` episodes (<= 100 steps) from the start. Model and truth as the
  gridworld's.

  Why these settings (the MDP rows of an earlier version did not mix): a 9×9 gridworld at
  β = 100 and FrozenLake with 64 one-hot (tabular) features at β = 1000 gave PolicyWalk R-hat
  1.8 and 2.7 after 2000 steps and minutes of compilation per row. At β = 10 (the β of the
  misfit-alarm calibration, ``examples/misfit_alarm.py``) on five features the posterior is a
  few-dimensional blob, and PolicyWalk with the independence proposal (a random walk mixed
  with a Student-t fitted to the pooled chains during burn-in, frozen afterwards) mixes:
  4 chains × 3000 steps (1000 burn-in, thinned by 20) per world, all worlds of a row in one
  vmapped, compiled call. R-hat is reported for the weights and for the nEVD draws the bound
  uses; the gridworld's colour features sum to one in every state, so one direction of the
  weights (a constant added to every colour) is not identified and moves only with the
  prior, while the nEVD does not depend on it. ``--walk-proposal adaptive`` uses the adaptive
  random walk alone (faster per step on FrozenLake, but its chains mixed worse: weight R-hat
  up to 1.4 in 3 of 10 FrozenLake worlds after 3000 steps).
* ``mountaincar`` — MountainCar-v0 with trajectory features (no transition model): per step
  ``step`` = 1, ``height`` = sin(3x), ``position`` = (x + 0.3)/0.9, ``speed`` = |v|/0.07,
  ``goal`` = [x >= 0.4], ``valley`` = [|x + 0.5| < 0.1], each divided by 10 (so that a feature
  count is O(1)–O(20)). A fixed pool of rollouts of gymnasium's energy-pumping heuristic
  (Boltzmann, κ = 3) with ε-uniform noise ε = 0, 0.1, …, 0.5; a world is ``--num-trajectories``
  trajectories drawn from the pool and ``--num-comparisons`` random pairs of them labelled by a
  Bradley–Terry labeller. Model: Bradley–Terry at β = 1 (the library's default β), uniform prior
  on the unit L2 sphere. Truth: uniform on the unit L2 sphere. The evaluation policy is the best
  of a fixed set of candidate policies (the heuristic at other noise levels, deterministic,
  random) under the posterior-mean reward; losses are measured against the best candidate, from
  the candidates' feature expectations (:func:`bayesirl.analysis.coverage.candidate_losses`).

Misspecifications (``--misspecifications``); each row changes ONE thing of the well-specified
control (truth from the prior, a Boltzmann expert or labeller at the model's β):

=================  ===================================================  =====================
name               what is wrong                                        worlds
=================  ===================================================  =====================
control            nothing                                              all three
optimal            the expert acts optimally (argmax, ties split) /     all three
                   the labeller always prefers the higher return
beta-x0.1          the expert's / labeller's β is 0.1 × the model's     all three
beta-x10           the expert's / labeller's β is 10 × the model's      all three
epsilon-0.1        demonstrator: (1 − ε) Boltzmann + ε uniform, ε = 0.1  gridworld, frozenlake
epsilon-0.3        the same with ε = 0.3                                gridworld, frozenlake
sparse             truth off the prior: goal-only (one-hot weights:     all three
                   one colour; FrozenLake's own goal reward; the
                   ``goal`` feature)
missing-feature    the feature with the largest true |weight| is not    all three
                   in the model
drex               D-REX rankings (Brown et al., CoRL 2019): the pool   mountaincar
                   ranked by noise level, every pair of a ranking a
                   comparison; truth: the task's −1 per step
transfer           fitted on the training dynamics, evaluated on new    gridworld, frozenlake
                   ones (gridworld: a wall down the middle column;
                   FrozenLake: not slippery)
noisy-labeller     the Bradley–Terry labels at the model's β, each      mountaincar
                   replaced by a coin flip with probability 0.3
=================  ===================================================  =====================

Remedies (``--remedies``; :data:`REMEDIES`, name → function(world, problems, rng) → one
:class:`Posterior` per problem): ``plain`` (the Boltzmann / Bradley–Terry posterior at the
model's β: PolicyWalk with the independence proposal, vmapped over worlds, for the MDP worlds;
NUTS for MountainCar) and ``learned-beta`` (β learned, LogNormal(log β_model, 1) prior, jointly
with the weights on the sphere: random-walk MH over hard Q* for the MDP worlds, NUTS for
MountainCar).

    python examples/misspecification.py --json docs/results/misspecification.json \
        --text docs/results/misspecification.txt --plot docs/results/misspecification.png
    python examples/misspecification.py --worlds gridworld --misspecifications control,optimal \
        --num-worlds 2 --num-steps 300 --burn-in 100                               # CI
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # evaluation in float64; PolicyWalk runs in float32

import numpyro.distributions as dist  # noqa: E402

import bayesirl as birl  # noqa: E402
from bayesirl._arviz import from_draws, rank_normalized_rhat  # noqa: E402
from bayesirl.analysis.misfit import check_fit  # noqa: E402
from bayesirl.analysis.coverage import (  # noqa: E402
    candidate_losses,
    check_bound,
    summarise_bound_checks,
)
from bayesirl.analysis.posterior import policy_losses, weight_draws  # noqa: E402
from bayesirl.data.experts import expert_policy  # noqa: E402
from bayesirl.data.preferences import make_preferences  # noqa: E402
from bayesirl.data.rollouts import rollout_features  # noqa: E402
from bayesirl.data.trajectories import make_trajectories  # noqa: E402
from bayesirl.inference.fit import fit_demonstrations, fit_evidence, fit_trajectories  # noqa: E402
from bayesirl.inference.policy_walk import (  # noqa: E402
    sample_policy_walk_adaptive,
    sample_policy_walk_independence,
)
from bayesirl.solvers.evaluation import normalized_evd  # noqa: E402

WORLDS = ("gridworld", "frozenlake", "mountaincar")
MISSPECIFICATIONS = ("control", "optimal", "beta-x0.1", "beta-x10", "epsilon-0.1",
                     "epsilon-0.3", "sparse", "missing-feature", "drex", "transfer",
                     "noisy-labeller")
#: The misspecifications each world has (see the table in the module docstring).
APPLIES = {
    "gridworld": ("control", "optimal", "beta-x0.1", "beta-x10", "epsilon-0.1", "epsilon-0.3",
                  "sparse", "missing-feature", "transfer"),
    "frozenlake": ("control", "optimal", "beta-x0.1", "beta-x10", "epsilon-0.1", "epsilon-0.3",
                   "sparse", "missing-feature", "transfer"),
    "mountaincar": ("control", "optimal", "beta-x0.1", "beta-x10", "sparse", "missing-feature",
                    "drex", "noisy-labeller"),
}
ALPHA, DELTA = 0.95, 0.05
#: The gridworld: 5×5, 4 colours; demonstrations start in these cells (none in WALLS).
GRID_SIZE, GRID_FEATURES, GRID_HORIZON = 5, 4, 15
START_STATES = (0, 1, 3, 4, 10, 14, 20, 21, 24)
#: Transfer: a wall down the middle column with a gap in the top row.
WALLS = tuple(r * GRID_SIZE + 2 for r in range(1, GRID_SIZE))
#: FrozenLake's state features: the tile kind (start cells count as frozen) and the position.
LAKE_FEATURES = ("frozen", "hole", "goal", "row", "column")
LAKE_HORIZON = 100
#: The model's β of the MDP worlds (the expert's β in the control row).
MDP_BETA = 10.0
#: MountainCar: features, the heuristic's inverse temperature, the pool's noise ladder.
CAR = "MountainCar-v0"
CAR_FEATURES = ("step", "height", "position", "speed", "goal", "valley")
CAR_SCALE = 0.1
CAR_KAPPA = 3.0
CAR_LADDER = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
#: Candidate policies of the MountainCar evaluation: name -> (κ or None, ε); index 0 is random.
CAR_CANDIDATES = {"random": (CAR_KAPPA, 1.0), "expert": (CAR_KAPPA, 0.0),
                  "deterministic": (None, 0.0), "eps=0.15": (CAR_KAPPA, 0.15),
                  "eps=0.35": (CAR_KAPPA, 0.35), "eps=0.6": (CAR_KAPPA, 0.6),
                  "eps=0.85": (CAR_KAPPA, 0.85), "deterministic eps=0.3": (None, 0.3)}
NOISY_LABEL_RATE = 0.3


# ---------------------------------------------------------------------------------------------
# Worlds and the evidence of one replicate
# ---------------------------------------------------------------------------------------------


class World(NamedTuple):
    """One world of the suite: its name, kind ("mdp" or "trajectories"), the model's β and
    sphere prior, and the sampler settings the remedies read."""

    name: str
    kind: str
    beta: float
    prior: str
    settings: dict


class MDPProblem(NamedTuple):
    """One replicate of an MDP world.

    mdp: the MDP as the model sees it (features (S, F_model)); eval_mdp: where the evaluation
    policy is measured (new dynamics under transfer); true_reward: (S,); demos: the
    demonstrations; states/actions/counts: the distinct (s, a) pairs of the demonstrations
    (outside terminal states) with their multiplicities, padded to one length with count 0.
    """

    mdp: object
    eval_mdp: object
    true_reward: np.ndarray
    demos: object
    states: np.ndarray
    actions: np.ndarray
    counts: np.ndarray


class TrajectoryProblem(NamedTuple):
    """One replicate of a trajectory-feature world.

    trajectories / preferences: the evidence (features as the model sees them);
    candidates: (P, F_model) the candidate policies' expected feature counts as the model sees
    them; true_losses: (P,) each candidate's true nEVD.
    """

    trajectories: object
    preferences: object
    candidates: np.ndarray
    true_losses: np.ndarray


class Posterior(NamedTuple):
    """What a remedy returns for one problem: weight draws (C, D, F) and its misfit alarm
    (True: the remedy says its bound may not hold; None: the remedy has no alarm)."""

    weights: np.ndarray
    alarm: bool | None = None


def walled(mdp):
    """The same gridworld with WALLS: a move into a wall cell stays where it is."""
    nxt = np.asarray(mdp.next_states)
    src = np.broadcast_to(np.arange(mdp.num_states)[:, None, None], nxt.shape)
    blocked = np.isin(nxt, WALLS) & ~np.isin(src, WALLS)
    return mdp._replace(next_states=jnp.asarray(np.where(blocked, src, nxt), jnp.int32))


def expert_of(misspecification: str, beta: float, q_values):
    """The demonstrator's (S, A) policy from hard Q* (S, A)."""
    greedy = q_values == q_values.max(axis=-1, keepdims=True)
    if misspecification == "optimal":
        return greedy / greedy.sum(axis=-1, keepdims=True)
    scale = {"beta-x0.1": 0.1, "beta-x10": 10.0}.get(misspecification, 1.0)
    boltzmann = jax.nn.softmax(scale * beta * q_values, axis=-1)
    eps = {"epsilon-0.1": 0.1, "epsilon-0.3": 0.3}.get(misspecification, 0.0)
    return (1 - eps) * boltzmann + eps / q_values.shape[-1]


@partial(jax.jit, static_argnums=(4,))
def _demonstrate(keys, mdps, policies, starts, horizon):
    """Demonstrations of every world at once: (W, N, T) arrays."""
    def world(ks, mdp, policy):
        return jax.vmap(lambda k, s: birl.rollout(k, mdp, policy, horizon, s))(ks, starts)

    return jax.vmap(world)(keys, mdps, policies)


def _pairs(mdp, demos, num_demos):
    """Distinct (s, a) pairs of one world's demonstrations with multiplicities."""
    states, actions = np.asarray(demos.states), np.asarray(demos.actions)
    keep = np.asarray(demos.mask) & ~np.asarray(mdp.terminal)[states]
    pairs, counts = np.unique(np.stack([states[keep], actions[keep]]), axis=1, return_counts=True)
    return pairs[0], pairs[1], counts


def mdp_problems(world: World, misspecification: str, args) -> list[MDPProblem]:
    """``args.num_worlds`` replicates of an MDP world under one misspecification."""
    rng = np.random.default_rng([args.seed, WORLDS.index(world.name),
                                 MISSPECIFICATIONS.index(misspecification)])
    if world.name == "gridworld":
        def env_of(i, w):
            return birl.gridworld(GRID_SIZE, GRID_SIZE, num_features=GRID_FEATURES,
                                  slip_probability=0.3, seed=int(rng.integers(1 << 30)),
                                  discount=0.9, initial_states=list(START_STATES), weights=w)
        F, horizon = GRID_FEATURES, GRID_HORIZON
        starts = jnp.asarray([START_STATES[d % len(START_STATES)]
                              for d in range(args.num_demos)])
    else:
        lake = birl.make_environment("FrozenLake8x8-v1", features=lake_features())
        new_lake = birl.make_environment("FrozenLake8x8-v1", is_slippery=False,
                                         features=lake_features())

        def env_of(i, w):
            return lake._replace(true_reward=birl.reward_from_weights(lake.mdp, jnp.asarray(w)))
        F, horizon = len(LAKE_FEATURES), LAKE_HORIZON
        starts = jnp.zeros(args.num_demos, jnp.int32)
    envs, true_weights = [], []
    for i in range(args.num_worlds):
        w = rng.laplace(size=F)
        w /= np.abs(w).sum()  # uniform on the unit L1 sphere
        if misspecification == "sparse":
            w = np.zeros(F)
            w[int(rng.integers(F)) if world.name == "gridworld"
              else LAKE_FEATURES.index("goal")] = 1.0
        envs.append(env_of(i, w))
        true_weights.append(w)
    mdps = jax.tree.map(lambda *x: jnp.stack(x), *[e.mdp for e in envs])
    rewards = jnp.stack([e.true_reward for e in envs])
    q = jax.vmap(lambda m, r: birl.value_iteration(m, r).q_values)(mdps, rewards)
    policies = expert_of(misspecification, world.beta, q)
    keys = jax.random.split(jax.random.PRNGKey(int(rng.integers(1 << 30))),
                            (args.num_worlds, args.num_demos))
    demos = _demonstrate(keys, mdps, policies, starts, horizon)
    problems = []
    for i, env in enumerate(envs):
        mdp = env.mdp
        if misspecification == "missing-feature":
            keep = np.delete(np.arange(mdp.num_features), np.argmax(np.abs(true_weights[i])))
            mdp = mdp._replace(features=mdp.features[..., keep])
        eval_mdp = mdp
        if misspecification == "transfer":
            eval_mdp = (walled(mdp) if world.name == "gridworld"
                        else new_lake.mdp._replace(features=mdp.features))
        d = birl.Demonstrations(*(x[i] for x in demos))
        s, a, c = _pairs(mdp, d, args.num_demos)
        problems.append(MDPProblem(mdp, eval_mdp, np.asarray(env.true_reward), d, s, a, c))
    # every possible pair: one shape (one compile) per world
    width = min(args.num_demos * horizon, problems[0].mdp.num_states * problems[0].mdp.num_actions)
    pad = lambda x: np.pad(x, (0, width - len(x)))  # noqa: E731
    return [p._replace(states=pad(p.states), actions=pad(p.actions), counts=pad(p.counts))
            for p in problems]


def lake_features() -> np.ndarray:
    """FrozenLake8x8's state features (64, 5): one-hot tile kind (frozen, hole, goal; the start
    cell counts as frozen) and the row and column divided by 7."""
    import gymnasium

    desc = np.asarray(gymnasium.make("FrozenLake8x8-v1").unwrapped.desc).astype(str)
    rows, cols = np.indices(desc.shape)
    kind = np.stack([np.isin(desc, ("S", "F")), desc == "H", desc == "G"], -1).astype(float)
    pos = np.stack([rows, cols], -1) / (np.array(desc.shape) - 1)
    return np.concatenate([kind, pos], -1).reshape(-1, len(LAKE_FEATURES))


def car_phi(obs, action):
    """The MountainCar step features (6,) of one observation (x, v), times CAR_SCALE."""
    x, v = float(obs[0]), float(obs[1])
    return CAR_SCALE * np.array([1.0, np.sin(3 * x), (x + 0.3) / 0.9, abs(v) / 0.07,
                                 float(x >= 0.4), float(abs(x + 0.5) < 0.1)])


def car_policy(kappa, eps, seed):
    """The heuristic's action probabilities (gymnasium's expert, Boltzmann at κ or argmax,
    ε-uniform noise) as a sampling policy for ``rollout_features``: (B, 2) -> (B,) actions."""
    probs = expert_policy(CAR, kappa=kappa, epsilon=eps)
    rng = np.random.default_rng(seed)

    def policy(obs):
        p = probs(obs)
        return (rng.random((len(p), 1)) > np.cumsum(p, axis=-1)).sum(axis=-1).clip(
            0, p.shape[-1] - 1)

    return policy


class CarPool(NamedTuple):
    """Rollouts made once: feature counts (N, F) and noise level (N,) of the ladder pool, and
    the candidates' mean feature counts (P, F)."""

    counts: np.ndarray
    levels: np.ndarray
    candidates: np.ndarray


def car_pool(args) -> CarPool:
    """Roll out the noise-ladder pool and the candidate policies (about a minute)."""
    counts, levels = [], []
    for i, eps in enumerate(CAR_LADDER):
        t = rollout_features(CAR, car_policy(CAR_KAPPA, eps, args.seed + i), car_phi,
                             args.pool_per_level, seed=args.seed + i, num_envs=8,
                             progress_bar=False)
        counts.append(t.feature_counts)
        levels.append(np.full(args.pool_per_level, eps))
    candidates = []
    for i, (kappa, eps) in enumerate(CAR_CANDIDATES.values()):
        t = rollout_features(CAR, car_policy(kappa, eps, args.seed + 1000 + i), car_phi,
                             args.eval_episodes, seed=args.seed + 1000 + i, num_envs=8,
                             progress_bar=False)
        candidates.append(t.feature_counts.mean(axis=0))
    return CarPool(np.concatenate(counts), np.concatenate(levels), np.stack(candidates))


def car_problems(world: World, misspecification: str, args, pool: CarPool
                 ) -> list[TrajectoryProblem]:
    """``args.num_worlds`` replicates of the MountainCar world under one misspecification."""
    rng = np.random.default_rng([args.seed, WORLDS.index(world.name),
                                 MISSPECIFICATIONS.index(misspecification)])
    F = len(CAR_FEATURES)
    problems = []
    for _ in range(args.num_worlds):
        w = rng.standard_normal(F)
        w /= np.linalg.norm(w)  # uniform on the unit L2 sphere
        if misspecification == "sparse":
            w = np.eye(F)[CAR_FEATURES.index("goal")]
        if misspecification == "drex":
            w = -np.eye(F)[CAR_FEATURES.index("step")]  # the task's reward: −1 per step
            per_level = max(args.num_trajectories // len(CAR_LADDER), 1)
            ids = np.concatenate([rng.choice(np.flatnonzero(pool.levels == e), per_level,
                                             replace=False) for e in CAR_LADDER])
            ranking = [list(range(i * per_level, (i + 1) * per_level))
                       for i in range(len(CAR_LADDER))]
            prefs = make_preferences(len(ids), rankings=[ranking])
        else:
            ids = rng.choice(len(pool.counts), args.num_trajectories, replace=False)
            prefs = _labels(rng, misspecification, world.beta, pool.counts[ids] @ w,
                            args.num_comparisons)
        keep = np.arange(F)
        if misspecification == "missing-feature":
            keep = np.delete(keep, int(np.argmax(np.abs(w))))
        true_losses = np.asarray([candidate_losses(w, pool.candidates, p, 0)
                                  for p in range(len(pool.candidates))])
        trajectories = make_trajectories(feature_counts=pool.counts[ids][:, keep],
                                         feature_names=[CAR_FEATURES[k] for k in keep])
        problems.append(TrajectoryProblem(trajectories, prefs, pool.candidates[:, keep],
                                          true_losses))
    return problems


def _labels(rng, misspecification, beta, returns, num_comparisons):
    """Random pairs labelled by the (mis)specified labeller of the row."""
    n = len(returns)
    first = rng.integers(n, size=num_comparisons)
    second = (first + rng.integers(1, n, size=num_comparisons)) % n
    diff = returns[first] - returns[second]
    scale = {"beta-x0.1": 0.1, "beta-x10": 10.0}.get(misspecification, 1.0)
    p_first = (diff > 0) + 0.5 * (diff == 0) if misspecification == "optimal" else (
        1.0 / (1.0 + np.exp(-scale * beta * diff)))
    label = (rng.random(num_comparisons) >= p_first).astype(int)  # 0: first preferred
    if misspecification == "noisy-labeller":
        flip = rng.random(num_comparisons) < NOISY_LABEL_RATE
        label = np.where(flip, rng.integers(2, size=num_comparisons), label)
    return make_preferences(n, list(zip(first.tolist(), second.tolist(), label.tolist())))


# ---------------------------------------------------------------------------------------------
# Remedies: name -> function(world, problems, rng) -> [Posterior per problem]
# ---------------------------------------------------------------------------------------------


def _policy_walk_batch(world: World, problems: list[MDPProblem], rng) -> list[Posterior]:
    """The Boltzmann posterior at the model's β (hard Q*, uniform prior on the L1 sphere):
    PolicyWalk with the independence proposal (a random walk mixed with a Student-t fitted to
    the pooled chain states during burn-in, then frozen; a policy cache shared by the chains),
    C chains per world, vmapped over worlds."""
    s = world.settings
    n, F = len(problems), problems[0].mdp.num_features
    base = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32)
                        if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x,
                        problems[0].mdp._replace(features=None))
    features = np.stack([np.asarray(p.mdp.features, np.float32) for p in problems])
    stack = lambda name: np.stack([getattr(p, name) for p in problems])  # noqa: E731
    init = rng.laplace(size=(n, s["walk_chains"], F)).astype(np.float32)
    keys = jax.random.split(jax.random.PRNGKey(int(rng.integers(1 << 30))), n)
    sampler = (sample_policy_walk_independence if s["walk_proposal"] == "independence"
               else sample_policy_walk_adaptive)
    chain = partial(sampler, beta=world.beta, num_steps=s["num_steps"], burn_in=s["burn_in"],
                    thinning=s["thinning"], norm=1)

    @jax.jit
    def run(keys, feats, st, ac, counts, w0):
        def one(key, f, st, ac, c, x0):
            pairs = birl.DemonstrationPairs(st, ac, jnp.zeros_like(st))
            out = chain(key, base._replace(features=f), pairs, x0,
                        pair_weights=c.astype(jnp.float32))
            return out.samples.weights if hasattr(out, "samples") else out.weights

        return jax.vmap(one)(keys, feats, st, ac, counts, w0)

    draws = np.asarray(run(keys, features, stack("states"), stack("actions"), stack("counts"),
                           init), np.float64)
    return [Posterior(d) for d in draws]


def _fit_settings(world: World, rng) -> dict:
    s = world.settings
    return dict(num_samples=s["num_samples"], num_warmup=s["num_warmup"],
                num_chains=s["num_chains"], seed=int(rng.integers(1 << 30)),
                progress_bar=False, predictive_groups=False, warn=False, retry=False)


def _numpyro_fits(world: World, problems, rng, beta) -> list[Posterior]:
    """One library fit per problem (fits of one shape compile once): random-walk MH over hard
    Q* on the L1 sphere for MDP worlds, NUTS on the L2 sphere for trajectory worlds."""
    out = []
    for p in problems:
        if world.kind == "mdp":
            idata = fit_demonstrations(p.mdp, p.demos, method="mh", q="hard",
                                       prior=world.prior, beta=beta, **_fit_settings(world, rng))
        else:
            idata = fit_trajectories(p.trajectories, preferences=p.preferences, method="nuts",
                                     prior=world.prior, betas={"bradley-terry": beta},
                                     **_fit_settings(world, rng))
        out.append(Posterior(weight_draws(idata)))
    return out


def plain(world: World, problems, rng) -> list[Posterior]:
    """The posterior at the model's fixed β (the library's default today)."""
    if world.kind == "mdp":
        return _policy_walk_batch(world, problems, rng)
    return _numpyro_fits(world, problems, rng, world.beta)


def learned_beta(world: World, problems, rng) -> list[Posterior]:
    """β learned jointly with the weights: LogNormal(log β_model, 1) prior, sphere prior on w
    (the likelihood depends on β·w only, so β is identified as the scale; the CLI's
    ``--beta lognormal:MU,1``)."""
    return _numpyro_fits(world, problems, rng, dist.LogNormal(math.log(world.beta), 1.0))


def noisy_boltzmann(world: World, problems, rng) -> list[Posterior]:
    """The ε-contaminated ("noisy-rational") demonstrator, π = (1 − ε) Boltzmann + ε uniform,
    ε learned (Beta(1, 9) prior), β at the model's value; random-walk MH over hard Q* on the
    sphere. Trajectory worlds have no demonstrator: their posterior is the plain one."""
    if world.kind != "mdp":
        return plain(world, problems, rng)
    out = []
    for p in problems:
        idata = fit_evidence(p.mdp, likelihoods="noisy-boltzmann", demos=p.demos, method="mh",
                             q="hard", prior=world.prior, betas={"noisy-boltzmann": world.beta},
                             **_fit_settings(world, rng))
        out.append(Posterior(weight_draws(idata)))
    return out


#: name -> function(world, problems, rng) -> [Posterior]. A remedy may return Posterior(...,
#: alarm=bool) to report its misfit alarm; otherwise :data:`MISFIT_ALARM` decides.
REMEDIES: dict[str, Callable] = {
    "plain": plain,
    "learned-beta": learned_beta,
    "noisy-boltzmann": noisy_boltzmann,
}
#: The remedy the library uses by default (β fixed at 1 unless the user sets it).
DEFAULT_REMEDY = "plain"


def misfit_alarm(world: World, problem, posterior: Posterior) -> bool:
    """The library's misfit alarm (:func:`bayesirl.analysis.check_fit`) on the plain model of
    the row (Boltzmann demonstrator over hard Q* at the model's β; Bradley–Terry labels at the
    model's β), given the remedy's weight draws."""
    idata = from_draws({"reward_weights": posterior.weights})
    if world.kind == "mdp":
        report = check_fit(idata, problem.mdp, demos=problem.demos, q="hard",
                           betas={"boltzmann": world.beta})
    else:
        report = check_fit(idata, demos=None, preferences=None, evidence=_trajectory_evidence(
            problem), betas={"bradley-terry": world.beta})
    return bool(report.alarm)


def _trajectory_evidence(problem):
    from bayesirl.models import trajectory_evidence

    return trajectory_evidence(problem.trajectories, preferences=problem.preferences)


#: Misfit alarm applied after every remedy that reports none: a function
#: (world, problem, posterior) -> bool.
MISFIT_ALARM: Callable | None = misfit_alarm


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(world: World, problem, posterior: Posterior):
    """(BoundCheck, max R-hat of the weights, R-hat of the loss draws, whether the bound fell
    back to all draws) of one fitted problem. The bound thins the draws to their effective sample size; where fewer than
    the 59 draws the bound needs remain, it uses every draw instead (and says so)."""
    try:
        return (*_evaluate(world, problem, posterior, "ess"), False)
    except ValueError as err:
        if "too few samples" not in str(err):
            raise
        return (*_evaluate(world, problem, posterior, "draws"), True)


def _evaluate(world: World, problem, posterior: Posterior, sample_size: str):
    draws = posterior.weights
    C, D, F = draws.shape
    mean = draws.reshape(-1, F).mean(axis=0)
    if world.kind == "mdp":
        mdp = problem.eval_mdp
        policy = birl.value_iteration(mdp, birl.reward_from_weights(mdp, jnp.asarray(mean))
                                      ).policy
        losses = np.asarray(policy_losses(mdp, draws.reshape(-1, F), policy).nevd)
        truth = float(normalized_evd(mdp, jnp.asarray(problem.true_reward, mdp.features.dtype),
                                     jnp.asarray(policy, mdp.features.dtype)))
    else:
        best = int(np.argmax(problem.candidates @ mean))
        losses = np.asarray(candidate_losses(draws, problem.candidates, best, 0))
        truth = float(problem.true_losses[best])
    losses = losses.reshape(C, D)
    check = check_bound(losses, truth, ALPHA, DELTA, sample_size=sample_size)
    return check, _rhat(draws), _rhat(losses[..., None])


def _rhat(draws) -> float:
    """The largest rank-normalised R-hat of (C, D, K) draws (nan for one chain or D < 4)."""
    if draws.shape[0] < 2 or draws.shape[1] < 4:
        return math.nan
    return float(np.nanmax(rank_normalized_rhat(np.moveaxis(draws, -1, 0))))


def run_row(world: World, misspecification: str, remedy: str, problems, args) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    rng = np.random.default_rng([args.seed, 7, REMEDY_ORDER.index(remedy)])
    posteriors = REMEDIES[remedy](world, problems, rng)
    checks, rhats, loss_rhats, alarms, fallbacks = [], [], [], [], 0
    for problem, post in zip(problems, posteriors):
        check, rhat, loss_rhat, fallback = evaluate(world, problem, post)
        fallbacks += fallback
        checks.append(check)
        rhats.append(rhat)
        loss_rhats.append(loss_rhat)
        alarm = post.alarm
        if alarm is None and MISFIT_ALARM is not None:
            alarm = bool(MISFIT_ALARM(world, problem, post))
        alarms.append(alarm)
    summary = summarise_bound_checks(checks)
    fired = [a for a in alarms if a is not None]
    return dict(world=world.name, misspecification=misspecification, remedy=remedy,
                default=remedy == DEFAULT_REMEDY, num_worlds=summary.num_worlds,
                coverage=summary.coverage, tightness=summary.tightness,
                nevd=summary.mean_loss, alarm_rate=float(np.mean(fired)) if fired else math.nan,
                mean_bound=summary.mean_bound, rhat_median=float(np.nanmedian(rhats)),
                rhat_max=float(np.nanmax(rhats)),
                rhat_loss_median=float(np.nanmedian(loss_rhats)),
                draws_used_median=float(np.median([c.num_samples for c in checks])),
                ess_too_small=fallbacks,
                wall_s=time.perf_counter() - start, cpu_s=time.process_time() - cpu)


REMEDY_ORDER = tuple(REMEDIES)


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def format_table(rows, wall, args) -> str:
    lines = [f"misspecification suite: α = {ALPHA}, δ = {DELTA}; {args.num_worlds} worlds per "
             f"row; wall time {wall:.0f} s",
             f"{'world':12s} {'misspecification':16s} {'remedy':13s} {'coverage':>8s} "
             f"{'tightness':>9s} {'nEVD':>7s} {'alarm':>6s} {'R-hat':>6s} {'max':>6s} "
             f"{'R(L)':>6s} {'n':>5s} {'W':>3s} {'s':>6s}"]
    for r in rows:
        alarm = "-" if math.isnan(r["alarm_rate"]) else f"{r['alarm_rate']:.2f}"
        lines.append(f"{r['world']:12s} {r['misspecification']:16s} "
                     f"{r['remedy'] + ('*' if r['default'] else ''):13s} {r['coverage']:8.2f} "
                     f"{r['tightness']:9.2f} {r['nevd']:7.3f} {alarm:>6s} "
                     f"{r['rhat_median']:6.3f} {r['rhat_max']:6.3f} {r['rhat_loss_median']:6.3f} "
                     f"{r['draws_used_median']:5.0f} {r['num_worlds']:3d} {r['wall_s']:6.1f}")
    lines.append("* the library's default; tightness = mean bound / mean true nEVD; R-hat: "
                 "median over worlds of the largest R-hat of the weights (max: the largest over "
                 "worlds; R(L): median R-hat of the nEVD draws the bound uses); n: median draws "
                 "after thinning to the ESS (all draws where the ESS was below 59, in "
                 "ess_too_small of the JSON); W: worlds; s: seconds for the row's fits and evaluation")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({(r["world"], r["misspecification"]) for r in rows},
                    key=lambda k: (WORLDS.index(k[0]), MISSPECIFICATIONS.index(k[1])))
    remedies = [m for m in REMEDY_ORDER if any(r["remedy"] == m for r in rows)]
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(labels) + 2), 4.5))
    width = 0.8 / len(remedies)
    for j, remedy in enumerate(remedies):
        sel = {(r["world"], r["misspecification"]): r["coverage"] for r in rows
               if r["remedy"] == remedy}
        x = [i + (j - (len(remedies) - 1) / 2) * width for i, k in enumerate(labels) if k in sel]
        ax.bar(x, [sel[k] for k in labels if k in sel], width, label=remedy)
    ax.axhline(ALPHA, color="k", ls="--", lw=1, label=f"α = {ALPHA}")
    ax.set_xticks(range(len(labels)), [f"{w}: {m}" for w, m in labels], rotation=70,
                  ha="right", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("coverage (bound holds)")
    ax.set_title(f"α-VaR bound on nEVD (α = {ALPHA}, δ = {DELTA}) under misspecification")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _finite_or_none(x):
    return None if isinstance(x, float) and not math.isfinite(x) else x


def write_json(path, rows, wall, args):
    clean = [{k: _finite_or_none(v) for k, v in r.items()} for r in rows]
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "text", "plot")}
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump({"rows": clean, "wall_time_s": wall, "cpu_time_s": time.process_time(),
                   "alpha": ALPHA, "delta": DELTA,
                   "settings": settings}, f, indent=1, allow_nan=False)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    subset = lambda names: lambda s: _subset(s, names)  # noqa: E731
    p.add_argument("--worlds", type=subset(WORLDS), default=list(WORLDS),
                   help=f"comma-separated subset of {','.join(WORLDS)}")
    p.add_argument("--misspecifications", type=subset(MISSPECIFICATIONS),
                   default=list(MISSPECIFICATIONS),
                   help="comma-separated subset of " + ",".join(MISSPECIFICATIONS)
                   + " (each world runs those that apply to it)")
    p.add_argument("--remedies", type=subset(tuple(REMEDIES)),
                   default=sorted({DEFAULT_REMEDY, "plain"}, key=REMEDY_ORDER.index),
                   help=f"comma-separated subset of {','.join(REMEDIES)} (default: the "
                        "library's default and plain)")
    p.add_argument("--num-worlds", type=_positive, default=50, help="replicates per row")
    p.add_argument("--num-demos", type=_positive, default=10,
                   help="demonstrations per MDP world")
    p.add_argument("--num-steps", type=_positive, default=3000,
                   help="PolicyWalk steps per chain, burn-in included")
    p.add_argument("--burn-in", type=_positive, default=1000, help="PolicyWalk burn-in (>= 4)")
    p.add_argument("--thinning", type=_positive, default=20,
                   help="PolicyWalk thinning (lowered so that a chain keeps >= 64 draws)")
    p.add_argument("--walk-chains", type=_positive, default=4,
                   help="PolicyWalk chains per world")
    p.add_argument("--walk-proposal", choices=("independence", "adaptive"),
                   default="independence",
                   help="PolicyWalk proposal (adaptive: the random walk alone)")
    p.add_argument("--num-chains", type=_positive, default=2,
                   help="chains per world of the NumPyro fits")
    p.add_argument("--num-samples", type=_positive, default=500,
                   help="draws per chain of the NumPyro fits (learned β; MountainCar)")
    p.add_argument("--num-warmup", type=_positive, default=300,
                   help="warm-up steps per chain of the NumPyro fits")
    p.add_argument("--num-trajectories", type=_positive, default=30,
                   help="MountainCar: trajectories per world")
    p.add_argument("--num-comparisons", type=_positive, default=60,
                   help="MountainCar: labelled pairs per world")
    p.add_argument("--pool-per-level", type=_positive, default=20,
                   help="MountainCar: pool episodes per noise level")
    p.add_argument("--eval-episodes", type=_positive, default=20,
                   help="MountainCar: episodes per candidate policy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write {'rows': [...], 'wall_time_s': ...} here")
    p.add_argument("--text", help="write the table here")
    p.add_argument("--plot", help="write the coverage per row here (PNG)")
    args = p.parse_args(argv)
    if args.burn_in < 4 or args.burn_in >= args.num_steps:
        p.error(f"--burn-in: expected 4 <= burn-in < --num-steps ({args.num_steps}), "
                f"got {args.burn_in}")
    if args.num_trajectories > len(CAR_LADDER) * args.pool_per_level:
        p.error(f"--num-trajectories: at most --pool-per-level × {len(CAR_LADDER)} = "
                f"{len(CAR_LADDER) * args.pool_per_level}, got {args.num_trajectories}")
    return args


def _subset(text: str, names) -> list[str]:
    chosen = [s for s in text.split(",") if s]
    bad = [s for s in chosen if s not in names]
    if bad or not chosen:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of "
                                         f"{','.join(names)}, got {text!r}")
    return chosen


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def make_world(name: str, args) -> World:
    # every PolicyWalk chain keeps >= 64 draws (the bound needs 59 from all chains together)
    thinning = max(1, min(args.thinning, (args.num_steps - args.burn_in) // 64))
    settings = dict(num_steps=args.num_steps, burn_in=args.burn_in, thinning=thinning,
                    walk_chains=args.walk_chains, walk_proposal=args.walk_proposal,
                    num_chains=args.num_chains, num_samples=args.num_samples,
                    num_warmup=args.num_warmup)
    if name == "mountaincar":
        return World(name, "trajectories", 1.0, "l2-sphere", settings)
    return World(name, "mdp", MDP_BETA, "l1-sphere", settings)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    rows = []
    for name in [w for w in WORLDS if w in args.worlds]:
        world = make_world(name, args)
        kinds = [m for m in APPLIES[name] if m in args.misspecifications]
        pool = car_pool(args) if kinds and world.kind == "trajectories" else None
        for misspecification in kinds:
            problems = (car_problems(world, misspecification, args, pool) if pool is not None
                        else mdp_problems(world, misspecification, args))
            for remedy in [m for m in REMEDY_ORDER if m in args.remedies]:
                rows.append(run_row(world, misspecification, remedy, problems, args))
                r = rows[-1]
                print(f"{name} {misspecification} {remedy}: coverage {r['coverage']:.2f}, "
                      f"tightness {r['tightness']:.2f}, nEVD {r['nevd']:.3f}, "
                      f"R-hat {r['rhat_median']:.3f} ({r['wall_s']:.0f} s)", flush=True)
                if args.json:  # after every row, so that a long run keeps what it measured
                    write_json(args.json, rows, time.perf_counter() - start, args)
    wall = time.perf_counter() - start
    text = format_table(rows, wall, args)
    print(text)
    if args.text:
        with open(args.text, "w") as f:
            f.write(text + "\n")
    if args.json:
        write_json(args.json, rows, wall, args)
    if args.plot and rows:
        plot(rows, args.plot)
    return rows


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    main()
