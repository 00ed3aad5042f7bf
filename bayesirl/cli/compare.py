"""``bayesirl compare RUN_A RUN_B``: arguments →
:func:`~bayesirl.app.compare.compare_run_folders` → the PSIS-LOO table and the
posterior-predictive check, printed (and written as JSON with ``--json PATH``)."""

from __future__ import annotations

from bayesirl.app.compare import PPC_LEVEL
from bayesirl.app.errors import UsageError
from bayesirl.cli import types as t

__all__ = ["NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "compare"


def add_parser(sub) -> None:
    """Add ``compare`` to the ``bayesirl`` subparsers."""
    cmp = sub.add_parser(
        "compare", help="PSIS-LOO comparison of two fitted runs and a posterior-predictive check",
        description="Compare two runs fitted to the same observations (e.g. beta learned vs "
                    "fixed, Boltzmann vs MaxEnt, features A vs B): the PSIS-LOO table of "
                    "ArviZ's az.compare (Vehtari, Gelman & Gabry 2017) and, per run, the "
                    "posterior-predictive check of the action frequencies per demonstrated "
                    "state. Needs runs fitted with --sampler nuts or mh.")
    cmp.add_argument("run_a", metavar="RUN_A", help="a folder written by 'bayesirl fit --out'")
    cmp.add_argument("run_b", metavar="RUN_B", help="another one, fitted to the same data")
    cmp.add_argument("--var-name", default=None,
                     help="log-likelihood variable to compare: boltzmann_actions, "
                          "maxent_actions or preference_labels (default: the only one the "
                          "runs share)")
    cmp.add_argument("--level", type=t.open_probability, default=PPC_LEVEL,
                     help="two-sided level at which a (state, action) cell of the "
                          f"posterior-predictive check is flagged (default {PPC_LEVEL:g})")
    cmp.add_argument("--json", default=None, metavar="PATH",
                     help="also write the table and the checks as JSON to PATH")


def run(args) -> int:
    """Run ``bayesirl compare``; 0 on success."""
    from bayesirl._io import write_json
    from bayesirl.app.compare import compare_run_folders, render_comparison

    result = compare_run_folders(args.run_a, args.run_b, var_name=args.var_name,
                                 level=args.level)
    print(render_comparison(result))
    if args.json is not None:
        try:
            write_json(args.json, result)
        except OSError as err:
            raise UsageError(f"--json: cannot write {args.json} ({err.strerror or err})") from None
    return 0
