"""Compare the samplers (and ``method="auto"``) on a random-colour gridworld with a known reward.

For each sampler: wall time, the cosine between the posterior-mean and true weights, the
expected value difference (EVD) of the posterior-mean reward's optimal policy, and diagnostics.

    python examples/gridworld_samplers.py --size 6 --num-features 4 --num-demos 20
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import bayesirl as birl
from bayesirl.analysis import summary
from bayesirl.inference.samplers import SAMPLERS, requirement_reasons


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=6)
    parser.add_argument("--num-features", type=int, default=4)
    parser.add_argument("--num-demos", type=int, default=20)
    parser.add_argument("--beta", type=float, default=10.0)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--num-warmup", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samplers", default=None,
                        help="comma-separated subset to run (default: auto and every sampler "
                             "that can sample this posterior)")
    args = parser.parse_args(argv)

    env = birl.gridworld(args.size, args.size, num_features=args.num_features, seed=args.seed)
    expert = birl.value_iteration(env.mdp, env.true_reward).policy
    demos = birl.sample_demonstrations(jax.random.PRNGKey(args.seed), env.mdp, expert,
                                       args.num_demos, env.max_episode_steps)
    w_true = np.asarray(env.true_weights)
    print(f"{'sampler':11s} {'time_s':>7s} {'cosine':>7s} {'EVD':>9s} {'max_rhat':>8s} {'min_ess':>8s}")
    rows = {}
    # every sampler that can sample this posterior (Gaussian prior, soft Q), and "auto"
    methods = ["auto"] + [name for name, sampler in SAMPLERS.items() if not requirement_reasons(
        sampler.requirements, sources=("boltzmann",), prior="gaussian", q="soft",
        learned_beta=False, has_mdp=True, num_states=env.mdp.num_states)]
    if args.samplers:
        chosen = args.samplers.split(",")
        unknown = sorted(set(chosen) - set(methods))
        if unknown:
            parser.error(f"--samplers: expected names from {methods}, got {unknown}")
        methods = [m for m in methods if m in chosen]
    for method in methods:
        start = time.perf_counter()
        idata = birl.fit_demonstrations(env.mdp, demos, method=method, beta=args.beta,
                                        num_samples=args.num_samples, num_warmup=args.num_warmup,
                                        num_chains=2, seed=args.seed)
        elapsed = time.perf_counter() - start
        w = idata.posterior["reward_weights"].mean(("chain", "draw")).values
        cos = float(w @ w_true / (np.linalg.norm(w) * np.linalg.norm(w_true)))
        pi = birl.value_iteration(env.mdp, env.mdp.features @ jnp.asarray(w, env.mdp.features.dtype)).policy
        evd = float(birl.expected_value_difference(env.mdp, env.true_reward, pi))
        table = summary(idata, var_names=["reward_weights"])
        rhat = table["r_hat"].max() if table["r_hat"].notna().any() else float("nan")
        ess = table["ess_bulk"].min() if table["ess_bulk"].notna().any() else float("nan")
        print(f"{method:11s} {elapsed:7.1f} {cos:7.3f} {evd:9.2e} {rhat:8.3f} {ess:8.0f}")
        rows[method] = dict(time_s=elapsed, cosine=cos, evd=evd)
    return rows


if __name__ == "__main__":
    main()
