"""Reading a run folder written by ``bayesirl fit`` — the one loader ``report`` and ``query`` use.

A run folder holds ``mdp.npz``, ``posterior.nc``, ``config.json``, ``summary.json`` and the
evidence files. Folders written before ``config.json`` existed are read too: their
configuration is rebuilt from the settings in ``summary.json``
(:meth:`~bayesirl.app.config.RunConfig.from_legacy_settings`).
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

from bayesirl.app.config import RunConfig
from bayesirl.app.errors import UsageError

__all__ = ["Run", "load_run", "read_config", "REDO_HINT"]

#: How to redo a run folder that is too old or incomplete (ends the error messages).
REDO_HINT = "fit it again with 'bayesirl fit ... --out DIR'"


class Run(NamedTuple):
    """A loaded run folder.

    Attributes:
        path: the folder.
        mdp: the MDP (S, A, F).
        idata: the posterior (``reward_weights`` (C, M, F)).
        config: the :class:`RunConfig`, or None when the folder has neither ``config.json``
            nor ``summary.json`` settings.
        summary: ``summary.json`` ({} when absent).
        demos: the demonstrations (``demos.json``), or None.
    """

    path: str
    mdp: object
    idata: object
    config: RunConfig | None
    summary: dict
    demos: object


def _read_json(path: str, what: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise UsageError(f"DIR: cannot read {path} ({err}); {REDO_HINT}") from None


def read_config(path: str, summary: dict | None = None) -> RunConfig | None:
    """The configuration of the run folder ``path``: ``config.json``, else rebuilt from the
    settings of an older ``summary.json``; None when there is neither.

    Raises:
        UsageError: a configuration that cannot be read or rebuilt (one line saying how to
            redo the run).
    """
    config_path = os.path.join(path, "config.json")
    if os.path.isfile(config_path):
        try:
            return RunConfig.from_json(_read_json(config_path, "config"))
        except (ValueError, TypeError) as err:
            raise UsageError(f"DIR: {config_path} is not usable ({err}); {REDO_HINT}") from None
    settings = (summary or {}).get("settings")
    if not settings:
        return None
    try:
        return RunConfig.from_legacy_settings(settings)
    except (ValueError, TypeError) as err:
        raise UsageError(f"DIR: {path} was written by an older bayesirl and its settings "
                         f"cannot be read ({err}); {REDO_HINT}") from None


def load_run(path: str | os.PathLike, *, need_config: bool = False) -> Run:
    """Load a run folder.

    Args:
        path: the folder written by ``bayesirl fit --out DIR``.
        need_config: refuse a folder without a configuration (``query`` needs β, q, the
            likelihoods).

    Raises:
        UsageError: not a folder, ``mdp.npz`` or ``posterior.nc`` missing or unreadable, no
            ``reward_weights`` in the posterior, or no configuration when ``need_config``
            (messages start with ``DIR:``).
    """
    from bayesirl import _arviz
    from bayesirl.data.demos import load_demonstrations
    from bayesirl.data.mdp import load_mdp

    path = os.fspath(path)
    if not os.path.isdir(path):
        raise UsageError(f"DIR: {path} is not a folder (it has no mdp.npz); give a folder "
                         "written by 'bayesirl fit --out DIR'")
    for name in ("posterior.nc", "mdp.npz"):
        if not os.path.isfile(os.path.join(path, name)):
            raise UsageError(f"DIR: {path} has no {name}; it must be a folder written by "
                             "'bayesirl fit --out DIR'")
    try:
        mdp = load_mdp(os.path.join(path, "mdp.npz"))
    except (ValueError, OSError) as err:
        raise UsageError(f"DIR: {err}") from None
    try:
        idata = _arviz.from_netcdf(os.path.join(path, "posterior.nc"))
    except Exception as err:  # netCDF / HDF5 raise many kinds
        raise UsageError(f"DIR: cannot read {os.path.join(path, 'posterior.nc')} "
                         f"({type(err).__name__}: {err}); {REDO_HINT}") from None
    if "posterior" not in idata.groups() or "reward_weights" not in idata.posterior:
        raise UsageError(f"DIR: {path}/posterior.nc has no posterior variable 'reward_weights'")
    summary_path = os.path.join(path, "summary.json")
    summary = _read_json(summary_path, "summary") if os.path.isfile(summary_path) else {}
    config = read_config(path, summary)
    if config is None and need_config:
        raise UsageError(f"DIR: {path} has no config.json or summary.json, so its likelihoods "
                         f"and β are unknown; {REDO_HINT}")
    demos = None
    demos_path = os.path.join(path, "demos.json")
    if os.path.isfile(demos_path):
        try:
            demos = load_demonstrations(demos_path, mdp)
        except (ValueError, TypeError) as err:
            raise UsageError(f"DIR: {err}") from None
    return Run(path, mdp, idata, config, summary, demos)
