"""``bayesirl query DIR --kind preference`` on a trajectory run: the next pair to compare from a
pool of trajectories given as features (issue 11).

The pool is the run's trajectories (``trajectories.npz`` in DIR; pairs the run's preferences
already compare are excluded) or ``--candidates POOL.npz`` (a trajectories file with the same
F features). Every pair of the pool is scored by a preference acquisition of
:mod:`bayesirl.active.acquisitions` — mutual information (Bıyık et al., CoRL 2019), volume
removal (Sadigh et al., RSS 2017) or random — over posterior draws of w, with the run's β of
``bradley-terry`` (its posterior draws when learned) and margin δ.
"""

from __future__ import annotations

import numpy as np

from bayesirl.app.errors import UsageError
from bayesirl.app.query import QueryOptions
from bayesirl.app.trajectory_fit import load_trajectory_run

__all__ = ["run_trajectory_query", "format_trajectory_query"]


def _beta(run, pick):
    """β of the preferences: posterior draws at ``pick`` when learned, else the number."""
    site = "beta" if run.config.likelihood == ("bradley-terry",) else "beta_bradley_terry"
    if site in run.idata.posterior:
        return np.asarray(run.idata.posterior[site]).reshape(-1)[pick]
    spec = run.config.betas.get("bradley-terry")
    return spec.value if spec is not None and not spec.learned else 1.0


def _pool(run, opts):
    if not opts.candidates:
        return run.trajectories, "the run's trajectories"
    from bayesirl.data.trajectories import load_trajectories

    try:
        pool = load_trajectories(opts.candidates)
    except (OSError, ValueError, TypeError) as err:
        raise UsageError(f"--candidates: {err}") from None
    F = run.trajectories.num_features
    if pool.num_features != F:
        raise UsageError(f"--candidates: expected trajectories with the run's F = {F} "
                         f"features, got {pool.num_features}")
    return pool, opts.candidates


def _asked(text: str, run, own_pool: bool, N: int, index: dict) -> list[int]:
    asked = []
    if own_pool and run.preferences is not None:
        for a, b in zip(np.asarray(run.preferences.first), np.asarray(run.preferences.second)):
            if a != b:
                asked.append(index[tuple(sorted((int(a), int(b))))])
    for item in filter(None, text.split(",")):
        try:
            a, b = sorted(int(x) for x in item.split("-"))
            asked.append(index[(a, b)])
        except (ValueError, KeyError):
            raise UsageError(f"--asked: expected pairs i-j of distinct pool trajectories "
                             f"(0..{N - 1}), got {item!r}") from None
    return asked


def run_trajectory_query(run_dir: str, opts: QueryOptions = QueryOptions(kind="preference")
                         ) -> dict:
    """Score every pair of a trajectory pool and return the best ``opts.top_k``.

    Args:
        run_dir: a folder written by ``bayesirl fit --trajectories``.
        opts: :class:`~bayesirl.app.query.QueryOptions` (``kind`` must be ``"preference"``;
            ``candidates``: a trajectories ``.npz`` pool, or None for the run's own).

    Returns:
        ``{"dir", "kind", "num_draws", "acquisition", "pool", "num_candidates",
        "num_excluded", "queries": [{"first": {"index"}, "second": {"index"}, "score"}]}``,
        best first (indices are rows of the pool).

    Raises:
        UsageError: ``kind="state"``, an unknown acquisition, a single-draw run with a
            disagreement-based acquisition, a bad pool or ``asked``, or every pair asked.
    """
    import jax
    import jax.numpy as jnp

    from bayesirl.active import PREFERENCE_ACQUISITIONS, choose_pairs, preference_scores

    if opts.kind != "preference":
        raise UsageError("--kind: a trajectory run has no states to ask about; use --kind "
                         "preference")
    acq = opts.acquisition or "mutual-information"
    if acq not in PREFERENCE_ACQUISITIONS:
        raise UsageError(f"--acquisition: expected one of {', '.join(PREFERENCE_ACQUISITIONS)} "
                         f"for --kind preference, got {acq!r}")
    run = load_trajectory_run(run_dir)
    F = run.trajectories.num_features
    w_all = np.asarray(run.idata.posterior["reward_weights"]).reshape(-1, F)
    if len(w_all) < 2 and acq != "random":
        raise UsageError(f"DIR: {run_dir} holds a single draw (a MAP fit): the acquisitions "
                         "score the disagreement between posterior draws; fit with --sampler "
                         "nuts or mh, or use --acquisition random")
    pick = np.random.default_rng(opts.seed).choice(len(w_all), min(opts.num_draws, len(w_all)),
                                                   replace=False)
    pool, pool_name = _pool(run, opts)
    N = pool.num_trajectories
    if N < 2:
        raise UsageError(f"--candidates: the pool needs at least two trajectories, got {N}")
    ia, ib = np.triu_indices(N, k=1)
    index = {(int(a), int(b)): p for p, (a, b) in enumerate(zip(ia, ib))}
    asked = _asked(opts.asked, run, not opts.candidates, N, index)
    phi = jnp.asarray(pool.feature_counts, jnp.float32)
    scores = preference_scores(acq, jnp.asarray(w_all[pick], jnp.float32), phi[ia], phi[ib],
                               beta=jnp.asarray(_beta(run, pick), jnp.float32),
                               margin=float(run.config.margin or 0.0),
                               rng_key=jax.random.PRNGKey(opts.seed))
    try:
        choice = choose_pairs(scores, sorted(set(asked)), opts.top_k)
    except ValueError as err:
        raise UsageError(f"--asked: {err}") from None
    return {"dir": str(run_dir), "kind": "preference", "num_draws": int(len(pick)),
            "acquisition": acq, "pool": pool_name, "num_candidates": N,
            "num_excluded": len(set(asked)),
            "queries": [{"first": {"index": int(ia[p])}, "second": {"index": int(ib[p])},
                         "score": float(v)} for p, v in zip(choice.indices, choice.scores)]}


def format_trajectory_query(result: dict) -> str:
    """The table printed by ``bayesirl query`` for a trajectory run."""
    lines = [f"Next preference queries by {result['acquisition']} ({result['num_draws']} "
             f"posterior draws) over {result['num_candidates']} trajectories of "
             f"{result['pool']} ({result['num_excluded']} pairs excluded), best first:"]
    for rank, q in enumerate(result["queries"], 1):
        lines.append(f"  {rank}. trajectories {q['first']['index']} vs "
                     f"{q['second']['index']}  score {q['score']:.4g}")
    return "\n".join(lines) + "\n"
