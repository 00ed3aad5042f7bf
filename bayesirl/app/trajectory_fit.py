"""The fit job without an MDP: trajectory features in, a complete run folder out (issue 11).

:func:`run_trajectory_fit` is what ``bayesirl fit --trajectories T.npz ...`` runs::

    from bayesirl.app import RunConfig
    from bayesirl.app.trajectory_fit import run_trajectory_fit
    run_trajectory_fit(RunConfig(trajectories="trajs.npz", preferences="prefs.json",
                                 demos_ids=(40, 41), prior="l2-sphere", sampler="mh"),
                       "runs/traj")

Evidence: ``preferences`` (Bradley–Terry / weak / rankings over the rows of the npz; Bayesian
REX, Brown et al. 2020) and/or ``demos_ids`` (sample-based MaxEnt with the partition function
importance-sampled over ``background_ids``, default every other row; Boularias et al. 2011),
fitted by :func:`bayesirl.inference.fit_trajectories.fit_trajectories` with any sampler and
prior. The folder holds ``trajectories.npz`` and ``preferences.json`` (the validated inputs;
the preferences' ids index ``trajectories.npz``), ``posterior.nc``, ``config.json`` and
``summary.json``, staged next to ``out`` and swapped in whole
(:func:`bayesirl._io.staged_folder`). ``bayesirl report`` and ``bayesirl query`` read it back
with :func:`load_trajectory_run`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import warnings
from typing import Callable, NamedTuple

import numpy as np

from bayesirl import _arviz
from bayesirl._io import staged_folder, write_json
from bayesirl.app.checks import check_memory, check_out
from bayesirl.app.config import RunConfig
from bayesirl.app.errors import UsageError
from bayesirl.app.fit import RunResult
from bayesirl.app.run import REDO_HINT, read_config
from bayesirl.app.summary import (diagnostics_summary, format_warning_block, tree_depth_hint,
                                  weight_table)

__all__ = ["TRAJECTORIES_FILE", "PREFERENCES_FILE", "TrajectoryRun", "is_trajectory_run",
           "load_trajectory_inputs", "load_trajectory_run", "run_trajectory_fit"]

#: Names of the input copies in a trajectory run folder.
TRAJECTORIES_FILE = "trajectories.npz"
#: Name of the preferences copy in a trajectory run folder.
PREFERENCES_FILE = "preferences.json"


class TrajectoryRun(NamedTuple):
    """A loaded trajectory run folder.

    Attributes:
        path: the folder.
        trajectories: :class:`~bayesirl.data.trajectories.Trajectories` (N, F).
        preferences: P comparisons over them, or None.
        idata: the posterior (``reward_weights`` (C, M, F), learned β's).
        config: the :class:`RunConfig` (``trajectories`` set).
        summary: ``summary.json`` ({} when absent).
    """

    path: str
    trajectories: object
    preferences: object
    idata: object
    config: RunConfig
    summary: dict


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def load_trajectory_inputs(config: RunConfig):
    """The trajectories and preferences a config names, validated.

    Returns:
        ``(Trajectories, Preferences or None)``.

    Raises:
        UsageError: a file that cannot be read or is invalid, or ids outside [0, N) (the
            message starts with the flag).
    """
    from bayesirl.data.trajectories import load_trajectories, load_trajectory_preferences

    try:
        trajs = load_trajectories(config.trajectories)
    except (OSError, ValueError, TypeError) as err:
        raise UsageError(f"--trajectories: {err}") from None
    N = trajs.num_trajectories
    prefs = None
    if config.preferences is not None:
        try:
            prefs = load_trajectory_preferences(config.preferences, N)
        except (OSError, ValueError, TypeError) as err:
            raise UsageError(f"--preferences: {err}") from None
    for flag, ids in (("--demos-ids", config.demos_ids), ("--background-ids",
                                                          config.background_ids)):
        bad = [i for i in ids or () if not 0 <= i < N]
        if bad:
            raise UsageError(f"{flag}: id {bad[0]} is out of range; {config.trajectories} has "
                             f"{N} trajectories (ids 0..{N - 1})")
    if config.demos_ids is not None and trajs.log_probs is None:
        raise UsageError(f"--demos-ids: the sample-based MaxEnt likelihood needs the sampling "
                         f"log-probabilities of the background ('log_probs' in "
                         f"{config.trajectories})")
    return trajs, prefs


def _margin(config: RunConfig, prefs) -> float:
    if config.margin is not None:
        return config.margin
    return 1.0 if prefs is not None and bool(np.any(np.asarray(prefs.label) == 2)) else 0.0


def run_trajectory_fit(config: RunConfig, out: str | os.PathLike, force: bool = False, *,
                       progress_bar: bool = False,
                       echo: Callable[[str], None] = _stderr) -> RunResult:
    """Fit a posterior from trajectory features end to end and write its folder.

    Args:
        config: a :class:`RunConfig` with ``trajectories`` (and ``preferences`` and/or
            ``demos_ids``).
        out: the run folder; empty or absent unless ``force``.
        force: replace a non-empty ``out`` as a whole.
        progress_bar: NumPyro's progress bar.
        echo: receives notes and warnings (importance-weight collapse, diagnostics).

    Returns:
        :class:`bayesirl.app.fit.RunResult`.

    Raises:
        UsageError: a bad ``out``, input file, id or setting, or a run too large for memory.
        OSError: writing failed (``out`` is then as it was).
    """
    from bayesirl.inference.fit_trajectories import fit_trajectories

    if config.trajectories is None:
        raise UsageError("--trajectories: this job fits trajectory-feature runs; use "
                         "bayesirl.app.fit.run_fit for --env/--mdp runs")
    start = time.perf_counter()
    out = os.fspath(out)
    messages = [f"bayesirl: note: removed {p}, left by an interrupted run"
                for p in check_out(out, force)]
    trajs, prefs = load_trajectory_inputs(config)
    config = dataclasses.replace(config, margin=_margin(config, prefs))
    check_memory(config.num_chains, config.num_samples, 2 * trajs.num_features + 8)
    for m in messages:
        echo(m)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = fit_trajectories(
            trajs, preferences=prefs, demonstrations=config.demos_ids,
            background=config.background_ids, method=config.sampler, prior=config.prior,
            prior_scale=config.prior_scale, betas=config.model_betas(), margin=config.margin,
            num_samples=config.num_samples, num_warmup=config.num_warmup,
            num_chains=config.num_chains, thinning=config.thinning, seed=config.seed,
            progress_bar=progress_bar)
    fit_warnings = [f"bayesirl: warning: {w.message}" for w in caught
                    if w.category.__name__ == "ImportanceWeightWarning"]
    summary, table, diag = summarise_trajectory_run(config, trajs, prefs, idata, start)
    late = [tree_depth_hint(idata)] + fit_warnings + (
        [format_warning_block(diag)] if diag.problems else [])
    summary["warnings"] += [w.removeprefix("bayesirl: warning: ") for w in fit_warnings]
    summary["hints"] = [m for m in messages + late[:1] if m]
    write_trajectory_run(out, force, config, trajs, prefs, idata, summary)
    for m in filter(None, late):
        echo(m)
    return RunResult(out, config, idata, summary, table, diag,
                     tuple(m for m in messages + late if m))


def summarise_trajectory_run(config: RunConfig, trajs, prefs, idata, start: float):
    """The content of ``summary.json`` of a trajectory run, the weight table and diagnostics.

    Returns:
        ``(summary dict, pandas table, Diagnostics)``.
    """
    table = weight_table(idata)
    diag, diag_doc = diagnostics_summary(idata)
    post = idata.posterior
    evidence = {
        "likelihoods": list(config.likelihood),
        "num_comparisons": 0 if prefs is None else prefs.num_comparisons,
        "num_demonstrations": len(config.demos_ids or ()),
        "num_background": int(post.attrs.get("num_background", 0)),
    }
    if "importance_ess" in post:
        ess = np.asarray(post["importance_ess"]).reshape(-1)
        evidence["importance_ess"] = {"median": float(np.median(ess)), "min": float(ess.min()),
                                      "num_background": evidence["num_background"]}
    summary = {
        "settings": {k: v for k, v in config.to_json().items() if k != "format"},
        "trajectories": {"num_trajectories": trajs.num_trajectories,
                         "num_features": trajs.num_features,
                         "feature_names": list(trajs.feature_names or ()),
                         "discount": trajs.discount,
                         "has_log_probs": trajs.log_probs is not None,
                         "has_returns": trajs.returns is not None},
        "evidence": evidence,
        "diagnostics": diag_doc,
        "warnings": list(diag.problems),
        "weights": [{"name": str(name), **row.to_dict()} for name, row in table.iterrows()],
        "timings": {"sampling_s": float(post.attrs.get("sampling_time_s", 0.0)),
                    "total_s": time.perf_counter() - start},
    }
    return summary, table, diag


def write_trajectory_run(out: str, force: bool, config: RunConfig, trajs, prefs, idata,
                         summary: dict) -> list[str]:
    """Write the run folder as a whole (staged next to ``out``, then swapped in).

    Returns:
        The file names written (also ``summary["files"]``).
    """
    from bayesirl.data.trajectories import save_trajectories, save_trajectory_preferences

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with staged_folder(out, force=force) as stage:
        names = [TRAJECTORIES_FILE, "posterior.nc", "config.json", "summary.json"]
        save_trajectories(os.path.join(stage, TRAJECTORIES_FILE), trajs)
        if prefs is not None:
            save_trajectory_preferences(os.path.join(stage, PREFERENCES_FILE), prefs,
                                        trajs.num_trajectories, TRAJECTORIES_FILE)
            names.append(PREFERENCES_FILE)
        _arviz.to_netcdf(idata, os.path.join(stage, "posterior.nc"))
        write_json(os.path.join(stage, "config.json"), config.to_json())
        summary["files"] = sorted(names)
        write_json(os.path.join(stage, "summary.json"), summary)
    return summary["files"]


def is_trajectory_run(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding a trajectory run (``trajectories.npz``, no
    ``mdp.npz``)."""
    path = os.fspath(path)
    return (os.path.isfile(os.path.join(path, TRAJECTORIES_FILE))
            and not os.path.isfile(os.path.join(path, "mdp.npz")))


def load_trajectory_run(path: str | os.PathLike) -> TrajectoryRun:
    """Load a folder written by :func:`run_trajectory_fit`.

    Raises:
        UsageError: not such a folder, or a missing or unreadable file (``DIR: ...``).
    """
    from bayesirl.data.trajectories import load_trajectories, load_trajectory_preferences

    path = os.fspath(path)
    for name in (TRAJECTORIES_FILE, "posterior.nc", "config.json"):
        if not os.path.isfile(os.path.join(path, name)):
            raise UsageError(f"DIR: {path} has no {name}; it must be a folder written by "
                             "'bayesirl fit --trajectories ... --out DIR'")
    try:
        trajs = load_trajectories(os.path.join(path, TRAJECTORIES_FILE))
        pref_path = os.path.join(path, PREFERENCES_FILE)
        prefs = (load_trajectory_preferences(pref_path, trajs.num_trajectories)
                 if os.path.isfile(pref_path) else None)
        idata = _arviz.from_netcdf(os.path.join(path, "posterior.nc"))
    except Exception as err:  # npz, JSON, netCDF / HDF5 raise many kinds
        raise UsageError(f"DIR: cannot read {path} ({type(err).__name__}: {err}); "
                         f"{REDO_HINT}") from None
    if "posterior" not in idata.groups() or "reward_weights" not in idata.posterior:
        raise UsageError(f"DIR: {path}/posterior.nc has no posterior variable 'reward_weights'")
    config = read_config(path)
    if config is None or config.trajectories is None:
        raise UsageError(f"DIR: {path}/config.json is not that of a trajectory run; {REDO_HINT}")
    summary_path = os.path.join(path, "summary.json")
    summary = {}
    if os.path.isfile(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    return TrajectoryRun(path, trajs, prefs, idata, config, summary)
