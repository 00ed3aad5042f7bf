"""Coverage and tightness of the α-VaR policy-loss bound under misspecified experts, for the
plain posterior and the robust ones (BayesBag, the calibrated tempered posterior, the
split-calibrated bound).

World: a 5×5 feature gridworld (4 one-hot colour features, slip 0.3, γ = 0.9), true weights
drawn from the model's prior N(0, 1) (seed = world index). Model: Boltzmann likelihood over
soft Q, β = 1 fixed, Gaussian prior of scale 1, NUTS. Experts (``--experts``):

* ``boltzmann`` — the well-specified control: the model's own demonstrator (β = 1, soft Q);
* ``optimal`` — an optimal (argmax, ties split) expert;
* ``eps0.3`` — the optimal expert taking a uniformly random action with probability 0.3.

Each world: N demonstrations of T steps from uniform starts. The evaluation policy is the
optimal policy of the plain posterior's mean weights, shared by every remedy (so the true loss
is the same, only the bound differs); the loss is its normalised EVD (nEVD, 0 optimal, 1
uniformly random) under the true reward. The bound (α = 0.95, δ = 0.05, n = the draws) holds
when it is >= the true nEVD, as in ``examples/compare_methods.py``. Columns: coverage (share of
worlds where it holds), tightness (mean bound / mean true nEVD), mean bound, mean η chosen.

    python benchmarks/bench_robust_bounds.py --num-worlds 20 --json benchmarks/results/robust_bounds.json
    python benchmarks/bench_robust_bounds.py --num-worlds 1 --num-bootstraps 2   # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bayesirl.analysis.bounds import value_at_risk_bound  # noqa: E402
from bayesirl.analysis.robust_bounds import (  # noqa: E402
    posterior_loss_bound,
    posterior_losses,
    split_calibrated_bound,
    split_demonstrations,
)
from bayesirl.data.demos import sample_demonstrations  # noqa: E402
from bayesirl.data.envs.gridworld import gridworld  # noqa: E402
from bayesirl.data.mdp import reward_from_weights  # noqa: E402
from bayesirl.inference.robust import fit_bagged, fit_tempered, fit_weighted  # noqa: E402
from bayesirl.solvers.evaluation import normalized_evd  # noqa: E402
from bayesirl.solvers.value_iteration import (  # noqa: E402
    greedy_policy,
    soft_value_iteration,
    value_iteration,
)

EXPERTS = ("boltzmann", "optimal", "eps0.3")
REMEDIES = ("plain", "bayesbag", "tempered", "split")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num-worlds", type=int, default=20)
    p.add_argument("--num-demos", type=int, default=10)
    p.add_argument("--horizon", type=int, default=10)
    p.add_argument("--experts", default=",".join(EXPERTS))
    p.add_argument("--remedies", default=",".join(REMEDIES))
    p.add_argument("--num-bootstraps", type=int, default=8)
    p.add_argument("--num-samples", type=int, default=150)
    p.add_argument("--num-warmup", type=int, default=150)
    p.add_argument("--num-chains", type=int, default=2)
    p.add_argument("--json", default=None, help="write rows and per-world records here")
    return p.parse_args(argv)


def expert_policy(kind, mdp, reward):
    if kind == "boltzmann":
        return soft_value_iteration(mdp, reward).policy
    greedy = greedy_policy(value_iteration(mdp, reward).q_values)
    if kind == "optimal":
        return greedy
    eps = float(kind[3:])
    return (1 - eps) * greedy + eps / mdp.num_actions


def one_world(args, kind, w, remedies):
    rng = np.random.default_rng(w)
    env = gridworld(5, 5, num_features=4, seed=w, weights=rng.normal(size=4))
    mdp, reward = env.mdp, env.true_reward
    demos = sample_demonstrations(jax.random.PRNGKey(w), mdp, expert_policy(kind, mdp, reward),
                                  args.num_demos, args.horizon)
    fit = dict(demos=demos, method="nuts", num_samples=args.num_samples,
               num_warmup=args.num_warmup, num_chains=args.num_chains,
               chain_method="vectorized", seed=w)
    out = {}
    t0 = time.perf_counter()
    plain = fit_weighted(mdp, **fit)
    w_mean = np.asarray(plain.posterior["reward_weights"]).reshape(-1, 4).mean(0)
    policy = value_iteration(mdp, reward_from_weights(mdp, jnp.asarray(w_mean))).policy
    true = float(normalized_evd(mdp, reward, policy))
    out["plain"] = dict(bound=posterior_loss_bound(mdp, plain, policy).bound,
                        wall_s=time.perf_counter() - t0)
    if "bayesbag" in remedies:
        t0 = time.perf_counter()
        bag = fit_bagged(mdp, num_bootstraps=args.num_bootstraps, **fit)
        out["bayesbag"] = dict(bound=posterior_loss_bound(mdp, bag, policy).bound,
                               wall_s=time.perf_counter() - t0)
    if "tempered" in remedies:
        t0 = time.perf_counter()
        tmp = fit_tempered(mdp, **fit)
        out["tempered"] = dict(bound=posterior_loss_bound(mdp, tmp, policy).bound,
                               learning_rate=float(tmp.posterior.attrs["learning_rate"]),
                               wall_s=time.perf_counter() - t0)
    if "split" in remedies:
        t0 = time.perf_counter()
        halves = split_demonstrations(demos, seed=w)
        losses = [posterior_losses(mdp, fit_weighted(mdp, **{**fit, "demos": h}), policy)
                  for h in halves]
        sb = split_calibrated_bound(losses[0], losses[1], posterior_losses(mdp, plain, policy))
        out["split"] = dict(bound=sb.bound, inflation=sb.inflation,
                            wall_s=time.perf_counter() - t0)
    for rec in out.values():
        rec.update(true_nevd=true, holds=bool(rec["bound"] >= true))
    return out


def summarise(records):
    rows = []
    keys = sorted({(r["expert"], r["remedy"]) for r in records},
                  key=lambda k: (EXPERTS.index(k[0]), REMEDIES.index(k[1])))
    for expert, remedy in keys:
        sel = [r for r in records if r["expert"] == expert and r["remedy"] == remedy]
        bound = np.array([r["bound"] for r in sel])
        true = np.array([r["true_nevd"] for r in sel])
        row = dict(expert=expert, remedy=remedy, num_worlds=len(sel),
                   coverage=float(np.mean(bound >= true)),
                   tightness=float(bound.mean() / true.mean()) if true.mean() > 0 else None,
                   mean_bound=float(bound.mean()), mean_true_nevd=float(true.mean()),
                   wall_s_per_world=float(np.mean([r["wall_s"] for r in sel])))
        if remedy == "tempered":
            row["mean_learning_rate"] = float(np.mean([r["learning_rate"] for r in sel]))
        if remedy == "split":
            row["mean_inflation"] = float(np.mean([r["inflation"] for r in sel]))
        rows.append(row)
    return rows


def format_rows(rows):
    lines = [f"{'expert':10s} {'remedy':9s} {'worlds':>6s} {'coverage':>8s} {'tightness':>9s} "
             f"{'bound':>7s} {'nEVD':>7s} {'s/world':>7s}  extra"]
    for r in rows:
        extra = (f"η={r['mean_learning_rate']:.3f}" if "mean_learning_rate" in r else
                 f"κ={r['mean_inflation']:.2f}" if "mean_inflation" in r else "")
        tight = f"{r['tightness']:9.2f}" if r["tightness"] is not None else f"{'-':>9s}"
        lines.append(f"{r['expert']:10s} {r['remedy']:9s} {r['num_worlds']:6d} "
                     f"{r['coverage']:8.2f} {tight} {r['mean_bound']:7.3f} "
                     f"{r['mean_true_nevd']:7.3f} {r['wall_s_per_world']:7.1f}  {extra}")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    experts = args.experts.split(",")
    remedies = args.remedies.split(",")
    records = []
    start = time.perf_counter()
    for w in range(args.num_worlds):
        for kind in experts:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = one_world(args, kind, w, remedies)
            for remedy, rec in out.items():
                records.append(dict(expert=kind, remedy=remedy, world=w, **rec))
            print(f"world {w} {kind}: " + ", ".join(
                f"{k} {v['bound']:.3f}{'✓' if v['holds'] else '✗'}" for k, v in out.items())
                + f" (true {out['plain']['true_nevd']:.3f})", flush=True)
        if args.json:
            _write(args, records, time.perf_counter() - start)
    rows = summarise(records)
    print(format_rows(rows))
    if args.json:
        _write(args, records, time.perf_counter() - start)


def _write(args, records, wall):
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(dict(args=vars(args), rows=summarise(records), records=records,
                       wall_time_s=wall), f, indent=1)
    os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
