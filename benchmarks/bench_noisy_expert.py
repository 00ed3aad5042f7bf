#!/usr/bin/env python
"""Does the α-VaR bound hold for an ε-noisy expert? ``boltzmann`` against ``noisy-boltzmann``.

Run from the repository root::

    python benchmarks/bench_noisy_expert.py                       # 20 seeds, ε = 0.3
    python benchmarks/bench_noisy_expert.py --epsilons 0,0.3 --json out.json
    python benchmarks/bench_noisy_expert.py --quick                # smoke run

World: one 5×5 feature gridworld (4 one-hot colours, slip 0.3, γ = 0.9). For each seed the true
weights are drawn uniform on the unit L1 sphere (the model's prior) and the expert acts with
``π = (1 − ε) softmax(β Q_soft) + ε / A`` (β = ``--beta``, the model's fixed β): N
demonstrations of ``--horizon`` steps from uniform start states. Each likelihood's posterior
(L1-sphere prior, soft Q, β fixed) is sampled by NUTS, one chain per seed, the seeds ``vmap``-ed
(:func:`bayesirl.inference.sbc.fit_replications`). The evaluation policy is the optimal policy
of the posterior-mean reward; its EVD under every draw gives the α = 0.95, δ = 0.05 VaR bound
(:func:`bayesirl.analysis.bounds.value_at_risk_bound`, Brown & Niekum 2018), which *holds* for a
seed when the true EVD (under the true reward) is at most the bound. Printed per (ε,
likelihood): coverage (share of seeds where it holds), mean bound, mean true EVD, the mean
normalised EVD of the policy and, for noisy-boltzmann, the posterior mean of ε.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

from bayesirl.analysis.bounds import value_at_risk_bound  # noqa: E402
from bayesirl.analysis.posterior import policy_losses  # noqa: E402
from bayesirl.data.demos import sample_demonstrations  # noqa: E402
from bayesirl.data.envs import gridworld  # noqa: E402
from bayesirl.data.mdp import reward_from_weights  # noqa: E402
from bayesirl.inference.sbc import fit_replications  # noqa: E402
from bayesirl.likelihoods import boltzmann_q_values, demonstration_pairs  # noqa: E402
from bayesirl.likelihoods.noisy_boltzmann import noisy_boltzmann_policy  # noqa: E402
from bayesirl.models import Evidence  # noqa: E402
from bayesirl.solvers import value_iteration  # noqa: E402
from bayesirl.solvers.evaluation import expected_value_difference, normalized_evd  # noqa: E402

ALPHA, DELTA = 0.95, 0.05
LIKELIHOODS = ("boltzmann", "noisy-boltzmann")


def demonstrations(mdp, weights, seeds, beta, epsilon, num_demos, horizon, key):
    """Pairs of N rollouts of the ε-noisy Boltzmann expert of each seed's weights (R, P)."""
    pairs = []
    for r, w in zip(seeds, weights):
        logits = boltzmann_q_values(mdp, reward_from_weights(mdp, jnp.asarray(w)), beta)
        demos = sample_demonstrations(jax.random.fold_in(key, r), mdp,
                                      noisy_boltzmann_policy(logits, epsilon), num_demos,
                                      horizon)
        pairs.append(demonstration_pairs(mdp, demos))
    return jax.tree.map(lambda *x: jnp.stack(x), *pairs)


def evaluate(mdp, truth, draws):
    """(true EVD, bound, true nEVD) of the optimal policy of the posterior-mean reward."""
    policy = value_iteration(mdp, reward_from_weights(mdp, jnp.asarray(draws.mean(0)))).policy
    true_reward = reward_from_weights(mdp, jnp.asarray(truth))
    losses = np.asarray(policy_losses(mdp, jnp.asarray(draws), policy).evd)
    bound = value_at_risk_bound(losses, ALPHA, DELTA).bound
    return (float(expected_value_difference(mdp, true_reward, policy)), float(bound),
            float(normalized_evd(mdp, true_reward, policy)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--seed-range", default=None,
                        help="FIRST:STOP, a slice of the seeds (to split a run over processes)")
    parser.add_argument("--likelihoods", default=",".join(LIKELIHOODS))
    parser.add_argument("--epsilons", default="0.3", help="comma-separated expert ε's")
    parser.add_argument("--beta", type=float, default=10.0, help="expert's and model's β")
    parser.add_argument("--num-demos", type=int, default=10)
    parser.add_argument("--horizon", type=int, default=20)
    parser.add_argument("--num-warmup", type=int, default=300)
    parser.add_argument("--num-samples", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="4 seeds, short chains")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.num_warmup, args.num_samples = 4, 100, 100
    mdp = gridworld(5, 5, num_features=4, seed=0, discount=0.9).mdp
    rng = np.random.default_rng(0)
    weights = rng.laplace(size=(args.seeds, 4))
    weights /= np.abs(weights).sum(1, keepdims=True)
    seeds = np.arange(args.seeds)
    if args.seed_range:
        seeds = seeds[slice(*(int(x) for x in args.seed_range.split(":")))]
    weights = weights[seeds]
    rows = []
    for epsilon in (float(e) for e in args.epsilons.split(",")):
        evidence_pairs = demonstrations(mdp, weights, seeds, args.beta, epsilon,
                                        args.num_demos, args.horizon, jax.random.PRNGKey(1))
        for likelihood in args.likelihoods.split(","):
            start = time.perf_counter()
            sites = fit_replications(
                jax.random.PRNGKey(2), mdp, Evidence({likelihood: evidence_pairs}),
                sampler="nuts", num_warmup=args.num_warmup, num_samples=args.num_samples,
                prior="l1-sphere", betas={likelihood: args.beta}, q="soft")
            wall = time.perf_counter() - start
            draws = np.asarray(sites["reward_weights"])
            res = np.array([evaluate(mdp, weights[r], draws[r]) for r in range(len(seeds))])
            row = dict(epsilon=epsilon, likelihood=likelihood, seeds=seeds.tolist(),
                       holds=(res[:, 0] <= res[:, 1]).tolist(), bounds=res[:, 1].tolist(),
                       true_evd=res[:, 0].tolist(),
                       coverage=float(np.mean(res[:, 0] <= res[:, 1])),
                       mean_bound=float(res[:, 1].mean()), mean_true_evd=float(res[:, 0].mean()),
                       mean_nevd=float(res[:, 2].mean()), wall_time_s=wall)
            if "epsilon" in sites:
                row["posterior_mean_epsilon"] = float(np.mean(sites["epsilon"]))
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "settings": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
