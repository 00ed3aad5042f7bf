#!/usr/bin/env python
"""Benchmark the trajectory-feature posterior (no MDP) at Bayesian REX scale.

Run from the repository root::

    python benchmarks/bench_trajectories.py                 # 66 pairs x 64 features
    python benchmarks/bench_trajectories.py --quick         # smoke run
    python benchmarks/bench_trajectories.py --json out.json

Synthetic feature counts Φ ~ N(0, 1) of shape (12, 64); one ranking of the 12 trajectories by
a hidden unit weight vector gives 66 pairs (Bayesian REX's Atari setting, Brown et al. 2020).
The posterior of ``trajectory_model(trajectory_evidence(trajs, preferences=prefs),
prior="l2-sphere", betas={"bradley-terry": 1})`` is sampled by
``MCMC(RandomWalkMH(...), chain_method="vectorized")`` with C chains: posterior samples
(MH steps summed over chains) per second, compile excluded, and the ESS per second of w[0],
beside one chain of a plain numpy projected random-walk MH (Bayesian REX's public code)
timed in the same process. The timing machinery is ``_harness.py`` (shared by the benchmarks).

Kernels (``--kernels``): ``polar`` — ``RandomWalkMH(sphere_sites=("reward_weights_raw",),
shared_random_numbers=True)``, the sphere-native walk of the direction (what
``fit_trajectories(method="mh")`` uses for a sphere prior with more than 32 features);
``gaussian`` — ``RandomWalkMH()``'s Gaussian walk of the unnormalised latent (the kernel of
this row before the change, and ``fit``'s default for other models).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Importing the harness first pins numpy's BLAS to ONE thread before numpy is imported.
import _harness  # noqa: E402, I001

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import bench_preferences as bp  # noqa: E402


KERNELS = {"polar": {"sphere_sites": ("reward_weights_raw",), "shared_random_numbers": True},
           "gaussian": {}}


def run(chains, num_warmup, target_s, repeats, budget_s, seed, kernels=("polar",),
        extra=()):
    """Rows of every kernel in ``kernels`` at every C in ``chains``, then of the
    ``(kernel, C)`` pairs in ``extra``, beside one numpy chain timed first."""
    import jax.numpy as jnp

    from bayesirl.data.trajectories import make_trajectories
    from bayesirl.models import trajectory_evidence, trajectory_model

    phi, prefs, winner, loser = bp.preference_data(12, None, seed)
    ev = trajectory_evidence(make_trajectories(feature_counts=phi), preferences=prefs,
                             dtype=jnp.float32)
    model = functools.partial(trajectory_model, prior="l2-sphere", betas={"bradley-terry": 1.0})

    def model_ignoring_first(_unused, evidence):  # bench_mcmc_config passes (mdp, evidence)
        return model(evidence)

    clock = _harness.CompileClock()
    numpy_row = bp.bench_numpy_chain(phi, winner, loser, 1.0, target_s, repeats, seed + 1)
    del numpy_row["loglik_fn"]
    rows = []
    for name, C in [(k, c) for k in kernels for c in chains] + list(extra):
        row = bp.bench_mcmc_config(model_ignoring_first, None, ev, C, num_warmup, target_s,
                                   clock, repeats, budget_s, seed + 10 + C, KERNELS[name])
        row["kernel"] = name
        row["vs_np"] = row["steps_per_s"] / numpy_row["steps_per_s"]
        row["ess_per_s_vs_np"] = row["ess_per_s"] / numpy_row["ess_per_s"]
        rows.append(row)
        print(f"  [{name} C={C}: {row['steps_per_s']:.0f} samples/s]", flush=True)
    clock.close()
    return {"pairs": int(prefs.num_comparisons), "features": phi.shape[1], "numpy": numpy_row,
            "rows": rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", default="64,256,1024")
    parser.add_argument("--kernels", default="polar", help="comma-separated: polar, gaussian")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--target-s", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    chains = [int(c) for c in args.chains.split(",")]
    if args.quick:
        chains, args.warmup, args.target_s, args.repeats, args.budget = [64], 300, 1.0, 2, 0.5
    start = time.perf_counter()
    kernels = [k for k in args.kernels.split(",") if k]
    unknown = sorted(set(kernels) - set(KERNELS))
    if unknown:
        parser.error(f"--kernels: expected names from {sorted(KERNELS)}, got {unknown}")
    res = run(chains, args.warmup, args.target_s, args.repeats, args.budget, args.seed,
              kernels)
    np_row = res["numpy"]
    print(f"\ntrajectory_model, Bradley-Terry, {res['pairs']} pairs x {res['features']} features, "
          "w on the unit L2 sphere, beta = 1")
    print(f"{'sampler':>16s} {'samples/s':>11s} {'vs np':>7s} {'accept':>7s} {'ESS/s w0':>9s} "
          f"{'ESS/s vs np':>12s} {'compile s':>10s}")
    print(f"{'numpy MH':>16s} {np_row['steps_per_s']:11.0f} {1.0:7.2f} {np_row['accept']:7.2f} "
          f"{np_row['ess_per_s']:9.1f} {1.0:12.2f} {0.0:10.1f}")
    for r in res["rows"]:
        print(f"{r['kernel'] + ' C=' + str(r['chains']):>16s} {r['steps_per_s']:11.0f} "
              f"{r['vs_np']:7.2f} {r['accept']:7.2f} {r['ess_per_s']:9.1f} "
              f"{r['ess_per_s_vs_np']:12.2f} {r['warmup_compile_s'] + r['run_compile_s']:10.1f}")
    print("compile s: JAX's trace + lower + compile time of the warm-up and the sampling run "
          "(numpyro 0.22 compiles the run again), excluded from the rates")
    res["total_s"] = time.perf_counter() - start
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=float)


if __name__ == "__main__":
    main()
