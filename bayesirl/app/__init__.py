"""The application layer: run folders, the fit / report / query jobs and their plots.

The command line (:mod:`bayesirl.cli`) only parses arguments and calls into this package; a
notebook can do the same::

    from bayesirl.app import RunConfig, run_fit, run_report
    run_fit(RunConfig(env="gridworld", num_demos=20, sampler="mh"), "runs/grid")
    run_report("runs/grid")
"""

from bayesirl.app.config import BetaSpec, ConfigError, RunConfig
from bayesirl.app.errors import UsageError
from bayesirl.app.fit import RunResult, run_fit
from bayesirl.app.query import QueryOptions, run_query
from bayesirl.app.report import ReportOptions, run_report
from bayesirl.app.run import Run, load_run

__all__ = ["RunConfig", "BetaSpec", "ConfigError", "UsageError", "RunResult", "run_fit",
           "Run", "load_run", "ReportOptions", "run_report", "QueryOptions", "run_query"]
