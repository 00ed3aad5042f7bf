"""``bayesirl report DIR``: use a fitted posterior — credible intervals, policy-loss bounds,
demonstration sufficiency, diagnostics and plots.

Reads a run folder (:func:`bayesirl.app.run.load_run`) and writes ``DIR/report/``:

* ``report.txt`` — the findings in words, warnings first (:mod:`bayesirl.app.report_text`);
* ``report.json`` — every number (diagnostics, weight table, per-state intervals, bounds,
  sufficiency verdict, evaluation against the true reward when the environment is known, and
  the fit's misfit alarm from ``summary.json``);
* ``trace.png``, ``rank.png`` (chains), ``forest.png`` (weights with HDIs),
  ``reward_map.png`` (grid environments: posterior-mean reward with the evaluation policy,
  and the HDI width), ``policy_loss.png`` (posterior EVD and nEVD with the bounds marked)
  (:mod:`bayesirl.app.plots`).

A continuous-state run (``bayesirl fit --env CartPole-v1``, ``--demos-npz``) gets the fit's
numbers and plots of the reward and the policy over two state dimensions instead
(:mod:`bayesirl.app.report_continuous`).

The report is staged next to ``DIR/report`` and replaces it as a whole only when complete
(:func:`bayesirl._io.staged_folder`): an existing report is replaced only with ``force`` and
survives a failed run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import warnings
from dataclasses import dataclass

from bayesirl._io import staged_folder, to_jsonable, write_json, write_text
from bayesirl.app.errors import UsageError
from bayesirl.app.plots import write_plots
from bayesirl.app.report_text import policy_description, render_text
from bayesirl.app.run import load_run, missing_run_error
from bayesirl.app.world import rebuild_environment

__all__ = ["ReportOptions", "run_report", "analyse", "read_policy", "REPORT_FOLDER",
           "DEFAULT_ALPHAS", "DEFAULT_MAX_PLOT_WEIGHTS"]

#: Name of the output folder inside the run folder.
REPORT_FOLDER = "report"
#: Quantile levels of the α-VaR table (Brown & Niekum 2018).
DEFAULT_ALPHAS = (0.9, 0.95, 0.99)
#: At most this many weights in the trace and rank plots (those with the worst R-hat).
DEFAULT_MAX_PLOT_WEIGHTS = 6


@dataclass(frozen=True)
class ReportOptions:
    """Settings of a report.

    Attributes:
        alpha: quantile level α in (0, 1) of the VaR bound.
        delta: the bound holds with probability >= 1 − delta (confidence, in (0, 1)).
        epsilon: demonstrations are sufficient when the α-VaR bound on nEVD is below ε.
        hdi_prob: mass of the credible intervals.
        policy: ``"map"``, ``"mean"`` or a policy file (.json / .npy).
        baseline: ``"uniform"`` or a policy file.
        sample_size: ``"draws"`` or ``"ess"`` (n of the headline bound).
        grid_shape: (H, W) for the reward maps, or None (the environment's).
        max_plot_weights: weights in the trace and rank plots.
        policies: runs without an MDP: candidate policies (``.npz`` of feature counts), or
            None for the run's trajectories (``baseline`` then names the candidate the regret
            is bounded against; ``"uniform"``: the first).
        dims: continuous-state runs: the two state dimensions of the plots (None: the task's
            default, :data:`bayesirl.app.report_continuous.DEFAULT_DIMS`).
    """

    alpha: float = 0.95
    delta: float = 0.05
    epsilon: float = 0.1
    hdi_prob: float = 0.94
    policy: str = "map"
    baseline: str = "uniform"
    sample_size: str = "ess"
    grid_shape: tuple | None = None
    max_plot_weights: int = DEFAULT_MAX_PLOT_WEIGHTS
    policies: str | None = None
    dims: tuple | None = None


def _target(run_dir: str, force: bool) -> str:
    if not os.path.isdir(run_dir):
        missing_run_error(run_dir)
        raise UsageError(f"DIR: {run_dir} is not a folder")
    out = os.path.join(run_dir, REPORT_FOLDER)
    if os.path.exists(out) and not force:
        raise UsageError(f"DIR: {out} exists; pass --force to replace it")
    return out


def _context(run, opts: ReportOptions) -> dict:
    env, env_note = rebuild_environment(run.config, run.mdp)
    grid_shape = tuple(opts.grid_shape) if opts.grid_shape else (env.grid_shape if env else None)
    mdp = run.mdp
    if grid_shape is not None and grid_shape[0] * grid_shape[1] != mdp.num_states:
        raise UsageError(f"--grid-shape: {grid_shape[0]}x{grid_shape[1]} has "
                         f"{grid_shape[0] * grid_shape[1]} cells but the MDP has "
                         f"{mdp.num_states} states")
    return dict(path=run.path, mdp=mdp, idata=run.idata, demos=run.demos, summary=run.summary,
                env=env, env_note=env_note, grid_shape=grid_shape)


def run_report(run_dir: str, opts: ReportOptions = ReportOptions(), *, force: bool = False,
               quiet: bool = False) -> dict:
    """Analyse the run folder ``run_dir`` and write ``run_dir/report/`` as a whole.

    An MDP run gets credible intervals, policy-loss bounds, the sufficiency verdict and plots;
    a run of trajectory features gets the evaluation of candidate policies from their feature
    counts (:mod:`bayesirl.app.report_candidates`); a choice run gets the weights, the
    prediction of the choices and, per person, the population
    (:mod:`bayesirl.app.report_choices`).

    Returns:
        The content of ``report.json``.

    Raises:
        UsageError: ``run_dir`` is not a run folder, ``report/`` exists without ``force``, or
            an option does not fit the run (one-line messages naming the argument).
    """
    run_dir = os.fspath(run_dir)
    out = _target(run_dir, force)
    run = load_run(run_dir, continuous=True)
    if run.kind != "continuous" and opts.dims is not None:
        raise UsageError("--dims: goes with a continuous-state run ('bayesirl fit --env "
                         "CartPole-v1' or '--demos-npz')")
    if run.kind == "continuous":
        from bayesirl.app.report_continuous import analyse_continuous, write_continuous_report

        _refuse_for_continuous(opts)
        doc = analyse_continuous(run, opts)
        with staged_folder(out, force=force) as stage:
            text = write_continuous_report(stage, doc)
        if not quiet:
            print(text, end="")
            print(f"Wrote {', '.join(doc['files'])} to {out}")
        return doc
    if run.kind == "choices":
        from bayesirl.app.report_choices import analyse_choices, write_choice_report

        if opts.policies is not None:
            raise UsageError("--policies: goes with a run of trajectory features ('bayesirl fit "
                             "--trajectories'), not with --choices")
        doc, diag = analyse_choices(run, opts)
        with staged_folder(out, force=force) as stage:
            text = write_choice_report(stage, doc)
        files, result_json = doc["files"], doc
    elif run.kind == "trajectories":
        from bayesirl.app.report_candidates import analyse_candidates, write_candidate_report

        doc, diag = analyse_candidates(run, opts)
        with staged_folder(out, force=force) as stage:
            text = write_candidate_report(stage, doc)
        files, result_json = doc["files"], doc
    else:
        if opts.policies is not None:
            raise UsageError("--policies: goes with a run without an MDP ('bayesirl fit "
                             "--trajectories'); for an MDP run use --policy FILE")
        ctx = _context(run, opts)
        result = analyse(opts, ctx)
        diag = result["diagnostics"]
        with staged_folder(out, force=force) as stage:
            files = write_plots(opts, ctx, result, stage)
            result["json"]["files"] = ["report.txt", "report.json"] + files
            text = render_text(opts, ctx, result)
            write_text(os.path.join(stage, "report.txt"), text)
            write_json(os.path.join(stage, "report.json"), result["json"])
        files, result_json = result["json"]["files"], result["json"]
    for problem in diag.problems:
        print(f"bayesirl: warning: posterior should not be trusted: {problem}", file=sys.stderr)
    misfit = result_json.get("misfit") or {}
    if misfit.get("alarm"):
        print(f"bayesirl: warning: {misfit.get('message')}", file=sys.stderr)
    if not quiet:
        print(text, end="")
        print(f"Wrote {', '.join(files)} to {out}")
    return result_json


def _refuse_for_continuous(opts: ReportOptions) -> None:
    """UsageError naming the first option, other than ``dims``, changed from its default: the
    bounds, intervals and maps of reward weights do not apply to a continuous-state run."""
    for f in dataclasses.fields(ReportOptions):
        if f.name != "dims" and getattr(opts, f.name) != f.default:
            raise UsageError(f"--{f.name.replace('_', '-')}: does not apply to a "
                             "continuous-state run (its report is the fit's numbers and "
                             "plots over two state dimensions: --dims)")


def _policies(opts: ReportOptions, ctx: dict):
    from bayesirl.analysis.posterior import evaluation_policy, uniform_policy

    mdp, idata = ctx["mdp"], ctx["idata"]
    kind = opts.policy if opts.policy in ("map", "mean") else "file"
    if kind == "map" and not _has_lp(idata):
        kind = "mean"
    if kind == "file":
        policy = read_policy(opts.policy, mdp, "--policy")
    else:
        policy = evaluation_policy(mdp, idata, kind)
    baseline = (uniform_policy(mdp) if opts.baseline == "uniform"
                else read_policy(opts.baseline, mdp, "--baseline"))
    return kind, policy, baseline


def _state_intervals(post, intervals) -> dict:
    return {var: {"mean": post[var].mean(("chain", "draw")).values,
                  "hdi_lower": intervals[var].sel(hdi="lower").values,
                  "hdi_higher": intervals[var].sel(hdi="higher").values}
            for var in ("state_reward", "optimal_value", "optimal_action_prob")}


def _loss_entry(opts: ReportOptions, values, interval) -> dict:
    from bayesirl.analysis import conditional_value_at_risk, value_at_risk_bound

    alphas = sorted({*DEFAULT_ALPHAS, opts.alpha})
    import numpy as np

    entry = {"mean": float(values.mean()), "median": float(np.median(values)),
             "sd": float(values.std()),
             "hdi": [float(interval.sel(hdi=h)) for h in ("lower", "higher")],
             "cvar": {f"{a:g}": conditional_value_at_risk(values, a) for a in alphas},
             "var_bounds": []}
    for alpha in alphas:
        for size in ("draws", "ess"):
            try:
                b = value_at_risk_bound(values, alpha, opts.delta, sample_size=size)
                entry["var_bounds"].append({**b._asdict(), "sample_size": size})
            except ValueError as err:
                entry["var_bounds"].append({"alpha": alpha, "delta": opts.delta,
                                            "sample_size": size, "error": str(err)})
    return entry


def _verdict(opts: ReportOptions, nevd) -> dict:
    from bayesirl.analysis import demonstration_sufficiency

    try:
        return demonstration_sufficiency(nevd, opts.epsilon, opts.alpha, opts.delta,
                                         sample_size=opts.sample_size)._asdict()
    except ValueError as err:
        return {"error": str(err), "epsilon": opts.epsilon, "alpha": opts.alpha,
                "delta": opts.delta}


def _truth(ctx: dict, policy, headline) -> dict | None:
    """EVD of the evaluation policy under the known true reward (exact policy evaluation,
    :func:`bayesirl.solvers.evaluation.expected_value_difference`)."""
    if ctx["env"] is None:
        return None
    import jax.numpy as jnp

    from bayesirl.solvers.evaluation import expected_value_difference

    mdp = ctx["mdp"]
    reward = jnp.asarray(ctx["env"].true_reward, mdp.features.dtype)
    truth = {"true_evd": max(float(expected_value_difference(mdp, reward, policy)), 0.0)}
    if headline and "bound" in headline:
        truth["bound_holds"] = bool(headline["bound"] >= truth["true_evd"] - 1e-9)
    return truth


def _quantities(opts: ReportOptions, ctx: dict, kind: str, policy, baseline):
    from bayesirl import _arviz
    from bayesirl.analysis import add_posterior_quantities, credible_intervals

    idata = add_posterior_quantities(ctx["idata"], ctx["mdp"], policy, baseline_policy=baseline)
    idata.posterior.attrs["evaluation_policy"] = policy_description(kind, opts.policy)
    ctx["idata"] = idata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one chain: ArviZ shape warnings
        table = _arviz.summary(idata, var_names=["reward_weights"], hdi_prob=opts.hdi_prob)
        intervals = credible_intervals(idata, ["state_reward", "optimal_value",
                                               "optimal_action_prob", "evd", "nevd",
                                               "percent_improvement"], opts.hdi_prob)
    return idata, table, intervals


def analyse(opts: ReportOptions, ctx: dict) -> dict:
    """Every number of the report (``json``) and the pieces the text and plots need.

    Args:
        opts: the report options.
        ctx: the loaded run (``mdp``, ``idata``, ``demos``, ``env``, ``env_note``, ``path``,
            ``grid_shape``); ``idata`` gains the per-draw quantities.
    """
    import jax.numpy as jnp
    import numpy as np

    from bayesirl.analysis import diagnose, feature_count_bound

    mdp = ctx["mdp"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        diag = diagnose(ctx["idata"])
    kind, policy, baseline = _policies(opts, ctx)
    idata, table, intervals = _quantities(opts, ctx, kind, policy, baseline)
    post = idata.posterior
    evd, nevd = np.asarray(post["evd"].values), np.asarray(post["nevd"].values)
    loss = {"evd": _loss_entry(opts, evd, intervals["evd"]),
            "nevd": _loss_entry(opts, nevd, intervals["nevd"]),
            "percent_improvement": {
                "baseline": opts.baseline,
                "mean": float(np.asarray(post["percent_improvement"].values).mean()),
                "median": float(np.median(np.asarray(post["percent_improvement"].values))),
                "hdi": [float(intervals["percent_improvement"].sel(hdi=h))
                        for h in ("lower", "higher")]}}
    headline = _pick(loss["evd"]["var_bounds"], opts.alpha, opts.sample_size)
    verdict = _verdict(opts, nevd)
    wfcb = (float(feature_count_bound(mdp, ctx["demos"], policy))
            if ctx["demos"] is not None else None)
    truth = _truth(ctx, policy, headline)
    lo, hi = (f"hdi_{100 * (1 - opts.hdi_prob) / 2:g}%", f"hdi_{100 * (1 + opts.hdi_prob) / 2:g}%")
    doc = {
        "run": {"dir": os.path.abspath(ctx["path"]), "environment": ctx["env_note"],
                "method": post.attrs.get("method"), "num_chains": diag.num_chains,
                "num_draws": diag.num_draws, "num_states": mdp.num_states,
                "num_actions": mdp.num_actions, "num_features": mdp.num_features,
                "discount": float(mdp.discount)},
        "settings": {"alpha": opts.alpha, "delta": opts.delta, "epsilon": opts.epsilon,
                     "hdi_prob": opts.hdi_prob, "policy": kind, "sample_size": opts.sample_size},
        "diagnostics": diag.as_dict(),
        "evaluation_policy": {"kind": kind,
                              "actions": np.asarray(jnp.argmax(policy, axis=-1)).tolist(),
                              "note": policy_description(kind, opts.policy)
                              + "; one action per state (the most probable; ties: the first)"},
        "reward_weights": [{"name": str(n), **to_jsonable(dict(r))} for n, r in table.iterrows()],
        "hdi_columns": [lo, hi],
        "states": _state_intervals(post, intervals),
        "policy_loss": loss, "headline_bound": headline, "sufficiency": verdict,
        "feature_count_bound": wfcb, "true_evaluation": truth,
        "misfit": (ctx.get("summary") or {}).get("misfit"),
    }
    return dict(json=doc, diagnostics=diag, policy=policy, table=table, headline=headline,
                verdict=verdict, wfcb=wfcb, truth=truth, kind=kind, evd=evd, nevd=nevd)


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
