#!/usr/bin/env python
"""Soft value iteration on huge random MDPs: extrapolated sweeps against Newton–GMRES steps.

The MDP is the scale-out benchmark's (``bench_scale_out.random_successors``): S states, A = 4
actions, K = 4 successors per (s, a) drawn uniformly at random, Dirichlet(1) probabilities,
γ = 0.99, a standard-normal reward, float32, no terminal states; built in chunks, never dense.
Two runs of ``soft_value_iteration(method="newton")`` in the same process:

* ``newton``: the Newton (soft policy-iteration) steps alone, each a GMRES solve
  (extrapolated sweeps switched off: ``EXTRAPOLATION_MAX_SWEEPS = 0``), the solver before
  MacQueen's extrapolation was added;
* ``extrapolated``: the default, where extrapolated value-iteration sweeps run first while the
  residual's span contracts fast (MacQueen 1966; Puterman 1994, §6.6.3).

It prints per S: build, compile and solve seconds, iterations, the residual, the largest
difference between the two value vectors, the speed-up (newton ÷ extrapolated solve time, a
ratio measured in one run because these machines are noisy) and the process's peak resident
memory. The Newton baseline is skipped above ``--baseline-max-states`` (at 10^7 states it
took ~10 minutes on 2 cores).

    python benchmarks/bench_extrapolation.py                       # 10^5, 10^6, 10^7
    python benchmarks/bench_extrapolation.py --sizes 1e5 --json out.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_scale_out import A, GAMMA, K, SEED, random_successors  # noqa: E402

from bayesirl.data.sparse_build import sparse_mdp_from_chunks  # noqa: E402

vi = importlib.import_module("bayesirl.solvers.value_iteration")
DEFAULT_MAX_SWEEPS = vi.EXTRAPOLATION_MAX_SWEEPS


def solve(mdp, reward, mode: str) -> dict:
    """One compiled solve in ``mode`` ("newton" or "extrapolated"); timings and the values."""
    vi.EXTRAPOLATION_MAX_SWEEPS = DEFAULT_MAX_SWEEPS if mode == "extrapolated" else 0
    try:
        jax.clear_caches()
        fn = jax.jit(lambda m, r: vi.soft_value_iteration(m, r, method="newton"))
        t0 = time.perf_counter()
        compiled = fn.lower(mdp, reward).compile()
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = jax.block_until_ready(compiled(mdp, reward))
        solve_s = time.perf_counter() - t0
    finally:
        vi.EXTRAPOLATION_MAX_SWEEPS = DEFAULT_MAX_SWEEPS
    return dict(compile_s=compile_s, solve_s=solve_s, iterations=int(res.iterations),
                residual=float(res.residual), converged=bool(res.converged),
                values=np.asarray(res.values))


def run_size(S: int, baseline: bool) -> dict:
    t0 = time.perf_counter()
    mdp = sparse_mdp_from_chunks(random_successors(S), S, A, K, discount=GAMMA,
                                 dtype=jnp.float32)
    reward = jnp.asarray(np.random.default_rng(SEED).standard_normal(S, dtype=np.float32))
    jax.block_until_ready((mdp, reward))
    row = dict(S=S, build_s=time.perf_counter() - t0)
    modes = ["newton", "extrapolated"] if baseline else ["extrapolated"]
    values = {}
    for mode in modes:
        out = solve(mdp, reward, mode)
        values[mode] = out.pop("values")
        row[mode] = out
    if baseline:
        row["max_abs_diff"] = float(np.max(np.abs(values["newton"] - values["extrapolated"])))
        row["speedup"] = row["newton"]["solve_s"] / row["extrapolated"]["solve_s"]
    row["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1e5,1e6,1e7", help="comma-separated S")
    p.add_argument("--baseline-max-states", type=float, default=2e6,
                   help="run the Newton–GMRES baseline only up to this S")
    p.add_argument("--json", help="write the rows as JSON")
    args = p.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(f"soft value iteration, random MDP (A = {A}, K = {K}, γ = {GAMMA}, float32); "
          f"jax {jax.__version__}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'S':>10s} {'mode':>13s} {'build s':>8s} {'compile s':>9s} {'solve s':>8s} "
          f"{'iters':>6s} {'residual':>9s} {'speed-up':>8s} {'max|ΔV|':>9s} {'peak GB':>8s}")
    rows = []
    for S in sizes:
        row = run_size(S, S <= args.baseline_max_states)
        rows.append(row)
        for mode in ("newton", "extrapolated"):
            if mode not in row:
                continue
            m = row[mode]
            extra = (f"{row['speedup']:8.1f} {row['max_abs_diff']:9.2e}"
                     if mode == "extrapolated" and "speedup" in row else f"{'-':>8s} {'-':>9s}")
            print(f"{S:10d} {mode:>13s} {row['build_s']:8.1f} {m['compile_s']:9.1f} "
                  f"{m['solve_s']:8.1f} {m['iterations']:6d} {m['residual']:9.2e} {extra} "
                  f"{row['peak_rss_gb']:8.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "load_average": os.getloadavg()[0]}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
