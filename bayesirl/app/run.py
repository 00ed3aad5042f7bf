"""Reading a run folder written by ``bayesirl fit`` — the one loader of ``report``, ``query``
and ``compare``, for every kind of world.

A run folder holds ``posterior.nc``, ``config.json``, ``summary.json`` and the input copies of
its world (``mdp.npz`` with ``demos.json`` / ``preferences.json``, ``trajectories.npz`` with
``preferences.json``, or ``choices.json``); a continuous-state run holds ``posterior.npz``
(Q-networks, :mod:`bayesirl.app.continuous_world`) and ``transitions.npz`` instead. Folders written by earlier releases are read too: a flat
``config.json`` (``bayesirl.run-config/1``), or only the settings in ``summary.json``
(:meth:`~bayesirl.app.config.RunConfig.from_legacy_settings`).
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

from bayesirl.app.config import RunConfig
from bayesirl.app.errors import UsageError
from bayesirl.app.world import (
    REDO_HINT,
    TRAJECTORIES_FILE,
    World,
    load_world,
    run_inputs_file,
)

__all__ = ["Run", "load_run", "missing_run_error", "read_config", "REDO_HINT", "POSTERIOR_FILE", "CONFIG_FILE",
           "SUMMARY_FILE"]

#: The files every run folder holds besides its world's input copies.
POSTERIOR_FILE, CONFIG_FILE, SUMMARY_FILE = "posterior.nc", "config.json", "summary.json"


class Run(NamedTuple):
    """A loaded run folder.

    Attributes:
        path: the folder.
        world: the :class:`~bayesirl.app.world.World` (its input copies).
        idata: the posterior (``reward_weights`` (C, M, F)); for a continuous-state run the
            :class:`~bayesirl.continuous.QPosterior`.
        config: the :class:`RunConfig`, or None when the folder has neither ``config.json``
            nor ``summary.json`` settings.
        summary: ``summary.json`` ({} when absent).
    """

    path: str
    world: World
    idata: object
    config: RunConfig | None
    summary: dict

    @property
    def kind(self) -> str:
        """``"mdp"``, ``"trajectories"``, ``"choices"`` or ``"continuous"``."""
        return self.world.kind

    @property
    def mdp(self):
        """The MDP (None for a trajectory or choice run)."""
        return self.world.mdp

    @property
    def demos(self):
        """The demonstrations of an MDP run, or None."""
        return getattr(self.world, "demos", None)

    @property
    def trajectories(self):
        """The trajectory set of a trajectory run, or None."""
        return getattr(self.world, "trajectories", None)

    @property
    def preferences(self):
        """The comparisons, or None."""
        return self.world.comparisons()


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
    config_path = os.path.join(path, CONFIG_FILE)
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


def missing_run_error(path: str) -> None:
    """Raise a UsageError that says how to restore ``path`` when it is missing because a fit
    was killed while replacing it (the previous run is then in a ``.bayesirl-*`` folder beside
    it); return otherwise."""
    from bayesirl._io import set_aside_copy

    if os.path.lexists(path):
        return
    aside = set_aside_copy(path)
    if aside is not None:
        raise UsageError(f"DIR: {path} does not exist: a fit killed while replacing it left the "
                         f"previous run in {aside}; rename that folder back to {path}, or "
                         "start any 'bayesirl fit' with an --out in the same folder, which "
                         "restores it")


def load_run(path: str | os.PathLike, *, need_config: bool = False,
             continuous: bool = False) -> Run:
    """Load a run folder (an MDP run, a trajectory run, a choice run; with ``continuous`` also
    a continuous-state run).

    Args:
        path: the folder written by ``bayesirl fit --out DIR``.
        need_config: refuse a folder without a configuration (``query`` needs β, q, the
            likelihoods).
        continuous: accept a continuous-state run (its posterior is a QPosterior, not
            InferenceData); otherwise it is refused naming ``DIR``.

    Raises:
        UsageError: not a folder, the posterior or the world's inputs missing or unreadable, no
            ``reward_weights`` in the posterior, or no configuration when ``need_config``
            (messages start with ``DIR:``).
    """
    from bayesirl import _arviz

    path = os.fspath(path)
    if not os.path.isdir(path):
        missing_run_error(path)
        raise UsageError(f"DIR: {path} is not a folder (it has no mdp.npz, trajectories.npz "
                         "or choices.json and no posterior.nc); give a folder written by "
                         "'bayesirl fit --out DIR'")
    inputs = run_inputs_file(path)
    from bayesirl.app.continuous_world import TRANSITIONS_FILE

    if inputs == TRANSITIONS_FILE:
        return _load_continuous_run(path, continuous)
    for name in (POSTERIOR_FILE, inputs):
        if not os.path.isfile(os.path.join(path, name)):
            raise UsageError(f"DIR: {path} has no {name}; it must be a folder written by "
                             "'bayesirl fit --out DIR'")
    try:
        idata = _arviz.from_netcdf(os.path.join(path, POSTERIOR_FILE))
    except Exception as err:  # netCDF / HDF5 raise many kinds
        raise UsageError(f"DIR: cannot read {os.path.join(path, POSTERIOR_FILE)} "
                         f"({type(err).__name__}: {err}); {REDO_HINT}") from None
    if "posterior" not in idata.groups() or "reward_weights" not in idata.posterior:
        raise UsageError(f"DIR: {path}/{POSTERIOR_FILE} has no posterior variable "
                         "'reward_weights'")
    summary_path = os.path.join(path, SUMMARY_FILE)
    summary = _read_json(summary_path, "summary") if os.path.isfile(summary_path) else {}
    config = read_config(path, summary)
    if config is None and need_config:
        raise UsageError(f"DIR: {path} has no config.json or summary.json, so its likelihoods "
                         f"and β are unknown; {REDO_HINT}")
    if inputs == TRAJECTORIES_FILE and (config is None or config.trajectories is None):
        raise UsageError(f"DIR: {path}/config.json is not that of a trajectory run; {REDO_HINT}")
    if inputs not in (TRAJECTORIES_FILE, "mdp.npz") and (config is None or config.choices is None):
        raise UsageError(f"DIR: {path}/config.json is not that of a choice run; {REDO_HINT}")
    return Run(path, load_world(path, config), idata, config, summary)


def _load_continuous_run(path: str, accept: bool) -> Run:
    """A continuous-state run folder (``transitions.npz``, ``posterior.npz``)."""
    from bayesirl.app.continuous_world import Q_POSTERIOR_FILE, load_q_posterior

    if not accept:
        raise UsageError(f"DIR: {path} holds a continuous-state run (a posterior over "
                         "Q-networks): only 'bayesirl report' reads it")
    posterior_path = os.path.join(path, Q_POSTERIOR_FILE)
    if not os.path.isfile(posterior_path):
        raise UsageError(f"DIR: {path} has no {Q_POSTERIOR_FILE}; it must be a folder written "
                         "by 'bayesirl fit --out DIR'")
    try:
        posterior = load_q_posterior(posterior_path)
    except (ValueError, ImportError) as err:
        raise UsageError(f"DIR: cannot read {posterior_path} ({err}); {REDO_HINT}") from None
    summary_path = os.path.join(path, SUMMARY_FILE)
    summary = _read_json(summary_path, "summary") if os.path.isfile(summary_path) else {}
    config = read_config(path, None)
    if config is None or config.world.kind != "continuous":
        raise UsageError(f"DIR: {path}/config.json is not that of a continuous-state run; "
                         f"{REDO_HINT}")
    return Run(path, load_world(path, config), posterior, config, summary)
