"""Reproduce the gridworld experiment of Brown & Niekum (AAAI 2018), "Efficient probabilistic
performance bounds for inverse reinforcement learning": how often the α-VaR bound on the
expected value difference (EVD) of the MAP policy holds, and how tight it is, beside the
worst-case feature-count bound (WFCB).

Protocol: 9×9 grids, 8 one-hot colour features drawn uniformly per cell, true weights uniform
on the unit L1 sphere, slip 0.7 / 0.15 / 0.15 (off-grid moves stay), γ = 0.9, start states
{10, 13, 16, 37, 40, 43, 64, 67, 70} (uniform p0). The d-th demonstration starts at the d-th
start state and follows an optimal policy (random tie breaks) for 100 steps; duplicate
(s, a) pairs are removed. Boltzmann likelihood, β = 100, over hard Q*; uniform prior on the L1
sphere; PolicyWalk MCMC (10,000 steps, step 0.01, burn-in 100, keep every 20th). Evaluation
policy: the optimal policy of the MAP sample. For each number of demonstrations: the fraction
of worlds where the bound is at least the true EVD ("accuracy") and mean(bound − true EVD).

Every (world, number of demonstrations) pair gets one chain: PolicyWalk is written for one
problem and vmapped over chunks of chains (float32; the evaluation runs in float64), the
chunks spread over one worker process per core (``--executor``: serial, process or ray).

    python examples/bounds_gridworld.py                      # the full protocol (~minutes)
    python examples/bounds_gridworld.py --num-worlds 4 --num-steps 800 --thinning 2
"""

import os
import argparse
import json
import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # evaluation in float64; the sampler runs in float32

import bayesirl as birl
from bayesirl.analysis.bounds import feature_count_bound, value_at_risk_bound
from bayesirl.inference.policy_walk import sample_policy_walk
from bayesirl.data.mdp import MDP
from bayesirl.executors import EXECUTORS, map_fits
from bayesirl.solvers.occupancy import expected_feature_counts

START_STATES = (10, 13, 16, 37, 40, 43, 64, 67, 70)


class Pairs(NamedTuple):
    """Padded demonstration pairs of one problem (PolicyWalk reads ``states``/``actions``)."""

    states: jax.Array
    actions: jax.Array


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-worlds", type=int, default=200)
    p.add_argument("--num-demos", default="1,3,5,7,9", help="comma-separated, each <= 9")
    p.add_argument("--num-steps", type=int, default=10_000)
    p.add_argument("--burn-in", type=int, default=100)
    p.add_argument("--thinning", type=int, default=20)
    p.add_argument("--step-size", type=float, default=0.01)
    p.add_argument("--beta", type=float, default=100.0)
    p.add_argument("--demo-length", type=int, default=100)
    p.add_argument("--alphas", default="0.9,0.95,0.99")
    p.add_argument("--delta", type=float, default=0.05)
    p.add_argument("--chunk", type=int, default=125, help="chains per vmapped batch")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: one per core)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the table and the wall time to this file")
    p.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="where the chunks of chains run (default: process with --workers > 1, "
                        "else serial)")
    p.add_argument("--address", default=None, help="Ray cluster for --executor ray ('auto' "
                   "or HOST:PORT; default: a local Ray)")
    args = p.parse_args(argv)
    if args.executor is None:
        args.executor = "process" if args.workers > 1 else "serial"
    args.num_demos = [int(x) for x in args.num_demos.split(",")]
    args.alphas = [float(x) for x in args.alphas.split(",")]
    if not all(1 <= d <= len(START_STATES) for d in args.num_demos):
        p.error(f"--num-demos: each must be in 1..{len(START_STATES)}")
    return args


def make_worlds(args):
    """The random worlds (float64 environments) and their demonstrations."""
    rng = np.random.default_rng(args.seed)
    envs = []
    for i in range(args.num_worlds):
        weights = rng.laplace(size=8)
        envs.append(birl.gridworld(9, 9, num_features=8, slip_probability=0.3,
                                   seed=args.seed * 100_003 + i, discount=0.9,
                                   initial_states=list(START_STATES),
                                   weights=weights / np.abs(weights).sum()))

    @jax.jit
    def demonstrate(mdp, reward, key):
        expert = birl.value_iteration(mdp, reward).policy  # ties split evenly: random tie breaks
        starts = jnp.asarray(START_STATES)
        keys = jax.random.split(key, len(START_STATES))
        one = partial(birl.rollout, mdp=mdp, policy=expert, horizon=args.demo_length)
        return jax.vmap(lambda k, s0: one(k, initial_state=s0))(keys, starts)

    return [(env, demonstrate(env.mdp, env.true_reward, jax.random.PRNGKey(args.seed * 100_003 + i)))
            for i, env in enumerate(envs)]


def unique_pairs(demos, d):
    """Distinct (s, a) pairs of the first d demonstrations (no terminals in this grid)."""
    s = np.asarray(demos.states[:d])[np.asarray(demos.mask[:d])]
    a = np.asarray(demos.actions[:d])[np.asarray(demos.mask[:d])]
    return sorted(set(zip(s.tolist(), a.tolist())))


def run_chains(args, worlds):
    """One PolicyWalk chain per (world, number of demonstrations), in vmapped chunks spread
    over worker processes (one per core)."""
    problems = [(w, d) for w in range(len(worlds)) for d in args.num_demos]
    pairs = [unique_pairs(worlds[w][1], d) for w, d in problems]
    P = max(len(p) for p in pairs)
    total = len(problems)
    states = np.zeros((total, P), np.int32)
    actions = np.zeros((total, P), np.int32)
    weights = np.zeros((total, P), np.float32)
    for i, p in enumerate(pairs):
        states[i, : len(p)], actions[i, : len(p)] = np.array(p).T
        weights[i, : len(p)] = 1.0
    features = np.stack([np.asarray(worlds[w][0].mdp.features, np.float32) for w, _ in problems])
    init = np.random.default_rng(args.seed + 1).laplace(size=(total, 8)).astype(np.float32)
    keys = np.asarray(jax.random.split(jax.random.PRNGKey(args.seed + 2), total))
    mdp = worlds[0][0].mdp  # transitions, p0 and γ are the same in every world
    shared = {k: np.asarray(getattr(mdp, k)) for k in
              ("next_states", "next_probs", "discount", "initial_distribution", "terminal")}
    settings = dict(beta=args.beta, step_size=args.step_size, num_steps=args.num_steps,
                    burn_in=args.burn_in, thinning=args.thinning)
    padded = -(-total // args.chunk) * args.chunk
    inputs = [keys, features, states, actions, weights, init]
    inputs = [np.concatenate([x, np.repeat(x[-1:], padded - total, axis=0)]) for x in inputs]
    jobs = [(shared, settings, [x[i:i + args.chunk] for x in inputs])
            for i in range(0, padded, args.chunk)]
    # one single-threaded JAX runtime per worker: XLA's intra-op threads gain little here
    outputs = map_fits(run_chunk, jobs, executor=args.executor, address=args.address,
                       max_workers=args.workers, progress=False)
    samples = jax.tree.map(lambda *xs: np.concatenate(xs)[:total], *outputs)
    return problems, samples, [len(p) for p in pairs]


_COMPILED = {}


def run_chunk(job):
    """Run a chunk of chains (vmapped PolicyWalk, float32) and return numpy arrays."""
    shared, settings, (keys, features, states, actions, weights, init) = job
    key = tuple(sorted(settings.items())) + (features.shape, states.shape)
    if key not in _COMPILED:
        base = MDP(next_states=jnp.asarray(shared["next_states"]),
                   next_probs=jnp.asarray(shared["next_probs"], jnp.float32), features=None,
                   discount=jnp.asarray(shared["discount"], jnp.float32),
                   initial_distribution=jnp.asarray(shared["initial_distribution"], jnp.float32),
                   terminal=jnp.asarray(shared["terminal"]))
        chain = partial(sample_policy_walk, axis_name="chains", **settings)

        def one(key, feats, st, ac, pw, w0):
            return chain(key, base._replace(features=feats), Pairs(st, ac), w0, pair_weights=pw)

        _COMPILED[key] = jax.jit(jax.vmap(one, axis_name="chains"))
    out = _COMPILED[key](jnp.asarray(keys), jnp.asarray(features), jnp.asarray(states),
                         jnp.asarray(actions), jnp.asarray(weights), jnp.asarray(init))
    return jax.tree.map(np.asarray, out)


def evaluate(args, worlds, problems, samples):
    """True EVD, α-VaR bounds and the WFCB of each chain's evaluation (MAP) policy."""

    @partial(jax.jit, static_argnums=3)
    def exact(mdp, true_reward, demos, d, map_policy):
        policy = jax.nn.one_hot(map_policy, mdp.num_actions, dtype=mdp.features.dtype)
        true_evd = birl.expected_value_difference(mdp, true_reward, policy)
        first = birl.Demonstrations(*(x[:d] for x in demos))
        return true_evd, expected_feature_counts(mdp, policy), feature_count_bound(mdp, first, policy)

    rows = []
    for i, (w, d) in enumerate(problems):
        env, demos = worlds[w]
        true_evd, mu_eval, wfcb = exact(env.mdp, env.true_reward, demos, d,
                                        jnp.asarray(samples.map_policy[i]))
        # EVD of every kept draw: ρ(π*_w, w) − w·μ(π_eval); float32 round-off ~1e-5 → clip at 0
        evd = np.maximum(np.asarray(samples.optimal_return[i], np.float64)
                         - np.asarray(samples.weights[i], np.float64) @ np.asarray(mu_eval), 0.0)
        row = {"world": w, "num_demos": d, "true_evd": max(float(true_evd), 0.0),
               "WFCB": float(wfcb)}
        for alpha in args.alphas:
            row[f"VaR{alpha:g}"] = float(value_at_risk_bound(evd, alpha, args.delta).bound)
        rows.append(row)
    return rows


def table(args, rows):
    names = [f"VaR{a:g}" for a in args.alphas] + ["WFCB"]
    out = []
    for d in args.num_demos:
        sel = [r for r in rows if r["num_demos"] == d]
        truth = np.array([r["true_evd"] for r in sel])
        for name in names:
            bound = np.array([r[name] for r in sel])
            out.append({"num_demos": d, "bound": name,
                        "accuracy": float(np.mean(bound >= truth)),
                        "mean_error": float(np.mean(bound - truth)),
                        "mean_true_evd": float(np.mean(truth))})
    return out


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    worlds = make_worlds(args)
    t_worlds = time.perf_counter()
    problems, samples, num_pairs = run_chains(args, worlds)
    t_mcmc = time.perf_counter()
    rows = evaluate(args, worlds, problems, samples)
    summary = table(args, rows)
    wall = time.perf_counter() - start
    num_kept = samples.weights.shape[1]
    print(f"Brown & Niekum (2018) gridworld bounds: {args.num_worlds} worlds, {num_kept} draws per "
          f"chain, δ = {args.delta}, {len(problems)} chains, {args.workers} worker(s)")
    print(f"{'demos':>5s} {'bound':>8s} {'accuracy':>9s} {'mean(bound − EVD)':>18s}  mean true EVD")
    for r in summary:
        print(f"{r['num_demos']:5d} {r['bound']:>8s} {r['accuracy']:9.3f} {r['mean_error']:18.4f}"
              f"  {r['mean_true_evd']:.4f}")
    acc = np.asarray(samples.acceptance_rate)
    print(f"acceptance rate {acc.mean():.3f} (min {acc.min():.3f}); policy iteration converged in "
          f"every step: {bool(np.all(samples.all_converged))} (max rounds "
          f"{int(np.max(samples.max_rounds))}); pairs per chain {min(num_pairs)}–{max(num_pairs)}")
    print(f"wall time {wall:.1f} s (worlds {t_worlds - start:.1f} s, MCMC {t_mcmc - t_worlds:.1f} s,"
          f" evaluation {wall - (t_mcmc - start):.1f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": summary, "wall_time_s": wall, "mcmc_time_s": t_mcmc - t_worlds,
                       "settings": {k: v for k, v in vars(args).items()
                                    if k not in ("json", "executor", "address")},
                       "acceptance_rate": float(acc.mean()),
                       "all_converged": bool(np.all(samples.all_converged))}, f, indent=2)
    return summary


if __name__ == "__main__":
    main()
