"""The report of a choice run (``bayesirl fit --choices``): the reward weights with credible
intervals, how well the posterior predicts the choices, and — with per-person weights — the
population: its mean, how much people differ, a new person's weights and every person's
intervals.

:func:`bayesirl.app.report.run_report` writes it into ``DIR/report/``: ``report.json``,
``report.txt``, ``forest.png`` (the population's weights, and a new person's), and with
per-person weights ``persons.csv`` (one row per person and feature), ``persons.png`` (each
person's posterior mean and interval per varying feature, sorted) and ``correlation.png``
(the posterior-mean correlation of the varying weights across people).

Intervals are equal-tailed credible intervals of mass ``--hdi-prob`` (the
``(1 − p) / 2`` and ``(1 + p) / 2`` quantiles of the draws).
"""

from __future__ import annotations

import csv
import io
import os
import warnings

import numpy as np

from bayesirl._io import write_json, write_text

__all__ = ["analyse_choices", "write_choice_report", "MAX_TEXT_PERSONS", "PREDICTION_DRAWS"]

#: Posterior draws (evenly spaced) used for the prediction of the observed choices.
PREDICTION_DRAWS = 200
#: Persons listed in ``report.txt`` (the most and least extreme; all are in persons.csv).
MAX_TEXT_PERSONS = 10


def _intervals(x: np.ndarray, names: list, prob: float) -> list[dict]:
    lo, hi = np.quantile(x, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return [{"feature": str(n), "mean": float(m), "sd": float(s), "lower": float(a),
             "upper": float(b)}
            for n, m, s, a, b in zip(names, x.mean(0), x.std(0), lo, hi)]


def _prediction(run, weights: np.ndarray) -> dict:
    """How well the posterior predicts the observed choices: the posterior-mean probability of
    each first choice, and how often the option the posterior predictive finds most probable
    was chosen."""
    from bayesirl.analysis.choice_checks import choice_log_probs
    from bayesirl.likelihoods.luce import choice_evidence, pointwise_choice_log_likelihood

    single = weights.mean(0)
    weights = weights[np.unique(np.linspace(0, len(weights) - 1, PREDICTION_DRAWS).astype(int))]
    data = choice_evidence(run.world.data.choices)
    first = np.asarray(data.order)[:, 0]
    probs = np.exp(choice_log_probs(weights, data)).mean(0)            # (N, K)
    lp = np.asarray(pointwise_choice_log_likelihood(single, data))
    return {"num_choice_sets": int(first.shape[0]),
            "mean_probability_of_choice": float(probs[np.arange(len(first)), first].mean()),
            "best_option_chosen": float(np.mean(np.argmax(probs, axis=-1) == first)),
            "chance": float(np.mean(1.0 / np.asarray(data.available).sum(-1))),
            "log_likelihood_at_posterior_mean": float(lp.sum())}


def analyse_choices(run, opts) -> tuple[dict, object]:
    """The report of a choice run as a JSON-ready dict, and its diagnostics.

    Args:
        run: the loaded run (:func:`bayesirl.app.run.load_run`; ``run.kind == "choices"``).
        opts: :class:`~bayesirl.app.report.ReportOptions` (``hdi_prob``).

    Returns:
        ``(doc, Diagnostics)``.
    """
    from bayesirl.analysis import diagnose
    from bayesirl.analysis.population import (person_weight_draws, population_summary)

    idata, world = run.idata, run.world
    post = idata.posterior
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        diag = diagnose(idata)
    names = world.feature_names
    C, M, F = post["reward_weights"].shape
    w = np.asarray(post["reward_weights"]).reshape(C * M, F)
    doc = {"kind": "choices", "interval_prob": opts.hdi_prob,
           "diagnostics": diag.as_dict(), "choices": run.summary.get("choices", {}),
           "weights": _intervals(w, names, opts.hdi_prob),
           "misfit": run.summary.get("misfit")}
    if world.hierarchy is not None:
        person = np.asarray(world.data.choices.person)
        doc["population"] = population_summary(
            idata, names, world.person_names, prob=opts.hdi_prob,
            person_counts=np.bincount(person, minlength=world.num_persons))
        people = person_weight_draws(idata, world.hierarchy)
        doc["prediction"] = _prediction(run, people.reshape(C * M, *people.shape[2:]))
    else:
        doc["prediction"] = _prediction(run, w)
    return doc, diag


def _text(doc: dict) -> str:
    pct = f"{100 * doc['interval_prob']:g}%"
    lines = []
    for problem in doc["diagnostics"].get("problems", []):
        lines.append(f"WARNING: the posterior should not be trusted: {problem}")
    misfit = doc.get("misfit") or {}
    if misfit.get("alarm"):
        lines.append(f"WARNING: {misfit.get('message')}")
    info = doc["choices"]
    pop = doc.get("population")
    head = ("Population mean of the reward weights" if pop else "Reward weights (one reward "
            "for everyone)")
    lines += [f"{info.get('num_choice_sets', '?')} choice sets among up to "
              f"{info.get('num_options', '?')} options, {info.get('num_persons', '?')} "
              f"person(s).", f"{head}, {pct} credible intervals:"]
    lines += [f"  {r['feature']:>16}: {r['mean']: .4g}  [{r['lower']: .4g}, {r['upper']: .4g}]"
              for r in doc["weights"]]
    if pop:
        lines.append(f"How much people differ (population sd of each varying weight), {pct}:")
        lines += [f"  {r['feature']:>16}: {r['mean']: .4g}  [{r['lower']: .4g}, "
                  f"{r['upper']: .4g}]" for r in pop["scales"]]
        if len(pop["random_features"]) > 1:
            corr = np.asarray(pop["correlation"])
            lines.append("Correlation of the varying weights across people (posterior mean): "
                         + "; ".join(f"{a}~{b} {corr[i, j]:.2f}"
                                     for i, a in enumerate(pop["random_features"])
                                     for j, b in enumerate(pop["random_features"]) if j > i))
        lines.append(f"A new person's weights (posterior predictive), {pct}:")
        lines += [f"  {r['feature']:>16}: {r['mean']: .4g}  [{r['lower']: .4g}, "
                  f"{r['upper']: .4g}]" for r in pop["new_person"]]
        first = pop["random_features"][0]
        persons = sorted(pop["persons"], key=lambda p: next(
            r["mean"] for r in p["weights"] if r["feature"] == first))
        shown = persons if len(persons) <= MAX_TEXT_PERSONS else (
            persons[:MAX_TEXT_PERSONS // 2] + persons[-MAX_TEXT_PERSONS // 2:])
        lines.append(f"Persons with the lowest and highest weight of {first} "
                     f"({len(persons)} in all, every one in persons.csv):")
        for p in shown:
            r = next(r for r in p["weights"] if r["feature"] == first)
            lines.append(f"  {p['person']:>16} ({p['num_choice_sets']} choice sets): "
                         f"{r['mean']: .4g}  [{r['lower']: .4g}, {r['upper']: .4g}]")
    pred = doc["prediction"]
    lines.append(f"Prediction of the observed choices: mean posterior probability of the "
                 f"option chosen (first ranked) {pred['mean_probability_of_choice']:.3f} "
                 f"(chance {pred['chance']:.3f}); the option the posterior predictive finds "
                 f"most probable was chosen in {100 * pred['best_option_chosen']:.1f}% of the sets.")
    return "\n".join(lines) + "\n"


def _persons_csv(pop: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["person", "num_choice_sets", "feature", "mean", "sd", "lower", "upper"])
    for p in pop["persons"]:
        for r in p["weights"]:
            writer.writerow([p["person"], p["num_choice_sets"], r["feature"],
                             *(repr(r[k]) for k in ("mean", "sd", "lower", "upper"))])
    return buffer.getvalue()


def _plots(doc: dict, folder: str) -> list[str]:
    from bayesirl.app.plots import pyplot_or_warn

    plt = pyplot_or_warn()
    if plt is None:
        return []
    files = []
    pop = doc.get("population")
    rows = doc["weights"]
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(rows)))
    y = np.arange(len(rows))
    ax.errorbar([r["mean"] for r in rows], y, xerr=[[r["mean"] - r["lower"] for r in rows],
                                                    [r["upper"] - r["mean"] for r in rows]],
                fmt="o", capsize=3, label="population mean" if pop else "weight")
    if pop:
        new = pop["new_person"]
        ax.errorbar([r["mean"] for r in new], y + 0.2,
                    xerr=[[r["mean"] - r["lower"] for r in new],
                          [r["upper"] - r["mean"] for r in new]],
                    fmt="s", capsize=3, alpha=0.7, label="a new person")
        ax.legend(loc="best", fontsize=8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.set_yticks(y, [r["feature"] for r in rows])
    ax.set_xlabel(f"reward weight ({100 * doc['interval_prob']:g}% credible interval)")
    files.append(("forest.png", fig))
    if pop:
        R = len(pop["random_features"])
        fig, axes = plt.subplots(1, R, figsize=(4 * R, 3.2), squeeze=False)
        for ax, name in zip(axes[0], pop["random_features"]):
            vals = sorted((next(r for r in p["weights"] if r["feature"] == name)
                           for p in pop["persons"]), key=lambda r: r["mean"])
            x = np.arange(len(vals))
            ax.fill_between(x, [r["lower"] for r in vals], [r["upper"] for r in vals],
                            alpha=0.3, step="mid")
            ax.plot(x, [r["mean"] for r in vals], lw=1)
            mean = next(r for r in pop["mean"] if r["feature"] == name)["mean"]
            ax.axhline(mean, color="k", lw=0.8, ls="--", label="population mean")
            ax.set_title(name)
            ax.set_xlabel("persons, sorted by posterior mean")
        axes[0][0].set_ylabel("weight")
        axes[0][0].legend(fontsize=8)
        files.append(("persons.png", fig))
        if R > 1:
            fig, ax = plt.subplots(figsize=(1.2 + 0.8 * R, 1 + 0.8 * R))
            im = ax.imshow(np.asarray(pop["correlation"]), vmin=-1, vmax=1, cmap="RdBu_r")
            ax.set_xticks(range(R), pop["random_features"], rotation=45, ha="right")
            ax.set_yticks(range(R), pop["random_features"])
            fig.colorbar(im, ax=ax, label="correlation across people")
            files.append(("correlation.png", fig))
    names = []
    for name, fig in files:
        fig.savefig(os.path.join(folder, name), dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append(name)
    return names


def write_choice_report(folder: str, doc: dict) -> str:
    """Write ``report.txt``, ``report.json``, the plots and (with per-person weights)
    ``persons.csv`` into ``folder``; returns the text (``doc["files"]`` lists the files)."""
    text = _text(doc)
    files = ["report.txt", "report.json"]
    if "population" in doc:
        write_text(os.path.join(folder, "persons.csv"), _persons_csv(doc["population"]))
        files.append("persons.csv")
    files += _plots(doc, folder)
    doc["files"] = files
    write_text(os.path.join(folder, "report.txt"), text)
    write_json(os.path.join(folder, "report.json"), doc)
    return text
