"""``bayesirl query DIR``: the next query to ask, scored from a fitted posterior.

    bayesirl query runs/gridworld --kind state --acquisition bald --top-k 5
    bayesirl query runs/gridworld --kind preference --acquisition mutual-information --json

β, Q-values, likelihoods and the preference margin come from the run's configuration
(``config.json``; older folders: ``summary.json``), read by :func:`bayesirl.app.run.load_run`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesirl.app.errors import UsageError
from bayesirl.app.run import load_run
from bayesirl.app.world import beta_values
from bayesirl.likelihoods.registry import policy_sources, required_sources

__all__ = ["QueryOptions", "run_query", "format_query", "KINDS", "MAX_SHOWN_STEPS"]

#: What can be asked: a demonstration at a state, or a comparison of two trajectories.
KINDS = ("state", "preference")
#: Steps of a candidate trajectory printed in the text output (all are in the JSON).
MAX_SHOWN_STEPS = 12


@dataclass(frozen=True)
class QueryOptions:
    """Settings of a query.

    Attributes:
        kind: ``"state"`` or ``"preference"``.
        acquisition: a name from :data:`bayesirl.active.STATE_ACQUISITIONS` or
            :data:`~bayesirl.active.PREFERENCE_ACQUISITIONS` (None: bald / mutual-information).
        top_k: queries listed (>= 1).
        asked: states (``"3,7"``) or candidate pairs (``"1-4,2-5"``) already asked.
        candidates: a preferences-format JSON whose trajectories are the candidates, or None.
        num_candidates: generated candidates (>= 2).
        num_draws: posterior draws used (>= 1).
        alpha: quantile level of ``active-var``, in (0, 1).
        seed: seed of the draw subset, random scores and candidate rollouts.
    """

    kind: str = "state"
    acquisition: str | None = None
    top_k: int = 5
    asked: str = ""
    candidates: str | None = None
    num_candidates: int = 30
    num_draws: int = 500
    alpha: float = 0.95
    seed: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise UsageError(f"--kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.top_k < 1 or self.num_draws < 1 or self.num_candidates < 2:
            raise UsageError("--top-k/--num-draws/--num-candidates: --top-k and --num-draws "
                             "must be >= 1 and --num-candidates >= 2")
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha: expected a number in (0, 1), got {self.alpha}")
        if self.seed < 0:
            raise UsageError(f"--seed: expected an integer >= 0, got {self.seed}")


def run_query(run_dir: str, opts: QueryOptions = QueryOptions()) -> dict:
    """Score the next queries from the posterior in ``run_dir``.

    A run without an MDP can only be asked for preferences between trajectories of a pool
    (its own trajectories, or ``opts.candidates``, a trajectories ``.npz``).

    Returns:
        ``{"dir", "kind", "num_draws", "acquisition", "queries": [...]}``, best first; a
        preference query lists both trajectories (states and actions; for a pool, their rows).

    Raises:
        UsageError: not a run folder, a single-draw (MAP) run with a disagreement-based
            acquisition, an unknown acquisition, a bad ``asked``.
    """
    import jax
    import jax.numpy as jnp

    run = load_run(run_dir, need_config=True)
    if run.kind == "trajectories":
        return _pool_queries(run, opts)
    mdp = run.mdp
    w_all = np.asarray(run.idata.posterior["reward_weights"]).reshape(-1, mdp.num_features)
    if len(w_all) < 2 and opts.acquisition != "random":
        raise UsageError(f"DIR: {run_dir} holds a single draw (a MAP fit): the acquisitions "
                         "score the disagreement between posterior draws; fit with --sampler "
                         "nuts or mh, or use --acquisition random")
    pick = np.random.default_rng(opts.seed).choice(len(w_all), min(opts.num_draws, len(w_all)),
                                                   replace=False)
    weights = jnp.asarray(w_all[pick], mdp.features.dtype)
    key = jax.random.PRNGKey(opts.seed)
    result = {"dir": str(run_dir), "kind": opts.kind, "num_draws": int(weights.shape[0])}
    if opts.kind == "state":
        result.update(_state_queries(run, opts, weights, pick, key))
    else:
        result.update(_preference_queries(run, opts, weights, pick, key))
    return result


def _preference_sources(run) -> tuple[str, ...]:
    return required_sources(run.config.likelihood, "preferences")


def _state_queries(run, opts, weights, pick, key) -> dict:
    import jax.numpy as jnp

    from bayesirl.active import choose_states, state_scores

    acq = opts.acquisition or "bald"
    demo_sources = policy_sources(run.config.likelihood) or ["boltzmann"]
    beta = jnp.asarray(beta_values(run.idata, run.config, demo_sources, pick), weights.dtype)
    asked = _parse_states(opts.asked, run.mdp.num_states)
    scores = state_scores(acq, run.mdp, weights, beta=beta, q=run.config.q, alpha=opts.alpha,
                          rng_key=key)
    choice = choose_states(scores, run.mdp, asked, opts.top_k)
    return {"acquisition": acq, "queries": [{"state": int(s), "score": float(v)}
                                            for s, v in zip(choice.indices, choice.scores)]}


def _candidates(run, opts, weights, key):
    """Candidate trajectories: the file's, or one rollout each of noisy versions of the
    posterior-mean policy and of the optimal policies of some posterior draws."""
    import jax
    import jax.numpy as jnp

    from bayesirl.active.acquisitions import candidate_trajectories
    from bayesirl.data.mdp import reward_from_weights
    from bayesirl.data.preferences import load_preferences
    from bayesirl.solvers import value_iteration

    mdp = run.mdp
    if opts.candidates:
        try:
            return load_preferences(opts.candidates, mdp)[0]
        except (OSError, ValueError, TypeError) as err:
            raise UsageError(f"--candidates: {err}") from None
    mean_policy = value_iteration(mdp, reward_from_weights(mdp, weights.mean(0))).policy
    n = opts.num_candidates
    eps = jnp.linspace(0.0, 1.0, n - n // 2)[:, None, None]
    noisy = (1 - eps) * mean_policy + eps / mdp.num_actions
    sampled = jax.vmap(lambda w: value_iteration(mdp, reward_from_weights(mdp, w)).policy)(
        weights[: n // 2])
    horizon = int(run.summary.get("mdp", {}).get("max_episode_steps") or 100)
    return candidate_trajectories(key, mdp, jnp.concatenate([noisy, sampled]), horizon)


def _preference_queries(run, opts, weights, pick, key) -> dict:
    import jax.numpy as jnp

    from bayesirl.active import choose_pairs, preference_scores
    from bayesirl.solvers.occupancy import empirical_feature_counts

    acq = opts.acquisition or "mutual-information"
    beta = jnp.asarray(beta_values(run.idata, run.config, _preference_sources(run), pick),
                       weights.dtype)
    trajs = _candidates(run, opts, weights, key)
    phi = empirical_feature_counts(run.mdp, trajs)
    ia, ib = np.triu_indices(trajs.num_trajectories, k=1)
    margin = float(run.config.margin or 0.0)
    scores = preference_scores(acq, weights, phi[ia], phi[ib], beta=beta, margin=margin,
                               rng_key=key)
    choice = choose_pairs(scores, _parse_pairs(opts.asked, ia, ib), opts.top_k)
    states, actions, mask = (np.asarray(x) for x in trajs)

    def traj(i):
        length = int(mask[i].sum())
        return {"index": int(i), "states": states[i, :length].tolist(),
                "actions": actions[i, :length].tolist()}

    return {"acquisition": acq,
            "queries": [{"first": traj(ia[p]), "second": traj(ib[p]), "score": float(v)}
                        for p, v in zip(choice.indices, choice.scores)]}


def _steps(t: dict) -> str:
    pairs = [f"{s}:{a}" for s, a in zip(t["states"], t["actions"])]
    more = f" … (+{len(pairs) - MAX_SHOWN_STEPS} steps)" if len(pairs) > MAX_SHOWN_STEPS else ""
    return " ".join(pairs[:MAX_SHOWN_STEPS]) + more


def format_query(result: dict) -> str:
    """The table printed by ``bayesirl query`` (preference queries show both trajectories as
    ``state:action`` steps; ``--json`` has them in full)."""
    if "pool" in result:
        return _format_pool_query(result)
    lines = [f"Next {result['kind']} queries by {result['acquisition']} "
             f"({result['num_draws']} posterior draws), best first:"]
    for rank, q in enumerate(result["queries"], 1):
        if result["kind"] == "state":
            lines.append(f"  {rank}. state {q['state']:5d}  score {q['score']:.4g}")
        else:
            lines.append(f"  {rank}. trajectories {q['first']['index']} vs "
                         f"{q['second']['index']}  score {q['score']:.4g}")
            for side in ("first", "second"):
                lines.append(f"       {q[side]['index']:>3}: {_steps(q[side])}")
    return "\n".join(lines) + "\n"


def _parse_states(text: str, num_states: int) -> list[int]:
    if not text:
        return []
    try:
        states = [int(x) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"--asked: expected comma-separated state indices, got {text!r}") from None
    bad = [s for s in states if not 0 <= s < num_states]
    if bad:
        raise UsageError(f"--asked: state {bad[0]} is out of range (S = {num_states})")
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
            raise UsageError(f"--asked: expected candidate pairs like 3-7, got {item!r}") from None
    return out


# ---------------------------------------------------------------------------------------------
# Runs without an MDP: pairs from a pool of trajectories
# ---------------------------------------------------------------------------------------------


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


def _pool_queries(run, opts: QueryOptions) -> dict:
    """Score every pair of a trajectory pool (a run without an MDP) and return the best
    ``opts.top_k``.

    Args:
        run: the loaded run (``trajectories``).
        opts: :class:`QueryOptions` (``kind`` must be ``"preference"``; ``candidates``: a
            trajectories ``.npz`` pool, or None for the run's own).

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
    F = run.trajectories.num_features
    w_all = np.asarray(run.idata.posterior["reward_weights"]).reshape(-1, F)
    if len(w_all) < 2 and acq != "random":
        raise UsageError(f"DIR: {run.path} holds a single draw (a MAP fit): the acquisitions "
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
                               beta=jnp.asarray(beta_values(run.idata, run.config,
                                                            _preference_sources(run), pick),
                                                jnp.float32),
                               margin=float(run.config.margin or 0.0),
                               rng_key=jax.random.PRNGKey(opts.seed))
    try:
        choice = choose_pairs(scores, sorted(set(asked)), opts.top_k)
    except ValueError as err:
        raise UsageError(f"--asked: {err}") from None
    return {"dir": str(run.path), "kind": "preference", "num_draws": int(len(pick)),
            "acquisition": acq, "pool": pool_name, "num_candidates": N,
            "num_excluded": len(set(asked)),
            "queries": [{"first": {"index": int(ia[p])}, "second": {"index": int(ib[p])},
                         "score": float(v)} for p, v in zip(choice.indices, choice.scores)]}


def _format_pool_query(result: dict) -> str:
    """The table printed by ``bayesirl query`` for a run without an MDP."""
    lines = [f"Next preference queries by {result['acquisition']} ({result['num_draws']} "
             f"posterior draws) over {result['num_candidates']} trajectories of "
             f"{result['pool']} ({result['num_excluded']} pairs excluded), best first:"]
    for rank, q in enumerate(result["queries"], 1):
        lines.append(f"  {rank}. trajectories {q['first']['index']} vs "
                     f"{q['second']['index']}  score {q['score']:.4g}")
    return "\n".join(lines) + "\n"
