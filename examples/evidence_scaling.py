"""Policy loss vs amount of evidence: MaxEnt demonstrations, Bradley–Terry preferences, both.

For each environment and each evidence size n, simulate n expert demonstrations and/or n
comparisons between rollouts of noisy policies (labelled by their true return), fit the
posterior, and measure the expected value difference (EVD) under the true reward of the
optimal policy of the posterior-mean reward. "joint" uses the n demonstrations AND the n
comparisons in one posterior with shared weights. Prints mean ± sd over seeds.

    python examples/evidence_scaling.py                                   # full table
    python examples/evidence_scaling.py --envs gridworld --sizes 2 --seeds 1 --method map
    python examples/evidence_scaling.py --kinds joint     # one kind of evidence only
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

import bayesirl as birl

KINDS = ("maxent", "bradley-terry", "joint")


def evaluate(env, idata):
    """EVD and normalised EVD of the posterior-mean reward's optimal policy."""
    mdp = env.mdp
    w = jnp.asarray(idata.posterior["reward_weights"].mean(("chain", "draw")).values,
                    mdp.features.dtype)
    policy = birl.value_iteration(mdp, birl.reward_from_weights(mdp, w)).policy
    evd = float(birl.expected_value_difference(mdp, env.true_reward, policy))
    nevd = float(birl.normalized_evd(mdp, env.true_reward, policy))
    return evd, nevd


def run_one(env, kind, n, seed, args):
    mdp = env.mdp
    expert = birl.value_iteration(mdp, env.true_reward).policy
    demos = prefs = None
    if kind in ("maxent", "joint"):
        demos = birl.sample_demonstrations(jax.random.PRNGKey(seed), mdp, expert, n,
                                           env.max_episode_steps)
    if kind in ("bradley-terry", "joint"):
        prefs = birl.synthetic_preferences(jax.random.PRNGKey(seed + 1000), mdp, env.true_reward,
                                           expert, n, env.max_episode_steps)
    likelihoods = {"maxent": ["maxent"], "bradley-terry": ["bradley-terry"],
                   "joint": ["maxent", "bradley-terry"]}[kind]
    margin = 1.0 if prefs is not None and bool(np.any(np.asarray(prefs[1].label) == 2)) else 0.0
    idata = birl.fit_evidence(
        mdp, likelihoods=likelihoods, demos=demos, preferences=prefs, method=args.method,
        betas={src: args.beta for src in likelihoods}, margin=margin,
        num_samples=args.num_samples, num_warmup=args.num_warmup, num_chains=args.num_chains,
        seed=seed, progress_bar=False)
    return evaluate(env, idata)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="gridworld,FrozenLake8x8-v1")
    parser.add_argument("--sizes", default="2,5,10,20,30")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--method", choices=birl.METHODS, default="nuts")
    parser.add_argument("--beta", type=float, default=10.0,
                        help="rationality of every source (the simulated expert is optimal)")
    parser.add_argument("--num-samples", type=int, default=300)
    parser.add_argument("--num-warmup", type=int, default=300)
    parser.add_argument("--num-chains", type=int, default=2)
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"comma-separated evidence kinds among {', '.join(KINDS)} "
                             "(default: all)")
    parser.add_argument("--json", help="also write the rows as JSON to this path")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"--kinds: expected names among {list(KINDS)}, got {unknown}")
    start = time.perf_counter()
    rows = []
    print(f"{'env':18s} {'n':>3s} {'evidence':14s} {'EVD mean':>9s} {'EVD sd':>8s} {'nEVD mean':>9s}")
    for name in args.envs.split(","):
        for n in sizes:
            for kind in kinds:
                results = []
                for seed in range(args.seeds):
                    env = birl.make_environment(name, seed=seed)
                    results.append(run_one(env, kind, n, seed, args))
                    jax.clear_caches()  # each fit compiles new code: keep memory bounded
                evd, nevd = np.array(results).T
                row = dict(env=name, n=n, evidence=kind, evd_mean=float(evd.mean()),
                           evd_sd=float(evd.std()), nevd_mean=float(nevd.mean()))
                rows.append(row)
                print(f"{name:18s} {n:3d} {kind:14s} {row['evd_mean']:9.4f} {row['evd_sd']:8.4f} "
                      f"{row['nevd_mean']:9.4f}", flush=True)
    wall = time.perf_counter() - start
    print(f"wall time {wall:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "wall_time_s": wall, "settings": vars(args)}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
