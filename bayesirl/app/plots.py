"""The plots of ``bayesirl report``: trace, rank, forest, policy loss and reward map.

Each ``_plot_*`` function takes the report options, the loaded run, the analysis result
(:func:`bayesirl.app.report.analyse`) and ``matplotlib.pyplot`` and returns a figure;
:func:`write_plots` saves those that apply as PNG files. ArviZ plots go through
:mod:`bayesirl._arviz`.
"""

from __future__ import annotations

import os
import sys
import warnings

from bayesirl.app.report_text import policy_description

__all__ = ["write_plots", "pyplot_or_warn", "ACTION_ARROWS", "OFF_SCALE_FACTOR", "MAX_FOREST_WEIGHTS"]

#: A loss-plot marker beyond this multiple of the draws' 99.9 % quantile is drawn off scale.
OFF_SCALE_FACTOR = 4.0
#: A marker within this fraction of the x-range from 0 is drawn on the y-axis: flag it.
AT_ZERO = 0.005
#: At most this many weights in the forest plot (those with the largest ``|mean| / sd``).
MAX_FOREST_WEIGHTS = 80
_UP, _DOWN, _LEFT, _RIGHT = (0.0, -0.32), (0.0, 0.32), (-0.32, 0.0), (0.32, 0.0)  # (dx, dy)
#: Arrow of each action in the grids whose action order we know (imshow: row 0 at the top).
ACTION_ARROWS = {
    "gridworld": (_UP, _DOWN, _LEFT, _RIGHT),
    "FrozenLake": (_LEFT, _DOWN, _RIGHT, _UP),
    "CliffWalking": (_UP, _RIGHT, _DOWN, _LEFT),
}


def pyplot_or_warn():
    """``matplotlib.pyplot`` on the Agg backend, or None (with one warning on stderr) when
    matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        print("bayesirl: warning: matplotlib is not installed: no plots "
              '(pip install "bayesirl[plot]")', file=sys.stderr)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(opts, run, result, folder: str) -> list[str]:
    """Save the plots that apply to ``folder`` (PNG); returns their file names (none, with a
    warning, when matplotlib is missing)."""
    plt = pyplot_or_warn()
    if plt is None:
        return []
    files = []
    plots = [("forest.png", _plot_forest), ("policy_loss.png", _plot_policy_loss)]
    if result["diagnostics"].num_draws > 1:
        plots = [("trace.png", _plot_trace), ("rank.png", _plot_rank)] + plots
    if run["grid_shape"] is not None:
        plots.append(("reward_map.png", _plot_reward_map))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, fn in plots:
            fig = fn(opts, run, result, plt)
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


def _selected_coords(run, result, opts):
    idata = run["idata"]
    F = idata.posterior.sizes["feature"]
    coords = list(idata.posterior["feature"].values)
    if F <= opts.max_plot_weights:
        return None, ""
    picked = _worst_weights(result, opts.max_plot_weights)
    chosen = [c for c in coords if c in picked] or coords[: opts.max_plot_weights]
    return {"feature": chosen}, f" ({len(chosen)} of {F} weights with the largest R-hat)"


def _plot_trace(opts, run, result, plt):
    from bayesirl import _arviz

    coords, note = _selected_coords(run, result, opts)
    rows = (len(coords["feature"]) if coords else run["idata"].posterior.sizes["feature"]) + 1
    axes = _arviz.plot_trace(run["idata"], var_names=["reward_weights", "evd"], coords=coords,
                             compact=False, combined=False, legend=True,
                             figsize=(11, 2.1 * rows))
    fig = axes.ravel()[0].figure
    fig.tight_layout()
    fig.suptitle("Trace: density per chain (left), draws in order (right)" + note, y=1.01)
    return fig


def _plot_rank(opts, run, result, plt):
    from bayesirl import _arviz

    coords, note = _selected_coords(run, result, opts)
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


def _plot_forest(opts, run, result, plt):
    import numpy as np

    from bayesirl import _arviz

    post = run["idata"].posterior
    F = post.sizes["feature"]
    coords, note = None, ""
    limit = float(result["diagnostics"].thresholds.get("r_hat_max", 1.01))
    if F > MAX_FOREST_WEIGHTS:  # keep the plot readable: the flagged, then the clearest weights
        w = post["reward_weights"]
        score = np.abs(w.mean(("chain", "draw")).values) / (w.std(("chain", "draw")).values + 1e-12)
        rhat = np.asarray(_arviz.rhat(run["idata"], var_names=["reward_weights"])
                          ["reward_weights"].values)
        score = np.where(np.nan_to_num(rhat) > limit, np.inf, score)  # flagged ones first
        keep = np.sort(np.argsort(-score)[:MAX_FOREST_WEIGHTS])
        coords = {"feature": list(post["feature"].values[keep])}
        note = f" — {MAX_FOREST_WEIGHTS} of {F}: those R-hat flags, then largest |mean| / sd"
    height = 1.6 + 0.28 * min(F, MAX_FOREST_WEIGHTS)
    axes = _arviz.plot_forest(run["idata"], var_names=["reward_weights"], coords=coords,
                              combined=True, hdi_prob=opts.hdi_prob, r_hat=True, ess=True,
                              figsize=(10, height))
    fig = axes.ravel()[0].figure
    rhat_ax = axes.ravel()[-1]  # ArviZ puts the R-hat column last
    values = [float(x) for dots in rhat_ax.collections for x, _ in dots.get_offsets()]
    values = [v for v in values if np.isfinite(v)] or [1.0]
    lo = min(0.995, min(values) - 0.002)
    hi = max(max(values), limit)
    rhat_ax.set_xlim(lo, hi + 0.25 * (hi - lo))  # every value and the threshold in view
    rhat_ax.set_xticks(sorted({1.0, round(limit, 4), round(max(values), 4)}))
    rhat_ax.tick_params(axis="x", labelsize=8, labelrotation=45)
    rhat_ax.xaxis.set_major_formatter("{x:.3f}")
    rhat_ax.axvline(limit, color="tab:red", lw=1, ls="--")
    rhat_ax.set_title(f"r_hat (threshold {limit:.4g})")
    top = max(ax.get_position().y1 for ax in axes.ravel())
    fig.suptitle(f"Reward weights: posterior mean and {100 * opts.hdi_prob:g}% HDI "
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
    off_scale = []
    ax.hist(np.clip(values, 0.0, bins[-1]), bins=bins, color="#8fb0d8", edgecolor="white")
    for x, style, label in markers:
        if x is None:
            continue
        if x <= AT_ZERO * bins[-1]:  # on the y-axis: mark it above the plot so it shows
            ax.axvline(x, label=f"{label} (at 0, on the axis)", **style)
            ax.plot([x], [1.0], marker="v", ms=9, clip_on=False, color=style.get("color"),
                    transform=ax.get_xaxis_transform())
        elif x <= bins[-1]:
            ax.axvline(x, label=label, **style)
        else:
            ax.plot([], [], label=f"{label} (off scale →)", **style)
            ax.annotate("", xy=(1.0, 0.35), xytext=(0.93, 0.35), xycoords="axes fraction",
                        arrowprops=dict(arrowstyle="->", lw=style.get("lw", 1.5),
                                        color=style.get("color", "black")))
            off_scale.append(f"{x:.3g}")
    zero = float(np.mean(values <= 1e-9 * max(1.0, top)))
    if zero > 0.0:
        ax.text(0.98, 0.55, f"{100 * zero:.0f}% of draws: loss 0\n(evaluation policy optimal)",
                transform=ax.transAxes, ha="right", va="top", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", ec="#cccccc"))
    if off_scale:
        ax.text(0.99, -0.16, f"off scale (beyond the x-axis, →): {', '.join(off_scale)}",
                transform=ax.transAxes, ha="right", va="top", fontsize=7, color="#555555")
    ax.set_xlim(0.0, bins[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("posterior draws")
    if zero > 0.5:  # a tall bar at 0 would flatten the tail: show counts on a log scale
        ax.set_yscale("log")
        ax.set_ylabel("posterior draws (log scale)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right")


def _plot_policy_loss(opts, run, result, plt):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.4))
    head = result["headline"]
    cvar = result["json"]["policy_loss"]["evd"]["cvar"][f"{opts.alpha:g}"]
    red = dict(color="#c0392b", lw=2)
    markers = [
        (head.get("bound") if head else None, red,
         f"{1 - opts.delta:g}-confidence bound on the {opts.alpha:g}-VaR: "
         f"{head['bound']:.3g}" if head and "bound" in head else ""),
        (cvar, dict(color="#8e44ad", ls="--", lw=1.5), f"CVaR{opts.alpha:g}: {cvar:.3g}"),
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
    markers = [(opts.epsilon, dict(color="#27ae60", lw=2, ls="--"), f"ε = {opts.epsilon:g}")]
    if "bound" in v:
        word = "sufficient" if v["sufficient"] else "not sufficient"
        markers.append((v["bound"], red,
                        f"bound on the {opts.alpha:g}-VaR: {v['bound']:.3g} ({word})"))
    _loss_panel(ax2, result["nevd"], markers,
                "normalised EVD (0 = optimal, 1 = uniformly random)",
                "Demonstration sufficiency (Trinh et al. 2024)")
    fig.tight_layout()
    return fig


def _plot_reward_map(opts, run, result, plt):
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
                 label=f"width of the {100 * opts.hdi_prob:g}% HDI")
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
    what = policy_description(result["kind"], opts.policy)
    ax1.set_title("Mean state reward" + (f"; arrows: {what}" if arrows is not None else ""),
                  fontsize=10)
    ax2.set_title("Uncertainty: HDI width of the state reward", fontsize=10)
    fig.tight_layout()
    return fig
