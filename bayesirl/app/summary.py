"""What ``bayesirl fit`` says about a posterior: the weight table, diagnostics with warnings and
what to try, one-time hints about slow runs, the evaluation against a known reward, and the
text printed at the end (``summary.json`` holds the same numbers).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = [
    "SWEEPS_HINT",
    "TREE_DEPTH_SHARE",
    "REMEDIES",
    "weight_table",
    "diagnostics_summary",
    "solver_hint",
    "tree_depth_hint",
    "policy_walk_hint",
    "evaluation_summary",
    "format_fit_text",
    "weight_labels",
    "row_label",
    "MAX_ROWS",
    "SHOWN_ROWS",
    "format_warning_block",
    "check_misfit",
    "format_misfit_warning",
]

#: A value-iteration solve needing more sweeps than this makes every likelihood call slow.
SWEEPS_HINT = 2_000
#: Share of NUTS transitions at the maximum tree depth above which we say so.
TREE_DEPTH_SHARE = 0.1
#: PolicyWalk independence acceptance below which its burn-in-fitted proposal is said to miss
#: the posterior (well-matched runs accept 0.46–0.52; benchmarks/README.md row 4).
POLICY_WALK_ACCEPT_HINT = 0.1
#: NumPyro's default maximum tree depth: 2**10 − 1 leapfrog steps per transition.
MAX_TREE_DEPTH = 10
#: What to try, by the word that starts a diagnostics problem.
REMEDIES = {
    "R-hat": ("run longer (--num-warmup, --num-samples) or use more informative evidence; "
              "with a very sharp likelihood (large β, γ near 1) NUTS chains can stick apart: "
              "use --sampler mh"),
    "bulk": "draw more samples (--num-samples; for mh also --thinning)",
    "tail": "draw more samples (--num-samples)",
    "divergent": "use --q soft, a smaller β, or --sampler mh",
    "mean": "for mh: longer warm-up (--num-warmup); for nuts: longer warm-up",
    "one": "run at least 2 chains (--num-chains 4)",
    "a single": "use --sampler nuts or mh for intervals and bounds",
}


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def weight_table(idata, hdi_prob: float = 0.94):
    """ArviZ summary (pandas DataFrame) of ``reward_weights``, the β's, a learned ε
    (``noisy-boltzmann``) and the population standard deviations of per-person weights
    (``person_scales``); single-chain or single-draw runs do not emit ArviZ's shape
    warnings."""
    from bayesirl import _arviz

    betas = [v for v in idata.posterior.data_vars
             if v in ("beta", "epsilon", "person_scales") or v.startswith("beta_")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _arviz.summary(idata, var_names=["reward_weights"] + betas, hdi_prob=hdi_prob)


def diagnostics_summary(idata):
    """:func:`bayesirl.analysis.diagnose` of ``idata`` (every sampled site: the reward weights
    and every β) and its JSON dict (MAP details added).

    Returns:
        ``(Diagnostics, dict)``; the dict is :meth:`Diagnostics.as_dict` plus ``r_hat_max``,
        the R-hat threshold applied for its ``num_parameters`` parameters (also in
        ``thresholds``), ``remedies`` and, for a MAP fit, the optimiser's details.
    """
    from bayesirl.analysis import diagnose

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        diag = diagnose(idata)
    doc = diag.as_dict()
    doc["r_hat_max"] = diag.thresholds["r_hat_max"]
    for key in ("map_log_density", "map_converged", "map_iterations"):
        if key in idata.posterior.attrs:
            doc[key] = _num(idata.posterior.attrs[key])
    doc["remedies"] = [remedy(p) for p in diag.problems]
    return diag, doc


def remedy(problem: str) -> str:
    """What to try for one diagnostics problem (see :data:`REMEDIES`)."""
    for start, text in REMEDIES.items():
        if problem.startswith(start):
            return text
    return "see 'bayesirl report' for the details"


def format_warning_block(diag) -> str:
    """The warning block printed (to stderr) after a fit whose diagnostics fail."""
    lines = ["bayesirl: warning: the posterior should not be trusted:"]
    for p in diag.problems:
        lines.append(f"  - {p}\n    try: {remedy(p)}")
    return "\n".join(lines)


def check_misfit(config, world, problem, idata):
    """The misfit alarm of a fit (:func:`bayesirl.analysis.check_fit`; for choices
    :func:`~bayesirl.analysis.choice_checks.check_choice_fit`) on the evidence and model
    settings of ``problem``; None when no source can be checked (e.g. sample-based MaxEnt
    alone: :func:`~bayesirl.analysis.misfit.checkable_sources`)."""
    from bayesirl.analysis.misfit import check_fit, checkable_sources

    evidence = problem.evidence
    if world.kind == "choices":
        from bayesirl.analysis.choice_checks import SOURCE_NAME, check_choice_fit

        beta = (problem.betas or {}).get(SOURCE_NAME, 1.0)
        return check_choice_fit(idata, evidence[SOURCE_NAME], beta=float(beta),
                                seed=config.seed)
    if not checkable_sources(evidence):
        return None
    options = problem.options
    fixed = {name: b for name, b in (problem.betas or {}).items()
             if isinstance(b, (int, float))}
    return check_fit(idata, world.mdp, evidence, betas=fixed,
                     q=idata.posterior.attrs.get("q", options.get("q")),
                     maxent_horizon=options.get("maxent_horizon"),
                     margin=float(options.get("margin") or 0.0),
                     solver_kwargs=options.get("solver_kwargs"), seed=config.seed)


def format_misfit_warning(report) -> str:
    """The misfit alarm's warning (:class:`~bayesirl.analysis.MisfitReport`), with a ``try:``
    line like the diagnostics block."""
    text = f"bayesirl: warning: {report.finding}"
    if report.remedies:
        text += "\n    try: " + "; or ".join(report.remedies)
    return text


def solver_hint(mdp, reward, beta: float) -> str | None:
    """A hint when solving the MDP once (reward ``β·R``) needs more than :data:`SWEEPS_HINT`
    sweeps or does not converge: every likelihood evaluation solves it again.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) a representative reward (the true one, or a prior draw).
        beta: the largest fixed β of the run (1 when learned).

    Returns:
        One line, or None when the solve is quick.
    """
    from bayesirl.solvers import value_iteration

    result = value_iteration(mdp, beta * reward)
    sweeps, converged = int(result.iterations), bool(result.converged)
    if sweeps <= SWEEPS_HINT and converged:
        return None
    gamma = float(mdp.discount)
    cause = (f"γ = {gamma:g} is close to 1 (sweeps grow like 1/(1 − γ))" if gamma >= 0.98
             else f"the scale of β·R (β = {beta:g}) is large")
    state = "did not converge" if not converged else f"needs {sweeps} sweeps"
    return (f"bayesirl: hint: value iteration {state} per likelihood evaluation; likely cause: "
            f"{cause}. Sampling will be slow: try a smaller --discount or β, or --sampler map "
            "first to see the cost of one fit.")


def tree_depth_hint(idata) -> str | None:
    """A hint when NUTS hits its maximum tree depth in over :data:`TREE_DEPTH_SHARE` of the
    transitions (``num_steps`` = 2^10 − 1)."""
    if "sample_stats" not in idata.groups() or "num_steps" not in idata.sample_stats:
        return None
    steps = np.asarray(idata.sample_stats["num_steps"].values)
    share = float(np.mean(steps >= 2 ** MAX_TREE_DEPTH - 1))
    if share <= TREE_DEPTH_SHARE:
        return None
    return (f"bayesirl: hint: NUTS reached its maximum tree depth ({MAX_TREE_DEPTH}) in "
            f"{share:.0%} of the transitions; likely cause: a large β (a very sharp "
            "likelihood) or γ near 1. Try a smaller β, a prior on β (--beta lognormal:0,1 with "
            "--prior l2-sphere), or --sampler mh.")


def policy_walk_hint(idata) -> str | None:
    """A hint when a PolicyWalk run's independence proposals were rarely accepted (below
    :data:`POLICY_WALK_ACCEPT_HINT`): the Student-t fitted in burn-in does not match the
    posterior, typically with many features (the proposal is F-dimensional), and the chains
    then barely move.

    Args:
        idata: InferenceData of a run; only ``posterior.attrs`` (``method``,
            ``independence_accept``) and the (C, D, F) ``reward_weights`` are read.

    Returns:
        The one-line hint, or None (another sampler, or acceptance at least the threshold).
    """
    attrs = idata.posterior.attrs
    if attrs.get("method") not in ("policy-walk", "policy_walk") or (
            "independence_accept" not in attrs):
        return None
    accept = float(attrs["independence_accept"])
    if accept >= POLICY_WALK_ACCEPT_HINT:
        return None
    features = idata.posterior["reward_weights"].shape[-1]
    return (f"bayesirl: hint: PolicyWalk accepted {accept:.1%} of its independence proposals; "
            f"its burn-in-fitted proposal misses the posterior (F = {features} features: it "
            "suits a few). Try a longer --num-warmup, or --sampler mh / nuts.")


def _evaluation_numbers(mdp, true_reward, learned_policy, success_states, horizon: int,
                        with_success: bool):
    """EVD, expert and learned returns, and (``with_success``) success probabilities within
    ``horizon`` steps: one compiled program for :func:`evaluation_summary`."""
    from bayesirl.solvers import value_iteration
    from bayesirl.solvers.evaluation import (expected_return, expected_value_difference,
                                             success_probability)

    expert_pi = value_iteration(mdp, true_reward).policy
    numbers = {"expected_value_difference": expected_value_difference(mdp, true_reward,
                                                                      learned_policy),
               "expert_return": expected_return(mdp, true_reward, expert_pi),
               "learned_return": expected_return(mdp, true_reward, learned_policy)}
    if with_success:
        numbers["expert_success_rate"] = success_probability(mdp, expert_pi, success_states,
                                                             horizon)
        numbers["learned_success_rate"] = success_probability(mdp, learned_policy,
                                                              success_states, horizon)
    return numbers


def evaluation_summary(world, learned_policy) -> dict | None:
    """EVD, returns and success rates of ``learned_policy`` (S, A) under the true reward of a
    built-in environment; None for a run on files. Uses
    :mod:`bayesirl.solvers.evaluation` (the one place EVD is computed), jitted as one program."""
    if world.env is None:
        return None
    import jax

    env = world.env
    with_success = bool(np.asarray(env.success_states).any())
    horizon = int(env.max_episode_steps)
    numbers = jax.jit(_evaluation_numbers, static_argnums=(4, 5))(
        world.mdp, env.true_reward, learned_policy, env.success_states, horizon, with_success)
    ev = {k: float(v) for k, v in numbers.items()}
    if with_success:
        se, sl = ev["expert_success_rate"], ev["learned_success_rate"]
        ev.update(success_ratio=(sl / se if se > 0 else None), success_horizon=horizon)
    return ev


def _pairs(d: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in d.items()
                     if not isinstance(v, (list, dict)))


#: Keys of the diagnostics dict that :func:`_diagnostics_line` words itself or leaves out.
_WORDED = ("thresholds", "problems", "remedies", "variables", "max_r_hat", "max_r_hat_at",
           "min_ess_bulk", "min_ess_bulk_at", "min_ess_tail", "min_ess_tail_at",
           "num_parameters", "r_hat_max")


def _diagnostics_line(d: dict) -> str:
    """The largest R-hat and smallest ESS with where they are and the thresholds, then the
    other scalar diagnostics as ``key=value``."""
    parts = []
    if d.get("max_r_hat") is not None:
        limit = d.get("r_hat_max", d["thresholds"]["r_hat_max"])
        parts.append(f"max R-hat {d['max_r_hat']:.4f} ({d.get('max_r_hat_at')}; threshold "
                     f"{limit:.4g} for {d.get('num_parameters')} parameters)")
    for kind in ("bulk", "tail"):
        if d.get(f"min_ess_{kind}") is not None:
            parts.append(f"min {kind} ESS {d[f'min_ess_{kind}']:.0f} "
                         f"({d.get(f'min_ess_{kind}_at')}; threshold "
                         f"{d['thresholds'][f'ess_{kind}_min']})")
    rest = _pairs({k: v for k, v in d.items() if k not in _WORDED})
    return ", ".join(parts + ([rest] if rest else []))


#: ``bayesirl fit`` prints every weight row up to this many; beyond, the first
#: :data:`SHOWN_ROWS` and every flagged row (the full table is in ``summary.json``).
MAX_ROWS = 24
SHOWN_ROWS = 12


def weight_labels(world) -> list[str]:
    """What each reward weight is, for the weight table: ``"state s"`` (with its grid cell) when
    the features are one-hot states, the feature's name when the world has names, else
    ``"feature f"``.

    Args:
        world: a run's world (:mod:`bayesirl.app.world`), with ``mdp`` (or None) and
            ``feature_names`` (F names or indices).

    Returns:
        F labels.
    """
    names = list(world.feature_names)
    mdp = world.mdp
    if mdp is not None:
        from bayesirl.data.mdp import IdentityFeatures

        features = mdp.features
        one_hot = isinstance(features, IdentityFeatures) or (
            np.ndim(features) == 2 and features.shape[0] == features.shape[1] == len(names)
            and np.array_equal(np.asarray(features), np.eye(len(names))))
        if one_hot:
            shape = getattr(getattr(world, "env", None), "grid_shape", None)
            if shape:
                return [f"state {s} (row {s // shape[1]}, col {s % shape[1]})"
                        for s in range(len(names))]
            return [f"state {s}" for s in range(len(names))]
    return [str(n) if isinstance(n, str) else f"feature {n}" for n in names]


def row_label(name, labels: list | None) -> str:
    """What the table row ``name`` is: ``labels[k]`` for ``reward_weights[k]``, "rationality β"
    for a β row, "random-action share ε" for ε, else ""."""
    text = str(name)
    if text.startswith("reward_weights[") and labels:
        inside = text[len("reward_weights["):-1].split(",")[0].strip()
        if not inside.lstrip("-").isdigit():
            return inside  # the coordinate is the feature's own name
        k = int(inside)
        return str(labels[k]) if 0 <= k < len(labels) else ""
    if text == "epsilon":
        return "random-action share ε"
    return "rationality β" if text.startswith("beta") else ""


def _labelled(table, labels):
    """``table`` with a ``what`` column (:func:`row_label`)."""
    table = table.copy()
    table.insert(0, "what", [row_label(name, labels) for name in table.index])
    return table


def _compact(table, diagnostics: dict):
    """At most :data:`SHOWN_ROWS` weight rows plus the flagged and non-weight rows, and how many
    were left out (0 when the table is short)."""
    if len(table) <= MAX_ROWS:
        return table, 0
    thresholds = diagnostics.get("thresholds", {})
    rhat_max = diagnostics.get("r_hat_max", thresholds.get("r_hat_max", 1.01))
    ess_min = thresholds.get("ess_bulk_min", 0)
    keep = []
    for i, (name, row) in enumerate(table.iterrows()):
        flagged = ("r_hat" in row and np.isfinite(row["r_hat"]) and row["r_hat"] > rhat_max) or (
            "ess_bulk" in row and np.isfinite(row["ess_bulk"]) and row["ess_bulk"] < ess_min)
        weight = str(name).startswith("reward_weights[")
        keep.append(i < SHOWN_ROWS or flagged or not weight)
    keep = np.asarray(keep)
    return table[keep], int((~keep).sum())


def _interval_text(row: dict) -> str:
    return f"{row['feature']} {row['mean']:.3g} [{row['lower']:.3g}, {row['upper']:.3g}]"


def population_lines(summary: dict) -> list[str]:
    """Lines on a population of per-person rewards (``summary["population"]``): who, how much
    they differ, and a new person's weights."""
    pop = summary["population"]
    info = summary.get("choices", {})
    pct = f"{100 * pop['interval_prob']:g}%"
    return [
        f"People: {info.get('num_persons', len(pop['persons']))} (grouped by "
        f"{info.get('group_by') or 'person'}); each has weights of their own for "
        f"{', '.join(pop['random_features'])}.",
        f"  How much people differ (population sd, {pct} credible interval): "
        + "; ".join(_interval_text(r) for r in pop["scales"]),
        f"  A new person's weights ({pct} interval): "
        + "; ".join(_interval_text(r) for r in pop["new_person"]),
        "  Each person's intervals: summary.json ('population') and 'bayesirl report'."]


def format_fit_text(table, summary: dict, out: str, labels: list | None = None) -> str:
    """The table, diagnostics, evaluation and timings printed by ``bayesirl fit`` (for a
    continuous-state run, which has no weight table:
    :func:`~bayesirl.app.report_continuous.format_continuous_text`)."""
    if summary.get("kind") == "continuous":
        from bayesirl.app.report_continuous import format_continuous_text

        return format_continuous_text(summary, out)
    lines = []
    if labels is None:
        labels = [w.get("what", "") for w in summary.get("weights", [])
                  if str(w.get("name", "")).startswith("reward_weights[")] or None
    table, hidden = _compact(_labelled(table, labels), summary["diagnostics"])
    fmt = dict(float_format=lambda x: f"{x:.3f}")
    if summary["diagnostics"].get("method") == "map":
        lines.append("MAP estimate of the reward weights (a single point: no intervals, "
                     "no R-hat or ESS):")
        lines.append(table[["what", "mean"]].rename(columns={"mean": "map"}).to_string(**fmt))
    else:
        lines.append("Posterior over reward weights: mean, standard deviation, 94% credible "
                     "interval (HDI), R-hat, effective sample size:")
        cols = ["what", "mean", "sd", "hdi_3%", "hdi_97%", "r_hat", "ess_bulk"]
        lines.append(table[cols].to_string(**fmt))
    if hidden:
        lines.append(f"({hidden} more weight rows, none flagged by the diagnostics, are in "
                     f"summary.json)")
    if "population" in summary:
        lines += [""] + population_lines(summary)
    lines += ["", "Diagnostics: " + _diagnostics_line(summary["diagnostics"])]
    if "evaluation" in summary:
        lines.append("Evaluation under the true reward: " + _pairs(summary["evaluation"]))
    t = summary["timings"]
    lines.append(f"Time: sampling {t['sampling_s']:.1f} s, total {t['total_s']:.1f} s")
    lines.append(f"Wrote {', '.join(summary.get('files', []))} to {out}")
    return "\n".join(lines) + "\n"
