"""The report of a continuous-state run (``bayesirl fit --env CartPole-v1`` or ``--demos-npz``):
the fit's numbers (learned policy's return, its credible interval under the posterior reward,
action log-probabilities, the reward's mean and width) and where the reward lies in the state
space. :func:`format_continuous_text` is also what ``bayesirl fit`` prints after the fit.

:func:`bayesirl.app.report.run_report` writes it into ``DIR/report/``: ``report.json``,
``report.txt``, ``reward.png`` and ``policy.png``. The plots are over two state dimensions
(``--dims I,J``; default :data:`DEFAULT_DIMS` for the shipped tasks, else the first two):

* ``reward.png`` — the reward's posterior mean and width (sd). With a reward encoder (the
  variational fit) its q(r | s, a) is evaluated on a grid over the two dimensions, the others
  fixed at their demonstrated median, one row per action. The value-space reward
  ``r = Q(s, a) − γ V(s')`` is defined on transitions (it needs the successor s'), so it is
  drawn at the demonstrated transitions instead. Behavioural cloning has no reward: no plot.
* ``policy.png`` — the learned policy's probability of each action (softmax of the
  posterior-mean Q-values) on the same grid, with the demonstrated states on top.
"""

from __future__ import annotations

import os

import numpy as np

from bayesirl._io import write_json, write_text
from bayesirl.app.errors import UsageError

__all__ = ["analyse_continuous", "write_continuous_report", "format_continuous_text",
           "default_dims", "DEFAULT_DIMS", "GRID_POINTS"]

#: The two state dimensions plotted by default for the shipped tasks: CartPole's pole angle
#: and angular velocity, Acrobot's two joint velocities, MountainCar's position and velocity,
#: LunarLander's position.
DEFAULT_DIMS = {"CartPole-v1": (2, 3), "Acrobot-v1": (4, 5), "MountainCar-v0": (0, 1),
                "LunarLander-v3": (0, 1)}
#: Grid points per plotted dimension.
GRID_POINTS = 41


def default_dims(env_id: str | None, size: int) -> tuple[int, int]:
    """The dimensions plotted without ``--dims``: :data:`DEFAULT_DIMS`, else (0, 1) (or (0, 0)
    for a one-dimensional observation)."""
    dims = DEFAULT_DIMS.get(env_id or "")
    if dims is not None and max(dims) < size:
        return dims
    return (0, 1) if size > 1 else (0, 0)


def _dims(opts, world) -> tuple[int, int]:
    D = world.num_features
    if opts.dims is None:
        return default_dims(world.env_id, D)
    dims = tuple(opts.dims)
    if len(dims) != 2 or dims[0] == dims[1] or not all(0 <= d < D for d in dims):
        raise UsageError(f"--dims: expected two distinct state dimensions in [0, {D}) (the "
                         f"observations have D = {D}), got {','.join(map(str, dims))}")
    return dims


def _grid(transitions, dims):
    """(G·G, D) observations over the demonstrated range of ``dims`` (1st–99th percentile),
    the others at their median; and the two axes (G,)."""
    obs = transitions.observations
    axes = [np.linspace(*np.quantile(obs[:, d], [0.01, 0.99]), GRID_POINTS) for d in dims]
    X, Y = np.meshgrid(*axes)
    grid = np.tile(np.median(obs, axis=0), (X.size, 1))
    grid[:, dims[0]], grid[:, dims[1]] = X.ravel(), Y.ravel()
    return grid, axes


def _encoder_rewards(continuous, posterior, grid, A: int):
    """(A, G·G) posterior mean and sd of the reward of each action on the grid (the
    variational q(r | s, a) needs no successor)."""
    from bayesirl.data.continuous import make_transitions

    n = grid.shape[0]
    means, sds = [], []
    for a in range(A):
        t = make_transitions(grid, np.full(n, a), grid, np.zeros(n, bool), np.arange(n), A)
        mean, sd = continuous.reward_summary(posterior, t)
        means.append(np.asarray(mean, np.float64))
        sds.append(np.asarray(sd, np.float64))
    return np.stack(means), np.stack(sds)


def analyse_continuous(run, opts) -> dict:
    """The report of a continuous-state run as a JSON-ready dict; the arrays the plots need
    are under ``"_plot"`` (removed before writing).

    Args:
        run: the loaded run (:func:`bayesirl.app.run.load_run` with ``continuous=True``).
        opts: :class:`~bayesirl.app.report.ReportOptions` (``dims``).

    Raises:
        UsageError: ``--dims`` that are not two distinct dimensions of the observations.
    """
    import bayesirl.continuous as continuous

    world, posterior, summary = run.world, run.idata, run.summary
    dims = _dims(opts, world)
    names = world.feature_names
    t = world.transitions
    grid, axes = _grid(t, dims)
    A = int(t.num_actions)
    probs = np.asarray(continuous.action_probabilities(posterior, grid), np.float64)
    plot = {"axes": axes, "dims": dims, "probs": probs, "points": t.observations[:, dims],
            "actions": t.actions}
    doc = {"kind": "continuous", "method": summary.get("method", {"name": posterior.method}),
           "transitions": summary.get("transitions", {}),
           "diagnostics": summary.get("diagnostics", {}),
           "evaluation": summary.get("evaluation", {}),
           "action_log_prob": summary.get("action_log_prob", {}),
           "reward": summary.get("reward"),
           "dims": {"indices": list(dims), "names": [names[d] for d in dims],
                    "others_fixed_at_median": {names[d]: float(v) for d, v in
                                               enumerate(np.median(t.observations, axis=0))
                                               if d not in dims}}}
    if posterior.method == "cloning":
        doc["reward_plot"] = "none: behavioural cloning fits a policy, not a reward"
    elif posterior.encoder is not None:
        mean, sd = _encoder_rewards(continuous, posterior, grid, A)
        plot.update(grid_mean=mean, grid_sd=sd)
        doc["reward_plot"] = ("q(r | s, a) of the reward encoder on a grid over the two "
                              "dimensions, the others at their demonstrated median")
        doc["reward_grid"] = {"mean_range": [float(mean.min()), float(mean.max())],
                              "width_range": [float(sd.min()), float(sd.max())]}
    else:
        mean, sd = (np.asarray(x, np.float64) for x in continuous.reward_summary(posterior, t))
        plot.update(point_mean=mean, point_sd=sd)
        doc["reward_plot"] = ("implied reward Q(s, a) − γ V(s') at the demonstrated "
                              "transitions (it needs the successor s', so no grid)")
    doc["_plot"] = plot
    return doc


def _text(doc: dict) -> str:
    lines = [f"WARNING: the posterior should not be trusted: {p}"
             for p in doc["diagnostics"].get("problems", [])]
    body = format_continuous_text({**doc, "timings": {"sampling_s": float(
        doc["diagnostics"].get("wall_s") or 0.0), "total_s": 0.0}, "policy_note":
        "greedy on the posterior-mean Q-values", "files": []}, "")
    lines += [line for line in body.splitlines()
              if not line.startswith(("Time:", "Wrote"))]
    d = doc["dims"]
    fixed = ", ".join(f"{k} {v:.3g}" for k, v in d["others_fixed_at_median"].items())
    lines.append(f"Plots over {d['names'][0]} (dimension {d['indices'][0]}) and "
                 f"{d['names'][1]} (dimension {d['indices'][1]})"
                 + (f"; the others at their demonstrated median ({fixed})" if fixed else ""))
    lines.append(f"  reward.png: {doc['reward_plot']}")
    if "reward_grid" in doc:
        g = doc["reward_grid"]
        lines.append(f"    on the grid: posterior mean from {g['mean_range'][0]:.3g} to "
                     f"{g['mean_range'][1]:.3g}, width (sd) from {g['width_range'][0]:.3g} to "
                     f"{g['width_range'][1]:.3g}")
    lines.append("  policy.png: the learned policy's action probabilities on the grid, "
                 "demonstrated states on top")
    return "\n".join(lines) + "\n"


def _limits(values, cmap) -> dict:
    """A diverging colour map centred on 0 (reward sign), a sequential one over the values."""
    if cmap != "RdBu_r":
        return {}
    top = float(np.max(np.abs(values))) or 1.0
    return {"vmin": -top, "vmax": top}


def format_continuous_text(summary: dict, out: str) -> str:
    """What ``bayesirl fit`` prints after a continuous-state fit (the numbers of
    ``summary.json``)."""
    t, m = summary["transitions"], summary["method"]
    lines = [f"Fit: {m['name']} ({m['what']}); {m['num_draws']} draw(s).",
             f"Data: {t['num_episodes']} expert episode(s), {t['num_transitions']} transitions "
             f"(D = {t['observation_size']}, A = {t['num_actions']}): {t['source']}."]
    ev = summary["evaluation"]
    if ev.get("episodes"):
        text = (f"Learned policy ({ev['policy']}): return in {ev['env_id']} over "
                f"{ev['episodes']} rollouts {ev['learned_return']['mean']:.1f} ± "
                f"{ev['learned_return']['sd']:.1f}")
        if "expert_return" in ev:
            text += (f" (expert {ev['expert_return']:.1f}, random {ev['random_return']:.1f} on "
                     "the same seeds")
            text += (f"; normalised score {ev['normalized_score']:.2f})"
                     if "normalized_score" in ev else ")")
        lines.append(text)
        r = ev.get("return_under_posterior_reward")
        if r:
            lines.append(f"  its discounted return under the posterior reward (γ = "
                         f"{r['discount']:g}): {r['mean']:.3g}, {100 * r['prob']:g}% credible "
                         f"interval [{r['lower']:.3g}, {r['upper']:.3g}] ({r['num_draws']} "
                         "draws)")
    else:
        lines.append(f"Learned policy: {summary['policy_note']}; {ev.get('note', '')}")
    lp = summary["action_log_prob"]
    text = f"Action log-probability (nats per action): train {lp['train']:.3f}"
    if "test" in lp:
        text += (f", test {lp['test']:.3f} on {lp['test_episodes']} held-out expert "
                 f"episode(s) (posterior-predictive policy {lp['test_predictive']:.3f})")
    lines.append(text)
    rw = summary.get("reward")
    if rw:
        lines.append(f"Reward on the demonstrated transitions: posterior mean {rw['mean']:.3g} "
                     f"on average (from {rw['min']:.3g} to {rw['max']:.3g}); width (posterior "
                     f"sd) {rw['width']:.3g} on average, {rw['width_max']:.3g} at most")
    else:
        lines.append("Reward: none (behavioural cloning fits a policy, not a reward)")
    diag = {k: v for k, v in summary["diagnostics"].items()
            if k not in ("problems", "remedies", "r_hat_max") and v is not None}
    lines.append("Diagnostics: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float)
                                             else f"{k}={v}" for k, v in diag.items()))
    tm = summary["timings"]
    lines.append(f"Time: fit {tm['sampling_s']:.1f} s, total {tm['total_s']:.1f} s")
    lines.append(f"Wrote {', '.join(summary.get('files', []))} to {out}")
    return "\n".join(lines) + "\n"


def _image(fig, ax, plot, values, title, cmap):
    x, y = plot["axes"]
    im = ax.pcolormesh(x, y, values.reshape(len(y), len(x)), shading="auto", cmap=cmap,
                       **_limits(values, cmap))
    fig.colorbar(im, ax=ax)
    ax.set_title(title, fontsize=9)


def _plots(doc: dict, folder: str) -> list[str]:
    from bayesirl.app.plots import pyplot_or_warn

    plt = pyplot_or_warn()
    if plt is None:
        return []
    plot, names = doc["_plot"], doc["dims"]["names"]
    pts, acts = plot["points"], plot["actions"]
    figures = []
    A = plot["probs"].shape[1]
    if "grid_mean" in plot:
        fig, axes = plt.subplots(A, 2, figsize=(9, 3.2 * A), squeeze=False)
        for a in range(A):
            _image(fig, axes[a][0], plot, plot["grid_mean"][a], f"action {a}: posterior mean "
                   "reward", "RdBu_r")
            _image(fig, axes[a][1], plot, plot["grid_sd"][a], f"action {a}: posterior sd "
                   "(width)", "viridis")
            for ax in axes[a]:
                ax.scatter(pts[acts == a, 0], pts[acts == a, 1], s=3, c="k", alpha=0.3)
        figures.append(("reward.png", fig, axes))
    elif "point_mean" in plot:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
        for ax, values, title, cmap in ((axes[0][0], plot["point_mean"], "posterior mean "
                                         "reward", "RdBu_r"),
                                        (axes[0][1], plot["point_sd"], "posterior sd (width)",
                                         "viridis")):
            sc = ax.scatter(pts[:, 0], pts[:, 1], c=values, s=6, cmap=cmap,
                            **_limits(values, cmap))
            fig.colorbar(sc, ax=ax)
            ax.set_title(f"{title} at the demonstrated transitions", fontsize=9)
        figures.append(("reward.png", fig, axes))
    fig, axes = plt.subplots(1, A, figsize=(4.5 * A, 3.6), squeeze=False)
    for a in range(A):
        ax = axes[0][a]
        x, y = plot["axes"]
        im = ax.pcolormesh(x, y, plot["probs"][:, a].reshape(len(y), len(x)), shading="auto",
                           vmin=0, vmax=1, cmap="magma")
        ax.scatter(pts[acts == a, 0], pts[acts == a, 1], s=3, c="c", alpha=0.4)
        ax.set_title(f"P(action {a}); expert took it at the dots", fontsize=9)
        fig.colorbar(im, ax=ax)
    figures.append(("policy.png", fig, axes))
    files = []
    for name, fig, axes in figures:
        for ax in np.ravel(axes):
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
            ax.tick_params(axis="x", labelrotation=30)
        fig.tight_layout()
        fig.savefig(os.path.join(folder, name), dpi=100, bbox_inches="tight")
        plt.close(fig)
        files.append(name)
    return files


def write_continuous_report(folder: str, doc: dict) -> str:
    """Write ``report.txt``, ``report.json`` and the plots into ``folder``; returns the text
    (``doc["files"]`` lists the files)."""
    text = _text(doc)
    files = ["report.txt", "report.json"] + _plots(doc, folder)
    doc.pop("_plot", None)
    doc["files"] = files
    write_text(os.path.join(folder, "report.txt"), text)
    write_json(os.path.join(folder, "report.json"), doc)
    return text
