"""The fit job: a :class:`~bayesirl.app.config.RunConfig` in, a complete run folder out, for
every kind of world.

:func:`run_fit` is what ``bayesirl fit`` runs, and what a notebook calls to get the same
folder::

    from bayesirl.app import RunConfig, run_fit
    result = run_fit(RunConfig(env="gridworld", num_demos=20, sampler="map"), "runs/grid")

The folder holds the world's input copies (``mdp.npz``, ``demos.json``, ``preferences.json``;
or ``trajectories.npz``, ``preferences.json``), ``posterior.nc`` (ArviZ netCDF),
``config.json`` (the configuration as run: the sampler ``auto`` chose, the margin resolved)
and ``summary.json`` (the sampler and why, diagnostics with warnings, the misfit alarm's
posterior-predictive checks, weight table, policy, evaluation, timings). A continuous-state
world (:mod:`bayesirl.app.continuous_world`) is fitted with learned Q-functions instead and
its posterior saved as ``posterior.npz``. It is built in a staging folder next to ``out`` and replaces ``out`` as
a whole only when complete (:func:`bayesirl._io.staged_folder`).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Callable, NamedTuple

import numpy as np

from bayesirl import _arviz
from bayesirl._io import staged_folder, write_json
from bayesirl.app.checks import check_memory, check_out, claim_out
from bayesirl.app.config import DEFAULT_CONTINUOUS_METHOD, RunConfig
from bayesirl.app.run import CONFIG_FILE, POSTERIOR_FILE, SUMMARY_FILE
from bayesirl.app.summary import (check_misfit, diagnostics_summary, evaluation_summary,
                                  format_misfit_warning, format_warning_block, policy_walk_hint,
                                  row_label, solver_hint, tree_depth_hint, weight_labels,
                                  weight_table)
from bayesirl.app.world import World, build_world, resolve_margin
from bayesirl.likelihoods.registry import policy_sources

__all__ = ["RunResult", "run_fit", "fit_posterior", "choose", "ran_config", "summarise",
           "write_run_folder", "POLICY_NOTE", "echo_stderr"]

#: What the reported policy is (in the fit's summary and report).
POLICY_NOTE = "optimal (hard-max) policy of the posterior-mean reward, one action per state"


class RunResult(NamedTuple):
    """What :func:`run_fit` produced.

    Attributes:
        out: the run folder.
        config: the configuration as run (sampler and margin resolved); also in
            ``config.json``.
        idata: the posterior (ArviZ InferenceData: ``reward_weights`` (C, M, F)).
        summary: the content of ``summary.json``.
        table: ArviZ summary table of the weights and β's (pandas DataFrame).
        diagnostics: :class:`bayesirl.analysis.Diagnostics`.
        messages: notes, hints and warnings already passed to ``echo``.
    """

    out: str
    config: RunConfig
    idata: object
    summary: dict
    table: object
    diagnostics: object
    messages: tuple


def echo_stderr(message: str) -> None:
    """Print one message to stderr (the default ``echo`` of the jobs)."""
    print(message, file=sys.stderr)


def _problem(config: RunConfig, world: World):
    """The :class:`~bayesirl.inference.samplers.Problem` of a configured world."""
    from bayesirl.inference.samplers import Problem
    from bayesirl.models import build_evidence

    try:
        evidence = build_evidence(config.likelihood, world.evidence_inputs(),
                                  maxent_horizon=config.horizon, margin=config.margin)
    except ValueError as err:
        raise _usage(err) from None
    options = dict(q=config.q or "soft", maxent_horizon=config.horizon,
                   margin=float(config.margin or 0.0), solver_kwargs=None,
                   hierarchy=getattr(world, "hierarchy", None))
    return Problem(evidence, world.mdp, config.prior, config.prior_scale, config.model_betas(),
                   options, world.feature_names)


def _usage(err: Exception):
    from bayesirl.app.errors import UsageError

    text = str(err)
    flags = {"margin": "--margin", "maxent_horizon": "--horizon", "demos": "--demos",
             "preferences": "--preferences", "trajectories": "--trajectories",
             "demonstrations": "--demos-ids", "background": "--background-ids",
             "choices": "--choices", "hierarchy": "--random-features"}
    head = text.split(":", 1)[0].split(".")[0]
    return UsageError(f"{flags[head]}: {text.split(':', 1)[1].strip()}" if head in flags
                      else text)


def choose(config: RunConfig, problem) -> tuple[RunConfig, str]:
    """Resolve ``sampler="auto"``: the config with the chosen sampler (and the Q kind it
    implies) and the sentence saying why; an explicit sampler is kept.

    Returns:
        ``(config, reason)``.
    """
    from bayesirl.inference.auto import choose_sampler

    if config.sampler != "auto":
        return config, "chosen with --sampler"
    choice = choose_sampler(problem, config.q)
    return config.with_sampler(choice.sampler, None if config.q else
                               (choice.q if choice.q != "soft" else None)), choice.reason


def run_fit(config: RunConfig, out: str | os.PathLike, force: bool = False, *,
            progress_bar: bool = False,
            echo: Callable[[str], None] = echo_stderr) -> RunResult:
    """Run one fit end to end and write its folder.

    Checks ``out`` first (before anything slow) and claims it until the end (a second run
    into the same folder is refused at its start), builds the world (``config.data_seed``),
    chooses the sampler when ``auto`` (and says which and why through ``echo``), checks the
    memory, fits (``config.seed``), diagnoses, evaluates and writes.

    Args:
        config: the run configuration.
        out: the run folder; must be empty or absent unless ``force`` (then its previous
            contents are removed once the new folder is in place).
        force: replace a non-empty ``out``.
        progress_bar: show a progress bar.
        echo: receives notes, hints and the warning block (one string each); default stderr.

    Returns:
        :class:`RunResult`.

    Raises:
        UsageError: a bad ``out`` (or one another running process is writing), input file or
            setting, or a run too large for the memory (the message names the flag).
        OSError: writing failed (``out`` is then as it was).
    """
    start = time.perf_counter()
    out = os.fspath(out)
    messages = [f"bayesirl: note: removed {p}, left by an interrupted run"
                for p in check_out(out, force)]
    with claim_out(out):
        return _fit_and_write(config, out, force, start, messages, progress_bar, echo)


def _fit_and_write(config: RunConfig, out: str, force: bool, start: float, messages: list,
                   progress_bar: bool, echo) -> RunResult:
    """The work of :func:`run_fit` once ``out`` is checked and claimed."""
    if config.world.kind == "continuous":
        return _fit_continuous(config, out, force, start, messages, echo)
    world = build_world(config)
    config = config.replace(margin=resolve_margin(config, world))
    problem = _problem(config, world)
    import jax

    from bayesirl.inference.auto import precision_reason

    precision = precision_reason(problem)
    if precision and not jax.config.jax_enable_x64:
        # float64 from here on, and the world built again in it (nothing else was computed)
        jax.config.update("jax_enable_x64", True)
        world = build_world(config)
        problem = _problem(config, world)
        messages.append(f"bayesirl: float64, because {precision}")
    planned, reason = choose(config, problem)
    if config.sampler == "auto":
        messages.append(f"bayesirl: sampler: {planned.sampler}, because {reason}")
    S = world.mdp.num_states if world.mdp is not None else 0
    A = world.mdp.num_actions if world.mdp is not None else 0
    check_memory(planned.num_chains, planned.num_samples, 2 * world.num_features + 8, S, A)
    if world.mdp is not None:
        messages.append(_solver_hint(planned, world))
    for m in filter(None, messages):
        echo(m)
    idata, fit_messages = fit_posterior(config, world, progress_bar=progress_bar,
                                        problem=problem)
    config = ran_config(config, idata)
    retried = idata.posterior.attrs.get("retried_from")
    if retried:
        fit_messages.insert(0, f"bayesirl: note: {idata.posterior.attrs['sampler_reason']}")
    summary, table, diag = summarise(config, world, idata, start)
    misfit = check_misfit(config, world, problem, idata)
    alarm = [misfit] if misfit is not None and misfit.alarm else []
    if misfit is not None:
        summary["misfit"] = misfit.as_dict()
    late = [tree_depth_hint(idata) or policy_walk_hint(idata)] + fit_messages + [
        format_misfit_warning(m) for m in alarm] + (
        [format_warning_block(diag)] if diag.problems else [])
    summary["warnings"] += [m.removeprefix("bayesirl: warning: ") for m in fit_messages
                            if m.startswith("bayesirl: warning: ")] + [m.message for m in alarm]
    summary["hints"] = [m for m in messages + late[:1] if m]
    write_run_folder(out, force, config, world, idata, summary)
    for m in filter(None, late):
        echo(m)
    return RunResult(out, config, idata, summary, table, diag,
                     tuple(m for m in messages + late if m))


def _fit_continuous(config: RunConfig, out: str, force: bool, start: float, messages: list,
                    echo) -> RunResult:
    """:func:`run_fit` for a continuous-state world: simulate or read the transitions, fit
    ``config.method``, summarise (:mod:`bayesirl.app.continuous_world`) and write the folder;
    ``RunResult.idata`` is the :class:`~bayesirl.continuous.QPosterior`, ``table`` None."""
    from bayesirl.app.continuous_world import (REMEDY, fit_q_posterior,
                                               summarise_continuous)

    world = build_world(config)
    if config.method == DEFAULT_CONTINUOUS_METHOD:
        messages.append(f"bayesirl: method: {config.method} (the default: fast, and as good as "
                        "value-nuts on the classic-control table; --method value-nuts for the "
                        "MCMC posterior)")
    for m in filter(None, messages):
        echo(m)
    posterior = fit_q_posterior(config, world)
    summary, diag, notes = summarise_continuous(config, world, posterior, start)
    late = [f"bayesirl: warning: {n}" for n in notes]
    if diag.problems:
        late.append("bayesirl: warning: the posterior should not be trusted:\n" + "\n".join(
            f"  - {p}\n    try: {REMEDY}" for p in diag.problems))
    summary["hints"] = [m for m in messages if m]
    write_run_folder(out, force, config, world, posterior, summary)
    for m in late:
        echo(m)
    return RunResult(out, config, posterior, summary, None, diag,
                     tuple(m for m in messages + late if m))


def ran_config(config: RunConfig, idata) -> RunConfig:
    """The configuration as run: the sampler that produced ``idata`` (``auto`` resolved, after
    any retry), the Q kind it used and its run lengths."""
    attrs = idata.posterior.attrs
    sampler = str(attrs.get("method", config.sampler))
    q = config.q or (attrs.get("q") if attrs.get("q") == "hard" else None)
    resolved = config.with_sampler(sampler, q)
    lengths = {k: int(attrs[k]) for k in ("num_samples", "num_warmup", "thinning", "num_chains")
               if k in attrs and sampler != "map"}
    return resolved.replace(**lengths) if lengths else resolved


def _solver_hint(config: RunConfig, world) -> str | None:
    if not policy_sources(config.likelihood):
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


def fit_posterior(config: RunConfig, world: World, *, progress_bar: bool = False,
                  problem=None):
    """Sample (or maximise) the posterior of ``config`` on ``world`` with the configured
    sampler (:func:`bayesirl.inference.fit.fit_reward`; ``auto`` is resolved first).

    Args:
        config: the run configuration (``sampler`` may be ``"auto"``: the choice, and a retry
            when its diagnostics fail, happen in :func:`~bayesirl.inference.fit.fit_reward`).
        world: the world of ``config``.
        progress_bar: show a progress bar.
        problem: the :class:`~bayesirl.inference.samplers.Problem` if already built.

    Returns:
        ``(idata, messages)``: ArviZ InferenceData with ``reward_weights`` (chain, draw,
        feature) and learned β's (``posterior.attrs["method"]`` is the sampler that ran), and
        the warnings raised while fitting (importance-weight collapse), as lines for the user.
    """
    from bayesirl.inference.fit import fit_reward

    problem = problem if problem is not None else _problem(config, world)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = fit_reward(
            problem.evidence, world.mdp, method=config.sampler, prior=config.prior,
            prior_scale=config.prior_scale, betas=config.model_betas(), q=config.q,
            maxent_horizon=config.horizon, margin=float(config.margin or 0.0),
            hierarchy=getattr(world, "hierarchy", None), feature_names=world.feature_names,
            num_samples=config.num_samples, num_warmup=config.num_warmup,
            num_chains=config.num_chains,
            thinning=config.thinning, seed=config.seed, progress_bar=progress_bar, warn=False)
    messages = [f"bayesirl: warning: {w.message}" for w in caught
                if w.category.__name__ == "ImportanceWeightWarning"]
    for w in caught:  # anything else the user should see
        if w.category.__name__ not in ("ImportanceWeightWarning", "DiagnosticsWarning") and (
                not issubclass(w.category, (DeprecationWarning, FutureWarning))):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return idata, messages


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
    table = weight_table(idata)
    labels = weight_labels(world)
    diag, diag_doc = diagnostics_summary(idata)
    post = idata.posterior
    summary = {"settings": config.flat_json(),
               "sampler": {"name": config.sampler,
                           "reason": str(post.attrs.get("sampler_reason", "")),
                           "retried_from": post.attrs.get("retried_from")},
               **world.describe(config),
               "diagnostics": diag_doc, "warnings": list(diag.problems),
               "weights": [{"name": str(name), "what": row_label(name, labels), **row.to_dict()}
                           for name, row in table.iterrows()]}
    if "importance_ess" in post:
        ess = np.asarray(post["importance_ess"]).reshape(-1)
        summary["evidence"]["num_background"] = int(post.attrs.get("num_background", 0))
        summary["evidence"]["importance_ess"] = {
            "median": float(np.median(ess)), "min": float(ess.min()),
            "num_background": int(post.attrs.get("num_background", 0))}
    if world.mdp is not None:
        import jax

        mdp = world.mdp
        mean_w = np.asarray(post["reward_weights"].mean(("chain", "draw")).values,
                            np.asarray(mdp.features).dtype)
        learned_policy = jax.jit(_optimal_policy)(mdp, mean_w)
        summary["policy"] = np.argmax(np.asarray(learned_policy), axis=-1).tolist()
        summary["policy_note"] = POLICY_NOTE
        evaluation = evaluation_summary(world, learned_policy)
        if evaluation is not None:
            summary["evaluation"] = evaluation
    if getattr(world, "hierarchy", None) is not None:
        from bayesirl.analysis.population import population_summary

        person = np.asarray(world.data.choices.person)
        summary["population"] = population_summary(
            idata, world.feature_names, world.person_names,
            person_counts=np.bincount(person, minlength=world.num_persons), seed=config.seed)
    summary["timings"] = {"sampling_s": float(post.attrs.get("sampling_time_s", 0.0)),
                          "total_s": time.perf_counter() - start}
    return summary, table, diag


def write_run_folder(out: str, force: bool, config: RunConfig, world: World, idata,
                     summary: dict) -> list[str]:
    """Write the run folder as a whole (staged next to ``out``, then swapped in).

    Returns:
        The file names written (also stored as ``summary["files"]``).
    """
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with staged_folder(out, force=force) as stage:
        if world.kind == "continuous":  # idata: a QPosterior
            from bayesirl.app.continuous_world import Q_POSTERIOR_FILE, save_q_posterior

            names = world.save(stage) + [Q_POSTERIOR_FILE, CONFIG_FILE, SUMMARY_FILE]
            save_q_posterior(os.path.join(stage, Q_POSTERIOR_FILE), idata)
        else:
            names = world.save(stage) + [POSTERIOR_FILE, CONFIG_FILE, SUMMARY_FILE]
            _arviz.to_netcdf(idata, os.path.join(stage, POSTERIOR_FILE))
        write_json(os.path.join(stage, CONFIG_FILE), config.to_json())
        summary["files"] = sorted(names)
        write_json(os.path.join(stage, SUMMARY_FILE), summary)
    return summary["files"]
