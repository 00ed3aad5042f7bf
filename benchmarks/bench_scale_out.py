#!/usr/bin/env python
"""Scale-out benchmark: many fits on several executors, and one huge MDP solved with its
states split over D devices.

Run from the repository root::

    python benchmarks/bench_scale_out.py            # 10^6 and 10^7 states (~1 h on 2 cores)
    python benchmarks/bench_scale_out.py --quick    # 10^5 states (~1 min)
    python benchmarks/bench_scale_out.py --sizes 1000000 --devices 1,2 --json out.json
    python benchmarks/bench_scale_out.py --parts executors   # the many-fits rows (~minutes)
    python benchmarks/bench_scale_out.py --parts executors --executor-size medium  # ~15 min
    python benchmarks/bench_scale_out.py --parts executors --executor-size medium --warm-cache

Many fits (``--parts executors``): runs of ``examples/sbc.py`` (small: 2 rows × 10
replications; medium: 4 rows × 200) and ``examples/compare_methods.py`` (small: 2 worlds,
one demonstration each, 3 methods; medium: 4 worlds × 1 and 5 demonstrations, every method) with
``--executor serial``, ``process`` and ``ray`` (worker processes and a local Ray cluster with
one CPU per core), each in a fresh process with a cold compilation cache of its own (as a
first run: compiling is part of the work each executor spreads; ``--warm-cache`` times a
second run instead, as a repeated sweep sees it): wall time (start-up and
compilation included), speed-up over serial, whether the results (every JSON row without its
timing fields) equal serial's exactly, the cores the run kept busy (CPU seconds of the script
and its worker processes over wall seconds; not measured for Ray, whose workers belong to the
cluster: a serial run above 1 already uses XLA's threads, which caps what more processes can
add on the same cores), and the load average before and after (other work on a shared
machine slows a run).

Soft value iteration (γ = 0.99, ``method="auto"``: Newton steps with GMRES, then sweeps) on a
random MDP: A = 4 actions, K = 4 successors per state-action drawn uniformly, probabilities
Dirichlet(1), a standard-normal state reward, float32, default tolerances. The MDP is built
chunk by chunk on the devices (``sparse_mdp_from_chunks``), never densely; its successors come
from a counter-based hash, so every run and every device count solves the same MDP.

Each configuration runs in its own process, since the number of CPU host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=D``) is fixed when JAX starts. Rows:

* ``plain``: the one-device solver ``bayesirl.solvers.soft_value_iteration`` (no mesh);
* ``D = 1, 2, 4``: ``sharded_soft_value_iteration`` on a mesh of D host devices (its sparse
  operators walk their rows in blocks and its GMRES stops as soon as the tolerance holds: see
  :mod:`bayesirl.solvers.sharded`).

Columns: build and compile seconds, solve seconds (best of the repeats, compile excluded),
iterations (Newton steps + sweeps), converged, peak resident memory of the process
(``ru_maxrss``: build, compile and solve together), the estimate of
``estimate_solver_memory`` plus the process' JAX baseline, the speed-up over D = 1 in this
run, the largest difference of the values from D = 1, and the machine's load average before
and after the configuration (other work on a shared machine slows it). The last lines project
the solve to 10^8 states, linearly in the number of transition edges S·A·K from the largest S
measured (random reads of V get slower as V outgrows the caches, so this is optimistic), with
the memory a device would need.

On CPU host devices the D devices share the machine's cores and memory bandwidth: a speed-up
needs as many idle cores as devices. On GPUs (one device per GPU) each device brings its own.
"""

from __future__ import annotations

import _harness  # noqa: E402, I001  (pins numpy's BLAS to one thread before numpy loads)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

#: The repository root: its bayesirl is the one benchmarked, here and in the worker processes.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

GAMMA = 0.99
A, K = 4, 4
SEED = 20240607
TARGET_S, TARGET_TIME_S, TARGET_GB = 10**7, 120.0, 4.0
PROJECT_S = 10**8


# ---------------------------------------------------------------------------------------------
# The random MDP, from a counter-based hash (independent of how it is chunked)
# ---------------------------------------------------------------------------------------------


def _splitmix64(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def random_successors(num_states, seed=SEED):
    """``successors_fn(start, stop)`` of the benchmark MDP: K uniform successors per (s, a),
    Dirichlet(1) probabilities (normalised exponentials)."""

    def successors_fn(start, stop):
        edge = np.arange(start * A * K, stop * A * K, dtype=np.uint64)
        h = _splitmix64(edge ^ np.uint64(seed))
        next_states = (h % np.uint64(num_states)).astype(np.int32).reshape(-1, A, K)
        u = (_splitmix64(h) >> np.uint64(11)).astype(np.float64) * 2.0**-53
        e = -np.log1p(-u).reshape(-1, A, K)
        return next_states, e / e.sum(-1, keepdims=True)

    return successors_fn


# ---------------------------------------------------------------------------------------------
# One configuration (run in a fresh process)
# ---------------------------------------------------------------------------------------------


def worker(S, D, plain, repeats, values_path):
    import resource

    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding, PartitionSpec

    from bayesirl.data.sparse_build import sparse_mdp_from_chunks
    from bayesirl.solvers import soft_value_iteration
    from bayesirl.solvers.memory import estimate_solver_memory
    from bayesirl.solvers.sharded import STATE_AXIS, make_state_mesh, sharded_soft_value_iteration

    _harness.limit_blas_threads()
    assert len(jax.devices()) == D, jax.devices()
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    mesh = None if plain else make_state_mesh()
    sharding = None if plain else NamedSharding(mesh, PartitionSpec(STATE_AXIS))
    t0 = time.perf_counter()
    mdp = sparse_mdp_from_chunks(random_successors(S), S, A, K, discount=GAMMA,
                                 dtype=jnp.float32, sharding=sharding)
    rng = np.random.default_rng(SEED)
    reward = rng.standard_normal(S, dtype=np.float32)
    reward = jnp.asarray(reward) if plain else jax.device_put(reward, sharding)
    jax.block_until_ready((mdp, reward))
    build_s = time.perf_counter() - t0

    if plain:
        def solve(m, r):
            return soft_value_iteration(m, r)
    else:
        def solve(m, r):
            return sharded_soft_value_iteration(m, r, mesh=mesh)

    t0 = time.perf_counter()
    compiled = jax.jit(solve).lower(mdp, reward).compile()
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = jax.block_until_ready(compiled(mdp, reward))
        times.append(time.perf_counter() - t0)
    values = np.asarray(res.values)
    if values_path:
        np.save(values_path, values)
    estimate = estimate_solver_memory(S, A, K, dtype="float32", num_devices=1 if plain else D)
    return dict(S=S, D=D, plain=plain, build_s=build_s, compile_s=compile_s, solve_s=min(times),
                iterations=int(res.iterations), converged=bool(res.converged),
                residual=float(res.residual),
                peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                baseline_rss=baseline_rss, estimate=estimate * (1 if plain else D),
                finite=bool(np.isfinite(values).all()))


def run_config(S, D, plain, repeats, values_path, timeout):
    env = dict(os.environ, JAX_PLATFORMS="cpu", BAYESIRL_NO_COMPILE_CACHE="1")
    flags = [f for f in env.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    env["XLA_FLAGS"] = " ".join(flags + [f"--xla_force_host_platform_device_count={D}"])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(S), str(D),
           "--repeats", str(repeats), "--values", values_path or ""]
    if plain:
        cmd.append("--plain")
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(S=S, D=D, plain=plain, error=[f"timed out after {timeout:.0f} s"],
                    wall_s=time.perf_counter() - t0)
    if out.returncode != 0:
        return dict(S=S, D=D, plain=plain, error=out.stderr.strip().splitlines()[-1:],
                    wall_s=time.perf_counter() - t0)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    # The machine's 1-minute load average before and after: other work slows the solve.
    row.update(wall_s=time.perf_counter() - t0, load=(load0, os.getloadavg()[0]))
    return row


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------


def _gb(n):
    return n / 1e9


def print_rows(rows):
    print(f"\nsoft value iteration, γ = {GAMMA}, A = {A}, K = {K}, float32, method='auto' "
          f"(target: S = 10^7 in <= {TARGET_TIME_S:.0f} s and <= {TARGET_GB:.0f} GB)")
    _harness.print_table_header(
        f"{'S':>9} {'devices':>8} {'build s':>8} {'compile s':>9} {'solve s':>8} {'iters':>5} "
        f"{'conv':>5} {'peak GB':>8} {'est GB':>7} {'vs D=1':>7} {'max|ΔV|':>9} {'load':>9}")
    for r in rows:
        name = "plain" if r["plain"] else str(r["D"])
        if "error" in r:
            print(f"{r['S']:>9} {name:>8}  failed: {r['error']}")
            continue
        est = _gb(r["estimate"] + r["baseline_rss"])
        speed = f"{r['speedup']:.2f}x" if r.get("speedup") else ""
        diff = f"{r['max_diff']:.2e}" if r.get("max_diff") is not None else ""
        print(f"{r['S']:>9} {name:>8} {r['build_s']:>8.1f} {r['compile_s']:>9.1f} "
              f"{r['solve_s']:>8.1f} {r['iterations']:>5} {str(r['converged']):>5} "
              f"{_gb(r['peak_rss']):>8.2f} {est:>7.2f} {speed:>7} {diff:>9} "
              f"{r['load'][0]:>4.1f}-{r['load'][1]:<4.1f}")
    print("plain: bayesirl.solvers.soft_value_iteration (one device, no mesh); D: "
          "sharded_soft_value_iteration on D CPU host devices; peak GB: ru_maxrss of the "
          "process; est GB: estimate_solver_memory (all devices) + the process' JAX baseline; "
          "max|ΔV|: against D = 1 of the same S; load: the machine's 1-minute load average "
          f"before and after (it has {os.cpu_count()} cores)")


def project(rows):
    """Project each device count's largest solve to 10^8 states (linear in edges)."""
    from bayesirl.solvers.memory import estimate_solver_memory

    out = []
    for D in sorted({r["D"] for r in rows if not r["plain"] and "error" not in r}):
        best = max((r for r in rows if r["D"] == D and not r["plain"] and "error" not in r),
                   key=lambda r: r["S"])
        scale = PROJECT_S / best["S"]
        per_device = estimate_solver_memory(PROJECT_S, A, K, dtype="float32", num_devices=D)
        out.append(dict(D=D, from_S=best["S"], solve_s=best["solve_s"] * scale,
                        build_s=best["build_s"] * scale, per_device_bytes=per_device))
    print(f"\nprojection to S = 10^8 (linear in S·A·K edges from the largest S measured; "
          f"same hardware)")
    for p in out:
        print(f"  D = {p['D']}: solve ~{p['solve_s'] / 60:.0f} min, build ~{p['build_s'] / 60:.0f}"
              f" min (from S = {p['from_S']:.0e}); {_gb(p['per_device_bytes']):.1f} GB per "
              f"device ({_gb(p['per_device_bytes']) * p['D']:.0f} GB in all)")
    return out


# ---- part 2: many independent fits on the executors of bayesirl.executors ---------------------

#: Runs of the suite scripts, by size: {size: {script: (script file, arguments, fields of
#: each JSON row that are timings, not results)}}. ``small`` (a few minutes in all on 2 cores)
#: is dominated by start-up and compilation, so it checks the plumbing and the identical
#: results; ``medium`` (about 15 minutes) gives each task enough work that the speed-up
#: measures the executor, not JAX's start-up.
EXECUTOR_RUNS = {
    "small": {
        "sbc": ("sbc.py", ["--rows", "bradley-terry-strict:mh,boltzmann-soft:mh",
                           "--replications", "10", "--num-samples", "9", "--num-warmup", "30",
                           "--num-bins", "5"], ("wall_time_s",)),
        "compare_methods": ("compare_methods.py", [
            "--num-worlds", "2", "--num-demos", "1", "--worlds", "gridworld", "--num-steps",
            "300", "--burn-in", "50", "--thinning", "2", "--max-iterations", "20",
            "--methods", "bc,projection,boltzmann-posterior"], ("wall_s",)),
    },
    "medium": {
        "sbc": ("sbc.py", ["--rows", "boltzmann-soft:mh,bradley-terry-strict:mh,"
                           "maxent-finite:mh,plackett-luce:mh", "--replications", "200",
                           "--num-samples", "19", "--num-warmup", "100", "--num-bins", "5"],
                ("wall_time_s",)),
        "compare_methods": ("compare_methods.py", [
            "--num-worlds", "4", "--num-demos", "1,5", "--worlds", "gridworld,frozenlake",
            "--num-steps", "300", "--burn-in", "50", "--thinning", "2",
            "--max-iterations", "100"], ("wall_s",)),
    },
}


def _load_average():
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        return float("nan")


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _results_only(doc, timing_fields):
    """The JSON rows of a script without its timing fields (what must be bit-identical)."""
    return [{k: v for k, v in row.items() if k not in timing_fields} for row in doc["rows"]]


def run_executor(name, executor, tmp, timeout, size="small", warm=False):
    """Run one suite script with one executor in a fresh process; its row. ``warm``: run it
    once first, untimed, to fill its own compilation cache (what a repeated sweep sees)."""
    if warm:
        first = run_executor(name, executor, tmp, timeout, size)
        if "error" in first:
            return first
    script, extra, timing = EXECUTOR_RUNS[size][name]
    out = os.path.join(tmp, f"{name}_{executor}.json")
    cmd = [sys.executable, os.path.join(ROOT, "examples", script), *extra, "--json", out,
           "--executor", executor]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    # A compilation cache of its own for every executor: a cache warmed by another
    # executor's run (whose workers compile with the same flags) would favour whichever
    # executor runs later.
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["BAYESIRL_COMPILE_CACHE_DIR"] = os.path.join(tmp, f"jax-cache-{name}-{executor}")
    row = {"script": name, "executor": executor, "load_before": _load_average()}
    cpu_before = _children_cpu_s()
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(row, error=f"timed out after {timeout:.0f} s")
    row["wall_s"] = time.perf_counter() - start
    # CPU seconds of the script and of the worker processes it waited for (Ray's workers are
    # the cluster's, not the script's: not counted) over its wall time: how many cores it
    # kept busy. A serial run above 1 is using XLA's own threads.
    row["cpu_s"] = _children_cpu_s() - cpu_before
    row["cores_busy"] = row["cpu_s"] / row["wall_s"] if executor != "ray" else None
    row["load_after"] = _load_average()
    if done.returncode != 0:
        return dict(row, error=(done.stderr.strip().splitlines() or ["?"])[-1])
    with open(out) as f:
        row["results"] = _results_only(json.load(f), timing)
    return row


def executor_rows(executors, timeout, size="small", warm=False, scripts=None):
    """SBC and the method comparison on each executor: wall time, speed-up over serial and
    whether the results equal serial's exactly."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in scripts or EXECUTOR_RUNS[size]:
            ref = None
            for executor in executors:
                row = run_executor(name, executor, tmp, timeout, size, warm)
                if "error" not in row:
                    if executor == "serial":
                        ref = row
                    if ref is not None:
                        row["speedup"] = ref["wall_s"] / row["wall_s"]
                        row["identical"] = row["results"] == ref["results"]
                rows.append(row)
                print(f"  [{name} {executor}: {row.get('wall_s', float('nan')):.0f} s, load "
                      f"{row['load_before']:.1f}]", flush=True)
    print(f"\n{'script':16s} {'executor':9s} {'wall s':>8s} {'speed-up':>9s} {'identical':>10s}"
          f" {'cores busy':>11s} {'load before/after':>18s}")
    for r in rows:
        if "error" in r:
            print(f"{r['script']:16s} {r['executor']:9s} failed: {r['error']}")
            continue
        speedup = f"{r['speedup']:.2f}x" if "speedup" in r else "-"
        same = {True: "yes", False: "NO", None: "-"}[r.get("identical")]
        busy = "-" if r.get("cores_busy") is None else f"{r['cores_busy']:.2f}"
        print(f"{r['script']:16s} {r['executor']:9s} {r['wall_s']:8.1f} {speedup:>9s} "
              f"{same:>10s} {busy:>11s} {r['load_before']:8.1f} / {r['load_after']:.1f}")
    for r in rows:
        r.pop("results", None)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10^5 states only (~1 min)")
    p.add_argument("--sizes", metavar="LIST", help="comma-separated S (default 10^6,10^7)")
    p.add_argument("--devices", default="1,2,4", metavar="LIST",
                   help="comma-separated device counts D (default 1,2,4)")
    p.add_argument("--no-plain", action="store_true", help="skip the one-device solver rows")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed solves per configuration (default 3 below 10^6 states, else 1)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per configuration")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--parts", default="executors,solvers", metavar="LIST",
                   help="executors (SBC and the method comparison on each executor, a few "
                        "minutes) and/or solvers (the sharded solve)")
    p.add_argument("--executors", default="serial,process,ray", metavar="LIST",
                   help="executors of the executors part (ray is skipped when not installed)")
    p.add_argument("--executor-size", choices=tuple(EXECUTOR_RUNS), default="small",
                   help="size of the executors part's runs: small (start-up dominates, a few "
                        "minutes) or medium (the speed-up of real work, ~15 minutes)")
    p.add_argument("--warm-cache", action="store_true",
                   help="time each executor's second run, its compilation cache filled by the "
                        "first (default: one run from a cold cache)")
    p.add_argument("--scripts", metavar="LIST", default=None,
                   help=f"scripts of the executors part (default all: "
                        f"{','.join(EXECUTOR_RUNS['small'])})")
    p.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    p.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--values", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        S, D = args.worker
        row = worker(S, D, args.plain, args.repeats or 1, args.values or None)
        print(json.dumps(row))
        return 0

    t_start = time.perf_counter()
    env = _harness.environment_info()
    _harness.print_header("bayesirl scale-out benchmark: many fits, and one MDP over devices",
                          env)
    parts = args.parts.split(",")
    executor_results = []
    if "executors" in parts:
        executors = args.executors.split(",")
        if "ray" in executors and importlib.util.find_spec("ray") is None:
            print("ray is not installed (pip install \"bayesirl[distributed]\"): its rows are "
                  "skipped")
            executors.remove("ray")
        print(f"many fits on {', '.join(executors)} (one worker per core; load average "
              f"{_load_average():.1f} on {os.cpu_count()} cores)")
        executor_results = executor_rows(
            executors, args.timeout, args.executor_size, args.warm_cache,
            args.scripts.split(",") if args.scripts else None)
    if "solvers" not in parts:
        _harness.finish({"environment": env, "settings": vars(args),
                         "executor_rows": executor_results}, t_start, args.json, indent=2,
                        default=str)
        return 0
    sizes = ([10**5] if args.quick else [10**6, 10**7]) if args.sizes is None else \
        [int(float(s)) for s in args.sizes.split(",")]
    devices = [int(d) for d in args.devices.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for S in sizes:
            repeats = args.repeats or (3 if S < 10**6 else 1)
            # D = 1 first (the reference of the speed-up and of the values); plain last.
            configs = [(D, False) for D in sorted(devices)] + ([] if args.no_plain
                                                               else [(1, True)])
            ref = None
            for D, plain in configs:
                path = os.path.join(tmp, f"v_{S}_{D}_{int(plain)}.npy")
                row = run_config(S, D, plain, repeats, path, args.timeout)
                rows.append(row)
                if "error" not in row:
                    values = np.load(path)
                    if not plain and D == 1:
                        ref = (values, row["solve_s"])
                    if ref is not None:
                        row["max_diff"] = float(np.max(np.abs(values - ref[0])))
                        row["speedup"] = ref[1] / row["solve_s"]
                    os.remove(path)
                print(f"  [S={S} {'plain' if plain else f'D={D}'}: "
                      f"{row.get('solve_s', float('nan')):.1f} s]", flush=True)
    print_rows(rows)
    projection = project(rows)
    target = [r for r in rows if r["S"] == TARGET_S and "error" not in r]
    for r in target:
        ok = (r["converged"] and r["solve_s"] <= TARGET_TIME_S
              and r["peak_rss"] <= TARGET_GB * 1e9)
        label = "plain" if r["plain"] else f"D = {r['D']}"
        print(f"target S = 10^7, {label}: {'met' if ok else 'NOT met'} (solve "
              f"{r['solve_s']:.0f} s, peak {_gb(r['peak_rss']):.2f} GB, converged "
              f"{r['converged']})")
    _harness.finish({"environment": env, "settings": vars(args), "rows": rows,
                     "executor_rows": executor_results, "projection": projection}, t_start,
                    args.json, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
