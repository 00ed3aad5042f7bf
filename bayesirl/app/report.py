"""``bayesirl report DIR``: use a fitted posterior — credible intervals, policy-loss bounds,
demonstration sufficiency, diagnostics and plots.

Reads a run folder written by ``bayesirl fit`` (``posterior.nc``, ``mdp.npz`` and, when
present, ``demos.json`` and ``summary.json``) and writes ``DIR/report/``:

* ``report.txt`` — the findings in words, warnings first;
* ``report.json`` — every number (diagnostics, weight table, per-state intervals, bounds,
  sufficiency verdict, evaluation against the true reward when the environment is known);
* ``trace.png``, ``rank.png`` (chains), ``forest.png`` (weights with HDIs),
  ``reward_map.png`` (grid environments: posterior-mean reward with the evaluation policy,
  and the HDI width), ``policy_loss.png`` (posterior EVD and nEVD with the bounds marked).

The report is staged in a temporary folder inside DIR and moved into place only when complete:
an existing ``DIR/report`` is replaced only with ``--force`` and survives a failed run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import warnings

from bayesirl.cli import CLIError, _grid, _Parser, _positive_float, _positive_int

__all__ = ["add_report_parser", "run_report", "main", "REPORT_FOLDER", "DEFAULT_ALPHAS"]

#: Name of the output folder inside the run folder.
REPORT_FOLDER = "report"
#: Quantile levels of the α-VaR table (Brown & Niekum 2018).
DEFAULT_ALPHAS = (0.9, 0.95, 0.99)
#: A loss-plot marker beyond this multiple of the draws' 99.9 % quantile is drawn off scale.
OFF_SCALE_FACTOR = 4.0
#: At most this many weights in the trace and rank plots (those with the worst R-hat).
DEFAULT_MAX_PLOT_WEIGHTS = 6
#: At most this many weights in the forest plot (those with the largest |mean| / sd).
MAX_FOREST_WEIGHTS = 80
_UP, _DOWN, _LEFT, _RIGHT = (0.0, -0.32), (0.0, 0.32), (-0.32, 0.0), (0.32, 0.0)  # (dx, dy)
#: Arrow of each action in the grids whose action order we know (imshow: row 0 at the top).
ACTION_ARROWS = {
    "gridworld": (_UP, _DOWN, _LEFT, _RIGHT),
    "FrozenLake": (_LEFT, _DOWN, _RIGHT, _UP),
    "CliffWalking": (_UP, _RIGHT, _DOWN, _LEFT),
}


def _open_probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {value}")
    return value


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to the subparsers of ``bayesirl``'s argparse parser."""
    rep = subparsers.add_parser(
        "report", help="intervals, policy-loss bounds, sufficiency and plots of a fitted run",
        description="Write DIR/report/: credible intervals, a high-confidence bound on the "
                    "policy loss (Brown & Niekum 2018), a demonstration-sufficiency verdict "
                    "(Trinh et al. 2024), diagnostics and plots.")
    rep.add_argument("run_dir", metavar="DIR", help="a folder written by 'bayesirl fit --out DIR'")
    rep.add_argument("--alpha", type=_open_probability, default=0.95,
                     help="quantile level α of the VaR bound (default 0.95)")
    rep.add_argument("--delta", type=_open_probability, default=0.05,
                     help="the bound holds with probability >= 1 − δ (default 0.05)")
    rep.add_argument("--epsilon", type=_positive_float, default=0.1,
                     help="demonstrations are sufficient when the α-VaR bound on the normalised "
                          "EVD is below ε (default 0.1)")
    rep.add_argument("--hdi-prob", type=_open_probability, default=0.94,
                     help="mass of the credible intervals (default 0.94)")
    rep.add_argument("--policy", default="map", metavar="map|mean|FILE",
                     help="evaluation policy: optimal policy of the MAP draw (default), of the "
                          "posterior-mean reward, or your own policy from a .json/.npy FILE "
                          "(S actions, or an S x A table of action probabilities)")
    rep.add_argument("--baseline", default="uniform", metavar="uniform|FILE",
                     help="baseline policy of the percent improvement (default: uniformly "
                          "random; FILE as for --policy)")
    rep.add_argument("--sample-size", choices=("draws", "ess"), default="ess",
                     help="n of the headline bound: all draws, or thinned to the effective "
                          "sample size (default ess; both are in report.json)")
    rep.add_argument("--grid-shape", type=_grid, default=None,
                     help="HxW for the reward maps when DIR has no known grid environment")
    rep.add_argument("--max-plot-weights", type=_positive_int, default=DEFAULT_MAX_PLOT_WEIGHTS,
                     help=f"weights in the trace/rank plots (default {DEFAULT_MAX_PLOT_WEIGHTS})")
    rep.add_argument("--force", action="store_true", help="replace an existing DIR/report")
    rep.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings")
    return rep


def main(argv: list[str] | None = None) -> int:
    """``report`` as a standalone command (same arguments as ``bayesirl report``)."""
    parser = _Parser(prog="bayesirl", description="Bayesian inverse reinforcement learning.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_report_parser(sub)
    try:
        args = parser.parse_args(["report", *(argv if argv is not None else sys.argv[1:])])
        return run_report(args)
    except (CLIError, ValueError, TypeError, FileNotFoundError, ImportError, OSError) as err:
        print(f"bayesirl: error: {err}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def _check_run_dir(args) -> str:
    run_dir = args.run_dir
    if not os.path.isdir(run_dir):
        raise CLIError(f"DIR: {run_dir} is not a folder")
    for name in ("posterior.nc", "mdp.npz"):
        if not os.path.isfile(os.path.join(run_dir, name)):
            raise CLIError(f"DIR: {run_dir} has no {name}; it must be a folder written by "
                           "'bayesirl fit --out DIR'")
    out = os.path.join(run_dir, REPORT_FOLDER)
    if os.path.exists(out) and not args.force:
        raise CLIError(f"DIR: {out} exists; pass --force to replace it")
    return out


def run_report(args) -> int:
    """Run ``bayesirl report`` for parsed arguments; returns the exit status (0 on success).

    Raises:
        CLIError: DIR is not a run folder (no ``posterior.nc`` or ``mdp.npz``) or
            ``DIR/report`` exists without ``--force``; the message is one line.
    """
    out = _check_run_dir(args)
    run = _load_run(args)
    result = _analyse(args, run)
    staging = tempfile.mkdtemp(prefix=".report-", dir=args.run_dir)
    try:
        files = _write_plots(args, run, result, staging)
        result["json"]["files"] = ["report.txt", "report.json"] + files
        text = _text(args, run, result)
        with open(os.path.join(staging, "report.txt"), "w") as f:
            f.write(text)
        with open(os.path.join(staging, "report.json"), "w") as f:
            json.dump(_jsonable(result["json"]), f, indent=2)
        _move_into_place(staging, out, args.force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for problem in result["diagnostics"].problems:
        print(f"bayesirl: warning: posterior should not be trusted: {problem}", file=sys.stderr)
    if not args.quiet:
        print(text, end="")
        print(f"Wrote {', '.join(result['json']['files'])} to {out}")
    return 0


def _move_into_place(staging: str, out: str, force: bool) -> None:
    old = None
    if os.path.exists(out):
        if not force:  # appeared while we were working
            raise CLIError(f"DIR: {out} exists; pass --force to replace it")
        old = tempfile.mkdtemp(prefix=".report-old-", dir=os.path.dirname(out))
        os.rmdir(old)
        os.replace(out, old)
    try:
        os.replace(staging, out)
    except OSError:
        if old is not None:
            os.replace(old, out)  # put the earlier report back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _load_run(args) -> dict:
    from bayesirl import _arviz
    from bayesirl.data.demos import load_demonstrations
    from bayesirl.data.mdp import load_mdp

    run_dir = args.run_dir
    try:
        mdp = load_mdp(os.path.join(run_dir, "mdp.npz"))
    except ValueError as err:
        raise CLIError(f"DIR: {err}") from None
    try:
        idata = _arviz.from_netcdf(os.path.join(run_dir, "posterior.nc"))
    except Exception as err:  # netCDF / HDF5 raise many kinds
        raise CLIError(f"DIR: cannot read {os.path.join(run_dir, 'posterior.nc')} ({err})") from None
    if "posterior" not in idata.groups() or "reward_weights" not in idata.posterior:
        raise CLIError(f"DIR: {run_dir}/posterior.nc has no posterior variable 'reward_weights'")
    demos = None
    if os.path.isfile(os.path.join(run_dir, "demos.json")):
        demos = load_demonstrations(os.path.join(run_dir, "demos.json"), mdp)
    summary = {}
    if os.path.isfile(os.path.join(run_dir, "summary.json")):
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
    env, env_note = _environment(summary.get("settings", {}), mdp)
    grid_shape = tuple(args.grid_shape) if args.grid_shape else (env.grid_shape if env else None)
    if grid_shape is not None and grid_shape[0] * grid_shape[1] != mdp.num_states:
        raise CLIError(f"--grid-shape: {grid_shape[0]}x{grid_shape[1]} has "
                       f"{grid_shape[0] * grid_shape[1]} cells but the MDP has "
                       f"{mdp.num_states} states")
    return dict(mdp=mdp, idata=idata, demos=demos, summary=summary, env=env, env_note=env_note,
                grid_shape=grid_shape)


def _environment(settings: dict, mdp):
    """Rebuild the built-in environment a run used (for its true reward and grid shape), and
    check that it is the same MDP; (None, reason) otherwise."""
    import numpy as np

    from bayesirl.data.envs import make_environment

    name = settings.get("env")
    if not name:
        return None, "no built-in environment (the run used --mdp/--demos)"
    kwargs = {}
    if name == "gridworld":
        h, w = settings.get("grid_size", (5, 5))
        kwargs = dict(height=int(h), width=int(w), num_features=int(settings.get("num_features", 4)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = make_environment(name, seed=int(settings.get("seed", 0)),
                                   discount=settings.get("discount"), **kwargs)
    except (ValueError, ImportError, TypeError) as err:
        return None, f"could not rebuild {name!r} ({err})"
    same = (env.mdp.next_states.shape == mdp.next_states.shape
            and env.mdp.features.shape == mdp.features.shape
            and np.allclose(np.asarray(env.mdp.next_probs), np.asarray(mdp.next_probs))
            and np.array_equal(np.asarray(env.mdp.next_states), np.asarray(mdp.next_states))
            and np.allclose(np.asarray(env.mdp.features), np.asarray(mdp.features))
            and np.isclose(float(env.mdp.discount), float(mdp.discount)))
    if not same:
        return None, f"rebuilt {name!r} differs from mdp.npz"
    return env, f"{env.name} (true reward known)"


# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------


def _analyse(args, run) -> dict:
    import jax.numpy as jnp
    import numpy as np

    from bayesirl import _arviz
    from bayesirl.analysis.bounds import (conditional_value_at_risk, demonstration_sufficiency,
                                 feature_count_bound, value_at_risk_bound)
    from bayesirl.analysis.diagnostics import diagnose
    from bayesirl.analysis.posterior import (add_posterior_quantities, credible_intervals,
                                    evaluation_policy, uniform_policy)

    mdp, idata = run["mdp"], run["idata"]
    diag = diagnose(idata)
    kind = args.policy if args.policy in ("map", "mean") else "file"
    if kind == "map" and not _has_lp(idata):
        kind = "mean"
    if kind == "file":
        policy = read_policy(args.policy, mdp, "--policy")
    else:
        policy = evaluation_policy(mdp, idata, kind)
    baseline = (uniform_policy(mdp) if args.baseline == "uniform"
                else read_policy(args.baseline, mdp, "--baseline"))
    idata = add_posterior_quantities(idata, mdp, policy, baseline_policy=baseline)
    idata.posterior.attrs["evaluation_policy"] = _policy_description(kind, args.policy)
    run["idata"] = idata
    hdi_prob = args.hdi_prob
    lo_name, hi_name = f"hdi_{100 * (1 - hdi_prob) / 2:g}%", f"hdi_{100 * (1 + hdi_prob) / 2:g}%"
    table = _arviz.summary(idata, var_names=["reward_weights"], hdi_prob=hdi_prob)
    weights = [{"name": str(name), **{k: _num(v) for k, v in row.items()}}
               for name, row in table.iterrows()]
    intervals = credible_intervals(idata, ["state_reward", "optimal_value", "optimal_action_prob",
                                           "evd", "nevd", "percent_improvement"], hdi_prob)
    post = idata.posterior
    states = {}
    for var in ("state_reward", "optimal_value", "optimal_action_prob"):
        states[var] = {"mean": post[var].mean(("chain", "draw")).values,
                       "hdi_lower": intervals[var].sel(hdi="lower").values,
                       "hdi_higher": intervals[var].sel(hdi="higher").values}
    evd = np.asarray(post["evd"].values)
    nevd = np.asarray(post["nevd"].values)
    loss = {}
    for name, values in (("evd", evd), ("nevd", nevd)):
        entry = {"mean": float(values.mean()), "sd": float(values.std()),
                 "hdi": [float(intervals[name].sel(hdi=h)) for h in ("lower", "higher")],
                 "cvar": {f"{a:g}": conditional_value_at_risk(values, a)
                          for a in sorted({*DEFAULT_ALPHAS, args.alpha})},
                 "var_bounds": []}
        for alpha in sorted({*DEFAULT_ALPHAS, args.alpha}):
            for size in ("draws", "ess"):
                try:
                    b = value_at_risk_bound(values, alpha, args.delta, sample_size=size)
                    entry["var_bounds"].append({**b._asdict(), "sample_size": size})
                except ValueError as err:
                    entry["var_bounds"].append({"alpha": alpha, "delta": args.delta,
                                                "sample_size": size, "error": str(err)})
        loss[name] = entry
    pi_vals = np.asarray(post["percent_improvement"].values)
    loss["percent_improvement"] = {
        "baseline": args.baseline,
        "mean": float(pi_vals.mean()),
        "hdi": [float(intervals["percent_improvement"].sel(hdi=h)) for h in ("lower", "higher")]}
    headline = _pick(loss["evd"]["var_bounds"], args.alpha, args.sample_size)
    try:
        verdict = demonstration_sufficiency(nevd, args.epsilon, args.alpha, args.delta,
                                            sample_size=args.sample_size)._asdict()
    except ValueError as err:
        verdict = {"error": str(err), "epsilon": args.epsilon, "alpha": args.alpha,
                   "delta": args.delta}
    wfcb = None
    if run["demos"] is not None:
        wfcb = float(feature_count_bound(mdp, run["demos"], policy))
    truth = None
    if run["env"] is not None:
        true_reward = run["env"].true_reward
        truth = {"true_evd": _true_evd(mdp, jnp.asarray(true_reward, mdp.features.dtype), policy)}
        if headline and "bound" in headline:
            truth["bound_holds"] = bool(headline["bound"] >= truth["true_evd"] - 1e-9)
    actions = np.asarray(jnp.argmax(policy, axis=-1)).tolist()
    doc = {
        "run": {"dir": os.path.abspath(args.run_dir), "environment": run["env_note"],
                "method": idata.posterior.attrs.get("method"),
                "num_chains": diag.num_chains, "num_draws": diag.num_draws,
                "num_states": mdp.num_states, "num_actions": mdp.num_actions,
                "num_features": mdp.num_features, "discount": float(mdp.discount)},
        "settings": {"alpha": args.alpha, "delta": args.delta, "epsilon": args.epsilon,
                     "hdi_prob": hdi_prob, "policy": kind, "sample_size": args.sample_size},
        "diagnostics": diag.as_dict(),
        "evaluation_policy": {"kind": kind, "actions": actions,
                              "note": _policy_description(kind, args.policy)
                                      + "; one action per state (the most probable; ties: the "
                                        "first)"},
        "reward_weights": weights,
        "hdi_columns": [lo_name, hi_name],
        "states": states,
        "policy_loss": loss,
        "headline_bound": headline,
        "sufficiency": verdict,
        "feature_count_bound": wfcb,
        "true_evaluation": truth,
    }
    return dict(json=doc, diagnostics=diag, policy=policy, table=table, headline=headline,
                verdict=verdict, wfcb=wfcb, truth=truth, kind=kind, evd=evd, nevd=nevd)


def _true_evd(mdp, reward, policy) -> float:
    """EVD under a known reward, both returns by exact policy evaluation (value iteration's
    own values stop at its tolerance, ~1e-4 absolute in float32)."""
    from bayesirl.solvers import policy_evaluation, value_iteration

    p0 = mdp.initial_distribution
    best = p0 @ policy_evaluation(mdp, reward, value_iteration(mdp, reward).policy).values
    ret = p0 @ policy_evaluation(mdp, reward, policy).values
    return max(float(best - ret), 0.0)


def _policy_description(kind: str, source: str) -> str:
    return {"map": "optimal policy of the MAP draw",
            "mean": "optimal policy of the posterior-mean reward"}.get(kind, f"policy from {source}")


def read_policy(path: str, mdp, name: str = "policy"):
    """Read a policy for ``mdp`` from a ``.json`` or ``.npy`` file.

    The file holds either S actions (one per state: a deterministic policy) or an (S, A)
    table of action probabilities (rows summing to 1).

    Args:
        path: the file.
        mdp: the MDP (for S and A).
        name: the argument's name, for messages.

    Returns:
        (S, A) action probabilities.

    Raises:
        ValueError: unreadable file, wrong shape, an action out of range, or rows that are not
            probability distributions (each message names ``name``, the expected form and what
            was given).
        FileNotFoundError: no such file.
    """
    import jax.numpy as jnp
    import numpy as np

    S, A = mdp.num_states, mdp.num_actions
    try:
        if str(path).endswith(".npy"):
            data = np.load(path, allow_pickle=False)
        else:
            with open(path) as f:
                data = np.asarray(json.load(f), dtype=float)
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such file: {path}") from None
    except (ValueError, TypeError, OSError) as err:
        raise ValueError(f"{name}: cannot read a policy from {path}: expected JSON or .npy "
                         f"holding {S} actions or a {S}x{A} table ({err})") from None
    data = np.asarray(data, dtype=float)
    if data.shape == (S,):
        if not (np.all(data == np.round(data)) and data.min() >= 0 and data.max() < A):
            raise ValueError(f"{name}: expected {S} integer actions in [0, {A}), got values "
                             f"from {data.min():g} to {data.max():g}")
        table = np.eye(A)[data.astype(int)]
    elif data.shape == (S, A):
        if not (np.all(np.isfinite(data)) and data.min() >= 0
                and np.allclose(data.sum(axis=1), 1.0, atol=1e-6)):
            raise ValueError(f"{name}: expected a {S}x{A} table of action probabilities "
                             "(non-negative rows summing to 1)")
        table = data
    else:
        raise ValueError(f"{name}: expected {S} actions or a {S}x{A} table for this MDP, got "
                         f"an array of shape {data.shape}")
    return jnp.asarray(table, mdp.features.dtype)


def _has_lp(idata) -> bool:
    draws = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
    return draws == 1 or ("sample_stats" in idata.groups() and "lp" in idata.sample_stats)


def _pick(bounds: list, alpha: float, size: str):
    for b in bounds:
        if b["alpha"] == alpha and b["sample_size"] == size:
            return b
    return None


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def _text(args, run, result) -> str:
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
        lines.append("Diagnostics: all checks passed (R-hat <= {r_hat_max}, bulk/tail ESS >= "
                     "{ess_bulk_min}, no divergences).".format(**diag.thresholds))
    lines.append("  " + ", ".join(f"{k}={_fmt(v)}" for k, v in diag.as_dict().items()
                                  if k in ("max_r_hat", "min_ess_bulk", "min_ess_tail",
                                           "divergences", "mean_accept_prob")))
    lines.append("")
    lo, hi = doc["hdi_columns"]
    lines.append(f"Reward weights ({100 * args.hdi_prob:g}% HDI):")
    table = result["table"]
    cols = ["mean", "sd", lo, hi, "r_hat", "ess_bulk", "ess_tail"]
    lines.append(table[[c for c in cols if c in table]].to_string(
        float_format=lambda x: f"{x:.3f}"))
    lines.append("")
    lines.append(f"Evaluation policy: {_policy_description(result['kind'], args.policy)}.")
    evd = doc["policy_loss"]["evd"]
    lines.append(f"Policy loss under the posterior (EVD, reward units): mean {evd['mean']:.4g}, "
                 f"{100 * args.hdi_prob:g}% HDI [{evd['hdi'][0]:.4g}, {evd['hdi'][1]:.4g}], "
                 f"CVaR{args.alpha:g} {evd['cvar'][f'{args.alpha:g}']:.4g}")
    lines.append(f"  α-VaR upper bounds, confidence 1 − δ = {1 - args.delta:g} "
                 "(Brown & Niekum 2018, exact binomial order statistic):")
    for b in evd["var_bounds"]:
        if "error" in b:
            lines.append(f"    α = {b['alpha']:g} ({b['sample_size']}): not available — "
                         f"{b['error']}")
        else:
            ess = (f", ESS {b['effective_sample_size']:.0f}" if b["effective_sample_size"]
                   else "")
            lines.append(f"    α = {b['alpha']:g} ({b['sample_size']}: n = {b['num_samples']}{ess}, "
                         f"k = {b['order_index']}): EVD <= {b['bound']:.4g}")
    nevd = doc["policy_loss"]["nevd"]
    lines.append(f"Normalised EVD (0 optimal, 1 uniformly random): mean {nevd['mean']:.4g}, "
                 f"HDI [{nevd['hdi'][0]:.4g}, {nevd['hdi'][1]:.4g}]")
    imp = doc["policy_loss"]["percent_improvement"]
    base = ("the uniformly random policy" if args.baseline == "uniform"
            else f"the baseline policy in {args.baseline}")
    lines.append(f"Improvement over {base}: {imp['mean']:.4g} % "
                 f"(HDI [{imp['hdi'][0]:.4g}, {imp['hdi'][1]:.4g}] %)")
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
                     f"{v['epsilon']:g} (n = {v['num_samples']}, {args.sample_size}).")
    if result["truth"] is not None:
        t = result["truth"]
        held = t.get("bound_holds")
        lines.append(f"Against the true reward: EVD of the evaluation policy = {t['true_evd']:.4g}"
                     + ("" if held is None else
                        f"; the α = {args.alpha:g} bound {'holds' if held else 'FAILS'}"))
    lines.append("")
    return "\n".join(lines) + "\n"


def _fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def _write_plots(args, run, result, folder: str) -> list[str]:
    try:
        import matplotlib
    except ImportError:
        print("bayesirl: warning: matplotlib is not installed: no plots "
              '(pip install "bayesirl[plot]")', file=sys.stderr)
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    plots = [("forest.png", _plot_forest), ("policy_loss.png", _plot_policy_loss)]
    if result["diagnostics"].num_draws > 1:
        plots = [("trace.png", _plot_trace), ("rank.png", _plot_rank)] + plots
    if run["grid_shape"] is not None:
        plots.append(("reward_map.png", _plot_reward_map))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, fn in plots:
            fig = fn(args, run, result, plt)
            fig.savefig(os.path.join(folder, name), dpi=110, bbox_inches="tight")
            plt.close(fig)
            files.append(name)
    return files


def _worst_weights(result, count: int) -> list:
    table = result["table"]
    order = table["r_hat"].fillna(0.0).sort_values(ascending=False)
    picked = list(order.index[:count])
    names = list(table.index)
    features = [int(n[n.index("[") + 1:-1]) if "[" in n else n for n in picked]
    # keep the weights' own order for a calmer plot
    return sorted(features, key=lambda f: names.index(f"reward_weights[{f}]")
                  if f"reward_weights[{f}]" in names else 0)


def _selected_coords(run, result, args):
    idata = run["idata"]
    F = idata.posterior.sizes["feature"]
    coords = list(idata.posterior["feature"].values)
    if F <= args.max_plot_weights:
        return None, ""
    picked = _worst_weights(result, args.max_plot_weights)
    chosen = [c for c in coords if c in picked] or coords[: args.max_plot_weights]
    return {"feature": chosen}, f" ({len(chosen)} of {F} weights with the largest R-hat)"


def _plot_trace(args, run, result, plt):
    from bayesirl import _arviz

    coords, note = _selected_coords(run, result, args)
    rows = (len(coords["feature"]) if coords else run["idata"].posterior.sizes["feature"]) + 1
    axes = _arviz.plot_trace(run["idata"], var_names=["reward_weights", "evd"], coords=coords,
                             compact=False, combined=False, legend=False,
                             figsize=(11, 2.1 * rows))
    fig = axes.ravel()[0].figure
    fig.tight_layout()
    fig.suptitle("Trace: density per chain (left), draws in order (right)" + note, y=1.01)
    return fig


def _plot_rank(args, run, result, plt):
    from bayesirl import _arviz

    coords, note = _selected_coords(run, result, args)
    n = len(coords["feature"]) if coords else run["idata"].posterior.sizes["feature"]
    cols = min(3, n)
    rows = -(-n // cols)
    # (EVD is left out: its many ties at 0 make ranks meaningless)
    axes = _arviz.plot_rank(run["idata"], var_names=["reward_weights"], coords=coords,
                            kind="bars", figsize=(4.2 * cols, 3.0 * rows))
    fig = axes.ravel()[0].figure
    fig.tight_layout()
    fig.suptitle("Rank plots: where each chain's draws rank among all draws "
                 "(flat bars = the chains agree)" + note, y=1.03)
    return fig


def _plot_forest(args, run, result, plt):
    import numpy as np

    from bayesirl import _arviz

    post = run["idata"].posterior
    F = post.sizes["feature"]
    coords, note = None, ""
    if F > MAX_FOREST_WEIGHTS:  # keep the plot readable: the most clearly non-zero weights
        w = post["reward_weights"]
        score = np.abs(w.mean(("chain", "draw")).values) / (w.std(("chain", "draw")).values + 1e-12)
        keep = np.sort(np.argsort(-score)[:MAX_FOREST_WEIGHTS])
        coords = {"feature": list(post["feature"].values[keep])}
        note = f" — {MAX_FOREST_WEIGHTS} of {F}, largest |mean| / sd"
    height = 1.6 + 0.28 * min(F, MAX_FOREST_WEIGHTS)
    axes = _arviz.plot_forest(run["idata"], var_names=["reward_weights"], coords=coords,
                              combined=True, hdi_prob=args.hdi_prob, r_hat=True, ess=True,
                              figsize=(10, height))
    fig = axes.ravel()[0].figure
    top = max(ax.get_position().y1 for ax in axes.ravel())
    fig.suptitle(f"Reward weights: posterior mean and {100 * args.hdi_prob:g}% HDI "
                 f"(chains combined), with bulk ESS and R-hat{note}",
                 y=top + 0.55 / fig.get_figheight())
    return fig


def _loss_panel(ax, values, markers, xlabel, title):
    """Histogram of loss draws on [0, a range that shows the draws and the nearby markers],
    with the share of draws at zero written out (the evaluation policy is optimal there).

    A marker far to the right of every draw (e.g. ε when the bound is far below it) would
    squash the histogram into one bar: it is listed in the legend as off scale instead, with an
    arrow at the right edge."""
    import numpy as np

    values = np.asarray(values).reshape(-1)
    data_top = max(float(np.quantile(values, 0.999)), 1e-12)
    xs = [x for x, *_ in markers if x is not None]
    near = [x for x in xs if x <= OFF_SCALE_FACTOR * data_top]
    top = max([data_top] + near)
    bins = np.linspace(0.0, 1.05 * top, 41)
    ax.hist(np.clip(values, 0.0, bins[-1]), bins=bins, color="#8fb0d8", edgecolor="white")
    for x, style, label in markers:
        if x is None:
            continue
        if x <= bins[-1]:
            ax.axvline(x, label=label, **style)
        else:
            ax.plot([], [], label=f"{label} (off scale →)", **style)
            ax.annotate("", xy=(1.0, 0.35), xytext=(0.93, 0.35), xycoords="axes fraction",
                        arrowprops=dict(arrowstyle="->", lw=style.get("lw", 1.5),
                                        color=style.get("color", "black")))
    zero = float(np.mean(values <= 1e-9 * max(1.0, top)))
    if zero > 0.0:
        ax.text(0.98, 0.55, f"{100 * zero:.0f}% of draws: loss 0\n(evaluation policy optimal)",
                transform=ax.transAxes, ha="right", va="top", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", ec="#cccccc"))
    ax.set_xlim(0.0, bins[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("posterior draws")
    if zero > 0.5:  # a tall bar at 0 would flatten the tail: show counts on a log scale
        ax.set_yscale("log")
        ax.set_ylabel("posterior draws (log scale)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right")


def _plot_policy_loss(args, run, result, plt):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.4))
    head = result["headline"]
    cvar = result["json"]["policy_loss"]["evd"]["cvar"][f"{args.alpha:g}"]
    red = dict(color="#c0392b", lw=2)
    markers = [
        (head.get("bound") if head else None, red,
         f"{1 - args.delta:g}-confidence bound on the {args.alpha:g}-VaR: "
         f"{head['bound']:.3g}" if head and "bound" in head else ""),
        (cvar, dict(color="#8e44ad", ls="--", lw=1.5), f"CVaR{args.alpha:g}: {cvar:.3g}"),
    ]
    if result["truth"] is not None:
        t = result["truth"]["true_evd"]
        markers.append((t, dict(color="black", lw=2, ls=":"), f"true EVD: {t:.3g}"))
    _loss_panel(ax1, result["evd"], markers,
                "EVD of the evaluation policy under each posterior draw (reward units)",
                "Posterior policy loss (expected value difference)")
    if result["wfcb"] is not None:
        ax1.plot([], [], " ", label=f"feature-count bound: {result['wfcb']:.3g}")
        ax1.legend(fontsize=8, loc="upper right")
    v = result["verdict"]
    markers = [(args.epsilon, dict(color="#27ae60", lw=2, ls="--"), f"ε = {args.epsilon:g}")]
    if "bound" in v:
        word = "sufficient" if v["sufficient"] else "not sufficient"
        markers.append((v["bound"], red,
                        f"bound on the {args.alpha:g}-VaR: {v['bound']:.3g} ({word})"))
    _loss_panel(ax2, result["nevd"], markers,
                "normalised EVD (0 = optimal, 1 = uniformly random)",
                "Demonstration sufficiency (Trinh et al. 2024)")
    fig.tight_layout()
    return fig


def _plot_reward_map(args, run, result, plt):
    import numpy as np

    H, W = run["grid_shape"]
    states = result["json"]["states"]["state_reward"]
    mean = np.asarray(states["mean"])
    width = np.asarray(states["hdi_higher"]) - np.asarray(states["hdi_lower"])
    if mean.ndim == 2:  # state-action reward: show the mean over actions
        mean, width = mean.mean(axis=1), width.mean(axis=1)
    mdp = run["mdp"]
    terminal = np.asarray(mdp.terminal)
    success = np.asarray(run["env"].success_states) if run["env"] is not None else None
    actions = np.asarray(result["json"]["evaluation_policy"]["actions"])
    name = run["env"].name if run["env"] is not None else ""
    arrows = next((v for k, v in ACTION_ARROWS.items() if name.startswith(k)), None)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(2 * max(4.5, 0.62 * W + 1.6),
                                                   max(3.8, 0.58 * H + 1.2)))
    limit = float(np.max(np.abs(mean))) or 1.0
    im1 = ax1.imshow(mean.reshape(H, W), cmap="RdBu_r", vmin=-limit, vmax=limit)
    fig.colorbar(im1, ax=ax1, fraction=0.046, pad=0.04, label="posterior mean reward")
    im2 = ax2.imshow(width.reshape(H, W), cmap="viridis", vmin=0.0)
    fig.colorbar(im2, ax=ax2, fraction=0.046, pad=0.04,
                 label=f"width of the {100 * args.hdi_prob:g}% HDI")
    for s in range(H * W):
        r, c = divmod(s, W)
        if terminal[s]:
            goal = success is not None and success[s]
            for ax in (ax1, ax2):
                ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, lw=2.2,
                                           ec="gold" if goal else "black"))
            ax1.text(c, r + 0.3, "goal" if goal else "end", ha="center", va="center",
                     fontsize=7, color="black")
        elif arrows is not None:
            dx, dy = arrows[int(actions[s])]
            ax1.annotate("", xy=(c + dx, r + dy), xytext=(c - dx, r - dy),
                         arrowprops=dict(arrowstyle="->", lw=1.3, color="black"))
        if H * W <= 100:
            ax2.text(c, r, f"{width[s]:.2g}", ha="center", va="center", fontsize=7,
                     color="white" if width[s] < 0.6 * width.max() else "black")
    for ax in (ax1, ax2):
        ax.set_xticks(range(W))
        ax.set_yticks(range(H))
        ax.tick_params(labelsize=7)
    what = _policy_description(result["kind"], args.policy)
    ax1.set_title("Mean state reward" + (f"; arrows: {what}" if arrows is not None else ""),
                  fontsize=10)
    ax2.set_title("Uncertainty: HDI width of the state reward", fontsize=10)
    fig.tight_layout()
    return fig


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
