#!/usr/bin/env python
"""Many consecutive fits of identical shapes in one process: the first fit against the rest.

A simulation study calls ``fit_trajectories`` or ``fit_demonstrations`` thousands of times in
one process. The compiled programs take the evidence as traced arguments, so fits 2..N of the
same shapes reuse them. This benchmark runs N fits of one kind and prints:

- seconds of the first fit and the median of fits 2..N;
- XLA compilations after the first fit (should be 0);
- resident memory (MB) and memory maps after the warm fits and at the end (should be flat);
- files and bytes the run added to the persistent compile cache (a fresh folder per run);
- the baseline, measured in the same run: the same fits with JAX's in-memory caches cleared
  and the persistent cache off before each fit, so that every fit compiles its programs as a
  fit did when the data were constants of the compiled program; the ratio baseline / median.

Run from the repository root::

    python benchmarks/bench_many_fits.py                       # 200 fits of each kind
    python benchmarks/bench_many_fits.py --fits 1000 --kinds trajectories
    python benchmarks/bench_many_fits.py --quick               # smoke run (10 fits)

The fits are small (10 trajectories of 4 features and 9 comparisons, Bayesian REX with MH on
the unit L1 sphere; 6 Boltzmann demonstrations in a 3x3 gridworld with NUTS), with 2 chains
vectorised and ``--num-samples``/``--num-warmup`` draws, so that compiling is a visible part
of a fit, as in a study of many small problems.
"""

from __future__ import annotations

import _harness  # noqa: E402, I001  (pins numpy's BLAS to one thread before numpy loads)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

KINDS = ("trajectories", "demonstrations")
#: Fits before the memory baseline is read (allocator pools fill up first).
WARM_FITS = 10


def _memory() -> tuple[float, int]:
    """Resident memory (MB) and the number of memory maps of this process (Linux)."""
    rss = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                rss = int(line.split()[1]) / 1024
    with open("/proc/self/maps") as f:
        maps = sum(1 for _ in f)
    return rss, maps


def _cache_size(path: str) -> tuple[int, int]:
    """Files and bytes under the persistent compile cache folder."""
    files = size = 0
    for root, _, names in os.walk(path):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(root, name))
    return files, size


def _make_fit(kind: str, settings: dict):
    """A function rng -> InferenceData running one small fit of ``kind``."""
    import numpy as np

    from bayesirl.data.demos import make_demonstrations
    from bayesirl.data.envs import make_environment
    from bayesirl.data.preferences import make_preferences
    from bayesirl.data.trajectories import make_trajectories
    from bayesirl.inference.fit import fit_demonstrations, fit_trajectories

    if kind == "trajectories":
        def fit(rng):
            trajectories = make_trajectories(feature_counts=rng.standard_normal((10, 4)))
            labels = rng.integers(0, 2, 9)
            preferences = make_preferences(10, [(i, i + 1, int(b)) for i, b in enumerate(labels)])
            return fit_trajectories(trajectories, preferences=preferences, method="mh",
                                    prior="l1-sphere", seed=int(rng.integers(1 << 30)),
                                    **settings)
        return fit
    mdp = make_environment("gridworld", height=3, width=3, num_features=2, discount=0.9,
                           slip_probability=0.0).mdp
    open_states = np.flatnonzero(~np.asarray(mdp.terminal))

    def fit(rng):
        demos = make_demonstrations(
            [([int(rng.choice(open_states))], [int(rng.integers(mdp.num_actions))])
             for _ in range(6)], num_states=mdp.num_states, num_actions=mdp.num_actions)
        return fit_demonstrations(mdp, demos, method="nuts", seed=int(rng.integers(1 << 30)),
                                  **settings)
    return fit


def run_kind(kind: str, num_fits: int, baseline_fits: int, settings: dict, cache_dir: str,
             compiles: list) -> dict:
    """N consecutive fits of one kind, then ``baseline_fits`` fits that each compile."""
    import jax
    import numpy as np

    fit = _make_fit(kind, settings)
    rng = np.random.default_rng(0)
    times, compiled_later = [], 0
    cache0 = _cache_size(cache_dir)
    memory = {}
    for k in range(num_fits):
        before = compiles[0]
        start = time.perf_counter()
        fit(rng)
        times.append(time.perf_counter() - start)
        if k > 0:
            compiled_later += compiles[0] - before
        if k == 0:
            cache_first = _cache_size(cache_dir)
        if k == min(WARM_FITS, num_fits - 1):
            memory["warm"] = _memory()
    memory["end"] = _memory()
    cache_end = _cache_size(cache_dir)
    baseline = []
    jax.config.update("jax_enable_compilation_cache", False)
    try:
        for _ in range(baseline_fits):
            jax.clear_caches()
            start = time.perf_counter()
            fit(rng)
            baseline.append(time.perf_counter() - start)
    finally:
        jax.config.update("jax_enable_compilation_cache", True)
        jax.clear_caches()
    median = statistics.median(times[1:]) if num_fits > 1 else float("nan")
    base = statistics.median(baseline) if baseline else float("nan")
    return dict(kind=kind, fits=num_fits, first_s=times[0], median_s=median,
                compiles_after_first=compiled_later,
                rss_mb=(memory["warm"][0], memory["end"][0]),
                maps=(memory["warm"][1], memory["end"][1]),
                cache_files_first=cache_first[0] - cache0[0],
                cache_files_later=cache_end[0] - cache_first[0],
                cache_bytes_later=cache_end[1] - cache_first[1],
                baseline_fits=baseline_fits, baseline_median_s=base,
                ratio=base / median if baseline else float("nan"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=200, help="consecutive fits per kind")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"comma-separated, from {KINDS}")
    parser.add_argument("--baseline-fits", type=int, default=5,
                        help="fits that each compile (the baseline)")
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument("--num-warmup", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="10 fits, 2 baseline fits")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    if set(kinds) - set(KINDS):
        parser.error(f"--kinds: expected names from {KINDS}, got {args.kinds!r}")
    if args.fits < 2:
        parser.error(f"--fits: expected an integer >= 2, got {args.fits}")
    if args.quick:
        args.fits, args.baseline_fits = 10, 2

    cache_dir = tempfile.mkdtemp(prefix="bayesirl-bench-cache-")
    os.environ["BAYESIRL_COMPILE_CACHE_DIR"] = cache_dir
    import jax

    compiles = [0]

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    settings = dict(num_samples=args.num_samples, num_warmup=args.num_warmup, num_chains=2,
                    chain_method="vectorized", progress_bar=False, predictive_groups=False,
                    warn=False, retry=False)
    rows = []
    print(f"{'kind':15s} {'fits':>5s} {'first_s':>8s} {'median_s':>9s} {'compiles':>8s} "
          f"{'rss_MB':>11s} {'maps':>11s} {'cache+':>14s} {'recompile_s':>11s} {'ratio':>6s}")
    for kind in kinds:
        row = run_kind(kind, args.fits, args.baseline_fits, settings, cache_dir, compiles)
        rows.append(row)
        print(f"{kind:15s} {row['fits']:5d} {row['first_s']:8.2f} {row['median_s']:9.3f} "
              f"{row['compiles_after_first']:8d} "
              f"{row['rss_mb'][0]:5.0f}>{row['rss_mb'][1]:5.0f} "
              f"{row['maps'][0]:5d}>{row['maps'][1]:5d} "
              f"{row['cache_files_first']:3d}+{row['cache_files_later']:3d} files "
              f"{row['baseline_median_s']:11.3f} {row['ratio']:6.1f}", flush=True)
    print("first_s: the first fit (compiles); median_s: fits 2..N; compiles: XLA compilations "
          "after the first fit;\nrss_MB/maps: after the warm fits > at the end; cache+: "
          "persistent-cache files written by the first fit + by the rest;\nrecompile_s: median "
          "fit with the caches cleared before it (the baseline); ratio: recompile_s / median_s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": {k: v for k, v in settings.items()}, "rows": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
