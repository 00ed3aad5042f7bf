"""The application layer: run folders, the fit / report / query jobs and their plots.

The command line (:mod:`bayesirl.cli`) only parses arguments and calls into this package; a
notebook can do the same::

    from bayesirl.app import RunConfig, run_fit, run_report
    run_fit(RunConfig(env="gridworld", num_demos=20, sampler="mh"), "runs/grid")
    run_report("runs/grid")

The names below are imported on first use (PEP 562), so that ``bayesirl fit`` does not load
the report's plotting code.
"""

import importlib

__all__ = ["RunConfig", "BetaSpec", "ConfigError", "UsageError", "RunResult", "run_fit",
           "Run", "load_run", "ReportOptions", "run_report", "QueryOptions", "run_query",
           "read_sweep", "run_sweep"]

_LAZY = {"RunConfig": "config", "BetaSpec": "config", "ConfigError": "config",
         "UsageError": "errors", "RunResult": "fit", "run_fit": "fit", "Run": "run",
         "load_run": "run", "ReportOptions": "report", "run_report": "report",
         "QueryOptions": "query", "run_query": "query", "read_sweep": "sweep",
         "run_sweep": "sweep"}


def __getattr__(name: str):
    """Import a public name of :mod:`bayesirl.app` on first access."""
    if name not in _LAZY:
        raise AttributeError(f"module 'bayesirl.app' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bayesirl.app.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
