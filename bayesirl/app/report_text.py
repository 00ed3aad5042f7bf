"""The words of ``bayesirl report``: ``report.txt`` from the analysis result."""

from __future__ import annotations

__all__ = ["render_text", "policy_description", "interval_text", "misfit_lines"]


def policy_description(kind: str, source: str) -> str:
    """How the evaluation policy was chosen, in words."""
    return {"map": "optimal policy of the MAP draw",
            "mean": "optimal policy of the posterior-mean reward"}.get(kind, f"policy from {source}")


def render_text(opts, run, result) -> str:
    """``report.txt``: the findings in words, warnings first."""
    doc = result["json"]
    diag = result["diagnostics"]
    lines = [f"bayesirl report: {doc['run']['dir']}", ""]
    r = doc["run"]
    lines.append(f"Run: {r['method']} sampler, {r['num_chains']} chain(s) × {r['num_draws']} draws; "
                 f"S = {r['num_states']}, A = {r['num_actions']}, F = {r['num_features']}, "
                 f"γ = {r['discount']:g}; environment: {r['environment']}")
    lines.append("")
    if diag.problems:
        lines.append("WARNING: the posterior should not be trusted:")
        lines.extend(f"  - {p}" for p in diag.problems)
    else:
        t = diag.thresholds
        lines.append(f"Diagnostics: all checks passed (R-hat <= {t['r_hat_max']:.4g} for "
                     f"{diag.num_parameters} parameters, bulk/tail ESS >= {t['ess_bulk_min']}, "
                     "no divergences).")
    lines.append("  " + ", ".join(_measured(diag)))
    lines += misfit_lines(doc.get("misfit"))
    lines.append("")
    lo, hi = doc["hdi_columns"]
    lines.append(f"Reward weights ({100 * opts.hdi_prob:g}% HDI):")
    table = result["table"]
    cols = ["mean", "sd", lo, hi, "r_hat", "ess_bulk", "ess_tail"]
    lines.append(table[[c for c in cols if c in table]].to_string(
        float_format=lambda x: f"{x:.3f}"))
    lines.append("")
    lines += _loss_lines(opts, result)
    return "\n".join(lines) + "\n"


def misfit_lines(misfit: dict | None) -> list[str]:
    """The misfit alarm of the fit (``summary.json``'s ``"misfit"``) in words: a warning with
    the failed checks and what to try, or one line saying the checks passed; nothing for runs
    written before the alarm existed."""
    if not misfit:
        return []
    checks = misfit.get("checks", [])
    if not misfit.get("alarm"):
        return [f"Model fit: {len(checks)} posterior-predictive checks passed (family-wise "
                f"level {misfit['level']:g}, {misfit['num_draws']} draws)."]
    lines = ["", f"WARNING: {misfit['finding']}."]
    lines += [f"  - {c['source']} {c['name']}: p = {c['p_value']:.2g} (threshold "
              f"{misfit['threshold']:.2g}): {c['detail']}" for c in checks if c["misfit"]]
    if misfit.get("remedies"):
        lines.append("  try: " + "; or ".join(misfit["remedies"]))
    return lines


def interval_text(entry: dict, hdi_prob: float) -> str:
    """``"median m, 94% HDI [a, b], mean x"`` for a per-draw quantity; when the mean lies outside
    the HDI (a long tail: a few draws far out pull it there) it says so.

    Args:
        entry: ``{"median", "mean", "hdi": [lower, upper]}`` (``median`` optional: older
            reports).
        hdi_prob: the HDI's probability mass, e.g. 0.94.
    """
    lo, hi = entry["hdi"]
    text = f"{100 * hdi_prob:g}% HDI [{lo:.4g}, {hi:.4g}], mean {entry['mean']:.4g}"
    if "median" in entry:
        text = f"median {entry['median']:.4g}, " + text
    if not lo <= entry["mean"] <= hi:
        text += (" (the mean lies outside the HDI: a few draws far out in the tail pull it "
                 "there)")
    return text


def _loss_lines(opts, result) -> list[str]:
    """The policy-loss, bound, sufficiency and truth part of ``report.txt``."""
    doc = result["json"]
    lines = [f"Evaluation policy: {policy_description(result['kind'], opts.policy)}."]
    evd = doc["policy_loss"]["evd"]
    lines.append(f"Policy loss under the posterior (EVD, reward units): "
                 f"{interval_text(evd, opts.hdi_prob)}, "
                 f"CVaR{opts.alpha:g} {evd['cvar'][f'{opts.alpha:g}']:.4g}")
    lines.append(f"  α-VaR upper bounds, confidence 1 − δ = {1 - opts.delta:g} "
                 "(Brown & Niekum 2018, exact binomial order statistic):")
    for b in evd["var_bounds"]:
        if "error" in b:
            lines.append(f"    α = {b['alpha']:g} ({b['sample_size']}): not available — "
                         f"{b['error']}")
        else:
            ess = (f", kept by thinning to the effective sample size "
                   f"{b['effective_sample_size']:.0f}" if b["effective_sample_size"] else "")
            lines.append(f"    α = {b['alpha']:g}, from {b['num_samples']} draws{ess} (the "
                         f"{b['order_index']}-th smallest loss): EVD <= {b['bound']:.4g}")
    nevd = doc["policy_loss"]["nevd"]
    lines.append(f"Normalised EVD (0 optimal, 1 uniformly random): "
                 f"{interval_text(nevd, opts.hdi_prob)}")
    imp = doc["policy_loss"]["percent_improvement"]
    base = ("the uniformly random policy" if opts.baseline == "uniform"
            else f"the baseline policy in {opts.baseline}")
    lines.append(f"Improvement over {base} (%): {interval_text(imp, opts.hdi_prob)}")
    if result["wfcb"] is not None:
        lines.append(f"Worst-case feature-count bound ‖μ̂_E − μ(π)‖_∞ (valid for ‖w‖₁ <= 1): "
                     f"{result['wfcb']:.4g}")
    v = result["verdict"]
    lines.append("")
    if "error" in v:
        lines.append(f"Demonstration sufficiency: undecided — {v['error']}")
    else:
        verdict = "SUFFICIENT" if v["sufficient"] else "NOT sufficient"
        lines.append(f"Demonstration sufficiency (Trinh et al. 2024): {verdict}: the "
                     f"{1 - v['delta']:g}-confidence bound on the {v['alpha']:g}-quantile of "
                     f"nEVD is {v['bound']:.4g} {'<' if v['sufficient'] else '>='} ε = "
                     f"{v['epsilon']:g} (n = {v['num_samples']}, {opts.sample_size}).")
    if result["truth"] is not None:
        t = result["truth"]
        held = t.get("bound_holds")
        lines.append(f"Against the true reward: EVD of the evaluation policy = {t['true_evd']:.4g}"
                     + ("" if held is None else
                        f"; the α = {opts.alpha:g} bound {'holds' if held else 'FAILS'}"))
    lines.append("")
    return lines


def _measured(diag) -> list[str]:
    """``key=value`` of the measured diagnostics, the worst R-hat and ESS with where they are."""
    doc = diag.as_dict()
    out = []
    for key in ("max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "mean_accept_prob"):
        where = doc.get(f"{key}_at")
        out.append(f"{key}={_fmt(doc[key])}" + (f" ({where})" if where else ""))
    return out


def _fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
