"""``bayesirl sweep``: a sweep file → :func:`~bayesirl.app.sweep.run_sweep` → the table.

    bayesirl sweep sweep.toml --out runs/sweep --executor process
    bayesirl sweep sweep.toml --out runs/sweep --executor ray --address auto

Only parsing here: the job is :func:`bayesirl.app.sweep.run_sweep`.
"""

from __future__ import annotations

import os
import sys

from bayesirl.cli import types as t
from bayesirl.executors import EXECUTORS

__all__ = ["NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "sweep"


def add_parser(sub) -> None:
    """Add ``sweep`` to the ``bayesirl`` subparsers."""
    p = sub.add_parser("sweep", help="many fits over a grid of settings, one run folder each, "
                       "and a summary table",
                       description="Run 'bayesirl fit' for every combination of the settings "
                                   "in a TOML file ([base]: shared settings, [grid]: lists of "
                                   "values), each into its own run folder under --out, and "
                                   "write one summary table (sweep.csv, sweep.json). Finished "
                                   "runs are skipped, so a rerun resumes.")
    p.add_argument("config", metavar="CONFIG.toml", help="the sweep file")
    p.add_argument("--out", required=True, help="output folder (created if absent; finished "
                   "run folders in it are kept and skipped)")
    p.add_argument("--executor", choices=EXECUTORS, default="serial",
                   help="where the fits run: serial (this process, default), process (local "
                        "worker processes) or ray (a Ray cluster; needs pip install "
                        "\"bayesirl[distributed]\")")
    p.add_argument("--address", default=None,
                   help="with --executor ray: the cluster ('auto' or HOST:PORT; default: a "
                        "local Ray started for this sweep)")
    p.add_argument("--max-workers", type=t.positive_int, default=None,
                   help="fits at once with --executor process/ray (default: one per core)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no table")


def run(args) -> int:
    """Run ``bayesirl sweep``; 0 when every point finished, 1 when some failed."""
    from bayesirl.app.sweep import TABLE_CSV, read_sweep, run_sweep

    if args.address is not None and args.executor != "ray":
        raise t.CLIError(f"--address: applies to --executor ray, got --executor "
                         f"{args.executor}")
    plan = read_sweep(args.config)  # before anything slow: a bad file fails at once
    result = run_sweep(plan, args.out, executor=args.executor, address=args.address,
                       max_workers=args.max_workers, progress=not args.quiet)
    failed = [r for r in result.rows if r["status"] == "failed"]
    if not args.quiet:
        print(result.table, end="")
        print(f"Wrote {os.path.join(args.out, TABLE_CSV)} and {len(result.rows)} run folders")
    for row in failed:
        print(f"bayesirl: error: {row['name']}: {row['error']}", file=sys.stderr)
    return 1 if failed else 0
