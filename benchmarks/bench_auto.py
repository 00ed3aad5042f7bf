#!/usr/bin/env python
"""The default ``bayesirl fit`` (``--sampler auto``) on three problems, whole process, against
a baseline measured in the same run.

Run from the repository root::

    python benchmarks/bench_auto.py              # all three rows (~10-20 min on 2 CPU cores)
    python benchmarks/bench_auto.py --quick      # smoke run: short chains, no baseline fits
    python benchmarks/bench_auto.py --rows birl  # one row (gamma, birl, frozenlake)

Each fit is a fresh ``bayesirl fit`` process (Python start, JAX import, tracing, compiling,
sampling, diagnostics, files written: what a user waits for); its wall time is measured
around the subprocess. The rows:

1. ``gamma``: ``bayesirl fit --env gridworld --discount 0.999 --beta 100`` — the sampler the
   rule chose, wall seconds, max R-hat and min bulk ESS. Baseline (full run): the same with
   ``--sampler nuts``, the former default.
2. ``birl``: Brown's 8×8 feature gridworld (4 one-hot colours, slip 0.1, γ = 0.95, the whole
   optimal policy as demonstrations) through ``--mdp/--demos --prior l2-sphere --beta 10``:
   bulk ESS of w[0] per wall second of the whole process, against the numpy BIRL that
   public code copies (Python MH loop, L2-normalised Gaussian proposals, dense value
   iteration per step; ``bench_speed.NumpyBIRL``), 4 chains, ESS pooled over their second
   halves, time summed. Prints the ratio (goal >= 1000).
3. ``frozenlake``: the default main job ``bayesirl fit --env FrozenLake8x8-v1`` against
   ``--sampler nuts`` (what the default was before ``auto``): wall seconds, max R-hat, EVD.

The persistent compile cache is used as a user would have it (warm after the first run);
``--cold`` sets ``BAYESIRL_NO_COMPILE_CACHE=1`` in every fit process.
"""

from __future__ import annotations

import _harness  # noqa: E402, I001  (pins numpy's BLAS to one thread before numpy loads)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROWS = ("gamma", "birl", "frozenlake")


def run_fit(args: list[str], out: str, cold: bool) -> dict:
    """One ``bayesirl fit`` process writing to ``out``: wall seconds, the sampler line it
    printed, its summary.json and the bulk ESS of w[0] from posterior.nc."""
    from bayesirl import _arviz

    env = dict(os.environ)
    if cold:
        env["BAYESIRL_NO_COMPILE_CACHE"] = "1"
    cmd = [sys.executable, "-m", "bayesirl.cli", "fit", *args, "--out", out, "--force"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    text = proc.stdout + proc.stderr
    line = next((ln for ln in text.splitlines() if "sampler:" in ln), "")
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    idata = _arviz.from_netcdf(os.path.join(out, "posterior.nc"))
    w0 = np.asarray(idata.posterior["reward_weights"])[..., 0]
    diag = summary["diagnostics"]
    evaluation = summary.get("evaluation") or {}
    return {"wall_s": wall, "sampler": diag["method"], "sampler_line": line.strip(),
            "max_r_hat": diag["max_r_hat"], "min_ess_bulk": diag["min_ess_bulk"],
            "ess_w0": _harness.bulk_ess(w0), "trustworthy": diag["trustworthy"],
            "evd": evaluation.get("expected_value_difference")}


def row_gamma(tmp: str, quick: bool, cold: bool) -> dict:
    """Row 1: γ = 0.999, β = 100 on the 5×5 gridworld; auto (and NUTS in a full run)."""
    base = ["--env", "gridworld", "--discount", "0.999", "--beta", "100"]
    if quick:
        base += ["--num-samples", "200", "--num-warmup", "200"]
    row = {"auto": run_fit(base, os.path.join(tmp, "gamma-auto"), cold)}
    if not quick:
        row["nuts"] = run_fit(base + ["--sampler", "nuts"], os.path.join(tmp, "gamma-nuts"), cold)
    return row


def row_birl(tmp: str, quick: bool, cold: bool, np_draws: int) -> dict:
    """Row 2: Brown's 8×8 feature gridworld; the default fit against numpy BIRL."""
    from bench_speed import NumpyBIRL, _birl_problem

    from bayesirl.data.demos import make_demonstrations, save_demonstrations
    from bayesirl.data.mdp import save_mdp

    mdp, _, states, actions = _birl_problem(8)
    mdp_path, demos_path = os.path.join(tmp, "brown8.npz"), os.path.join(tmp, "brown8.json")
    save_mdp(mdp_path, mdp)
    demos = make_demonstrations([([int(s)], [int(a)]) for s, a in zip(states, actions)],
                                num_states=mdp.num_states)
    save_demonstrations(demos_path, demos, mdp)
    args = ["--mdp", mdp_path, "--demos", demos_path, "--prior", "l2-sphere", "--beta", "10"]
    if quick:
        args += ["--num-samples", "300", "--num-warmup", "300"]
    fit = run_fit(args, os.path.join(tmp, "birl-auto"), cold)
    numpy_birl = NumpyBIRL(mdp, states, actions, 10.0)
    t0 = time.perf_counter()
    runs = [numpy_birl.run_mcmc(np_draws, 0.05, seed) for seed in range(4)]
    np_s = time.perf_counter() - t0
    np_ess = _harness.bulk_ess(np.stack([c[np_draws // 2:, 0] for c, _ in runs]))
    row = {"auto": fit, "numpy_s": np_s, "numpy_ess": np_ess, "numpy_draws": np_draws,
           "numpy_accept": float(np.mean([a for _, a in runs]))}
    row["auto_ess_per_s"] = fit["ess_w0"] / fit["wall_s"]
    row["numpy_ess_per_s"] = np_ess / np_s
    row["ratio"] = row["auto_ess_per_s"] / max(row["numpy_ess_per_s"], 1e-12)
    return row


def row_frozenlake(tmp: str, quick: bool, cold: bool) -> dict:
    """Row 3: the FrozenLake8x8 main job, auto against NUTS."""
    base = ["--env", "FrozenLake8x8-v1"]
    if quick:
        base += ["--num-samples", "200", "--num-warmup", "200"]
    row = {"auto": run_fit(base, os.path.join(tmp, "fl-auto"), cold)}
    if not quick:
        row["nuts"] = run_fit(base + ["--sampler", "nuts"], os.path.join(tmp, "fl-nuts"), cold)
        row["wall_ratio"] = row["nuts"]["wall_s"] / row["auto"]["wall_s"]
    return row


def _fmt(name: str, r: dict) -> str:
    evd = "-" if r["evd"] is None else f"{r['evd']:.4f}"
    return (f"  {name:<6} {r['sampler']:<12} {r['wall_s']:>7.1f} {r['max_r_hat']:>7.3f} "
            f"{r['min_ess_bulk']:>8.0f} {r['ess_w0']:>8.0f} {evd:>8} {str(r['trustworthy']):>6}")


def print_rows(results: dict) -> None:
    """The three tables."""
    hdr = (f"  {'run':<6} {'sampler':<12} {'wall s':>7} {'R-hat':>7} {'ESS min':>8} "
           f"{'ESS w0':>8} {'EVD':>8} {'ok':>6}")
    for key, title in (("gamma", "1. gridworld, γ = 0.999, β = 100"),
                       ("birl", "2. Brown 8×8 feature gridworld, L2 sphere, β = 10"),
                       ("frozenlake", "3. FrozenLake8x8-v1 main job")):
        if key not in results:
            continue
        row = results[key]
        print(f"\n{title}")
        _harness.print_table_header(hdr)
        for name in ("auto", "nuts"):
            if name in row:
                print(_fmt(name, row[name]))
                if row[name]["sampler_line"]:
                    print(f"         {row[name]['sampler_line']}")
        if key == "birl":
            print(f"  numpy BIRL: {row['numpy_draws']} steps x 4 chains in {row['numpy_s']:.1f} s,"
                  f" ESS {row['numpy_ess']:.1f} ({row['numpy_ess_per_s']:.3f} ESS/s, "
                  f"acceptance {row['numpy_accept']:.2f})")
            print(f"  default fit: {row['auto_ess_per_s']:.1f} ESS/s whole process -> ratio "
                  f"{row['ratio']:.0f}x (goal >= 1000x)")
        if key == "frozenlake" and "wall_ratio" in row:
            print(f"  NUTS wall / auto wall = {row['wall_ratio']:.2f} (>= 1: auto no slower)")


def main(argv=None) -> int:
    """Parse options, run the rows, print the tables, optionally write JSON."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short chains, no baseline fits")
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {ROWS}")
    p.add_argument("--numpy-draws", type=int, default=None,
                   help="steps per numpy BIRL chain (default 2000; --quick 200)")
    p.add_argument("--cold", action="store_true", help="no persistent compile cache")
    p.add_argument("--json", default=None, help="also write every number as JSON here")
    args = p.parse_args(argv)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        p.error(f"--rows: unknown {unknown}; choose from {', '.join(ROWS)}")
    np_draws = args.numpy_draws or (200 if args.quick else 2000)
    t_start = time.perf_counter()
    env = _harness.environment_info()
    _harness.print_header("bench_auto: the default 'bayesirl fit' (sampler auto), whole process",
                          env)
    results = {"environment": env, "quick": args.quick, "cold": args.cold}
    with tempfile.TemporaryDirectory() as tmp:
        if "gamma" in rows:
            results["gamma"] = row_gamma(tmp, args.quick, args.cold)
        if "birl" in rows:
            results["birl"] = row_birl(tmp, args.quick, args.cold, np_draws)
        if "frozenlake" in rows:
            results["frozenlake"] = row_frozenlake(tmp, args.quick, args.cold)
    print_rows(results)
    _harness.finish(results, t_start, args.json, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
