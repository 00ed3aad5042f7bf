"""The report of a run without an MDP: high-confidence evaluation of candidate policies from their
feature counts (Brown, Coleman, Srinivasan & Niekum, ICML 2020, Sec. 5).

For each candidate policy π with expected feature counts μ(π) (the mean of its rollouts'
feature counts) the posterior draws of w give draws of its expected return ``w·μ(π)``; the
report gives their posterior mean, an equal-tailed credible interval, the (1 − δ)-confidence
α-VaR lower bound on the return, the α-VaR upper bound on the regret against a baseline
candidate, and the candidates ranked by the lower bound
(:mod:`bayesirl.analysis.performance`).

Candidates come from ``--policies FILE.npz`` — one array per policy, named by its key: (n, F)
feature counts of n rollouts, or (F,) expected feature counts — or, without a file, are the
run's own trajectories (each one a candidate whose "expected" counts are its counts), plus
the mean of the demonstrations when the run has some. Returns are in the units of the
posterior's w (with a sphere prior, of the unit-norm reward: compare candidates, not numbers
across runs).

:func:`bayesirl.app.report.run_report` writes it into ``DIR/report/`` (``report.json``,
``report.txt`` and ``policy_returns.png``).
"""

from __future__ import annotations

import os

import numpy as np

from bayesirl._io import staged_folder, write_json, write_text
from bayesirl.app.errors import UsageError

__all__ = ["analyse_candidates", "write_candidate_report", "read_policy_feature_counts",
           "evaluate_candidates", "MAX_TEXT_ROWS"]

#: Candidates listed in ``report.txt`` (best and worst by the bound; all are in the JSON).
MAX_TEXT_ROWS = 20


def read_policy_feature_counts(path: str, num_features: int) -> tuple[list[str], np.ndarray]:
    """Candidate policies from an ``.npz``: key = name, value = (n, F) rollout feature counts
    or (F,) expected feature counts.

    Returns:
        ``(names (P,), μ (P, F))`` in the file's order.

    Raises:
        UsageError: unreadable file, no arrays, a wrong shape or feature count, NaN/inf
            (messages start with ``--policies``).
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError) as err:
        raise UsageError(f"--policies: {path} is not a readable .npz ({err})") from None
    if not arrays:
        raise UsageError(f"--policies: {path} holds no arrays; expected one (n, F) array of "
                         "rollout feature counts per policy")
    names, mus = [], []
    for name, x in arrays.items():
        if x.dtype.kind not in "fiu" or x.ndim not in (1, 2) or x.shape[-1] != num_features or (
                x.ndim == 2 and x.shape[0] == 0):
            raise UsageError(f"--policies: {name!r} in {path}: expected (n, {num_features}) "
                             f"rollout feature counts or ({num_features},) expected counts, "
                             f"got shape {x.shape} of dtype {x.dtype}")
        if not np.isfinite(x).all():
            raise UsageError(f"--policies: {name!r} in {path} has NaN or infinite values")
        names.append(str(name))
        mus.append(x.reshape(-1, num_features).mean(axis=0))
    return names, np.asarray(mus, float)


def _candidates(run, opts) -> tuple[list[str], np.ndarray, str]:
    F = run.trajectories.num_features
    if opts.policies is not None:
        names, mu = read_policy_feature_counts(opts.policies, F)
        return names, mu, f"policies from {opts.policies}"
    counts = run.trajectories.feature_counts
    names = [f"trajectory {i}" for i in range(len(counts))]
    mu = counts
    if run.config.demos_ids:
        names = ["demonstrations", *names]
        mu = np.vstack([counts[list(run.config.demos_ids)].mean(axis=0), counts])
    return names, np.asarray(mu, float), "the run's trajectories (one candidate each)"


def evaluate_candidates(weights, names, mu, opts) -> dict:
    """Posterior summaries, bounds and the ranking of P candidates.

    Args:
        weights: (C, D, F) posterior draws of w.
        names: P candidate names.
        mu: (P, F) their expected feature counts.
        opts: levels, baseline and sample size.

    Returns:
        JSON-ready ``{"candidates": [...], "ranking_by_lower_bound": [...], "baseline", ...}``.

    Raises:
        UsageError: an unknown baseline name, or too few draws for α and δ.
    """
    from bayesirl.analysis.performance import (evaluate_policies, policy_returns, rank_policies,
                                               regret_bound)

    baseline = names[0] if opts.baseline in (None, "uniform") else opts.baseline
    if baseline not in names:
        raise UsageError(f"--baseline: expected a candidate name ({', '.join(names[:5])}"
                         f"{', …' if len(names) > 5 else ''}), got {baseline!r}")
    b = names.index(baseline)
    g = policy_returns(weights, mu)
    try:
        ev = evaluate_policies(g, names, credibility=opts.hdi_prob, alpha=opts.alpha,
                               delta=opts.delta, sample_size=opts.sample_size)
        regret = [regret_bound(g, p, b, alpha=opts.alpha, delta=opts.delta,
                               sample_size=opts.sample_size) if p != b else 0.0
                  for p in range(len(names))]
    except ValueError as err:
        raise UsageError(f"--alpha/--delta/--sample-size: {err}") from None
    rows = [{"name": n, "mean": float(ev.mean[p]), "interval": [float(ev.lower[p]),
                                                                 float(ev.upper[p])],
             "lower_bound": float(ev.lower_bound[p]), "regret_bound": float(regret[p]),
             "num_samples": int(ev.num_samples[p])} for p, n in enumerate(names)]
    return {"alpha": ev.alpha, "delta": ev.delta, "credibility": ev.credibility,
            "sample_size": opts.sample_size, "baseline": baseline, "candidates": rows,
            "ranking_by_lower_bound": [r[0] for r in rank_policies(ev)]}


def _render_text(doc: dict) -> str:
    e = doc["evaluation"]
    rows = {r["name"]: r for r in e["candidates"]}
    order = e["ranking_by_lower_bound"]
    interval = f"{e['credibility']:.0%} interval"
    shown = order if len(order) <= MAX_TEXT_ROWS else (
        order[:MAX_TEXT_ROWS // 2] + ["…"] + order[-MAX_TEXT_ROWS // 2:])
    lines = [f"bayesirl report: {doc['dir']} (trajectory features, no MDP)", ""]
    lines += [f"WARNING: {w}" for w in doc["warnings"]]
    lines += [f"Candidates: {doc['candidates_from']} ({len(order)}); returns w·μ(π) in the "
              "units of the posterior's reward weights.",
              f"Ranked by the {1 - e['delta']:.0%}-confidence α = {e['alpha']:g} VaR lower "
              f"bound on the return; regret bounds are against '{e['baseline']}'.", "",
              f"{'':4s}{'candidate':28s} {'mean':>9s} {interval:>21s} "
              f"{'lower bound':>12s} {'regret bound':>13s}"]
    for name in shown:
        if name == "…":
            lines.append("    …")
            continue
        r = rows[name]
        lines.append(f"{order.index(name) + 1:3d} {name[:28]:28s} {r['mean']:9.4g} "
                     f"[{r['interval'][0]:9.4g}, {r['interval'][1]:9.4g}] "
                     f"{r['lower_bound']:12.4g} {r['regret_bound']:13.4g}")
    return "\n".join(lines) + "\n"


def _plot(path: str, doc: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = doc["evaluation"]
    rows = {r["name"]: r for r in e["candidates"]}
    order = e["ranking_by_lower_bound"][:30]
    y = np.arange(len(order))[::-1]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * len(order)))
    for yi, name in zip(y, order):
        r = rows[name]
        ax.plot(r["interval"], [yi, yi], color="C0", lw=2)
        ax.plot(r["mean"], yi, "o", color="C0")
        ax.plot(r["lower_bound"], yi, "|", color="C3", ms=12, mew=2)
    ax.set_yticks(y, [n[:28] for n in order])
    ax.set(xlabel="expected return w·μ(π)",
           title=f"{e['credibility']:.0%} intervals (blue), α-VaR lower bounds (red)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def analyse_candidates(run, opts) -> dict:
    """The report of a trajectory run: diagnostics and the candidates' returns and bounds.

    Args:
        run: a loaded trajectory run (:class:`~bayesirl.app.run.Run`).
        opts: :class:`~bayesirl.app.report.ReportOptions` (``alpha``, ``delta``,
            ``hdi_prob``, ``policies``, ``baseline``: a candidate name or ``"uniform"`` for the
            first candidate, ``sample_size``).

    Returns:
        ``(doc, Diagnostics)``: the content of ``report.json`` (``{"dir", "kind":
        "trajectories", "candidates_from", "diagnostics", "warnings", "evaluation"}``) and the
        diagnostics of the draws.

    Raises:
        UsageError: a single-draw (MAP) run, a bad policies file or baseline.
    """
    from bayesirl.app.summary import diagnostics_summary

    weights = np.asarray(run.idata.posterior["reward_weights"])
    if weights.shape[0] * weights.shape[1] < 2:
        raise UsageError(f"DIR: {run.path} holds a single draw (a MAP fit): intervals and "
                         "bounds need posterior draws; fit with --sampler nuts or mh")
    names, mu, source = _candidates(run, opts)
    diag, diag_doc = diagnostics_summary(run.idata)
    return {"dir": run.path, "kind": "trajectories", "candidates_from": source,
            "diagnostics": diag_doc,
            "warnings": list(diag.problems) + [w for w in run.summary.get("warnings", [])
                                               if w not in diag.problems],
            "evaluation": evaluate_candidates(weights, names, mu, opts)}, diag


def write_candidate_report(stage: str, doc: dict) -> str:
    """Write ``policy_returns.png``, ``report.txt`` and ``report.json`` of a trajectory run's
    report into ``stage``; returns the text."""
    _plot(os.path.join(stage, "policy_returns.png"), doc)
    doc["files"] = ["report.txt", "report.json", "policy_returns.png"]
    text = _render_text(doc)
    write_text(os.path.join(stage, "report.txt"), text)
    write_json(os.path.join(stage, "report.json"), doc)
    return text
