"""The fit job: a :class:`~bayesirl.app.config.RunConfig` in, a complete run folder out.

:func:`run_fit` is what ``bayesirl fit`` runs, and what a notebook calls to get the same
folder::

    from bayesirl.app import RunConfig, run_fit
    result = run_fit(RunConfig(env="gridworld", num_demos=20, sampler="map"), "runs/grid")

The folder holds ``mdp.npz``, ``demos.json`` and/or ``preferences.json`` (the evidence used),
``posterior.nc`` (ArviZ netCDF), ``config.json`` (the configuration, margin resolved) and
``summary.json`` (diagnostics with warnings, weight table, policy, evaluation, timings). It is
built in a staging folder next to ``out`` and replaces ``out`` as a whole only when complete
(:func:`bayesirl._io.staged_folder`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Callable, NamedTuple

import numpy as np

from bayesirl import _arviz
from bayesirl._io import staged_folder, write_json
from bayesirl.app.checks import check_memory, check_out
from bayesirl.app.config import RunConfig
from bayesirl.app.summary import (diagnostics_summary, evaluation_summary, format_warning_block,
                                  policy_walk_hint, solver_hint, tree_depth_hint, weight_table)
from bayesirl.app.world import World, build_world, resolve_margin

__all__ = ["RunResult", "run_fit", "fit_posterior", "summarise", "write_run_folder",
           "POLICY_NOTE"]

#: What the reported policy is (in the fit's summary and report).
POLICY_NOTE = "optimal (hard-max) policy of the posterior-mean reward, one action per state"


class RunResult(NamedTuple):
    """What :func:`run_fit` produced.

    Attributes:
        out: the run folder.
        config: the configuration as run (margin resolved); also in ``config.json``.
        idata: the posterior (ArviZ InferenceData: ``reward_weights`` (C, M, F)).
        summary: the content of ``summary.json``.
        table: ArviZ summary table of the weights and β's (pandas DataFrame).
        diagnostics: :class:`bayesirl.analysis.Diagnostics`.
        messages: warnings and hints already passed to ``echo``.
    """

    out: str
    config: RunConfig
    idata: object
    summary: dict
    table: object
    diagnostics: object
    messages: tuple


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def run_fit(config: RunConfig, out: str | os.PathLike, force: bool = False, *,
            progress_bar: bool = False, echo: Callable[[str], None] = _stderr) -> RunResult:
    """Run one fit end to end and write its folder.

    Checks ``out`` and the memory first (before anything slow), builds the world
    (``config.data_seed``), fits (``config.seed``), diagnoses, evaluates and writes.

    Args:
        config: the run configuration.
        out: the run folder; must be empty or absent unless ``force`` (then its previous
            contents are removed once the new folder is in place).
        force: replace a non-empty ``out``.
        progress_bar: show NumPyro's progress bar.
        echo: receives notes, hints and the warning block (one string each); default stderr.

    Returns:
        :class:`RunResult`.

    Raises:
        UsageError: a bad ``out``, input file or setting, or a run too large for the memory
            (the message names the flag).
        OSError: writing failed (``out`` is then as it was).
    """
    start = time.perf_counter()
    out = os.fspath(out)
    messages = [f"bayesirl: note: removed {p}, left by an interrupted run"
                for p in check_out(out, force)]
    world = build_world(config)
    config = dataclasses.replace(config, margin=resolve_margin(config, world))
    check_memory(config.num_chains, config.num_samples, 2 * world.mdp.num_features + 8,
                 world.mdp.num_states, world.mdp.num_actions)
    messages.append(_solver_hint(config, world))
    for m in filter(None, messages):
        echo(m)
    idata = fit_posterior(config, world, progress_bar=progress_bar)
    summary, table, diag = summarise(config, world, idata, start)
    late = [tree_depth_hint(idata) or policy_walk_hint(idata)] + (
        [format_warning_block(diag)] if diag.problems else [])
    summary["hints"] = [m for m in messages + late[:1] if m]
    write_run_folder(out, force, config, world, idata, summary)
    for m in filter(None, late):
        echo(m)
    return RunResult(out, config, idata, summary, table, diag,
                     tuple(m for m in messages + late if m))


def _solver_hint(config: RunConfig, world: World) -> str | None:
    if not {"boltzmann", "maxent"} & set(config.likelihood):
        return None
    import jax.numpy as jnp

    from bayesirl.data.mdp import reward_from_weights

    mdp = world.mdp
    if world.env is not None:
        reward = world.env.true_reward
    else:  # a typical prior draw: unit-norm weights
        w = np.random.default_rng(config.seed).standard_normal(mdp.num_features)
        reward = reward_from_weights(mdp, jnp.asarray(w / np.linalg.norm(w), mdp.features.dtype))
    fixed = [b.value for b in config.betas.values() if not b.learned]
    return solver_hint(mdp, reward, max(fixed, default=1.0))


def fit_posterior(config: RunConfig, world: World, *, progress_bar: bool = False):
    """Sample (or maximise) the posterior of ``config`` on ``world`` (``sampler``
    ``"policy-walk"``: :func:`bayesirl.inference.fit_policy_walk.fit_policy_walk`).

    Returns:
        ArviZ InferenceData with ``reward_weights`` (chain, draw, feature) and learned β's.
    """
    from bayesirl.inference import fit_demonstrations, fit_evidence

    if config.sampler == "policy-walk":  # RunConfig checked: Boltzmann demos, hard Q, sphere
        return fit_demonstrations(
            world.mdp, world.demos, method="policy_walk", prior=config.prior,
            beta=config.betas["boltzmann"].value, q=config.q, num_samples=config.num_samples,
            num_warmup=config.num_warmup, num_chains=config.num_chains,
            thinning=config.thinning, seed=config.seed)
    return fit_evidence(
        world.mdp, likelihoods=config.likelihood, demos=world.demos,
        preferences=world.preferences, method=config.sampler, prior=config.prior,
        prior_scale=config.prior_scale, betas=config.model_betas(), q=config.q,
        maxent_horizon=config.horizon, margin=config.margin, num_samples=config.num_samples,
        num_warmup=config.num_warmup, num_chains=config.num_chains, thinning=config.thinning,
        seed=config.seed, progress_bar=progress_bar,
    )


def _mdp_summary(world: World) -> dict:
    mdp = world.mdp
    return {"num_states": mdp.num_states, "num_actions": mdp.num_actions,
            "num_features": mdp.num_features, "discount": float(mdp.discount),
            "num_terminal_states": int(np.asarray(mdp.terminal).sum()),
            "max_episode_steps": int(world.max_episode_steps)}


def _optimal_policy(mdp, weights):
    """(S, A) optimal (hard-max) policy of the reward ``φ w``: one compiled program."""
    from bayesirl.data.mdp import reward_from_weights
    from bayesirl.solvers import value_iteration

    return value_iteration(mdp, reward_from_weights(mdp, weights)).policy


def summarise(config: RunConfig, world: World, idata, start: float):
    """The content of ``summary.json``, the weight table and the diagnostics.

    Returns:
        ``(summary dict, pandas table, Diagnostics)``.
    """
    import jax

    mdp, demos, prefs = world.mdp, world.demos, world.preferences
    table = weight_table(idata)
    diag, diag_doc = diagnostics_summary(idata)
    mean_w = np.asarray(idata.posterior["reward_weights"].mean(("chain", "draw")).values,
                        np.asarray(mdp.features).dtype)
    learned_policy = jax.jit(_optimal_policy)(mdp, mean_w)
    summary = {
        "settings": {k: v for k, v in config.to_json().items() if k != "format"},
        "mdp": _mdp_summary(world),
        "evidence": {
            "likelihoods": list(config.likelihood),
            "num_demonstrations": 0 if demos is None else demos.num_trajectories,
            "num_demonstration_steps": 0 if demos is None else int(np.asarray(demos.mask).sum()),
            "num_comparisons": 0 if prefs is None else prefs[1].num_comparisons,
        },
        "diagnostics": diag_doc,
        "warnings": list(diag.problems),
        "weights": [{"name": str(name), **row.to_dict()} for name, row in table.iterrows()],
        "policy": np.argmax(np.asarray(learned_policy), axis=-1).tolist(),
        "policy_note": POLICY_NOTE,
    }
    evaluation = evaluation_summary(world, learned_policy)
    if evaluation is not None:
        summary["evaluation"] = evaluation
    summary["timings"] = {"sampling_s": float(idata.posterior.attrs.get("sampling_time_s", 0.0)),
                          "total_s": time.perf_counter() - start}
    return summary, table, diag


def write_run_folder(out: str, force: bool, config: RunConfig, world: World, idata,
                     summary: dict) -> list[str]:
    """Write the run folder as a whole (staged next to ``out``, then swapped in).

    Returns:
        The file names written (also stored as ``summary["files"]``).
    """
    from bayesirl.data.demos import save_demonstrations
    from bayesirl.data.mdp import save_mdp
    from bayesirl.data.preferences import save_preferences

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with staged_folder(out, force=force) as stage:
        names = ["mdp.npz", "posterior.nc", "config.json", "summary.json"]
        save_mdp(os.path.join(stage, "mdp.npz"), world.mdp)
        if world.demos is not None:
            save_demonstrations(os.path.join(stage, "demos.json"), world.demos, world.mdp)
            names.append("demos.json")
        if world.preferences is not None:
            save_preferences(os.path.join(stage, "preferences.json"), *world.preferences)
            names.append("preferences.json")
        _arviz.to_netcdf(idata, os.path.join(stage, "posterior.nc"))
        write_json(os.path.join(stage, "config.json"), config.to_json())
        summary["files"] = sorted(names)
        write_json(os.path.join(stage, "summary.json"), summary)
    return summary["files"]
