"""Simulation-based calibration of every likelihood × sampler on a tiny gridworld and on
synthetic choice sets.

For each row (likelihood, sampler): draw R reward-weight vectors from the prior, simulate the
evidence of each (actions at fixed demonstrated states, labels of fixed comparisons, orders of
fixed rankings, choices and rankings among fixed option sets), sample each posterior (R chains
``vmap``-ed), rank the truth among L thinned draws and test the ranks for uniformity (χ², B
bins, Bonferroni over the ranked columns: the F weights, and ε or the person scales τ where the
row has them; threshold α = 0.01; Talts et al. 2018). Writes a JSON table and a figure (rank
histograms, ECDF differences with simultaneous 95 % bands as in ArviZ's ``plot_ecdf``).

    python examples/sbc.py --json docs/results/sbc.json --png docs/results/sbc.png
    python examples/sbc.py --executor process        # the rows in parallel, same results
    python examples/sbc.py --rows choice:nuts --json docs/results/sbc.json --merge  # add rows
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

from bayesirl.analysis.calibration import (  # noqa: E402
    DEFAULT_ALPHA, chi2_power, miscalibrated_bin_probabilities, rank_uniformity_test, sbc_ranks)
from bayesirl.data.demos import sample_demonstrations  # noqa: E402
from bayesirl.data.envs import gridworld  # noqa: E402
from bayesirl.inference.sbc import (  # noqa: E402
    fit_replications, policy_walk_replications, simulate_replications)
from bayesirl.likelihoods import demonstration_pairs  # noqa: E402
from bayesirl.models import Evidence  # noqa: E402
from bayesirl.solvers.occupancy import empirical_feature_counts  # noqa: E402
from bayesirl.data.preferences import make_preferences  # noqa: E402
from bayesirl.data.rankings import make_trajectory_rankings  # noqa: E402
from bayesirl.likelihoods.plackett_luce import ranking_data  # noqa: E402
from bayesirl.executors import EXECUTORS, map_fits  # noqa: E402
from bayesirl.data.choices import make_choice_sets, make_rankings  # noqa: E402
from bayesirl.likelihoods.luce import Hierarchy, choice_evidence  # noqa: E402

#: (likelihood, samplers): NUTS needs a differentiable likelihood (not hard Q).
ROWS = {
    "boltzmann-soft": ("nuts", "mh"),
    "boltzmann-hard": ("mh", "policywalk"),
    "noisy-boltzmann": ("nuts", "mh"),
    "maxent-finite": ("nuts", "mh"),
    "maxent-discounted": ("nuts", "mh"),
    "bradley-terry-strict": ("nuts", "mh"),
    "bradley-terry-weak": ("nuts", "mh"),
    "joint": ("nuts", "mh"),
    "plackett-luce": ("nuts", "mh"),
    "choice": ("nuts", "mh"),
    "choice-ranking": ("nuts", "mh"),
    "choice-hierarchical": ("nuts",),
    "value-space": ("nuts", "mh"),
}
#: Rows of the ``choice`` source: they need no MDP (fit with ``mdp=None``).
CHOICE_ROWS = ("choice", "choice-ranking", "choice-hierarchical")
NUM_OPTIONS = 4  # K options per choice set (2–4 of them available)
WEAK_MARGIN = 0.5  # δ of the weak-preference rows
NOISY_BETA = 3.0  # β of the noisy-boltzmann row: sharp enough that random actions stand out


def world(args):
    """The MDP and the fixed covariates: demonstrated states (uniform-policy rollouts) and
    comparisons between rollouts."""
    mdp = gridworld(3, 3, num_features=args.num_features, seed=0, discount=0.8).mdp
    S, A = mdp.num_states, mdp.num_actions
    demos = sample_demonstrations(jax.random.PRNGKey(1), mdp, jnp.full((S, A), 1.0 / A),
                                  args.num_demos, args.horizon)
    pairs = demonstration_pairs(mdp, demos)
    rng = np.random.default_rng(2)
    N = demos.num_trajectories
    first = rng.integers(N, size=args.num_comparisons)
    second = (first + rng.integers(1, N, size=args.num_comparisons)) % N
    prefs = make_preferences(N, list(zip(first.tolist(), second.tolist(),
                                         [0] * args.num_comparisons)))
    counts = empirical_feature_counts(mdp, demos)
    # Plackett–Luce rows: rankings of 2–5 rollouts each; every third a top-2 of those offered
    offered = [rng.choice(N, size=int(rng.integers(2, 6)), replace=False).tolist()
               for _ in range(args.num_rankings)]
    ranked = [o if r % 3 or len(o) == 2 else o[:2] for r, o in enumerate(offered)]
    rankings = make_trajectory_rankings(ranked, N, offered=offered)
    return mdp, pairs, counts, prefs, rankings, choice_covariates(args)


def choice_covariates(args):
    """The fixed option sets of the choice rows: ``{row: ChoiceEvidence}``.

    ``choice``: ``--num-choice-sets`` sets of K = 4 options with F standard-normal features,
    2–4 of them available, one person. ``choice-ranking``: the same sets ranked, full rankings
    except every third a top-2 (of sets with more than 2 options). ``choice-hierarchical``:
    ``--num-persons`` people × ``--choices-per-person`` sets. The chosen options and orders
    here are placeholders: the simulation replaces them.
    """
    rng = np.random.default_rng(3)
    K, F = NUM_OPTIONS, args.num_features

    def option_sets(n):
        available = np.zeros((n, K), bool)
        for row in available:
            row[rng.choice(K, size=int(rng.integers(2, K + 1)), replace=False)] = True
        return np.where(available[..., None], rng.normal(size=(n, K, F)), 0.0), available

    feats, avail = option_sets(args.num_choice_sets)
    first = np.argmax(avail, axis=1)
    offered = [np.flatnonzero(a).tolist() for a in avail]
    ranked = [o[:2] if n % 3 == 0 and len(o) > 2 else o for n, o in enumerate(offered)]
    I, per = args.num_persons, args.choices_per_person
    h_feats, h_avail = option_sets(I * per)
    return {
        "choice": choice_evidence(make_choice_sets(feats, first, avail)),
        "choice-ranking": choice_evidence(make_rankings(feats, ranked, avail)),
        "choice-hierarchical": choice_evidence(make_choice_sets(
            h_feats, np.argmax(h_avail, axis=1), h_avail, np.repeat(np.arange(I), per))),
    }


def row_setup(likelihood, pairs, counts, prefs, rankings, choices, horizon):
    """Evidence (covariates) and model keyword arguments of a row."""
    kw = dict(prior="gaussian")
    if likelihood in CHOICE_ROWS:
        data = choices[likelihood]
        if likelihood == "choice-hierarchical":  # every feature's weight varies across people
            kw = dict(kw, hierarchy=Hierarchy(tuple(range(data.features.shape[-1]))))
        return Evidence(choice=data), kw
    if likelihood == "boltzmann-soft":
        return Evidence(boltzmann=pairs), dict(kw, q="soft")
    if likelihood == "boltzmann-hard":
        return Evidence(boltzmann=pairs), dict(kw, q="hard")
    if likelihood == "noisy-boltzmann":  # ε ~ Beta(1, 9) learned; β larger so ε is informed
        return (Evidence({"noisy-boltzmann": pairs}),
                dict(kw, q="soft", betas={"noisy-boltzmann": NOISY_BETA}))
    if likelihood == "maxent-finite":
        return Evidence(maxent=pairs), dict(kw, maxent_horizon=horizon)
    if likelihood == "maxent-discounted":
        return Evidence(maxent=pairs), dict(kw, maxent_horizon=None)
    if likelihood == "plackett-luce":
        return Evidence(plackett_luce=ranking_data(counts, rankings)), kw
    bt = dict(preference_features=counts, preferences=prefs)
    if likelihood == "bradley-terry-strict":
        return Evidence(**bt), kw
    if likelihood == "bradley-terry-weak":
        return Evidence(**bt), dict(kw, margin=WEAK_MARGIN)
    return Evidence(boltzmann=pairs, **bt), dict(kw, q="soft")


#: Sites ranked besides the reward weights, where a row's model has them (one column per
#: element): the contamination ε, the hierarchy's population standard deviations τ.
EXTRA_COLUMNS = ("epsilon", "person_scales")


def ranked_columns(sites):
    """(…, F + extra) the reward weights and the :data:`EXTRA_COLUMNS` sites of ``sites``
    side by side (leading axes kept), and the columns' names."""
    columns = [np.asarray(sites["reward_weights"])]
    names = [f"w[{k}]" for k in range(columns[0].shape[-1])]
    for site in EXTRA_COLUMNS:
        if site in sites:
            value = np.asarray(sites[site])
            value = value[..., None] if value.ndim == columns[0].ndim - 1 else value
            columns.append(value)
            names += [site if value.shape[-1] == 1 else f"{site}[{k}]"
                      for k in range(value.shape[-1])]
    return np.concatenate(columns, axis=-1), names


def value_space_row(key, sampler, args):
    """The ``value-space`` row: value-space Bayesian IRL (a tanh Q-network with
    ``--value-width`` hidden units, the Bellman reward prior, the Boltzmann likelihood) on a
    1-D task with ``--value-transitions`` fixed states and 2 actions. The weights and actions
    are drawn exactly from the model's joint distribution (rejection from the weight prior);
    the ranked quantities are functions of the Q-network that its symmetries leave unchanged
    (:data:`bayesirl.inference.continuous_sbc.QUANTITY_NAMES`)."""
    from bayesirl.continuous import make_network
    from bayesirl.inference.continuous_sbc import (
        QUANTITY_NAMES, fit_value_space_replications, simulate_value_space, synthetic_task,
        value_space_quantities)

    task = synthetic_task(args.value_transitions)
    network = make_network(1, task.num_actions, width=args.value_width)
    truth, actions, _ = simulate_value_space(jax.random.fold_in(key, 0), task, network,
                                             args.replications)
    if sampler == "nuts":
        options = dict(num_warmup=2 * args.num_warmup, thinning=3 * args.thinning,
                       kernel_kwargs=dict(max_tree_depth=args.value_tree_depth))
    else:
        options = dict(num_warmup=4 * args.num_warmup, thinning=8 * args.thinning)
    draws = fit_value_space_replications(jax.random.fold_in(key, 1), task, actions, network,
                                         sampler=sampler, num_samples=args.num_samples,
                                         **options)
    ranks = sbc_ranks(np.asarray(value_space_quantities(network, truth, task, actions)),
                      np.asarray(value_space_quantities(network, draws, task, actions)))
    return ranks, list(QUANTITY_NAMES)


def run_row(key, mdp, likelihood, sampler, covariates, args):
    """The ranks (R, columns) of the truth among the draws, and the columns' names."""
    if likelihood == "value-space":
        return value_space_row(key, sampler, args)
    evidence, kw = row_setup(likelihood, *covariates, args.horizon)
    if likelihood in CHOICE_ROWS:
        mdp = None
    L = args.num_samples
    if sampler == "policywalk":
        kw = dict(kw, prior="l2-sphere")
    truth, evidences = simulate_replications(jax.random.fold_in(key, 0), mdp, evidence,
                                             args.replications, **kw)
    k_fit = jax.random.fold_in(key, 1)
    if sampler == "policywalk":
        burn, thin = 3 * args.num_warmup, 8 * args.thinning
        draws = policy_walk_replications(k_fit, mdp, evidences, beta=1.0, step_size=0.3,
                                         num_steps=burn + L * thin, burn_in=burn, thinning=thin)
    else:
        thin = args.thinning * (8 if sampler == "mh" else 1)
        warm = args.num_warmup * (3 if sampler == "mh" else 1)
        sites = fit_replications(k_fit, mdp, evidences, sampler=sampler, num_warmup=warm,
                                 num_samples=L, thinning=thin, **kw)
        truth_columns, names = ranked_columns(truth)
        return sbc_ranks(truth_columns, ranked_columns(sites)[0]), names
    truth = np.asarray(truth["reward_weights"])
    return sbc_ranks(truth, np.asarray(draws)), [f"w[{k}]" for k in range(truth.shape[-1])]


def sbc_row(task):
    """One row (a ``map_fits`` task): the ranks (R, columns) of the truth, the columns' names
    and the row's seconds."""
    args = argparse.Namespace(**task["settings"])
    mdp, *covariates = world(args)
    t0 = time.perf_counter()
    ranks, names = run_row(jax.random.fold_in(jax.random.PRNGKey(args.seed), task["index"]), mdp,
                    task["likelihood"], task["sampler"], covariates, args)
    return ranks, names, time.perf_counter() - t0


def plot(results, L, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import scipy.stats
    from scipy.stats import uniform
    from bayesirl import _arviz

    n = len(results)
    cols = 4
    fig, axes = plt.subplots(-(-n // 2), cols, figsize=(4 * cols, 2.4 * -(-n // 2)),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for i, (name, ranks, test, columns) in enumerate(results):
        ax_h, ax_e = axes[i // 2, 2 * (i % 2)], axes[i // 2, 2 * (i % 2) + 1]
        ax_h.set_visible(True)
        ax_e.set_visible(True)
        counts = test.counts
        B = counts.shape[1]
        R = ranks.shape[0]
        for k in range(counts.shape[0]):
            ax_h.step(np.arange(B + 1), np.append(counts[k], counts[k][-1]), where="post",
                      label=columns[k])
        lo, hi = scipy.stats.binom.ppf([0.005, 0.995], R, 1 / B)
        ax_h.axhspan(lo, hi, color="0.85", zorder=0)
        ax_h.set_title(f"{name}: p = {test.p_value:.3g}", fontsize=8)
        ax_h.set_xticks([])
        _arviz.plot_ecdf((ranks.ravel() + 0.5) / (L + 1), cdf=uniform(0, 1).cdf, ax=ax_e)
        ax_e.set_title("ECDF − uniform (all columns)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def merge_tables(old, new):
    """The table ``old`` with the rows of ``new`` added or replacing those of the same
    (likelihood, sampler); ``runs`` lists which run (date, command, wall time) produced which
    rows (rows of a table written before runs were recorded are listed as one run without a
    date). Rows are in :data:`ROWS` order.

    Raises:
        SystemExit: the tables differ in L, B or α (their rows would not be comparable).
    """
    for key in ("num_samples", "num_bins", "alpha"):
        if old.get(key) != new[key]:
            raise SystemExit(f"--merge: {key} is {new[key]} here but {old.get(key)} in the table")
    runs = list(old.get("runs") or [])
    undated = [r for r in old["rows"] if "run" not in r]
    if undated and not any(run["date"] is None for run in runs):
        runs.insert(0, dict(date=None, command="examples/sbc.py (full run, before runs were "
                                               "recorded)",
                            rows=[f"{r['likelihood']}:{r['sampler']}" for r in undated],
                            wall_time_s=old.get("wall_time_s")))
    replaced = {(r["likelihood"], r["sampler"]) for r in new["rows"]}
    rows = [r for r in old["rows"] if (r["likelihood"], r["sampler"]) not in replaced]
    order = [(lik, s) for lik, samplers in ROWS.items() for s in samplers]
    rows = sorted(rows + new["rows"], key=lambda r: order.index((r["likelihood"], r["sampler"]))
                  if (r["likelihood"], r["sampler"]) in order else len(order))
    runs += new["runs"]
    return dict(new, rows=rows, runs=runs,
                wall_time_s=sum(r["wall_time_s"] or 0.0 for r in runs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replications", type=int, default=300, help="R per row")
    parser.add_argument("--num-samples", type=int, default=99, help="L kept draws (L + 1 "
                        "must be divisible by --num-bins)")
    parser.add_argument("--num-warmup", type=int, default=150)
    parser.add_argument("--thinning", type=int, default=1)
    parser.add_argument("--num-bins", type=int, default=10)
    parser.add_argument("--num-features", type=int, default=2)
    parser.add_argument("--num-demos", type=int, default=10)
    parser.add_argument("--horizon", type=int, default=6)
    parser.add_argument("--num-comparisons", type=int, default=40)
    parser.add_argument("--num-rankings", type=int, default=15,
                        help="rankings (of 2–5 trajectories) of the plackett-luce rows")
    parser.add_argument("--num-choice-sets", type=int, default=30,
                        help="choice sets (2–4 of 4 options available) of the choice and "
                             "choice-ranking rows")
    parser.add_argument("--num-persons", type=int, default=8,
                        help="people I of the choice-hierarchical row")
    parser.add_argument("--choices-per-person", type=int, default=6,
                        help="choice sets per person of the choice-hierarchical row")
    parser.add_argument("--value-transitions", type=int, default=40,
                        help="fixed states N of the value-space row's 1-D task")
    parser.add_argument("--value-width", type=int, default=3,
                        help="hidden units of the value-space row's Q-network")
    parser.add_argument("--value-tree-depth", type=int, default=6,
                        help="NUTS tree depth cap of the value-space row")
    parser.add_argument("--rows", default="all",
                        help="comma-separated likelihood:sampler pairs, or 'all'")
    parser.add_argument("--json", default=None, help="write the table here")
    parser.add_argument("--png", default=None, help="write the figure here (this run's rows)")
    parser.add_argument("--merge", action="store_true",
                        help="add this run's rows to the table already at --json (replacing "
                             "rows of the same likelihood and sampler) instead of overwriting it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--executor", choices=EXECUTORS, default="serial",
                        help="where the rows run (one task per row)")
    parser.add_argument("--address", default=None, help="Ray cluster for --executor ray "
                        "('auto' or HOST:PORT; default: a local Ray)")
    args = parser.parse_args(argv)
    wanted = [(lik, s) for lik, samplers in ROWS.items() for s in samplers]
    if args.rows != "all":
        wanted = [tuple(item.split(":")) for item in args.rows.split(",")]
    settings = {k: v for k, v in vars(args).items()
                if k not in ("json", "png", "rows", "executor", "address")}
    start = time.perf_counter()
    rows, results = [], []
    miscalibrated = miscalibrated_bin_probabilities(args.num_bins, 0.1)
    tasks = [dict(index=i, likelihood=lik, sampler=s, settings=settings)
             for i, (lik, s) in enumerate(wanted)]
    outputs = map_fits(sbc_row, tasks, executor=args.executor, address=args.address)
    for (likelihood, sampler), (ranks, names, seconds) in zip(wanted, outputs):
        test = rank_uniformity_test(ranks, args.num_samples, args.num_bins, DEFAULT_ALPHA)
        power = chi2_power(args.replications, miscalibrated, DEFAULT_ALPHA, ranks.shape[1])
        rows.append(dict(likelihood=likelihood, sampler=sampler, replications=args.replications,
                         p_value=test.p_value, passed=test.passed, alpha=DEFAULT_ALPHA,
                         power_10pct=power, wall_time_s=seconds, columns=names))
        results.append((f"{likelihood} / {sampler}", ranks, test, names))
        print(f"{likelihood:22s} {sampler:10s} R={args.replications:4d} p={test.p_value:.3g} "
              f"{'pass' if test.passed else 'FAIL'} ({rows[-1]['wall_time_s']:.0f} s)", flush=True)
    wall = time.perf_counter() - start
    run = dict(date=datetime.datetime.now().isoformat(timespec="seconds"),
               command=" ".join(["examples/sbc.py", *(argv if argv is not None else sys.argv[1:])]),
               rows=[f"{lik}:{s}" for lik, s in wanted], wall_time_s=wall)
    for row in rows:
        row["run"] = run["date"]
    doc = {"rows": rows, "wall_time_s": wall, "num_samples": args.num_samples,
           "num_bins": args.num_bins, "alpha": DEFAULT_ALPHA,
           "miscalibration": "central 80 % interval covering 70 % (coverage shortfall 0.1)",
           "runs": [run]}
    print(f"wall time {wall:.0f} s")
    if args.json:
        if args.merge and os.path.exists(args.json):
            with open(args.json) as f:
                doc = merge_tables(json.load(f), doc)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    if args.png:
        plot(results, args.num_samples, args.png)


if __name__ == "__main__":
    main()
