"""``bayesirl query DIR``: arguments → :class:`~bayesirl.app.query.QueryOptions` →
:func:`~bayesirl.app.query.run_query` → a table or JSON."""

from __future__ import annotations

import json
import sys

from bayesirl.active import PREFERENCE_ACQUISITIONS, STATE_ACQUISITIONS
from bayesirl.app.query import KINDS, QueryOptions
from bayesirl.cli import types as t

__all__ = ["NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "query"


def add_parser(sub) -> None:
    """Add ``query`` to the ``bayesirl`` subparsers."""
    q = sub.add_parser("query", help="the next state or preference query, from a run folder",
                       description="Score the next query from the posterior in a folder "
                                   "written by 'bayesirl fit'.")
    q.add_argument("dir", help="run folder with mdp.npz, posterior.nc and config.json")
    q.add_argument("--kind", choices=KINDS, default="state")
    q.add_argument("--acquisition", default=None,
                   help=f"state: {', '.join(STATE_ACQUISITIONS)} (default bald); preference: "
                        f"{', '.join(PREFERENCE_ACQUISITIONS)} (default mutual-information)")
    q.add_argument("--top-k", type=t.positive_int, default=5,
                   help="number of queries to list (default 5)")
    q.add_argument("--asked", default="", help="comma-separated states (or candidate pairs i-j) "
                                               "already asked, excluded")
    q.add_argument("--candidates", help="preferences-format JSON whose trajectories are the "
                                        "candidates (default: rollouts of posterior policies); "
                                        "for a trajectory run a trajectories .npz pool "
                                        "(default: the run's trajectories)")
    q.add_argument("--num-candidates", type=lambda s: t.positive_int(s, 2), default=30,
                   help="generated candidate trajectories (default 30)")
    q.add_argument("--num-draws", type=t.positive_int, default=500,
                   help="posterior draws used (default 500)")
    q.add_argument("--alpha", type=t.open_probability, default=0.95,
                   help="quantile of active-var (default 0.95)")
    q.add_argument("--seed", type=t.seed, default=0,
                   help="seed of the draw subset, random scores and candidate rollouts")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    """Run ``bayesirl query``; 0 on success."""
    from bayesirl.app.query import format_query, run_query

    opts = QueryOptions(kind=args.kind, acquisition=args.acquisition, top_k=args.top_k,
                        asked=args.asked, candidates=args.candidates,
                        num_candidates=args.num_candidates, num_draws=args.num_draws,
                        alpha=args.alpha, seed=args.seed)
    result = run_query(args.dir, opts)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        print(format_query(result), end="")
    return 0
