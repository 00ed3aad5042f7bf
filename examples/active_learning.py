"""Active learning experiment: queries needed to reach a good policy, per acquisition.

On random gridworlds with a known reward, a simulated expert answers state queries (its
optimal action in the asked state) or preference queries (which of two trajectories has the
higher true return). After every answer the posterior is updated and the normalised EVD
(nEVD) of the optimal policy of the posterior-mean reward is measured under the true reward.
Prints, per acquisition, the number of queries needed to reach nEVD <= 0.05 (mean and sd over
the worlds that reached it within the budget) and the share of worlds that reached it;
random queries are the baseline. Every run uses the whole budget (no early stop), so the
curves compare acquisitions alone; alongside, the demonstration-sufficiency test (α-VaR bound
on the nEVD, α = 0.95, δ = 0.05, ε = 0.05) is evaluated after every answer, and the table
reports when it first passed ("certified") and whether the true nEVD was then <= 0.05
("certified_correct": the share of certified worlds where the certificate was right).
The posterior is the loop's resample–move particle approximation (``--updater smc``).
Writes a plot of mean nEVD vs queries with ``--plot``.

    python examples/active_learning.py                         # 20 worlds, full table
    python examples/active_learning.py --num-worlds 2 --budget 3 --json out.json
    python examples/active_learning.py --acquisitions bald,mutual-information  # a subset
"""

import argparse
import json
import time

import jax
import numpy as np

from bayesirl.active import PREFERENCE_ACQUISITIONS, STATE_ACQUISITIONS
from bayesirl.active.loop import run_active_learning, sufficiency_stop
from bayesirl.data.envs import gridworld
from bayesirl.executors import EXECUTORS, map_fits

#: The target of the experiment (Trinh, Chen & Brown 2024 use nEVD thresholds of this size).
TARGET_NEVD = 0.05
#: Gridworld seeds are WORLD_SEED + 2·world (a gridworld draws its weights with seed + 1).
WORLD_SEED = 0


def run_world(task):
    """One active-learning run on one world (a ``map_fits`` task): the true nEVD (Q,) and the
    sufficiency bound (or None) after each of the Q answers."""
    args, world = task["settings"], task["world"]
    env = gridworld(args.size, args.size, num_features=args.num_features,
                    seed=WORLD_SEED + 2 * world)
    test = sufficiency_stop(env.mdp, epsilon=TARGET_NEVD)
    history = run_active_learning(
        env, kind=task["kind"], acquisition=task["acquisition"], budget=args.budget,
        rng_key=jax.random.PRNGKey(1000 + world), beta=args.beta,
        num_particles=args.num_prior_samples, updater=args.updater,
        stop=lambda draws, policy: (False, test(draws, policy)[1]), progress=False)
    return np.array([r.true_nevd for r in history]), [r.bound for r in history]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-worlds", type=int, default=20)
    parser.add_argument("--size", type=int, default=8)
    parser.add_argument("--num-features", type=int, default=6)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--num-prior-samples", type=int, default=2000)
    parser.add_argument("--updater", choices=["smc", "importance"], default="smc")
    parser.add_argument("--beta", type=float, default=10.0)
    parser.add_argument("--kinds", default="state,preference")
    parser.add_argument("--acquisitions",
                        help="comma-separated acquisitions to run (default: every acquisition "
                             "of each kind); names of another kind are ignored")
    parser.add_argument("--json", help="write the table rows as JSON to this path")
    parser.add_argument("--plot", help="write a PNG of mean nEVD vs number of queries")
    parser.add_argument("--executor", choices=EXECUTORS, default="serial",
                        help="where the worlds run (one task per acquisition and world)")
    parser.add_argument("--address", default=None, help="Ray cluster for --executor ray "
                        "('auto' or HOST:PORT; default: a local Ray)")
    args = parser.parse_args(argv)
    settings = argparse.Namespace(**{k: v for k, v in vars(args).items()
                                     if k not in ("json", "plot", "executor", "address")})
    if args.acquisitions:
        unknown = set(args.acquisitions.split(",")) - {*STATE_ACQUISITIONS,
                                                        *PREFERENCE_ACQUISITIONS}
        if unknown:
            parser.error(f"--acquisitions: unknown {sorted(unknown)}; expected names among "
                         f"{[*STATE_ACQUISITIONS, *PREFERENCE_ACQUISITIONS]}")

    start = time.perf_counter()
    curves, rows = {}, []
    runs = [(kind, acq) for kind in args.kinds.split(",")
            for acq in (STATE_ACQUISITIONS if kind == "state" else PREFERENCE_ACQUISITIONS)
            if not args.acquisitions or acq in args.acquisitions.split(",")]
    tasks = [dict(kind=kind, acquisition=acq, world=world, settings=settings)
             for kind, acq in runs for world in range(args.num_worlds)]
    outputs = map_fits(run_world, tasks, executor=args.executor, address=args.address)
    for r, (kind, acq) in enumerate(runs):
        needed, certified, correct = [], [], []
        nevd = np.full((args.num_worlds, args.budget), np.nan)
        mine = outputs[r * args.num_worlds:(r + 1) * args.num_worlds]
        for world, (values, bounds) in enumerate(mine):
            nevd[world, : len(values)] = values
            hit = np.flatnonzero(values <= TARGET_NEVD)
            needed.append(int(hit[0]) + 1 if hit.size else None)
            passed = [i for i, b in enumerate(bounds) if b is not None and b < TARGET_NEVD]
            if passed:
                certified.append(passed[0] + 1)
                correct.append(bool(values[passed[0]] <= TARGET_NEVD))
        reached = [n for n in needed if n is not None]
        row = dict(kind=kind, acquisition=acq,
                   queries_mean=float(np.mean(reached)) if reached else None,
                   queries_sd=float(np.std(reached)) if reached else None,
                   reached_fraction=len(reached) / args.num_worlds,
                   certified_mean=float(np.mean(certified)) if certified else None,
                   certified_fraction=len(certified) / args.num_worlds,
                   certified_correct=float(np.mean(correct)) if correct else None)
        rows.append(row)
        curves[(kind, acq)] = np.nanmean(nevd, axis=0)
        mean = "-" if row["queries_mean"] is None else f"{row['queries_mean']:.2f}"
        sd = "-" if row["queries_sd"] is None else f"{row['queries_sd']:.2f}"
        cert = "-" if row["certified_mean"] is None else f"{row['certified_mean']:.2f}"
        ok = "-" if row["certified_correct"] is None else f"{row['certified_correct']:.2f}"
        print(f"{kind:10s} {acq:20s} queries to nEVD<={TARGET_NEVD}: {mean:>6s} ± {sd:>5s}"
              f"  reached {row['reached_fraction']:.2f}  certified after {cert:>6s}"
              f" ({row['certified_fraction']:.2f} of worlds, correct {ok})", flush=True)
    wall = time.perf_counter() - start
    print(f"wall time {wall:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "target_nevd": TARGET_NEVD, "wall_time_s": wall,
                       "settings": vars(args)}, f, indent=2)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        kinds = args.kinds.split(",")
        fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 4), squeeze=False)
        for ax, kind in zip(axes[0], kinds):
            for (k, acq), curve in curves.items():
                if k == kind:
                    ax.plot(np.arange(1, len(curve) + 1), curve, label=acq,
                            linestyle="--" if acq == "random" else "-")
            ax.axhline(TARGET_NEVD, color="grey", linewidth=0.8)
            ax.set(title=f"{kind} queries ({args.num_worlds} gridworlds)", xlabel="queries",
                   ylabel="mean normalised EVD", yscale="log")
            ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
    return rows


if __name__ == "__main__":
    main()
