"""``bayesirl query DIR``: the next query to ask, scored from a fitted posterior.

    bayesirl query runs/gridworld --kind state --acquisition bald --top-k 5
    bayesirl query runs/gridworld --kind preference --acquisition mutual-information --json
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["add_query_parser", "run_query"]


def add_query_parser(sub, parser_class) -> None:
    """Add the ``query`` subcommand to the ``bayesirl`` argparse subparsers."""
    from bayesirl.active import PREFERENCE_ACQUISITIONS, STATE_ACQUISITIONS

    q = sub.add_parser("query", help="the next state or preference query, from a run folder",
                       description="Score the next query from the posterior in a folder "
                                   "written by 'bayesirl fit'.")
    q.add_argument("dir", help="run folder with mdp.npz, posterior.nc and summary.json")
    q.add_argument("--kind", choices=("state", "preference"), default="state")
    q.add_argument("--acquisition", default=None,
                   help=f"state: {', '.join(STATE_ACQUISITIONS)} (default bald); preference: "
                        f"{', '.join(PREFERENCE_ACQUISITIONS)} (default mutual-information)")
    q.add_argument("--top-k", type=int, default=5, help="number of queries to list (default 5)")
    q.add_argument("--asked", default="", help="comma-separated states (or candidate pairs i-j) "
                                               "already asked, excluded")
    q.add_argument("--candidates", help="preferences-format JSON whose trajectories are the "
                                        "candidates (default: rollouts of posterior policies)")
    q.add_argument("--num-candidates", type=int, default=30,
                   help="generated candidate trajectories (default 30)")
    q.add_argument("--num-draws", type=int, default=500, help="posterior draws used (default 500)")
    q.add_argument("--alpha", type=float, default=0.95, help="quantile of active-var (default 0.95)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _load_run(path: str):
    from bayesirl import _arviz
    from bayesirl.data.mdp import load_mdp

    for name in ("mdp.npz", "posterior.nc", "summary.json"):
        if not os.path.isfile(os.path.join(path, name)):
            raise ValueError(f"dir: {path} has no {name}; is it a folder written by 'bayesirl fit'?")
    mdp = load_mdp(os.path.join(path, "mdp.npz"))
    idata = _arviz.from_netcdf(os.path.join(path, "posterior.nc"))
    with open(os.path.join(path, "summary.json")) as f:
        summary = json.load(f)
    return mdp, idata, summary


def _beta_of(idata, summary, sources):
    """β of the first demonstration source: posterior draws when learned, else the setting."""
    import numpy as np

    for src in sources:
        for name in ("beta", "beta_" + src.replace("-", "_")):
            if name in idata.posterior:
                return np.asarray(idata.posterior[name]).reshape(-1)
        betas = summary.get("settings", {}).get("betas", {})
        if isinstance(betas.get(src), (int, float)):
            return float(betas[src])
    return 1.0


def run_query(args) -> int:
    """Run ``bayesirl query``; returns the exit status."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from bayesirl.active.acquisitions import (
        candidate_trajectories,
        choose_pairs,
        choose_states,
        preference_scores,
        state_scores,
    )
    from bayesirl.data.mdp import reward_from_weights
    from bayesirl.solvers.occupancy import empirical_feature_counts
    from bayesirl.data.preferences import load_preferences
    from bayesirl.solvers import value_iteration

    if args.top_k < 1 or args.num_draws < 1 or args.num_candidates < 2:
        raise ValueError("--top-k and --num-draws must be >= 1 and --num-candidates >= 2")
    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha: expected a number in (0, 1), got {args.alpha}")
    mdp, idata, summary = _load_run(args.dir)
    w_all = np.asarray(idata.posterior["reward_weights"]).reshape(-1, mdp.num_features)
    if len(w_all) < 2 and args.acquisition != "random":
        raise ValueError(f"{args.dir} holds a single draw (a MAP fit): the acquisitions score "
                         "the disagreement between posterior draws; fit with --sampler nuts "
                         "or mh, or use --acquisition random")
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(w_all), size=min(args.num_draws, len(w_all)), replace=False)
    weights = jnp.asarray(w_all[pick], mdp.features.dtype)
    likelihoods = summary.get("settings", {}).get("likelihood") or ["boltzmann"]
    key = jax.random.PRNGKey(args.seed)
    result = {"dir": args.dir, "kind": args.kind, "num_draws": int(weights.shape[0])}
    if args.kind == "state":
        acq = args.acquisition or "bald"
        beta = _beta_of(idata, summary, [s for s in likelihoods if s != "bradley-terry"])
        if not np.isscalar(beta):
            beta = jnp.asarray(np.asarray(beta)[pick], weights.dtype)
        q = summary.get("settings", {}).get("q", "soft")
        asked = _parse_states(args.asked, mdp.num_states)
        scores = state_scores(acq, mdp, weights, beta=beta, q=q, alpha=args.alpha, key=key)
        choice = choose_states(scores, mdp, asked, args.top_k)
        result["acquisition"] = acq
        result["queries"] = [{"state": int(s), "score": float(v)}
                             for s, v in zip(choice.indices, choice.scores)]
    else:
        acq = args.acquisition or "mutual-information"
        beta = _beta_of(idata, summary, ["bradley-terry"])
        if not np.isscalar(beta):
            beta = jnp.asarray(np.asarray(beta)[pick], weights.dtype)
        if args.candidates:
            trajs, _ = load_preferences(args.candidates, mdp)
        else:
            mean_policy = value_iteration(mdp, reward_from_weights(mdp, weights.mean(0))).policy
            n = args.num_candidates
            eps = jnp.linspace(0.0, 1.0, n - n // 2)[:, None, None]
            noisy = (1 - eps) * mean_policy + eps / mdp.num_actions
            sampled = jax.vmap(lambda w: value_iteration(mdp, reward_from_weights(mdp, w)).policy)(
                weights[: n // 2])
            trajs = candidate_trajectories(key, mdp, jnp.concatenate([noisy, sampled]),
                                           int(summary.get("mdp", {}).get("max_episode_steps") or 100))
        Phi = empirical_feature_counts(mdp, trajs)
        ia, ib = np.triu_indices(trajs.num_trajectories, k=1)
        delta = float(summary.get("settings", {}).get("delta") or 0.0)
        scores = preference_scores(acq, weights, Phi[ia], Phi[ib], beta=beta, delta=delta, key=key)
        asked = _parse_pairs(args.asked, ia, ib)
        choice = choose_pairs(scores, asked, args.top_k)
        states, actions, mask = (np.asarray(x) for x in trajs)

        def traj(i):
            L = int(mask[i].sum())
            return {"index": int(i), "states": states[i, :L].tolist(),
                    "actions": actions[i, :L].tolist()}

        result["acquisition"] = acq
        result["queries"] = [{"first": traj(ia[p]), "second": traj(ib[p]), "score": float(v)}
                             for p, v in zip(choice.indices, choice.scores)]
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        print(f"Next {args.kind} queries by {result['acquisition']} "
              f"({result['num_draws']} posterior draws), best first:")
        for rank, qr in enumerate(result["queries"], 1):
            if args.kind == "state":
                print(f"  {rank}. state {qr['state']:5d}  score {qr['score']:.4g}")
            else:
                print(f"  {rank}. trajectories {qr['first']['index']} vs {qr['second']['index']}"
                      f"  score {qr['score']:.4g}")
    return 0


def _parse_states(text: str, num_states: int) -> list[int]:
    if not text:
        return []
    try:
        states = [int(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"--asked: expected comma-separated state indices, got {text!r}") from None
    bad = [s for s in states if not 0 <= s < num_states]
    if bad:
        raise ValueError(f"--asked: state {bad[0]} is out of range (S = {num_states})")
    return states


def _parse_pairs(text: str, ia, ib) -> list[int]:
    if not text:
        return []
    index = {(int(a), int(b)): p for p, (a, b) in enumerate(zip(ia, ib))}
    out = []
    for item in text.split(","):
        try:
            a, b = sorted(int(x) for x in item.split("-"))
            out.append(index[(a, b)])
        except (ValueError, KeyError):
            raise ValueError(f"--asked: expected candidate pairs like 3-7, got {item!r}") from None
    return out
