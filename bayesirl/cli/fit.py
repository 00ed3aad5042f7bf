"""``bayesirl fit``: arguments → :class:`~bayesirl.app.config.RunConfig` → :func:`run_fit` → print.

    bayesirl fit --env FrozenLake8x8-v1 --num-demos 50 --sampler nuts --out runs/frozenlake
    bayesirl fit --trajectories trajs.npz --preferences prefs.json --prior l2-sphere --out runs/t
    bayesirl fit --choices survey.csv --group-by person --out runs/survey
    bayesirl fit --env CartPole-v1 --num-demos 3 --out runs/cartpole

Only parsing here: the job is :func:`bayesirl.app.fit.run_fit`.
"""

from __future__ import annotations

import os
import sys

from bayesirl.app.config import (BETA_PRIORS, CONTINUOUS_ENVS, CONTINUOUS_METHODS,
                                 DEFAULT_CONTINUOUS_METHOD, DEFAULT_DATA_SEED, Q_KINDS,
                                 SAMPLERS, RunConfig)
from bayesirl.cli import types as t
from bayesirl.inference.samplers import SAMPLERS as _REGISTRY
from bayesirl.models import PRIORS

__all__ = ["NAME", "add_parser", "run", "config_from_args", "check_strict",
           "set_chain_devices"]

#: The subcommand's name on the command line.
NAME = "fit"
OWN_DATA = "see 'Your own data' in the README"
#: At most this many CPU devices are made for parallel chains (more chains run vectorized or
#: one after another, see :func:`bayesirl.inference.fit.fit`).
MAX_CHAIN_DEVICES = 32


def _evidence_group(p) -> None:
    src = p.add_argument_group("evidence (either --env, or --mdp with --demos and/or --preferences, "
                               "or --trajectories with --preferences and/or --demos-ids, or "
                               "--choices, or --demos-npz)")
    src.add_argument("--env", help="gymnasium toy-text id (e.g. FrozenLake8x8-v1, Taxi-v4, "
                     "CliffWalking-v1) or 'gridworld'; demonstrations are simulated. "
                     f"Continuous states: {', '.join(CONTINUOUS_ENVS)} (the shipped expert's "
                     "demonstrations; the reward is learned with Q-networks, see --method)")
    src.add_argument("--mdp", help="an MDP file (.npz from bayesirl.save_mdp or 'bayesirl "
                     f"make-mdp'; {OWN_DATA})")
    src.add_argument("--demos", help=f"demonstrations (JSON) for --mdp ({OWN_DATA})")
    src.add_argument("--preferences", help=f"preferences between trajectories (JSON; {OWN_DATA}); "
                     "with --trajectories its ids are rows of the npz")
    src.add_argument("--trajectories", help="trajectory features (.npz, schema "
                     "bayesirl.trajectories/1) instead of an MDP: no MDP is solved; see "
                     "'Without an MDP' in the README")
    src.add_argument("--choices", help="choices (or rankings) among options with features "
                     "(JSON or CSV, format bayesirl.choices/1; see 'Choices by many people' in "
                     "the README), or a shipped data set: swissmetro, dutch-train; instead of "
                     "an MDP: the multinomial logit / Plackett-Luce likelihood")
    src.add_argument("--demos-npz", default=None, metavar="FILE",
                     help="your own expert transitions of a continuous-state task with "
                          "discrete actions (.npz, schema bayesirl.transitions/1: "
                          "observations, actions, next_observations, dones, episode_ids, "
                          "num_actions; see 'Continuous states' in the README)")
    src.add_argument("--test-episodes", type=t.nonnegative_int, default=None, metavar="N",
                     help="continuous states: held-out expert episodes for the test-set action "
                          "log-probability (--env: simulated besides --num-demos, default 5; "
                          "--demos-npz: the file's last N episodes, kept out of the fit, "
                          "default 0)")
    src.add_argument("--eval-episodes", type=t.nonnegative_int, default=None, metavar="N",
                     help="continuous states: rollouts of the learned policy (and of the expert "
                          "and a random policy, same seeds) in the environment (default 10; 0: "
                          "none; needs a known environment)")
    src.add_argument("--group-by", default=None, metavar="FIELD",
                     help="with --choices: the field (CSV column, JSON key) saying who chose, "
                          "e.g. person: each person gets reward weights of their own around "
                          "the population's (hierarchical model); default: one reward for "
                          "everyone")
    src.add_argument("--demos-ids", type=t.id_list, default=None, metavar="IDS",
                     help="rows of --trajectories that are demonstrations (sample-based MaxEnt), "
                          "e.g. 40-42 or 3,7,9")
    src.add_argument("--background-ids", type=t.id_list, default=None, metavar="IDS",
                     help="rows of --trajectories whose log_probs importance-sample the partition "
                          "function of --demos-ids (default: every other row)")
    src.add_argument("--num-demos", type=t.nonnegative_int, default=50,
                     help="simulated expert demonstrations (episodes) for --env (default 50; 0 "
                          "with preferences only)")
    src.add_argument("--num-preferences", type=t.nonnegative_int, default=0,
                     help="simulated comparisons for --env: rollouts of noisy policies "
                          "labelled by their true return (default 0)")
    src.add_argument("--expert", default=None, metavar="KIND",
                     help="the simulated demonstrator for --env: boltzmann (Boltzmann-rational "
                          "at the model's β: the demonstrator the model assumes; the "
                          "gridworld's default), boltzmann:BETA, optimal (always an optimal "
                          "action; the default of gymnasium environments, whose rewards are "
                          "too small for a β = 1 demonstrator to reach a goal: more "
                          "deterministic than a Boltzmann model allows, which the misfit alarm "
                          "reports), or noisy:EPS (optimal, but a random action with "
                          "probability EPS)")
    src.add_argument("--discount", type=t.discount, default=None,
                     help="γ for --env (default 0.95 gymnasium and continuous states, 0.9 "
                          "gridworld)")
    src.add_argument("--grid-size", type=t.grid, default=None,
                     help="--env gridworld: HxW (default 5x5)")
    src.add_argument("--num-features", type=t.positive_int, default=None,
                     help="--env gridworld: colour features (default 4)")
    src.add_argument("--data-seed", type=t.seed, default=DEFAULT_DATA_SEED,
                     help="seed of the synthetic world (--env gridworld) and of the simulated "
                          f"demonstrations and preferences (default {DEFAULT_DATA_SEED}, so "
                          "changing --seed re-runs inference on the same problem)")


def _model_group(p) -> None:
    model = p.add_argument_group("model")
    model.add_argument("--likelihood", type=t.likelihoods, default=None,
                       help=f"comma-separated evidence models: {', '.join(t.SOURCES)} (default: "
                            "boltzmann (sample-maxent with --trajectories), plus bradley-terry "
                            "when there are preferences)")
    model.add_argument("--horizon", type=t.positive_int, default=None,
                       help="finite horizon T of the maxent likelihood (default: discounted)")
    model.add_argument("--margin", "--delta", dest="margin", type=t.nonnegative_float,
                       default=None,
                       help="indifference margin δ of weak preferences (default 0, or 1 when "
                            "the preferences include 'equal' answers; --delta: the former "
                            "name)")
    model.add_argument("--q", choices=Q_KINDS, default=None,
                       help="Q-values of the Boltzmann demonstrator (default soft; hard with "
                            "--sampler policy-walk, or when --sampler auto chooses it)")
    model.add_argument("--beta", type=t.beta_arg, action="append", default=None,
                       help="rationality β: a number (fixed, default 1) or a prior "
                            f"({', '.join(f'{k}:ARGS' for k in BETA_PRIORS)}, e.g. "
                            "lognormal:0,1; needs a sphere prior); SOURCE=SPEC sets one "
                            "source's β (e.g. --beta bradley-terry=lognormal:0,1); repeatable")
    model.add_argument("--prior", choices=PRIORS, default=None,
                       help="prior over reward weights (default gaussian; policy-walk: "
                            "l2-sphere, or l1-sphere)")
    model.add_argument("--prior-scale", type=t.positive_float, default=1.0,
                       help="scale of the gaussian/laplace prior (default 1)")
    model.add_argument("--random-features", type=t.name_list, default=None, metavar="NAMES",
                       help="with --group-by: comma-separated features whose weights differ "
                            "between people (default: all); the others are shared")
    model.add_argument("--hidden-units", type=t.positive_int, default=None,
                       help="continuous states: hidden units of the Q-network's tanh layer "
                            "(default 8 for CartPole-v1, as Bajgar et al. 2024, else 16)")
    model.add_argument("--person-scale", type=t.positive_float, default=None,
                       help="with --group-by: scale of the half-normal prior on how much each "
                            "varying weight differs between people (default: --prior-scale)")


def add_parser(sub) -> None:
    """Add ``fit`` to the ``bayesirl`` subparsers."""
    p = sub.add_parser("fit", help="posterior over reward weights from demonstrations, "
                       "preferences or choices", description="Fit a posterior over reward "
                       "weights from demonstrations and/or preferences between trajectories, "
                       "or from choices among options (one reward, or one per person).")
    _evidence_group(p)
    _model_group(p)
    inf = p.add_argument_group("inference")
    inf.add_argument("--sampler", choices=SAMPLERS, default="auto",
                     help="default auto: chosen from the problem by a written rule (the docs' "
                          "'Choosing a sampler'), printed with the fit; "
                          + "; ".join(f"{name}: {s.description.split(';')[0].split('(')[0].strip()}"
                                      for name, s in _REGISTRY.items()))
    inf.add_argument("--method", choices=tuple(CONTINUOUS_METHODS), default=None,
                     help="continuous states: the fit (default "
                          f"{DEFAULT_CONTINUOUS_METHOD}: fast, and as good as the others on the "
                          "classic-control table; value-nuts is the MCMC posterior over "
                          "Q-networks, minutes and R-hat often above 1.01; value-svi(-lowrank): "
                          "the same model by SVI; cloning: behavioural cloning, the control, "
                          "no reward)")
    inf.add_argument("--num-steps", type=t.positive_int, default=None,
                     help="continuous states: optimiser steps of variational, value-svi and "
                          "cloning (default 3000; cloning 2000)")
    inf.add_argument("--num-samples", type=t.positive_int, default=None,
                     help="draws per chain (default: the sampler's; nuts 500, mh 1000)")
    inf.add_argument("--num-warmup", type=t.nonnegative_int, default=None,
                     help="warm-up iterations per chain (default: the sampler's; nuts 500, "
                          "mh 20000)")
    inf.add_argument("--thinning", type=t.positive_int, default=None,
                     help="keep every k-th draw (default: the sampler's; mh 150)")
    inf.add_argument("--num-chains", type=t.positive_int, default=None,
                     help="chains (MAP: restarts; default: the sampler's; 4, policy-walk 64, "
                          "cheap as its chains share a cache of optimal policies)")
    inf.add_argument("--seed", type=t.seed, default=0,
                     help="seed of inference: chains' initial points and moves, MAP restarts "
                          "(default 0; the data have their own --data-seed)")
    out = p.add_argument_group("output")
    out.add_argument("--out", required=True, help="output folder (must be empty unless --force)")
    out.add_argument("--force", action="store_true",
                     help="replace a non-empty --out as a whole (its previous files are removed "
                          "once the new run is in place)")
    out.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    out.add_argument("--strict", action="store_true",
                     help="exit with status 1 when the diagnostics fail (R-hat, ESS, "
                          "divergences, acceptance)")


def config_from_args(args) -> RunConfig:
    """The :class:`RunConfig` of parsed ``fit`` arguments (raises ConfigError)."""
    betas = {}
    for source, spec in args.beta or ():
        betas[source] = spec
    return RunConfig(
        env=args.env, grid_size=args.grid_size, num_features=args.num_features,
        discount=args.discount, mdp=args.mdp, demos=args.demos, preferences=args.preferences,
        trajectories=args.trajectories, demos_ids=args.demos_ids,
        background_ids=args.background_ids,
        num_demos=args.num_demos, num_preferences=args.num_preferences,
        likelihood=args.likelihood, betas=betas, horizon=args.horizon, margin=args.margin,
        q=args.q, prior=args.prior, prior_scale=args.prior_scale, sampler=args.sampler,
        num_samples=args.num_samples, num_warmup=args.num_warmup, thinning=args.thinning,
        num_chains=args.num_chains, seed=args.seed, data_seed=args.data_seed,
        expert=args.expert, choices=args.choices, group_by=args.group_by,
        random_features=args.random_features, person_scale=args.person_scale,
        demos_npz=args.demos_npz, test_episodes=args.test_episodes,
        eval_episodes=args.eval_episodes, hidden_units=args.hidden_units, method=args.method,
        num_steps=args.num_steps)


def check_strict(config: RunConfig) -> None:
    """Refuse ``--strict`` with settings whose diagnostics always fail (see
    :func:`bayesirl.analysis.diagnose`): a MAP fit (one point, not draws) or a single chain
    (R-hat cannot compare chains).

    Raises:
        CLIError: naming ``--strict`` and the reason.
    """
    if config.world.kind == "continuous" and config.method != "value-nuts":
        raise t.CLIError(f"--strict: --method {config.method} has no MCMC diagnostics, so "
                         "--strict would never fail; drop --strict, or use --method value-nuts")
    if config.sampler == "map":
        raise t.CLIError("--strict: --sampler map finds a single point, not posterior draws, "
                         "so its diagnostics always fail and --strict would always exit 1; "
                         "drop --strict, or choose a sampler that draws (nuts, mh or auto)")
    if config.num_chains == 1:
        raise t.CLIError("--strict: with --num-chains 1 R-hat cannot compare chains, so the "
                         "diagnostics always fail and --strict would always exit 1; run "
                         ">= 2 chains or drop --strict")


def set_chain_devices(num_chains: int) -> int:
    """Give JAX one CPU device per chain, so that the chains run in parallel
    (``chain_method="parallel"``): they share the cores, so even with fewer cores than chains
    this beats running them one after another (4 NUTS chains on 2 cores: about 2× faster).

    Must run before JAX's backend starts (importing jax is fine, computing is not); a user's own
    ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS`` is kept.

    Returns:
        The number of CPU devices asked for.
    """
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return -1
    import numpyro

    count = max(1, min(int(num_chains), MAX_CHAIN_DEVICES))
    numpyro.set_host_device_count(count)
    return count


def run(args) -> int:
    """Run ``bayesirl fit``; 0 on success, 1 with ``--strict`` and failed diagnostics."""
    from bayesirl.app.checks import check_out
    from bayesirl.app.fit import run_fit
    from bayesirl.app.summary import format_fit_text
    from bayesirl.inference.fit import default_progress_bar

    config = config_from_args(args)
    if args.strict:
        check_strict(config)
    check_out(args.out, args.force)  # before JAX starts: a bad --out fails in milliseconds
    if config.sampler == "nuts" and config.q == "hard" and "boltzmann" in config.likelihood:
        print("bayesirl: warning: hard-max Q is piecewise linear in the reward; NUTS may report "
              "divergences (prefer --q soft or --sampler mh)", file=sys.stderr)
    if config.world.kind != "continuous":  # value-nuts runs its chains one after another
        set_chain_devices(config.num_chains or 4)
    result = run_fit(config, args.out, args.force,
                     progress_bar=default_progress_bar() and not args.quiet)
    if not args.quiet:
        print(format_fit_text(result.table, result.summary, args.out), end="")
    return 1 if args.strict and result.diagnostics.problems else 0
