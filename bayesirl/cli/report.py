"""``bayesirl report DIR``: arguments → :class:`~bayesirl.app.report.ReportOptions` →
:func:`~bayesirl.app.report.run_report`."""

from __future__ import annotations

import sys

from bayesirl.app.report import DEFAULT_MAX_PLOT_WEIGHTS, ReportOptions
from bayesirl.cli import types as t

__all__ = ["NAME", "add_parser", "run", "main"]

#: The subcommand's name on the command line.
NAME = "report"


def add_parser(sub) -> None:
    """Add ``report`` to the ``bayesirl`` subparsers."""
    rep = sub.add_parser(
        "report", help="intervals, policy-loss bounds, sufficiency and plots of a fitted run",
        description="Write DIR/report/: credible intervals, a high-confidence bound on the "
                    "policy loss (Brown & Niekum 2018), a demonstration-sufficiency verdict "
                    "(Trinh et al. 2024), diagnostics and plots.")
    rep.add_argument("run_dir", metavar="DIR", help="a folder written by 'bayesirl fit --out DIR'")
    rep.add_argument("--alpha", type=t.open_probability, default=0.95,
                     help="quantile level α of the VaR bound (default 0.95)")
    rep.add_argument("--delta", type=t.open_probability, default=0.05,
                     help="the bound holds with probability >= 1 − δ (default 0.05)")
    rep.add_argument("--epsilon", type=t.positive_float, default=0.1,
                     help="demonstrations are sufficient when the α-VaR bound on the normalised "
                          "EVD is below ε (default 0.1)")
    rep.add_argument("--hdi-prob", type=t.open_probability, default=0.94,
                     help="mass of the credible intervals (default 0.94)")
    rep.add_argument("--policy", default="map", metavar="map|mean|FILE",
                     help="evaluation policy: optimal policy of the MAP draw (default), of the "
                          "posterior-mean reward, or your own policy from a .json/.npy FILE "
                          "(S actions, or an S x A table of action probabilities)")
    rep.add_argument("--baseline", default="uniform", metavar="uniform|FILE|NAME",
                     help="baseline policy of the percent improvement (default: uniformly "
                          "random; FILE as for --policy); for a trajectory run the NAME of the "
                          "candidate the regret is bounded against (default: the first)")
    rep.add_argument("--policies", default=None, metavar="FILE.npz",
                     help="trajectory runs: candidate policies, one array per policy named by "
                          "its key, (n, F) rollout feature counts or (F,) expected counts "
                          "(default: the run's trajectories)")
    rep.add_argument("--sample-size", choices=("draws", "ess"), default="ess",
                     help="n of the headline bound: all draws, or thinned to the effective "
                          "sample size (default ess; both are in report.json)")
    rep.add_argument("--grid-shape", type=t.grid, default=None,
                     help="HxW for the reward maps when DIR has no known grid environment")
    rep.add_argument("--max-plot-weights", type=t.positive_int, default=DEFAULT_MAX_PLOT_WEIGHTS,
                     help=f"weights in the trace/rank plots (default {DEFAULT_MAX_PLOT_WEIGHTS})")
    rep.add_argument("--dims", type=t.id_list, default=None, metavar="I,J",
                     help="continuous-state runs: the two state dimensions of the reward and "
                          "policy plots, the others fixed at their demonstrated median "
                          "(default: CartPole-v1 2,3 (pole angle and angular velocity), "
                          "Acrobot-v1 4,5, MountainCar-v0 0,1, LunarLander-v3 0,1; else 0,1)")
    rep.add_argument("--force", action="store_true", help="replace an existing DIR/report")
    rep.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings")


def run(args) -> int:
    """Run ``bayesirl report``; 0 on success."""
    from bayesirl.app.report import run_report

    opts = ReportOptions(alpha=args.alpha, delta=args.delta, epsilon=args.epsilon,
                         hdi_prob=args.hdi_prob, policy=args.policy, baseline=args.baseline,
                         sample_size=args.sample_size, grid_shape=args.grid_shape,
                         max_plot_weights=args.max_plot_weights, policies=args.policies,
                         dims=args.dims)
    run_report(args.run_dir, opts, force=args.force, quiet=args.quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``report`` as a standalone command (same arguments as ``bayesirl report``)."""
    from bayesirl.cli import main as cli_main

    return cli_main(["report", *(argv if argv is not None else sys.argv[1:])])
